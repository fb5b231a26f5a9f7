package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Client authentication methods (RFC 7591 §2 token_endpoint_auth_method).
const (
	authSecretBasic   = "client_secret_basic"
	authSecretPost    = "client_secret_post"
	authPrivateKeyJWT = "private_key_jwt"
	authNone          = "none"
)

// assertionTypeJWTBearer is the client_assertion_type of private_key_jwt (RFC 7523 §2.2).
const assertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Limits on what a client presents.
const (
	maxClientSecretLen = 512
	maxAssertionLen    = 16 << 10
	maxAssertionLife   = 5 * time.Minute // exp may be at most this far ahead (RFC 7523 §3 item 4: short-lived)
	assertionSkew      = 30 * time.Second
)

// assertionAlgs are the JWS algorithms accepted for client assertions: asymmetric only, never none or HMAC.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256}

// clientCredentials is what a request presented to authenticate its client.
type clientCredentials struct {
	method    string
	clientID  string
	secret    keys.Secret
	assertion keys.Secret
}

// presentedCredentials finds the one authentication method the request uses. RFC 6749 §2.3: a client
// MUST NOT use more than one, so a request presenting two is refused.
func presentedCredentials(r *http.Request, form url.Values) (clientCredentials, error) {
	var cc clientCredentials
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	assertionType, assertion := form.Get("client_assertion_type"), form.Get("client_assertion")
	n := 0
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, _, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return cc, errInvalidClient(nil, "the Authorization header must use the Basic scheme (RFC 6749 section 2.3.1)")
		}
		id, secret, ok := r.BasicAuth()
		if !ok {
			return cc, errInvalidClient(nil, "the Basic credentials are malformed: send base64(client_id:client_secret)")
		}
		// RFC 6749 §2.3.1: both are form-urlencoded before being joined.
		var err1, err2 error
		cc.clientID, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return cc, errInvalidClient(nil, "the Basic credentials are malformed: client_id and client_secret must be form-urlencoded")
		}
		cc.method, cc.secret = authSecretBasic, keys.Secret(secret)
		if secret == "" {
			// Basic with an empty password presents a client_id only: that is how some libraries
			// (golang.org/x/oauth2 among them) send a public client's id.
			cc.method = authNone
		}
		n++
	}
	if formSecret != "" {
		cc.method, cc.clientID, cc.secret = authSecretPost, formID, keys.Secret(formSecret)
		n++
	}
	if assertionType != "" || assertion != "" {
		if assertionType != assertionTypeJWTBearer {
			return cc, errInvalidClient(nil, "client_assertion_type must be "+assertionTypeJWTBearer)
		}
		if assertion == "" {
			return cc, errInvalidClient(nil, "client_assertion is required with client_assertion_type")
		}
		cc.method, cc.clientID, cc.assertion = authPrivateKeyJWT, formID, keys.Secret(assertion)
		n++
	}
	switch {
	case n > 1:
		return cc, errInvalidRequest("use exactly one client authentication method (Basic, client_secret or client_assertion), not several")
	case n == 0:
		if formID == "" {
			return cc, errInvalidClient(nil, "client authentication is required: send client credentials or client_id")
		}
		cc.method, cc.clientID = authNone, formID
	}
	// A client_id sent in the form as well must name the same client (RFC 6749 §2.3.1, RFC 7521 §4.2).
	if formID != "" && cc.clientID != "" && formID != cc.clientID {
		return cc, errInvalidClient(nil, "client_id in the form does not match the client credentials")
	}
	if cc.method == authPrivateKeyJWT && cc.clientID == "" {
		// RFC 7523 §3: the assertion's sub (and iss) is the client_id.
		id, err := assertionSubject(string(cc.assertion))
		if err != nil {
			return cc, errInvalidClient(err, "client_assertion is not a valid signed JWT with sub set to the client_id")
		}
		cc.clientID = id
	}
	if !config.ValidClientID(cc.clientID) {
		return cc, errClientAuthFailed(nil)
	}
	if len(cc.secret) > maxClientSecretLen || len(cc.assertion) > maxAssertionLen {
		return cc, errClientAuthFailed(nil)
	}
	return cc, nil
}

// validIdentifier reports whether s can be an identifier stored as text (client_id, jti): not empty, at
// most max bytes, valid UTF-8 without control characters (PostgreSQL refuses NUL in text).
func validIdentifier(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// authenticateClient authenticates the client of a back-channel request (token, introspection,
// revocation, device authorization). A client authenticates only with its registered method. Every
// failure is the same invalid_client answer and counts against the client IP; an IP over its limit is
// answered 429 before anything is checked.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, t store.Tenant, form url.Values) (store.Client, error) {
	cc, err := presentedCredentials(r, form)
	if err != nil {
		return store.Client{}, err
	}
	ip := web.ClientIP(r)
	if err := p.checkIP(ctx, t.ID, ip); err != nil {
		return store.Client{}, err
	}
	c, err := p.client(ctx, t.ID, cc.clientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Client{}, fmt.Errorf("client authentication: %w", err)
	}
	found := err == nil
	if err := p.checkClientCredentials(ctx, r, t, c, found, cc); err != nil {
		return store.Client{}, p.failClientAuth(ctx, t.ID, ip, err)
	}
	return c, nil
}

