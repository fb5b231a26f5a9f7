package store

import (
	"context"
	"fmt"
	"time"
)

// Consent is what one user allowed one client: the union of every scope granted so far.
type Consent struct {
	TenantID  string
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GetConsent returns the user's consent for the client, or ErrNotFound. On PostgreSQL inside a
// transaction with forUpdate it locks the row, so that read-merge-write sequences do not lose scopes.
func (q *queries) GetConsent(ctx context.Context, tenantID, userID, clientID string, forUpdate bool) (Consent, error) {
	query := `SELECT tenant_id, user_id, client_id, scopes, created_at, updated_at FROM consent_grants
		WHERE tenant_id = ? AND user_id = ? AND client_id = ?`
	if forUpdate && q.pg {
		query += ` FOR UPDATE`
	}
	rows, err := q.query(ctx, query, tenantID, userID, clientID)
	if err != nil {
		return Consent{}, fmt.Errorf("get consent: %w", err)
	}
	cs, err := scanConsents(rows)
	if err != nil {
		return Consent{}, fmt.Errorf("get consent: %w", err)
	}
	if len(cs) == 0 {
		return Consent{}, fmt.Errorf("get consent: %w", ErrNotFound)
	}
	return cs[0], nil
}

// UpsertConsent stores c.Scopes as the consent of c.UserID for c.ClientID (replacing the scopes; merging
// is the caller's job).
func (q *queries) UpsertConsent(ctx context.Context, c Consent) error {
	at := c.UpdatedAt
	if at.IsZero() {
		at = time.Now()
	}
	_, err := q.exec(ctx, `INSERT INTO consent_grants (tenant_id, user_id, client_id, scopes, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET scopes = excluded.scopes,
		updated_at = excluded.updated_at`, c.TenantID, c.UserID, c.ClientID, jsonList(c.Scopes), at.Unix(), at.Unix())
	if err != nil {
		return fmt.Errorf("upsert consent: %w", err)
	}
	return nil
}

// DeleteConsent removes the consent; ErrNotFound when there was none.
func (q *queries) DeleteConsent(ctx context.Context, tenantID, userID, clientID string) error {
	err := q.execOne(ctx, `DELETE FROM consent_grants WHERE tenant_id = ? AND user_id = ? AND client_id = ?`,
		tenantID, userID, clientID)
	if err != nil {
		return fmt.Errorf("delete consent: %w", err)
	}
	return nil
}

// ListConsents returns the user's consents ordered by client id.
func (q *queries) ListConsents(ctx context.Context, tenantID, userID string) ([]Consent, error) {
	rows, err := q.query(ctx, `SELECT tenant_id, user_id, client_id, scopes, created_at, updated_at FROM consent_grants
		WHERE tenant_id = ? AND user_id = ? ORDER BY client_id`, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	cs, err := scanConsents(rows)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	return cs, nil
}

// ConsentQuery selects consents of a tenant: of one user, for one client, or both; after the keyset
// position (AfterUser, AfterClient) in (user_id, client_id) order.
type ConsentQuery struct {
	UserID, ClientID       string
	AfterUser, AfterClient string
	Limit                  int // at most 1000; 100 when zero
}

// SearchConsents returns the consents matching f ordered by user id, then client id.
func (q *queries) SearchConsents(ctx context.Context, tenantID string, f ConsentQuery) ([]Consent, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	query := `SELECT tenant_id, user_id, client_id, scopes, created_at, updated_at FROM consent_grants WHERE tenant_id = ?`
	args := []any{tenantID}
	if f.UserID != "" {
		query += ` AND user_id = ?`
		args = append(args, f.UserID)
	}
	if f.ClientID != "" {
		query += ` AND client_id = ?`
		args = append(args, f.ClientID)
	}
	if f.AfterUser != "" || f.AfterClient != "" {
		query += ` AND (user_id > ? OR user_id = ? AND client_id > ?)`
		args = append(args, f.AfterUser, f.AfterUser, f.AfterClient)
	}
	rows, err := q.query(ctx, query+` ORDER BY user_id, client_id LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("search consents: %w", err)
	}
	cs, err := scanConsents(rows)
	if err != nil {
		return nil, fmt.Errorf("search consents: %w", err)
	}
	return cs, nil
}

// GrantRef names a grant changed by a bulk operation.
type GrantRef struct {
	ID       string
	ClientID string
	UserID   string
}

// RevokeGrantsByUser sets revoked_at on the user's live grants for clientID ("" = every client) and
// returns what it revoked, so that the caller can append one grant.revoked event per grant. Refresh tokens
// of a revoked grant stop working and access tokens carrying its id stop introspecting
// (AccessTokenRevoked checks the grant).
func (q *queries) RevokeGrantsByUser(ctx context.Context, tenantID, userID, clientID string, at time.Time) ([]GrantRef, error) {
	out, err := q.endGrants(ctx, tenantID, `UPDATE grants SET revoked_at = ? WHERE tenant_id = ? AND user_id = ?
		AND (? = '' OR client_id = ?) AND revoked_at IS NULL RETURNING id, client_id, user_id`,
		at.Unix(), tenantID, userID, clientID, clientID)
	if err != nil {
		return nil, fmt.Errorf("revoke grants: %w", err)
	}
	return out, nil
}

// endGrants runs query, a statement that revokes or deletes grants of the tenant and returns their id,
// client_id and user_id, and tells every node that those grants no longer hold.
func (q *queries) endGrants(ctx context.Context, tenantID, query string, args ...any) ([]GrantRef, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []GrantRef
	for rows.Next() {
		var g GrantRef
		if err := rows.Scan(&g.ID, &g.ClientID, &g.UserID); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close() // before the next statement on the transaction's connection
	ids := make([]string, len(out))
	for i, g := range out {
		ids[i] = g.ID
	}
	if err := q.notifyRevokedGrants(ctx, tenantID, ids); err != nil {
		return nil, err
	}
	return out, nil
}

func scanConsents(rows interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}) ([]Consent, error) {
	defer rows.Close()
	var out []Consent
	for rows.Next() {
		var c Consent
		var scopes string
		var created, updated int64
		if err := rows.Scan(&c.TenantID, &c.UserID, &c.ClientID, &scopes, &created, &updated); err != nil {
			return nil, err
		}
		c.Scopes = parseList(scopes)
		c.CreatedAt, c.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, c)
	}
	return out, rows.Err()
}
