package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// UserIdentity is a user's identity at one of the tenant's connections (a linked account).
type UserIdentity struct {
	TenantID      string
	ConnectionID  string
	Subject       string // the upstream's stable id for the account
	UserID        string
	Email         string // what the upstream said at the last sign-in
	EmailVerified bool   // whether the upstream said that address is verified
	Claims        string // the upstream claims of the last sign-in, as JSON
	Tokens        []byte // the upstream tokens, sealed; nil unless the connection stores them
	CreatedAt     time.Time
	LastUsedAt    time.Time
}

const userIdentityCols = `tenant_id, connection_id, subject, user_id, email, email_verified, claims, tokens, created_at, last_used_at`

func scanUserIdentity(row interface{ Scan(...any) error }) (UserIdentity, error) {
	var u UserIdentity
	var created, used int64
	if err := row.Scan(&u.TenantID, &u.ConnectionID, &u.Subject, &u.UserID, &u.Email, &u.EmailVerified, &u.Claims, &u.Tokens,
		&created, &used); err != nil {
		return UserIdentity{}, err
	}
	u.CreatedAt, u.LastUsedAt = time.Unix(created, 0), unixOrZero(used)
	return u, nil
}

// LinkIdentity stores a new linked identity. ErrConflict when the upstream account is already linked (to
// this or another user).
func (q *queries) LinkIdentity(ctx context.Context, ui UserIdentity) error {
	_, err := q.exec(ctx, `INSERT INTO user_identities (`+userIdentityCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ui.TenantID, ui.ConnectionID, ui.Subject, ui.UserID, ui.Email, ui.EmailVerified, ui.Claims, nilIfEmpty(ui.Tokens),
		ui.CreatedAt.Unix(), unixOrNone(ui.LastUsedAt))
	if err != nil {
		return fmt.Errorf("link identity: %w", err)
	}
	return nil
}

// GetIdentity returns the identity an upstream account is linked as, ErrNotFound when it is not linked.
func (q *queries) GetIdentity(ctx context.Context, tenantID, connectionID, subject string) (UserIdentity, error) {
	ui, err := scanUserIdentity(q.row(ctx, `SELECT `+userIdentityCols+` FROM user_identities
		WHERE tenant_id = ? AND connection_id = ? AND subject = ?`, tenantID, connectionID, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return UserIdentity{}, ErrNotFound
	}
	if err != nil {
		return UserIdentity{}, fmt.Errorf("get identity: %w", err)
	}
	return ui, nil
}

// ListUserIdentities returns a user's linked identities, oldest first.
func (q *queries) ListUserIdentities(ctx context.Context, tenantID, userID string) ([]UserIdentity, error) {
	return q.listIdentities(ctx, `SELECT `+userIdentityCols+` FROM user_identities WHERE tenant_id = ? AND user_id = ?
		ORDER BY created_at, connection_id, subject`, tenantID, userID)
}

// ListConnectionIdentities returns the identities linked through a connection (for directory sync).
func (q *queries) ListConnectionIdentities(ctx context.Context, tenantID, connectionID string) ([]UserIdentity, error) {
	return q.listIdentities(ctx, `SELECT `+userIdentityCols+` FROM user_identities WHERE tenant_id = ? AND connection_id = ?
		ORDER BY subject`, tenantID, connectionID)
}

func (q *queries) listIdentities(ctx context.Context, query string, args ...any) ([]UserIdentity, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	defer rows.Close()
	var out []UserIdentity
	for rows.Next() {
		ui, err := scanUserIdentity(rows)
		if err != nil {
			return nil, fmt.Errorf("list identities: %w", err)
		}
		out = append(out, ui)
	}
	return out, rows.Err()
}

// TouchIdentity records a sign-in through a linked identity: what the upstream said this time, and its
// tokens when they are kept (nil tokens leave the stored ones alone).
func (q *queries) TouchIdentity(ctx context.Context, ui UserIdentity, at time.Time) error {
	err := q.execOne(ctx, `UPDATE user_identities SET email = ?, email_verified = ?, claims = ?,
		tokens = COALESCE(?, tokens), last_used_at = ? WHERE tenant_id = ? AND connection_id = ? AND subject = ?`,
		ui.Email, ui.EmailVerified, ui.Claims, nilIfEmpty(ui.Tokens), at.Unix(), ui.TenantID, ui.ConnectionID, ui.Subject)
	if err != nil {
		return fmt.Errorf("touch identity: %w", err)
	}
	return nil
}

// UnlinkIdentity removes a user's linked identity. ErrNotFound when the user has no such identity.
func (q *queries) UnlinkIdentity(ctx context.Context, tenantID, userID, connectionID, subject string) error {
	err := q.execOne(ctx, `DELETE FROM user_identities WHERE tenant_id = ? AND user_id = ? AND connection_id = ? AND subject = ?`,
		tenantID, userID, connectionID, subject)
	if err != nil {
		return fmt.Errorf("unlink identity: %w", err)
	}
	return nil
}

// UseAssertion records the one use of an assertion id until expires. False when it was used before.
func (q *queries) UseAssertion(ctx context.Context, tenantID, id string, expires time.Time) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO used_assertions (tenant_id, id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, id) DO NOTHING`, tenantID, id, expires.Unix())
	if err != nil {
		return false, fmt.Errorf("use assertion: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SealedTokens is the sealed upstream tokens of one linked identity (for master key rotation).
type SealedTokens struct {
	ConnectionID, Subject string
	Sealed                []byte
}

// ListSealedIdentityTokens returns the tenant's sealed upstream tokens.
func (q *queries) ListSealedIdentityTokens(ctx context.Context, tenantID string) ([]SealedTokens, error) {
	rows, err := q.query(ctx, `SELECT connection_id, subject, tokens FROM user_identities
		WHERE tenant_id = ? AND tokens IS NOT NULL ORDER BY connection_id, subject`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list sealed tokens: %w", err)
	}
	defer rows.Close()
	var out []SealedTokens
	for rows.Next() {
		var s SealedTokens
		if err := rows.Scan(&s.ConnectionID, &s.Subject, &s.Sealed); err != nil {
			return nil, fmt.Errorf("list sealed tokens: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetIdentityTokens replaces an identity's sealed tokens when they are still old (compare and swap).
func (q *queries) SetIdentityTokens(ctx context.Context, tenantID, connectionID, subject string, old, sealed []byte) (bool, error) {
	res, err := q.exec(ctx, `UPDATE user_identities SET tokens = ? WHERE tenant_id = ? AND connection_id = ? AND subject = ? AND tokens = ?`,
		sealed, tenantID, connectionID, subject, old)
	if err != nil {
		return false, fmt.Errorf("reseal tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
