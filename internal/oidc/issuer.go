package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// authorization is what a grant decided to issue: who the tokens are about, for which client and scopes,
// and what must be stored with them. Every grant produces one; issue mints the tokens from it.
type authorization struct {
	grantType string
	client    store.Client
	subject   string      // the user id, or the client id for client_credentials
	user      *store.User // nil for client_credentials: no ID token
	scopes    []string
	grantID   string // the grant (refresh family) the tokens belong to; "" for client_credentials
	sessionID string
	authTime  time.Time
	amr       []string
	acr       string
	nonce     string // ID token nonce (authorization code only)

	// api is the API the tokens are for (RFC 8707 resource), nil for none; orgID the organization the
	// user signed in to. applyAuthz fills permissions (the API's permissions granted) and access (what the
	// user holds, for the claims).
	api         *store.API
	orgID       string
	permissions []string
	access      *store.Access

	// refreshExpires, when not zero, asks for a refresh token in grantID's family expiring then.
	refreshExpires time.Time
	// persist, when set, runs in the transaction that stores the refresh token: it consumes what the grant
	// redeemed (code, refresh token, device code), creates the grant and appends the events.
	persist func(ctx context.Context, tx *store.Tx) error
}

// accessClaims are the claims of UMM's access tokens: JWTs per RFC 9068 (header typ at+jwt).
type accessClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  keys.Audience `json:"aud"`
	ClientID  string        `json:"client_id"`
	Scope     string        `json:"scope,omitempty"`
	IssuedAt  int64         `json:"iat"`
	ExpiresAt int64         `json:"exp"`
	JTI       string        `json:"jti"`
	AuthTime  int64         `json:"auth_time,omitempty"`
	ACR       string        `json:"acr,omitempty"`
	AMR       []string      `json:"amr,omitempty"`
	SessionID string        `json:"sid,omitempty"`
	GrantID   string        `json:"gid,omitempty"` // revoking the grant makes the token inactive
	// Authorization claims, present when the API (or, without one, the client) asks for them; an empty
	// list is sent as [] so that a resource server can tell "none" from "not asked".
	Permissions []string `json:"permissions,omitzero"`
	Roles       []string `json:"roles,omitzero"`
	Groups      []string `json:"groups,omitzero"`
	OrgID       string   `json:"org_id,omitempty"`
	OrgRoles    []string `json:"org_roles,omitzero"`
}

// Scopes returns the token's scopes.
func (c accessClaims) Scopes() []string { return strings.Fields(c.Scope) }

// tokenResponse is a successful token endpoint answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// Access tokens are signed ES256 (fast to sign and verify); ID tokens RS256 unless the client asks ES256.
const (
	accessTokenAlg = keys.ES256
	typAccessToken = keys.TypAccessToken
	typIDToken     = "JWT"
)

