package store

import (
	"context"
	"fmt"
	"time"
)

// AuthCode is an authorization code (RFC 6749 §4.1.2). Only the hash of the code is stored; a code is
// single use: RedeemAuthCode marks it redeemed atomically.
type AuthCode struct {
	TenantID            string
	CodeHash            []byte
	ClientID            string
	UserID              string
	SessionID           string
	GrantID             string // the grant the redemption creates; a replay revokes it
	RedirectURI         string
	Scopes              []string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	AuthTime            time.Time
	AMR                 []string
	ACR                 string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	RedeemedAt          time.Time // zero while unredeemed
	// Resource is the API identifier the authorization request named (RFC 8707), OrgID the organization
	// the user signed in to; both empty when absent.
	Resource string
	OrgID    string
}

// CreateAuthCode stores a new, unredeemed code.
func (q *queries) CreateAuthCode(ctx context.Context, c AuthCode) error {
	created := c.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	_, err := q.exec(ctx, `INSERT INTO authorization_codes (tenant_id, code_hash, client_id, user_id, session_id, grant_id,
		redirect_uri, scopes, nonce, code_challenge, code_challenge_method, auth_time, amr, acr, created_at, expires_at,
		resource, org_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.TenantID, c.CodeHash, c.ClientID, c.UserID, c.SessionID, c.GrantID, c.RedirectURI, jsonList(c.Scopes), c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, unixOrNone(c.AuthTime), jsonList(c.AMR), c.ACR, created.Unix(), expiryUnix(c.ExpiresAt),
		c.Resource, c.OrgID)
	if err != nil {
		return fmt.Errorf("create authorization code: %w", err)
	}
	return nil
}

// GetAuthCode returns the code with that hash (redeemed and expired ones too) or ErrNotFound.
func (q *queries) GetAuthCode(ctx context.Context, tenantID string, codeHash []byte) (AuthCode, error) {
	var c AuthCode
	var scopes, amr string
	var authTime, created, expires int64
	var redeemed *int64
	err := q.row(ctx, `SELECT tenant_id, code_hash, client_id, user_id, session_id, grant_id, redirect_uri, scopes, nonce,
		code_challenge, code_challenge_method, auth_time, amr, acr, created_at, expires_at, redeemed_at, resource, org_id
		FROM authorization_codes WHERE tenant_id = ? AND code_hash = ?`, tenantID, codeHash).
		Scan(&c.TenantID, &c.CodeHash, &c.ClientID, &c.UserID, &c.SessionID, &c.GrantID, &c.RedirectURI, &scopes, &c.Nonce,
			&c.CodeChallenge, &c.CodeChallengeMethod, &authTime, &amr, &c.ACR, &created, &expires, &redeemed,
			&c.Resource, &c.OrgID)
	if err != nil {
		return c, fmt.Errorf("get authorization code: %w", scanErr(err))
	}
	c.Scopes, c.AMR = parseList(scopes), parseList(amr)
	c.AuthTime = unixOrZero(authTime)
	c.CreatedAt, c.ExpiresAt = time.Unix(created, 0), time.Unix(expires, 0)
	c.RedeemedAt = nullTime(redeemed)
	return c, nil
}

// RedeemAuthCode marks the code redeemed at t. Only one caller ever succeeds: a code that is already
// redeemed (or absent) is ErrConflict.
func (q *queries) RedeemAuthCode(ctx context.Context, tenantID string, codeHash []byte, t time.Time) error {
	err := q.execOne(ctx, `UPDATE authorization_codes SET redeemed_at = ? WHERE tenant_id = ? AND code_hash = ?
		AND redeemed_at IS NULL`, t.Unix(), tenantID, codeHash)
	if isNotFound(err) {
		return fmt.Errorf("redeem authorization code: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("redeem authorization code: %w", err)
	}
	return nil
}

// DeleteExpiredAuthCodes removes codes that expired before t (garbage collection).
func (q *queries) DeleteExpiredAuthCodes(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM authorization_codes WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete expired authorization codes: %w", err)
	}
	return res.RowsAffected()
}
