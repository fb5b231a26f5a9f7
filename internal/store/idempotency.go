package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IdempotencyKey is a management API client's Idempotency-Key and what its first request answered.
type IdempotencyKey struct {
	TenantID    string
	ClientID    string
	Key         string
	RequestHash []byte
	Status      int    // 0 while the first request runs
	Response    []byte // sealed answer, once Status is set
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// ClaimIdempotencyKey records k as running. It reports false, with the stored row, when the key is already
// known and unexpired; an expired row is replaced.
func (q *queries) ClaimIdempotencyKey(ctx context.Context, k IdempotencyKey) (bool, IdempotencyKey, error) {
	now := time.Now()
	if _, err := q.exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = ? AND client_id = ? AND key = ? AND expires_at <= ?`,
		k.TenantID, k.ClientID, k.Key, now.Unix()); err != nil {
		return false, k, fmt.Errorf("claim idempotency key: %w", err)
	}
	res, err := q.exec(ctx, `INSERT INTO idempotency_keys (tenant_id, client_id, key, request_hash, status, created_at, expires_at)
		VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (tenant_id, client_id, key) DO NOTHING`,
		k.TenantID, k.ClientID, k.Key, k.RequestHash, now.Unix(), k.ExpiresAt.Unix())
	if err != nil {
		return false, k, fmt.Errorf("claim idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, k, nil
	}
	var got IdempotencyKey
	var created, expires int64
	err = q.row(ctx, `SELECT tenant_id, client_id, key, request_hash, status, response, created_at, expires_at
		FROM idempotency_keys WHERE tenant_id = ? AND client_id = ? AND key = ?`, k.TenantID, k.ClientID, k.Key).
		Scan(&got.TenantID, &got.ClientID, &got.Key, &got.RequestHash, &got.Status, &got.Response, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return false, k, fmt.Errorf("claim idempotency key: %w", ErrConflict)
	}
	if err != nil {
		return false, k, fmt.Errorf("claim idempotency key: %w", err)
	}
	got.CreatedAt, got.ExpiresAt = time.Unix(created, 0), time.Unix(expires, 0)
	return false, got, nil
}

// FinishIdempotencyKey stores the answer of the request that claimed the key.
func (q *queries) FinishIdempotencyKey(ctx context.Context, tenantID, clientID, key string, status int, sealed []byte) error {
	return q.execOne(ctx, `UPDATE idempotency_keys SET status = ?, response = ? WHERE tenant_id = ? AND client_id = ? AND key = ?`,
		status, sealed, tenantID, clientID, key)
}

// ReleaseIdempotencyKey forgets a key whose request failed without effect, so that it can be retried.
func (q *queries) ReleaseIdempotencyKey(ctx context.Context, tenantID, clientID, key string) error {
	_, err := q.exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = ? AND client_id = ? AND key = ? AND status = 0`,
		tenantID, clientID, key)
	return err
}

// DeleteExpiredIdempotencyKeys forgets keys whose replay window ended before before (garbage collection).
func (q *queries) DeleteExpiredIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return res.RowsAffected()
}
