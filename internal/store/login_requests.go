package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Login request kinds and statuses.
const (
	LoginKindAuthorize = "authorize" // from the OIDC authorization endpoint; resumes at /t/{tenant}/authorize/resume
	LoginKindDevice    = "device"    // from the device verification page; resumes at /t/{tenant}/device
	LoginKindSAML      = "saml"      // from the SAML IdP (an SP's AuthnRequest or IdP-initiated); resumes at /t/{tenant}/saml/resume

	LoginPending       = "pending"       // created; the user has not signed in yet
	LoginAuthenticated = "authenticated" // signed in and consented: UserID, SessionID, AMR, ... and GrantedScopes set
	LoginDenied        = "denied"        // the user refused consent
	LoginUnmet         = "unmet"         // an essential acr the user's factors cannot reach
	LoginDone          = "done"          // consumed by oidc (a code was minted); never reusable
)

// AuthorizeParams is the validated authorization request that oidc hands to login. It is stored as JSON.
type AuthorizeParams struct {
	ResponseType        string   `json:"response_type"`
	RedirectURI         string   `json:"redirect_uri"`
	Scopes              []string `json:"scopes"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	ResponseMode        string   `json:"response_mode,omitempty"` // query or form_post
	Prompt              []string `json:"prompt,omitempty"`
	MaxAge              int64    `json:"max_age"` // -1 when absent
	LoginHint           string   `json:"login_hint,omitempty"`
	UILocales           string   `json:"ui_locales,omitempty"`
	// Lang is the language of every page of this flow, chosen when it started (login_requests_lang.go).
	Lang      string   `json:"lang,omitempty"`
	ACRValues []string `json:"acr_values,omitempty"`
	// ACREssential: the claims request asked for acr as an essential claim (with ACRValues as its values);
	// a sign-in that cannot reach one of them fails with unmet_authentication_requirements.
	ACREssential bool `json:"acr_essential,omitempty"`
	// Connection is the upstream identity provider the request asked to sign in with (connection=ID).
	Connection string `json:"connection,omitempty"`
	// RequireLogin: the user must enter credentials even with a valid session (prompt=login or max_age passed).
	RequireLogin bool `json:"require_login,omitempty"`
	// RequireConsent: show the consent page even if an earlier grant covers the scopes (prompt=consent).
	RequireConsent bool `json:"require_consent,omitempty"`
	// DeviceUserCodeHash is the hash (keys.HashToken) of the normalised user code a device-kind request
	// approves, as device_codes.user_code_hash holds it. Only hashes of codes are stored in the clear.
	DeviceUserCodeHash []byte `json:"device_user_code_hash,omitempty"`
	// DeviceUserCodeSealed is that user code sealed with the master key, for the approve page to show.
	DeviceUserCodeSealed []byte `json:"device_user_code_sealed,omitempty"`
	// SAMLRequestID is the ID of the AuthnRequest a saml-kind request answers (the Response's
	// InResponseTo); empty for an IdP-initiated sign-in.
	SAMLRequestID string `json:"saml_request_id,omitempty"`
	// Resource is the API identifier the request asked tokens for (RFC 8707); Organization the
	// organization the user signs in to (organization=ID).
	Resource     string `json:"resource,omitempty"`
	Organization string `json:"organization,omitempty"`
}

// LoginRequest is the stored handoff between the protocol surfaces (oidc, later saml) and the hosted pages.
type LoginRequest struct {
	TenantID      string
	ID            string // random, URL-safe; appears in URLs as ?lr=
	Kind          string
	ClientID      string
	Params        AuthorizeParams
	BrowserHash   []byte // hash of the browser-binding cookie; resume must present the same browser
	Status        string
	UserID        string
	SessionID     string
	AuthTime      time.Time
	AMR           []string
	ACR           string
	GrantedScopes []string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	IPKey         string // the creating client's address or IPv6 /64 (pending requests are capped per IP)
}

// CreateLoginRequest stores a new request (status pending unless set).
func (q *queries) CreateLoginRequest(ctx context.Context, lr LoginRequest) error {
	params, err := json.Marshal(lr.Params)
	if err != nil {
		return err
	}
	if lr.Status == "" {
		lr.Status = LoginPending
	}
	created := lr.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	_, err = q.exec(ctx, `INSERT INTO login_requests (tenant_id, id, kind, client_id, params, browser_hash, status, user_id,
		session_id, auth_time, amr, acr, granted_scopes, created_at, expires_at, ip_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		lr.TenantID, lr.ID, lr.Kind, lr.ClientID, string(params), lr.BrowserHash, lr.Status, lr.UserID, lr.SessionID,
		unixOrNone(lr.AuthTime), jsonList(lr.AMR), lr.ACR, jsonList(lr.GrantedScopes), created.Unix(), expiryUnix(lr.ExpiresAt), lr.IPKey)
	if err != nil {
		return fmt.Errorf("create login request: %w", err)
	}
	return nil
}