// issue is the one place that mints tokens: the access token, the ID token when the user granted openid,
// and the refresh token when the grant asked for one. It stores what must be stored (a.persist, the
// refresh token) in one transaction; when there is nothing to store it writes nothing.
func (p *Provider) issue(ctx context.Context, t store.Tenant, a *authorization) (*tokenResponse, error) {
	now := p.now()
	if err := p.applyAuthz(ctx, t, a); err != nil {
		return nil, err
	}
	ttl := t.Settings.AccessTokenTTLD()
	aud := keys.Audience{a.client.ClientID}
	claims := a.client.TokenClaims
	switch {
	case a.api != nil:
		// RFC 8707 §2, RFC 9068 §3: the token is for the API, which checks that it is its audience.
		aud, claims = keys.Audience{a.api.Identifier}, a.api.Claims
		if a.api.TokenLifetime > 0 {
			ttl = a.api.TokenLifetime
		}
	case slices.ContainsFunc(a.scopes, func(s string) bool { return strings.HasPrefix(s, managementScopePrefix) }):
		aud = append(aud, p.managementAudience())
	}
	iss := p.issuer(t.ID)
	scope := strings.Join(a.scopes, " ")
	at := accessClaims{
		Issuer: iss, Subject: a.subject, Audience: aud, ClientID: a.client.ClientID,
		Scope: scope, IssuedAt: issuedAt(now, a.client), ExpiresAt: now.Add(ttl).Unix(), JTI: keys.NewID(),
		ACR: a.acr, AMR: a.amr, SessionID: a.sessionID, GrantID: a.grantID,
	}
	extra := authzClaims(a, claims)
	at.Permissions, _ = extra[claimPermissions].([]string)
	at.Roles, _ = extra[claimRoles].([]string)
	at.Groups, _ = extra[claimGroups].([]string)
	at.OrgID, _ = extra[claimOrgID].(string)
	at.OrgRoles, _ = extra[claimOrgRoles].([]string)
	if !a.authTime.IsZero() {
		at.AuthTime = a.authTime.Unix()
	}
	accessToken, err := p.keys.Sign(ctx, t.ID, accessTokenAlg, typAccessToken, &at)
	if err != nil {
		return nil, fmt.Errorf("sign access token: %w", err)
	}
	resp := &tokenResponse{AccessToken: accessToken, TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second), Scope: scope}

	if a.user != nil && slices.Contains(a.scopes, scopeOpenID) {
		if resp.IDToken, err = p.idToken(ctx, t, a, accessToken, now); err != nil {
			return nil, err
		}
	}
	var rt store.RefreshToken
	if !a.refreshExpires.IsZero() {
		resp.RefreshToken = keys.NewToken()
		rt = store.RefreshToken{TenantID: t.ID, TokenHash: keys.HashToken(resp.RefreshToken), GrantID: a.grantID,
			CreatedAt: now, ExpiresAt: a.refreshExpires}
	}
	if a.persist != nil || rt.TokenHash != nil {
		err := p.db.InTx(ctx, func(tx *store.Tx) error {
			if a.persist != nil {
				if err := a.persist(ctx, tx); err != nil {
					return err
				}
			}
			if rt.TokenHash != nil {
				return tx.CreateRefreshToken(ctx, rt)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	p.metrics.TokenIssued(a.grantType)
	return resp, nil
}

// idToken mints the ID token (OIDC Core §2, §3.1.3.6): the user's claims released by the scopes, plus
// at_hash binding it to the access token issued with it.
func (p *Provider) idToken(ctx context.Context, t store.Tenant, a *authorization, accessToken string, now time.Time) (string, error) {
	alg := keys.RS256
	if a.client.IDTokenAlg == keys.ES256 {
		alg = keys.ES256
	}
	claims := userClaims(*a.user, a.scopes, t.Settings.Profile)
	claims["iss"] = p.issuer(t.ID)
	claims["sub"] = a.subject
	claims["aud"] = a.client.ClientID
	claims["azp"] = a.client.ClientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(t.Settings.IDTokenTTLD()).Unix()
	if !a.authTime.IsZero() {
		claims["auth_time"] = a.authTime.Unix()
	}
	if a.nonce != "" {
		claims["nonce"] = a.nonce
	}
	if len(a.amr) > 0 {
		claims["amr"] = a.amr
	}
	if a.acr != "" {
		claims["acr"] = a.acr
	}
	if a.sessionID != "" {
		claims["sid"] = a.sessionID
	}
	for k, v := range authzClaims(a, a.client.TokenClaims) {
		claims[k] = v
	}
	claims["at_hash"] = atHash(accessToken)
	tok, err := p.keys.Sign(ctx, t.ID, alg, typIDToken, claims)
	if err != nil {
		return "", fmt.Errorf("sign id token: %w", err)
	}
	return tok, nil
}

// atHash is the left half of SHA-256 of the access token, base64url (OIDC Core §3.1.3.6); SHA-256 is the
// hash of both RS256 and ES256.
func atHash(accessToken string) string {
	h := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(h[:len(h)/2])
}

// verifyAccessToken checks an access token presented to this tenant (introspection, UserInfo): signed by
// one of the tenant's published keys, typ at+jwt, iss the tenant's issuer, not expired, not revoked by jti,
// its grant not revoked or deleted, and its client still the one it was issued to. Invalid tokens are *Error invalid_token (401); other errors are server errors.
func (p *Provider) verifyAccessToken(ctx context.Context, tenant store.Tenant, token string) (accessClaims, error) {
	c, err := p.parseAccessToken(ctx, tenant, token)
	if err != nil {
		return c, err
	}
	if !p.now().Before(time.Unix(c.ExpiresAt, 0)) {
		return c, errInvalidToken(nil, "the access token has expired")
	}
	revoked, err := p.accessTokenRevoked(ctx, tenant.ID, c.JTI, c.GrantID)
	if err != nil {
		return c, err
	}
	if revoked {
		return c, errInvalidToken(nil, "the access token has been revoked")
	}
	if gone, err := p.accessTokenClientGone(ctx, tenant.ID, c); err != nil || gone {
		if err != nil {
			return c, err
		}
		return c, errInvalidToken(nil, "the client of this access token no longer exists")
	}
	return c, nil
}

// maxAccessTokenLen bounds what is handed to the JWS parser.
const maxAccessTokenLen = 8 << 10

// parseAccessToken verifies the signature, type and issuer of an access token, and nothing about its
// lifetime (revocation uses it on tokens that may be expired).
//
// A token whose signature verified is remembered per node (by its SHA-256, until its exp), so that a
// resource server introspecting the same token again costs a hash and a JSON decoding instead of an ECDSA
// verification. The cache keeps the verified payload, one object per token, rather than the decoded
// claims, which own ten (see ttlCache on why the object count matters).
func (p *Provider) parseAccessToken(ctx context.Context, tenant store.Tenant, token string) (accessClaims, error) {
	var c accessClaims
	if len(token) > maxAccessTokenLen || strings.Count(token, ".") != 2 {
		return c, errInvalidToken(nil, "the access token is not a JWT issued by this server")
	}
	sum := sha256.Sum256([]byte(token))
	key := tenant.ID + "\x00" + string(sum[:])
	if payload, ok := p.verified.get(key); ok {
		if err := json.Unmarshal(payload, &c); err == nil {
			return c, nil
		}
		c = accessClaims{}
	}
	c, payload, err := p.verifyAccessTokenSignature(ctx, tenant, token)
	if err != nil {
		return c, err
	}
	if ttl := time.Until(time.Unix(c.ExpiresAt, 0)); ttl > 0 {
		p.verified.put(key, payload, min(ttl, time.Hour))
	}
	return c, nil
}

// verifyAccessTokenSignature returns the claims of a token signed by the tenant, and its payload.
func (p *Provider) verifyAccessTokenSignature(ctx context.Context, tenant store.Tenant, token string) (accessClaims, []byte, error) {
	var c accessClaims
	payload, hdr, err := p.keys.Verify(ctx, tenant.ID, token, accessTokenAlg)
	if errors.Is(err, keys.ErrInvalidToken) {
		return c, nil, errInvalidToken(err, "the access token is not signed by this issuer")
	}
	if err != nil {
		return c, nil, fmt.Errorf("verify access token: %w", err)
	}
	if !keys.IsAccessToken(hdr) {
		typ, _ := hdr.ExtraHeaders["typ"].(string)
		return c, nil, errInvalidToken(errors.New("typ "+typ), "the token is not an access token (typ must be at+jwt)")
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, nil, errInvalidToken(err, "the access token's claims are malformed")
	}
	if c.Issuer != p.issuer(tenant.ID) || c.JTI == "" || c.ExpiresAt == 0 {
		return c, nil, errInvalidToken(nil, "the access token was not issued by this tenant")
	}
	return c, payload, nil
}
