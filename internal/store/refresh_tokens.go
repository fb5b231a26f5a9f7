package store

import (
	"context"
	"fmt"
	"time"
)

// RefreshToken is one member of a grant's refresh token family. Only its hash is stored. It is used
// once: the token endpoint rotates it and a second use revokes the grant (RFC 9700 §4.14.2).
type RefreshToken struct {
	TenantID  string
	TokenHash []byte
	GrantID   string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused
}

// CreateRefreshToken stores a new, unused refresh token.
func (q *queries) CreateRefreshToken(ctx context.Context, rt RefreshToken) error {
	created := rt.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	_, err := q.exec(ctx, `INSERT INTO refresh_tokens (tenant_id, token_hash, grant_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, rt.TenantID, rt.TokenHash, rt.GrantID, created.Unix(), expiryUnix(rt.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// GetRefreshToken returns the refresh token with that hash together with its grant, in one read, or
// ErrNotFound (also when the grant is gone).
func (q *queries) GetRefreshToken(ctx context.Context, tenantID string, tokenHash []byte) (RefreshToken, Grant, error) {
	var rt RefreshToken
	var created, expires int64
	var used *int64
	var g Grant
	var scopes, amr string
	var gAuth, gCreated, gExpires int64
	var gRevoked *int64
	err := q.row(ctx, `SELECT r.tenant_id, r.token_hash, r.grant_id, r.created_at, r.expires_at, r.used_at,
		g.tenant_id, g.id, g.client_id, g.user_id, g.session_id, g.scopes, g.auth_time, g.amr, g.acr, g.created_at,
		g.expires_at, g.revoked_at, g.resource, g.org_id
		FROM refresh_tokens r JOIN grants g ON g.tenant_id = r.tenant_id AND g.id = r.grant_id
		WHERE r.tenant_id = ? AND r.token_hash = ?`, tenantID, tokenHash).
		Scan(&rt.TenantID, &rt.TokenHash, &rt.GrantID, &created, &expires, &used,
			&g.TenantID, &g.ID, &g.ClientID, &g.UserID, &g.SessionID, &scopes, &gAuth, &amr, &g.ACR, &gCreated,
			&gExpires, &gRevoked, &g.Resource, &g.OrgID)
	if err != nil {
		return rt, g, fmt.Errorf("get refresh token: %w", scanErr(err))
	}
	rt.CreatedAt, rt.ExpiresAt, rt.UsedAt = time.Unix(created, 0), time.Unix(expires, 0), nullTime(used)
	g.Scopes, g.AMR = parseList(scopes), parseList(amr)
	g.AuthTime = unixOrZero(gAuth)
	g.CreatedAt, g.ExpiresAt, g.RevokedAt = time.Unix(gCreated, 0), time.Unix(gExpires, 0), nullTime(gRevoked)
	return rt, g, nil
}

// UseRefreshToken marks the token used at t. Only one caller ever succeeds: a token already used (or
// absent) is ErrConflict, the signal of reuse.
func (q *queries) UseRefreshToken(ctx context.Context, tenantID string, tokenHash []byte, t time.Time) error {
	err := q.execOne(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE tenant_id = ? AND token_hash = ? AND used_at IS NULL`,
		t.Unix(), tenantID, tokenHash)
	if isNotFound(err) {
		return fmt.Errorf("use refresh token: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("use refresh token: %w", err)
	}
	return nil
}