func unixOrNone(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// GetLoginRequest returns the request (expired ones too: callers check ExpiresAt) or ErrNotFound.
func (q *queries) GetLoginRequest(ctx context.Context, tenantID, id string) (LoginRequest, error) {
	var lr LoginRequest
	var params, amr, scopes string
	var authTime, created, expires int64
	err := q.row(ctx, `SELECT tenant_id, id, kind, client_id, params, browser_hash, status, user_id, session_id, auth_time,
		amr, acr, granted_scopes, created_at, expires_at FROM login_requests WHERE tenant_id = ? AND id = ?`, tenantID, id).
		Scan(&lr.TenantID, &lr.ID, &lr.Kind, &lr.ClientID, &params, &lr.BrowserHash, &lr.Status, &lr.UserID, &lr.SessionID,
			&authTime, &amr, &lr.ACR, &scopes, &created, &expires)
	if err != nil {
		return lr, fmt.Errorf("get login request: %w", scanErr(err))
	}
	if err := json.Unmarshal([]byte(params), &lr.Params); err != nil {
		return lr, fmt.Errorf("get login request: params: %w", err)
	}
	lr.AuthTime = unixOrZero(authTime)
	lr.AMR, lr.GrantedScopes = parseList(amr), parseList(scopes)
	lr.CreatedAt, lr.ExpiresAt = time.Unix(created, 0), time.Unix(expires, 0)
	return lr, nil
}

// CompleteLoginRequest marks a pending request authenticated with who signed in and what they granted.
// It changes only a pending request: a second completion is ErrConflict.
func (q *queries) CompleteLoginRequest(ctx context.Context, lr LoginRequest) error {
	err := q.execOne(ctx, `UPDATE login_requests SET status = ?, user_id = ?, session_id = ?, auth_time = ?, amr = ?, acr = ?,
		granted_scopes = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
		LoginAuthenticated, lr.UserID, lr.SessionID, unixOrNone(lr.AuthTime), jsonList(lr.AMR), lr.ACR,
		jsonList(lr.GrantedScopes), lr.TenantID, lr.ID, LoginPending)
	if isNotFound(err) {
		return fmt.Errorf("complete login request: %w", ErrConflict)
	}
	return err
}

// SetLoginRequestStatus moves a request from status from to status to (denied, done); ErrConflict when it
// is not in status from any more (used to make consumption single-use).
func (q *queries) SetLoginRequestStatus(ctx context.Context, tenantID, id, from, to string) error {
	err := q.execOne(ctx, `UPDATE login_requests SET status = ? WHERE tenant_id = ? AND id = ? AND status = ?`, to, tenantID, id, from)
	if isNotFound(err) {
		return fmt.Errorf("login request %s -> %s: %w", from, to, ErrConflict)
	}
	return err
}

// DeleteExpiredLoginRequests removes requests that expired before t (garbage collection).
func (q *queries) DeleteExpiredLoginRequests(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM login_requests WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
