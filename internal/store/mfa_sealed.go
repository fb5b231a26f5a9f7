package store

import (
	"context"
	"fmt"
)

// SealedFactorSecret is the sealed TOTP seed of one factor, for re-sealing under a new master key.
type SealedFactorSecret struct {
	TenantID, ID, UserID string
	Sealed               []byte
}

// ListSealedFactorSecrets returns the sealed secrets of the tenant's factors, pending ones included.
func (q *queries) ListSealedFactorSecrets(ctx context.Context, tenantID string) ([]SealedFactorSecret, error) {
	rows, err := q.query(ctx, `SELECT id, user_id, secret FROM mfa_factors WHERE tenant_id = ? AND secret IS NOT NULL
		ORDER BY id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list sealed factor secrets: %w", err)
	}
	defer rows.Close()
	var out []SealedFactorSecret
	for rows.Next() {
		s := SealedFactorSecret{TenantID: tenantID}
		if err := rows.Scan(&s.ID, &s.UserID, &s.Sealed); err != nil {
			return nil, fmt.Errorf("list sealed factor secrets: %w", err)
		}
		if len(s.Sealed) > 0 {
			out = append(out, s)
		}
	}
	return out, rows.Err()
}

// SetFactorSecret replaces the sealed secret of a factor when it is still old, in one statement (a
// factor removed or re-enrolled meanwhile is left alone); it reports whether it did.
func (q *queries) SetFactorSecret(ctx context.Context, tenantID, id string, old, sealed []byte) (bool, error) {
	res, err := q.exec(ctx, `UPDATE mfa_factors SET secret = ? WHERE tenant_id = ? AND id = ? AND secret = ?`,
		sealed, tenantID, id, old)
	if err != nil {
		return false, fmt.Errorf("set factor secret: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
