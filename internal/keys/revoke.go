package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/umm-project/umm/internal/store"
)

// eventKeyRevoked matches events.TypeKeyRevoked (keys may not import events).
const eventKeyRevoked = "key.revoked"

// Revoke removes the tenant's key kid at once, whatever its status: it leaves the JWKS and tokens it
// signed stop verifying, on this node now and on the others when the change's invalidation message
// arrives (TopicKeys; package oidc also forgets the tokens it verified). A revoked current key is replaced
// by the next key, and a new next key is published, in the same transaction, so signing never stops. It
// returns the key's algorithm; an unknown kid wraps store.ErrNotFound.
func (m *Manager) Revoke(ctx context.Context, tenantID, kid, actor string) (alg string, err error) {
	rows, err := m.db.ListSigningKeys(ctx, tenantID)
	if err != nil {
		return "", fmt.Errorf("revoke key %s: %w", kid, err)
	}
	i, err := indexKey(rows, tenantID, kid)
	if err != nil {
		return "", err
	}
	// Generate the replacements before the transaction (RSA takes a while).
	pool, err := m.generate(missing(slices.Delete(slices.Clone(rows), i, i+1)))
	if err != nil {
		return "", err
	}
	err = m.inKeysTx(ctx, tenantID, func(tx *store.Tx, rows []store.SigningKey) error {
		i, err := indexKey(rows, tenantID, kid) // again, under the lock
		if err != nil {
			return err
		}
		k := rows[i]
		alg = k.Alg
		if err := tx.DeleteSigningKey(ctx, tenantID, kid); err != nil {
			return err
		}
		now := m.now()
		e := keyEvent(eventKeyRevoked, tenantID, kid, k.Alg, k.Status, now)
		e.Actor = actor
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
		_, err = m.complete(ctx, tx, tenantID, slices.Delete(rows, i, i+1), pool, now)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("revoke key %s of tenant %s: %w", kid, tenantID, err)
	}
	m.invalidate(tenantID)
	m.log.InfoContext(ctx, "signing key revoked", "tenant", tenantID, "kid", kid)
	return alg, nil
}

// indexKey finds kid among the tenant's keys; an unknown kid wraps store.ErrNotFound.
func indexKey(rows []store.SigningKey, tenantID, kid string) (int, error) {
	i := slices.IndexFunc(rows, func(r store.SigningKey) bool { return r.KeyID == kid })
	if i < 0 {
		return -1, fmt.Errorf("tenant %s has no signing key %q: %w", tenantID, kid, store.ErrNotFound)
	}
	return i, nil
}
