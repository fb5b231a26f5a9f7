package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// maxCodeLen bounds the code parameter (UMM's codes are 43 characters).
const maxCodeLen = 256

// errCodeRaced: another request redeemed the code between our read and our update.
var errCodeRaced = errors.New("authorization code redeemed concurrently")

// grantAuthorizationCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6). The code is
// single use: the redemption is one conditional update, and a second redemption (sequential or
// concurrent) fails with invalid_grant and revokes the grant of the first (RFC 6749 §4.1.2: "SHOULD
// revoke all tokens previously issued based on that authorization code").
func (p *Provider) grantAuthorizationCode(ctx context.Context, tr *tokenRequest) (*tokenResponse, error) {
	t, c := tr.tenant, tr.client
	code := tr.form.Get("code")
	redirectURI := tr.form.Get("redirect_uri")
	verifier := tr.form.Get("code_verifier")
	switch {
	case code == "":
		return nil, errInvalidRequest("code is required")
	case redirectURI == "":
		return nil, errInvalidRequest("redirect_uri is required: send the one sent to the authorization endpoint")
	case len(code) > maxCodeLen:
		return nil, errInvalidGrant(nil, "the authorization code is invalid")
	}
	hash := keys.HashToken(code)
	ac, err := p.db.GetAuthCode(ctx, t.ID, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidGrant(err, "the authorization code is invalid: start the authorization again")
	}
	if err != nil {
		return nil, err
	}
	now := p.now()
	grant := store.Grant{TenantID: t.ID, ID: ac.GrantID, ClientID: ac.ClientID, UserID: ac.UserID}
	if !ac.RedeemedAt.IsZero() {
		if err := p.revokeGrant(ctx, t, grant, events.ClientActor(c.ClientID), "code_replay"); err != nil {
			return nil, err
		}
		return nil, errInvalidGrant(nil, "the authorization code was already used; the tokens issued for it are revoked")
	}
	switch {
	case ac.ClientID != c.ClientID:
		return nil, errInvalidGrant(nil, "the authorization code was issued to another client")
	case !now.Before(ac.ExpiresAt):
		return nil, errInvalidGrant(nil, "the authorization code has expired: start the authorization again")
	case redirectURI != ac.RedirectURI:
		return nil, errInvalidGrant(nil, "redirect_uri must be exactly the one sent to the authorization endpoint")
	}
	if err := checkPKCE(c, ac, verifier); err != nil {
		return nil, err
	}
	user, err := p.activeUser(ctx, t.ID, ac.UserID)
	if err != nil {
		return nil, err
	}
	// RFC 8707 §2: the token request may name the resource again, but only the one authorized.
	resource := tr.form.Get("resource")
	switch {
	case resource == "":
		resource = ac.Resource
	case ac.Resource != "" && resource != ac.Resource:
		return nil, errInvalidTarget("resource must be the one sent to the authorization endpoint")
	}
	api, err := p.lookupResource(ctx, t.ID, resource)
	if err != nil {
		return nil, err
	}

	grant.Resource, grant.OrgID = resource, ac.OrgID
	grant.SessionID, grant.Scopes, grant.AuthTime, grant.AMR, grant.ACR = ac.SessionID, ac.Scopes, ac.AuthTime, ac.AMR, ac.ACR
	grant.CreatedAt = now
	a := &authorization{
		grantType: grantAuthorizationCode, client: c, subject: ac.UserID, user: user, scopes: ac.Scopes,
		grantID: ac.GrantID, sessionID: ac.SessionID, authTime: ac.AuthTime, amr: ac.AMR, acr: ac.ACR, nonce: ac.Nonce,
		api: api, orgID: ac.OrgID,
	}
	p.setGrantLifetime(t, c, &grant, a, now)
	a.persist = func(ctx context.Context, tx *store.Tx) error {
		if err := tx.RedeemAuthCode(ctx, t.ID, hash, now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errCodeRaced
			}
			return err
		}
		if err := tx.CreateGrant(ctx, grant); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.GrantCreated(t.ID, grant.UserID, c.ClientID, grant.ID, grant.Scopes))
	}
	resp, err := p.issue(ctx, t, a)
	if errors.Is(err, errCodeRaced) {
		// The request that won has committed its grant by now (our update waited for it): revoke it.
		if err := p.revokeGrant(ctx, t, grant, events.ClientActor(c.ClientID), "code_replay"); err != nil {
			return nil, err
		}
		return nil, errInvalidGrant(err, "the authorization code was already used; the tokens issued for it are revoked")
	}
	return resp, err
}

// setGrantLifetime sets when a new grant ends: with a refresh token (offline_access granted and the
// client registered for refresh_token) the refresh token lifetime, else the access token lifetime (the
// grant then only exists so that its access tokens can be revoked together).
func (p *Provider) setGrantLifetime(t store.Tenant, c store.Client, g *store.Grant, a *authorization, now time.Time) {
	if slices.Contains(g.Scopes, scopeOfflineAccess) && c.HasGrant(grantRefreshToken) {
		g.ExpiresAt = now.Add(t.Settings.RefreshTokenTTLD())
		a.refreshExpires = g.ExpiresAt
		return
	}
	ttl := t.Settings.AccessTokenTTLD()
	if a.api != nil && a.api.TokenLifetime > ttl {
		// The grant outlives its access tokens, which an API may make longer than the tenant's.
		ttl = a.api.TokenLifetime
	}
	g.ExpiresAt = now.Add(ttl)
}

// checkPKCE enforces RFC 7636 at the token endpoint: a code bound to a challenge needs the matching
// verifier; a code without one refuses a verifier (RFC 9700 §2.1.1: PKCE downgrade); public clients
// always need PKCE.
func checkPKCE(c store.Client, ac store.AuthCode, verifier string) error {
	switch {
	case ac.CodeChallenge == "" && verifier != "":
		return errInvalidGrant(nil, "code_verifier was sent but the authorization request had no code_challenge")
	case ac.CodeChallenge == "" && c.Public():
		return errInvalidGrant(nil, "PKCE is required for public clients: send code_challenge to the authorization endpoint")
	case ac.CodeChallenge == "":
		return nil
	case verifier == "":
		return errInvalidGrant(nil, "code_verifier is required: the authorization request had a code_challenge")
	case !verifyPKCE(ac.CodeChallenge, ac.CodeChallengeMethod, verifier):
		return errInvalidGrant(nil, "code_verifier does not match the code_challenge (S256)")
	}
	return nil
}

// verifyPKCE reports whether verifier matches challenge under method (RFC 7636 §4.6), in constant time.
// Only S256 is accepted (RFC 9700 §2.1.1); the verifier must be 43 to 128 unreserved characters (§4.1).
func verifyPKCE(challenge, method, verifier string) bool {
	if method != "S256" || len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		switch c := verifier[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	var enc [43]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	return subtle.ConstantTimeCompare(enc[:], []byte(challenge)) == 1
}
