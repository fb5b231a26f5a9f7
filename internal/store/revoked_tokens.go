package store

import (
	"context"
	"fmt"
	"time"
)

// RevokeAccessToken records that the access token with jti is revoked until expiresAt (its exp). Revoking
// it again is not an error.
func (q *queries) RevokeAccessToken(ctx context.Context, tenantID, jti string, expiresAt time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO revoked_tokens (tenant_id, jti, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, jti) DO NOTHING`, tenantID, jti, expiryUnix(expiresAt))
	if err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	return q.notify(ctx, TopicRevoke, tenantID+":"+RevokedToken+":"+jti)
}

// AccessTokenRevoked reports, in one statement of two primary-key lookups, whether the access token
// with jti is dead before its exp: revoked by jti, or (grantID not empty) its grant is revoked or gone.
// client_credentials tokens have no grant: pass "".
func (q *queries) AccessTokenRevoked(ctx context.Context, tenantID, jti, grantID string) (bool, error) {
	var revoked, alive int
	err := q.row(ctx, `SELECT (SELECT COUNT(*) FROM revoked_tokens WHERE tenant_id = ? AND jti = ?),
		(SELECT COUNT(*) FROM grants WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL)`,
		tenantID, jti, tenantID, grantID).Scan(&revoked, &alive)
	if err != nil {
		return false, fmt.Errorf("check revoked token: %w", scanErr(err))
	}
	return revoked > 0 || (grantID != "" && alive == 0), nil
}

// DeleteExpiredRevokedTokens removes revocation records past the expiry of the tokens they name (which
// are dead anyway).
func (q *queries) DeleteExpiredRevokedTokens(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM revoked_tokens WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete expired revoked tokens: %w", err)
	}
	return res.RowsAffected()
}