// checkClientCredentials verifies cc against client c (found false: no such client).
func (p *Provider) checkClientCredentials(ctx context.Context, r *http.Request, t store.Tenant, c store.Client, found bool,
	cc clientCredentials) error {
	switch cc.method {
	case authSecretBasic, authSecretPost:
		// Hash even for an unknown client, so both answers take the same time.
		ok := p.secretMatches(c, string(cc.secret))
		switch {
		case !found:
			return errClientAuthFailed(errors.New("unknown client"))
		case c.TokenEndpointAuthMethod != cc.method:
			return errClientAuthFailed(fmt.Errorf("client registered for %s used %s", c.TokenEndpointAuthMethod, cc.method))
		case !ok:
			return errClientAuthFailed(errors.New("wrong client secret"))
		}
		return nil
	case authPrivateKeyJWT:
		switch {
		case !found:
			return errClientAuthFailed(errors.New("unknown client"))
		case c.TokenEndpointAuthMethod != cc.method:
			return errClientAuthFailed(fmt.Errorf("client registered for %s used %s", c.TokenEndpointAuthMethod, cc.method))
		}
		return p.verifyClientAssertion(ctx, r, t, c, string(cc.assertion))
	default: // none
		switch {
		case !found:
			return errClientAuthFailed(errors.New("unknown client"))
		case c.TokenEndpointAuthMethod != authNone:
			return errClientAuthFailed(fmt.Errorf("client registered for %s sent no credentials", c.TokenEndpointAuthMethod))
		}
		return nil
	}
}

// checkIP answers 429 when the client IP has failed client authentication too often (identity's stored
// per-IP limit, scope "token"). The answer is cached per node for ipCheckCacheTTL: the limit is there to
// stop guessing, and a few seconds of lag across nodes does not help a guesser of 256-bit secrets.
func (p *Provider) checkIP(ctx context.Context, tenantID, ip string) error {
	if p.identity == nil || ip == "" {
		return nil
	}
	key := tenantID + "\x00" + ip
	if until, ok := p.ipCheck.get(key); ok {
		if until.IsZero() {
			return nil
		}
		if d := time.Until(until); d > 0 {
			return errThrottled(int((d + time.Second - 1) / time.Second))
		}
	}
	err := p.identity.CheckIP(ctx, tenantID, identity.ScopeToken, ip)
	var te *identity.ThrottledError
	if errors.As(err, &te) {
		p.ipCheck.put(key, time.Now().Add(te.RetryAfter), te.RetryAfter)
		return errThrottled(te.RetryAfterSeconds())
	}
	if err != nil {
		return fmt.Errorf("check client ip: %w", err)
	}
	p.ipCheck.put(key, time.Time{}, ipCheckCacheTTL)
	return nil
}

// failClientAuth counts a failed client authentication against ip and returns authErr (the answer to
// this request); the next request from an IP over the limit gets 429.
func (p *Provider) failClientAuth(ctx context.Context, tenantID, ip string, authErr error) error {
	if p.identity == nil || ip == "" {
		return authErr
	}
	key := tenantID + "\x00" + ip
	p.ipCheck.del(key)
	err := p.identity.FailIP(ctx, tenantID, identity.ScopeToken, ip)
	var te *identity.ThrottledError
	switch {
	case errors.As(err, &te):
		p.ipCheck.put(key, time.Now().Add(te.RetryAfter), te.RetryAfter)
	case err != nil:
		p.log.ErrorContext(ctx, "count client authentication failure", "tenant", tenantID, "err", err,
			"request_id", web.RequestIDFrom(ctx))
	}
	return authErr
}

// assertionClaims are the claims of a client assertion (RFC 7523 §3).
type assertionClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  keys.Audience `json:"aud"`
	ExpiresAt *float64      `json:"exp"`
	NotBefore *float64      `json:"nbf"`
	IssuedAt  *float64      `json:"iat"`
	JTI       string        `json:"jti"`
}

// assertionSubject reads the sub claim of an assertion without verifying it, to find the client.
func assertionSubject(assertion string) (string, error) {
	jws, err := jose.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return "", err
	}
	var c assertionClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return "", err
	}
	return c.Subject, nil
}

