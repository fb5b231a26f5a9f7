package store

import (
	"context"
	"fmt"
)

// DeleteSigningKey removes a key of any status (a revocation): it leaves the JWKS and verifies nothing any
// more on any node. ErrNotFound when the tenant has no such key.
func (q *queries) DeleteSigningKey(ctx context.Context, tenantID, kid string) error {
	if err := q.execOne(ctx, `DELETE FROM signing_keys WHERE tenant_id = ? AND kid = ?`, tenantID, kid); err != nil {
		return fmt.Errorf("delete signing key %s: %w", kid, err)
	}
	return q.notify(ctx, TopicKeys, tenantID)
}

// SetSigningKeyPrivate replaces the sealed private key of a key (re-sealing under a new master key) when
// it is still old: a concurrent re-seal or revocation wins. It reports whether it replaced it.
func (q *queries) SetSigningKeyPrivate(ctx context.Context, tenantID, kid string, old, sealed []byte) (bool, error) {
	err := q.execOne(ctx, `UPDATE signing_keys SET private_enc = ? WHERE tenant_id = ? AND kid = ? AND private_enc = ?`,
		sealed, tenantID, kid, old)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("re-seal signing key %s: %w", kid, err)
	}
	return true, nil
}
