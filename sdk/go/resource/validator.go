// Package resource protects a resource server's HTTP API with the access tokens UMM issues: JWTs per
// RFC 9068 (header typ at+jwt), signed ES256 or RS256 with a key the tenant publishes in its JWKS.
//
// A Validator checks the signature, typ, iss (exactly the tenant's issuer), aud (must contain the API's
// identifier), exp, nbf and iat (with a small leeway), and optionally asks UMM's introspection endpoint
// (RFC 7662) whether the token was revoked. Its middleware answers as RFC 6750 says and hands the
// token's Claims to the handler through the request context.
package resource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Config configures a Validator. Issuer and Audience are required.
type Config struct {
	// Issuer is the tenant's issuer, {public_url}/t/{tenant}, compared exactly with the iss claim.
	Issuer string
	// Audience is the API's identifier as registered in UMM (https://api.example.com): the aud claim must
	// contain it.
	Audience string
	// JWKSURL is where the issuer's keys are; empty: the jwks_uri of the issuer's discovery document,
	// {Issuer}/.well-known/openid-configuration.
	JWKSURL string
	// Algorithms are the accepted JWS algorithms; default ES256 and RS256.
	Algorithms []jose.SignatureAlgorithm
	// Leeway is the clock skew tolerated on exp, nbf and iat; default 30 seconds.
	Leeway time.Duration
	// KeyRefetchInterval is the least time between two fetches of the keys caused by tokens naming a key
	// the cached set does not have (or by a failed fetch); default 30 seconds.
	KeyRefetchInterval time.Duration
	// Introspection, when set, makes every token also checked with UMM's introspection endpoint, so that
	// a revoked token is refused before it expires.
	Introspection *Introspection
	// AllowDPoP accepts DPoP-bound tokens (a cnf.jkt claim, RFC 9449) sent with the DPoP authorization
	// scheme. The validator does not check the DPoP proof: a handler that enables this must verify the
	// request's DPoP header against Claims.ConfirmationJKT itself. Without it, bound tokens are refused,
	// since accepting one as a bearer token would drop the protection the binding gives.
	AllowDPoP bool
	// HTTPClient fetches keys and calls introspection; default an http.Client with a 10 second timeout.
	HTTPClient *http.Client
	// ErrorHandler writes refusals; default WriteError. It may log before calling WriteError.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Introspection configures the RFC 7662 call. The client must be a confidential client of the tenant
// that UMM reports tokens to: the client the token was issued to or one named in its aud.
type Introspection struct {
	// Endpoint defaults to {Issuer}/introspect.
	Endpoint     string
	ClientID     string
	ClientSecret string
	// CacheTTL is how long an answer is reused for the same token; default 30 seconds. An active answer
	// is never reused beyond the token's exp.
	CacheTTL time.Duration
}

// Validator validates access tokens. It is safe for concurrent use; make one per protected API and keep it.
type Validator struct {
	cfg        Config
	keys       *keySet
	introspect *introspector
}

// maxTokenSize bounds what is handed to the JWS parser.
const maxTokenSize = 16 << 10

// New returns a Validator for cfg. It fetches nothing until the first token arrives.
func New(cfg Config) (*Validator, error) {
	var problems []string
	if cfg.Issuer == "" {
		problems = append(problems, "Issuer is required: the tenant's issuer, {public_url}/t/{tenant}")
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	if cfg.Audience == "" {
		problems = append(problems, "Audience is required: the API identifier registered in UMM")
	}
	if in := cfg.Introspection; in != nil && (in.ClientID == "" || in.ClientSecret == "") {
		problems = append(problems, "Introspection needs ClientID and ClientSecret of a confidential client")
	}
	if len(problems) > 0 {
		return nil, errors.New("resource: " + strings.Join(problems, "; "))
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.KeyRefetchInterval <= 0 {
		cfg.KeyRefetchInterval = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) { WriteError(w, err) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Validator{cfg: cfg, keys: &keySet{issuer: cfg.Issuer, jwksURL: cfg.JWKSURL,
		httpClient: cfg.HTTPClient, now: cfg.Now, minRefresh: cfg.KeyRefetchInterval}}
	if in := cfg.Introspection; in != nil {
		v.introspect = newIntrospector(*in, cfg.Issuer, cfg.HTTPClient, cfg.Now)
	}
	return v, nil
}

// Validate checks token and returns its claims. A token that is not valid gives an *Error with status 401;
// keys or an introspection endpoint that cannot be reached give an *Error with status 503.
func (v *Validator) Validate(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if c.ConfirmationJKT != "" && !v.cfg.AllowDPoP {
		return nil, errInvalidToken(nil, "the token is bound to a DPoP key, and this API accepts only bearer tokens")
	}
	if v.introspect != nil {
		if err := v.introspect.check(ctx, token, c.ExpiresAt); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// verify checks everything that needs no call but the keys' fetch.
func (v *Validator) verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > maxTokenSize || strings.Count(token, ".") != 2 {
		return nil, errInvalidToken(nil, "the token is not a JWT")
	}
	jws, err := jose.ParseSignedCompact(token, v.cfg.Algorithms)
	if err != nil {
		return nil, errInvalidToken(err, "the token is not a JWS signed with an accepted algorithm")
	}
	hdr := jws.Signatures[0].Protected
	// RFC 9068 §4: the resource server must check typ, so that an ID token is not taken for an access token.
	typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, errInvalidToken(nil, "the token is not an access token (typ must be at+jwt)")
	}
	if hdr.KeyID == "" {
		return nil, errInvalidToken(nil, "the token names no signing key (kid)")
	}
	key, err := v.keys.key(ctx, hdr.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != hdr.Algorithm {
		return nil, errInvalidToken(nil, "the token's alg is not the algorithm of its key")
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, errInvalidToken(err, "the token's signature is not valid")
	}
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, errInvalidToken(err, "the token's claims are malformed")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, errInvalidToken(err, "the token's claims are malformed")
	}
	c := w.claims(raw)
	if err := v.checkClaims(c, w); err != nil {
		return nil, err
	}
	return c, nil
}

func (v *Validator) checkClaims(c *Claims, w wireClaims) error {
	now, leeway := v.cfg.Now(), v.cfg.Leeway
	switch {
	case c.Issuer != v.cfg.Issuer:
		return errInvalidToken(nil, "the token was not issued by the expected issuer")
	case !slices.Contains(c.Audience, v.cfg.Audience):
		return errInvalidToken(nil, "the token is not meant for this API (aud)")
	case !w.ExpiresAt.set:
		return errInvalidToken(nil, "the token has no exp")
	case !now.Before(c.ExpiresAt.Add(leeway)):
		return errInvalidToken(nil, "the token has expired")
	case w.NotBefore.set && now.Add(leeway).Before(c.NotBefore):
		return errInvalidToken(nil, "the token is not valid yet (nbf)")
	case w.IssuedAt.set && now.Add(leeway).Before(c.IssuedAt):
		return errInvalidToken(nil, "the token was issued in the future (iat)")
	case c.Subject == "":
		return errInvalidToken(nil, "the token has no sub")
	}
	return nil
}

// Middleware requires a valid token on every request and puts its Claims in the request's context.
// Routes that need permissions wrap their handlers with Require as well (or instead).
func (v *Validator) Middleware(next http.Handler) http.Handler {
	return v.Require()(next)
}

// Require returns middleware that requires a valid token granting every one of permissions (through its
// permissions claim or its scope); a valid token lacking one is refused with 403 insufficient_scope.
// When an outer Middleware or Require of the same Validator already validated the token, its claims are
// reused.
func (v *Validator) Require(permissions ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := claimsValidatedBy(r.Context(), v)
			if !ok {
				var err error
				if c, err = v.authenticate(r); err != nil {
					v.cfg.ErrorHandler(w, r, err)
					return
				}
				r = r.WithContext(context.WithValue(r.Context(), claimsKey{}, validated{by: v, claims: c}))
			}
			for _, p := range permissions {
				if !c.HasPermission(p) {
					v.cfg.ErrorHandler(w, r, &Error{Status: http.StatusForbidden, Code: "insufficient_scope",
						Description: "the token does not grant " + p, Scope: strings.Join(permissions, " ")})
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// authenticate validates the token of r's Authorization header (RFC 6750 §2.1, or RFC 9449 §7.1 with
// AllowDPoP).
func (v *Validator) authenticate(r *http.Request) (*Claims, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	dpop := strings.EqualFold(scheme, "DPoP") && v.cfg.AllowDPoP
	if !ok || token == "" || (!strings.EqualFold(scheme, "Bearer") && !dpop) {
		return nil, &Error{Status: http.StatusUnauthorized, Description: "an access token is required"}
	}
	c, err := v.Validate(r.Context(), token)
	if err != nil {
		return nil, err
	}
	// RFC 9449 §7.1-7.2: a bound token comes with the DPoP scheme, and the DPoP scheme with a bound token.
	if bound := c.ConfirmationJKT != ""; bound != dpop {
		if bound {
			return nil, errInvalidToken(nil, "a DPoP-bound token must be sent with the DPoP authorization scheme")
		}
		return nil, errInvalidToken(nil, "the DPoP scheme needs a DPoP-bound token")
	}
	return c, nil
}