// verifyClientAssertion checks a private_key_jwt assertion (RFC 7523 §3, OIDC Core §9): signed by one of
// the client's keys with RS256, ES256 or PS256; iss and sub the client_id; aud the issuer or the URL of
// the endpoint (or the token endpoint); exp present, in the future and at most maxAssertionLife ahead;
// jti present and never seen before for this client.
func (p *Provider) verifyClientAssertion(ctx context.Context, r *http.Request, t store.Tenant, c store.Client, assertion string) error {
	jws, err := jose.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return errClientAuthFailed(fmt.Errorf("parse client assertion: %w", err))
	}
	if len(jws.Signatures) != 1 {
		return errClientAuthFailed(errors.New("client assertion must have exactly one signature"))
	}
	hdr := jws.Signatures[0].Header
	set, err := p.clientKeys(ctx, c, hdr.KeyID)
	if err != nil {
		return errClientAuthFailed(fmt.Errorf("client keys: %w", err))
	}
	payload, err := verifyWithKeySet(jws, hdr, set)
	if err != nil {
		return errClientAuthFailed(err)
	}
	var claims assertionClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return errClientAuthFailed(fmt.Errorf("client assertion claims: %w", err))
	}
	now := p.now()
	iss := p.issuer(t.ID)
	switch {
	case claims.Issuer != c.ClientID || claims.Subject != c.ClientID:
		return errClientAuthFailed(errors.New("client assertion iss and sub must both be the client_id"))
	case !slices.ContainsFunc(claims.Audience, func(a string) bool {
		return a == iss || a == iss+"/token" || a == p.publicURL+r.URL.Path
	}):
		return errClientAuthFailed(errors.New("client assertion aud must be the issuer or the token endpoint URL"))
	case claims.ExpiresAt == nil:
		return errClientAuthFailed(errors.New("client assertion has no exp"))
	case !validIdentifier(claims.JTI, 255):
		return errClientAuthFailed(errors.New("client assertion has no usable jti"))
	}
	exp := time.Unix(int64(*claims.ExpiresAt), 0)
	switch {
	case !now.Before(exp.Add(assertionSkew)):
		return errClientAuthFailed(errors.New("client assertion expired"))
	case exp.After(now.Add(maxAssertionLife + assertionSkew)):
		return errClientAuthFailed(fmt.Errorf("client assertion exp is more than %s ahead", maxAssertionLife))
	case claims.NotBefore != nil && time.Unix(int64(*claims.NotBefore), 0).After(now.Add(assertionSkew)):
		return errClientAuthFailed(errors.New("client assertion not yet valid (nbf)"))
	case claims.IssuedAt != nil && time.Unix(int64(*claims.IssuedAt), 0).After(now.Add(assertionSkew)):
		return errClientAuthFailed(errors.New("client assertion issued in the future (iat)"))
	}
	// RFC 7523 §3 item 7: a jti is accepted once. The row lives until exp (plus skew), after which the
	// assertion is refused as expired anyway.
	err = p.db.UseClientAssertion(ctx, t.ID, c.ClientID, claims.JTI, exp.Add(assertionSkew))
	if errors.Is(err, store.ErrConflict) {
		return errClientAuthFailed(errors.New("client assertion jti replayed"))
	}
	if err != nil {
		return fmt.Errorf("record client assertion: %w", err)
	}
	return nil
}

// verifyWithKeySet verifies jws with the keys of set that may have signed it (matching kid when the
// header names one, signing keys of a compatible type) and returns the payload.
func verifyWithKeySet(jws *jose.JSONWebSignature, hdr jose.Header, set *jose.JSONWebKeySet) ([]byte, error) {
	tried := false
	for _, k := range set.Keys {
		if hdr.KeyID != "" && k.KeyID != hdr.KeyID {
			continue
		}
		if (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != hdr.Algorithm) {
			continue
		}
		pub := k.Public()
		if !pub.Valid() {
			continue // symmetric keys have no public half and are never accepted
		}
		tried = true
		if payload, err := jws.Verify(pub.Key); err == nil {
			return payload, nil
		}
	}
	if !tried {
		return nil, fmt.Errorf("no key of the client matches kid %q and alg %s", hdr.KeyID, hdr.Algorithm)
	}
	return nil, errors.New("client assertion signature does not verify")
}

// clientKeys returns client c's JWK Set: the inline jwks, else the document at jwks_uri (client_jwks.go).
func (p *Provider) clientKeys(ctx context.Context, c store.Client, kid string) (*jose.JSONWebKeySet, error) {
	if c.JWKS != "" {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal([]byte(c.JWKS), &set); err != nil {
			return nil, fmt.Errorf("inline jwks: %w", err)
		}
		return &set, nil
	}
	if c.JWKSURI == "" {
		return nil, errors.New("the client has neither jwks nor jwks_uri")
	}
	return p.clientJWKS.keys(ctx, c.JWKSURI, kid)
}
