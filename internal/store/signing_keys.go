package store

import (
	"context"
	"fmt"
	"time"
)

// Signing key statuses. A tenant has, per algorithm, one current key (signs), one next key (published
// ahead of its use so caches learn it before it signs) and retired keys (still verify until pruned).
const (
	KeyStatusNext    = "next"
	KeyStatusCurrent = "current"
	KeyStatusRetired = "retired"
)

// SigningKey is a row of signing_keys. PrivateEnc is the private key sealed with the master key (package
// keys); PublicJWK is the public JWK JSON published in the JWKS.
type SigningKey struct {
	TenantID    string
	KeyID       string // the JWS kid
	Alg         string // "RS256", "ES256"
	Status      string // KeyStatusNext, KeyStatusCurrent, KeyStatusRetired
	PrivateEnc  []byte
	PublicJWK   string
	CreatedAt   time.Time
	ActivatedAt time.Time // zero until the key became current
	RetiredAt   time.Time // zero until the key was retired
}

const signingKeyColumns = `tenant_id, kid, alg, status, private_enc, public_jwk, created_at, activated_at, retired_at`

// ListSigningKeys returns every signing key of a tenant, oldest first.
func (q *queries) ListSigningKeys(ctx context.Context, tenantID string) ([]SigningKey, error) {
	rows, err := q.query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys WHERE tenant_id = ?
		ORDER BY created_at, kid`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	var out []SigningKey
	for rows.Next() {
		var k SigningKey
		var created int64
		var activated, retired *int64
		if err := rows.Scan(&k.TenantID, &k.KeyID, &k.Alg, &k.Status, &k.PrivateEnc, &k.PublicJWK, &created,
			&activated, &retired); err != nil {
			return nil, fmt.Errorf("list signing keys: %w", scanErr(err))
		}
		k.CreatedAt, k.ActivatedAt, k.RetiredAt = time.Unix(created, 0), nullTime(activated), nullTime(retired)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return out, nil
}

// InsertSigningKey stores a new key. A second current or next key for the same tenant and algorithm is
// ErrConflict (unique indexes of migration 0002), as is a duplicate kid.
func (q *queries) InsertSigningKey(ctx context.Context, k SigningKey) error {
	_, err := q.exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.TenantID, k.KeyID, k.Alg, k.Status, k.PrivateEnc, k.PublicJWK, k.CreatedAt.Unix(),
		signingKeyTime(k.ActivatedAt), signingKeyTime(k.RetiredAt))
	if err != nil {
		return fmt.Errorf("insert signing key %s: %w", k.KeyID, err)
	}
	return q.notify(ctx, TopicKeys, k.TenantID)
}

// SetSigningKeyStatus moves a key from status from to status to at time at, which becomes activated_at
// (to current) or retired_at (to retired). A key not in status from is ErrNotFound; a second current or
// next key for the algorithm is ErrConflict.
func (q *queries) SetSigningKeyStatus(ctx context.Context, tenantID, kid, from, to string, at time.Time) error {
	var query string
	switch to {
	case KeyStatusCurrent:
		query = `UPDATE signing_keys SET status = ?, activated_at = ? WHERE tenant_id = ? AND kid = ? AND status = ?`
	case KeyStatusRetired:
		query = `UPDATE signing_keys SET status = ?, retired_at = ? WHERE tenant_id = ? AND kid = ? AND status = ?`
	default:
		return fmt.Errorf("set signing key %s status: cannot move a key to %q", kid, to)
	}
	if err := q.execOne(ctx, query, to, at.Unix(), tenantID, kid, from); err != nil {
		return fmt.Errorf("set signing key %s %s -> %s: %w", kid, from, to, err)
	}
	return q.notify(ctx, TopicKeys, tenantID)
}

// DeleteRetiredSigningKeys deletes a tenant's keys retired before before and returns how many.
func (q *queries) DeleteRetiredSigningKeys(ctx context.Context, tenantID string, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM signing_keys WHERE tenant_id = ? AND status = ? AND retired_at < ?`,
		tenantID, KeyStatusRetired, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete retired signing keys: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		if err := q.notify(ctx, TopicKeys, tenantID); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// PruneRetiredSigningKeys deletes every tenant's keys retired before before and returns how many.
func (q *queries) PruneRetiredSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM signing_keys WHERE status = ? AND retired_at < ?`, KeyStatusRetired, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("prune retired signing keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// SigningKeysDue returns the ids of the tenants having a current key activated before before, that is
// due for scheduled rotation.
func (q *queries) SigningKeysDue(ctx context.Context, before time.Time) ([]string, error) {
	out, err := q.queryStrings(ctx, `SELECT DISTINCT tenant_id FROM signing_keys WHERE status = ? AND activated_at < ?
		ORDER BY tenant_id`, KeyStatusCurrent, before.Unix())
	if err != nil {
		return nil, fmt.Errorf("list tenants due for key rotation: %w", err)
	}
	return out, nil
}

// LockSigningKeys serializes signing-key changes of one tenant across nodes until tx ends: a transaction
// advisory lock on PostgreSQL. SQLite transactions already take the write lock at BEGIN (_txlock=immediate).
func (tx *Tx) LockSigningKeys(ctx context.Context, tenantID string) error {
	if !tx.pg {
		return nil
	}
	if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, "umm signing keys "+tenantID); err != nil {
		return fmt.Errorf("lock signing keys: %w", err)
	}
	return nil
}

func signingKeyTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}
