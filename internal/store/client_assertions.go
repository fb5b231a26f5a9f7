package store

import (
	"context"
	"fmt"
	"time"
)

// UseClientAssertion records the jti of a private_key_jwt client assertion until expiresAt (its exp).
// A jti the client already used is ErrConflict: a replay (RFC 7523 §3 item 7).
func (q *queries) UseClientAssertion(ctx context.Context, tenantID, clientID, jti string, expiresAt time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO client_assertion_jtis (tenant_id, client_id, jti, expires_at) VALUES (?, ?, ?, ?)`,
		tenantID, clientID, jti, expiryUnix(expiresAt))
	if err != nil {
		return fmt.Errorf("use client assertion: %w", err)
	}
	return nil
}
