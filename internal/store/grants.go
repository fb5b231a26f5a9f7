package store

import (
	"context"
	"fmt"
	"time"
)

// Grant is what one user allowed one client (an authorization code redemption or a device approval).
// Its refresh tokens form one family: revoking the grant kills them all, and the access tokens that carry
// its id (the gid claim) stop introspecting.
type Grant struct {
	TenantID  string
	ID        string
	ClientID  string
	UserID    string
	SessionID string
	Scopes    []string
	AuthTime  time.Time
	AMR       []string
	ACR       string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while the grant is alive
	// Resource and OrgID: the API (RFC 8707) and organization the grant's tokens are for; empty when none.
	Resource string
	OrgID    string
}

// Alive reports whether the grant is neither revoked nor expired at t.
func (g Grant) Alive(t time.Time) bool { return g.RevokedAt.IsZero() && t.Before(g.ExpiresAt) }

const grantCols = `tenant_id, id, client_id, user_id, session_id, scopes, auth_time, amr, acr, created_at, expires_at, revoked_at,
	resource, org_id`

// CreateGrant stores a new grant; an existing id is ErrConflict.
func (q *queries) CreateGrant(ctx context.Context, g Grant) error {
	created := g.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	_, err := q.exec(ctx, `INSERT INTO grants (tenant_id, id, client_id, user_id, session_id, scopes, auth_time, amr, acr,
		created_at, expires_at, resource, org_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.TenantID, g.ID, g.ClientID, g.UserID, g.SessionID, jsonList(g.Scopes), unixOrNone(g.AuthTime), jsonList(g.AMR),
		g.ACR, created.Unix(), expiryUnix(g.ExpiresAt), g.Resource, g.OrgID)
	if err != nil {
		return fmt.Errorf("create grant: %w", err)
	}
	return nil
}

// GetGrant returns the grant (revoked and expired ones too) or ErrNotFound.
func (q *queries) GetGrant(ctx context.Context, tenantID, id string) (Grant, error) {
	g, err := scanGrant(q.row(ctx, `SELECT `+grantCols+` FROM grants WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return g, fmt.Errorf("get grant: %w", err)
	}
	return g, nil
}

// RevokeGrant marks the grant revoked at t: its refresh tokens stop working and the access tokens that
// carry its id stop introspecting. It reports whether this call revoked it (false when it was already
// revoked); an unknown grant is ErrNotFound. Run it in the transaction that appends the grant.revoked event.
// (Bulk revocation by user and client is RevokeGrantsByUser in consents.go.)
func (q *queries) RevokeGrant(ctx context.Context, tenantID, id string, t time.Time) (bool, error) {
	err := q.execOne(ctx, `UPDATE grants SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL`,
		t.Unix(), tenantID, id)
	if isNotFound(err) {
		if _, err := q.GetGrant(ctx, tenantID, id); err != nil {
			return false, fmt.Errorf("revoke grant: %w", err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("revoke grant: %w", err)
	}
	if err := q.notifyRevokedGrants(ctx, tenantID, []string{id}); err != nil {
		return false, err
	}
	return true, nil
}

// DeleteExpiredGrants removes grants (and their refresh tokens) that expired before t.
func (q *queries) DeleteExpiredGrants(ctx context.Context, before time.Time) (int64, error) {
	if _, err := q.exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < ?`, before.Unix()); err != nil {
		return 0, fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	res, err := q.exec(ctx, `DELETE FROM grants WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete expired grants: %w", err)
	}
	return res.RowsAffected()
}

func scanGrant(row interface{ Scan(...any) error }) (Grant, error) {
	var g Grant
	var scopes, amr string
	var authTime, created, expires int64
	var revoked *int64
	if err := row.Scan(&g.TenantID, &g.ID, &g.ClientID, &g.UserID, &g.SessionID, &scopes, &authTime, &amr, &g.ACR,
		&created, &expires, &revoked, &g.Resource, &g.OrgID); err != nil {
		return g, scanErr(err)
	}
	g.Scopes, g.AMR = parseList(scopes), parseList(amr)
	g.AuthTime = unixOrZero(authTime)
	g.CreatedAt, g.ExpiresAt = time.Unix(created, 0), time.Unix(expires, 0)
	g.RevokedAt = nullTime(revoked)
	return g, nil
}
