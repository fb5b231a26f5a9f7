package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Management scopes. A route needs its resource's read or write scope; ScopeAdmin grants every route.
const (
	ScopeAdmin     = "umm:admin"
	scopePrefix    = "umm:"
	scopeAuthzName = "umm:authz:check"
)

// scopeRead and scopeWrite name a resource's scopes ("umm:users:read").
func scopeRead(resource string) string  { return scopePrefix + resource + ":read" }
func scopeWrite(resource string) string { return scopePrefix + resource + ":write" }

// principal is the client a management request comes from.
type principal struct {
	tenant   string // the tenant that issued its token
	clientID string
	scopes   []string
}

// managementClaims are the access-token claims the API reads.
type managementClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  keys.Audience `json:"aud"`
	ClientID  string        `json:"client_id"`
	Scope     string        `json:"scope"`
	IssuedAt  int64         `json:"iat"`
	ExpiresAt int64         `json:"exp"`
	JTI       string        `json:"jti"`
	GrantID   string        `json:"gid"`
}

func unauthorized(detail string) *Problem {
	return problem(http.StatusUnauthorized, "unauthorized", detail)
}

func forbidden(detail string) *Problem {
	return problem(http.StatusForbidden, "forbidden", detail)
}

// authenticate verifies the bearer access token: issued by one of this server's tenants (signature by its
// keys, typ at+jwt), for the management API (aud), unexpired, not revoked, its client still registered,
// and obtained by the client for itself (client credentials): a user's token never manages anything.
func (a *API) authenticate(r *http.Request) (principal, error) {
	var p principal
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return p, unauthorized("send an access token of a client with management scopes: Authorization: Bearer <token>")
	}
	tenantID, err := a.tokenTenant(tok)
	if err != nil {
		return p, err
	}
	payload, hdr, err := a.keys.Verify(r.Context(), tenantID, tok, keys.ES256)
	if errors.Is(err, keys.ErrInvalidToken) {
		return p, unauthorized("the access token is not signed by its issuer")
	}
	if err != nil {
		return p, err
	}
	if !keys.IsAccessToken(hdr) {
		return p, unauthorized("the token is not an access token (typ must be at+jwt)")
	}
	var c managementClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return p, unauthorized("the access token's claims are malformed")
	}
	if c.Issuer != a.publicURL+"/t/"+tenantID || c.JTI == "" {
		return p, unauthorized("the access token was not issued by this server")
	}
	if !a.now().Before(time.Unix(c.ExpiresAt, 0)) {
		return p, unauthorized("the access token has expired: get a new one")
	}
	if !slices.Contains(c.Audience, a.Audience()) {
		return p, unauthorized("the access token is not for the management API: request it with management scopes (umm:...) and no resource parameter")
	}
	revoked, err := a.db.AccessTokenRevoked(r.Context(), tenantID, c.JTI, c.GrantID)
	if err != nil {
		return p, err
	}
	if revoked {
		return p, unauthorized("the access token has been revoked")
	}
	cl, err := a.db.GetClient(r.Context(), tenantID, c.ClientID)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.IssuedAt <= cl.TokensNotBefore {
		return p, unauthorized("the client of this access token no longer exists")
	}
	if err != nil {
		return p, err
	}
	if c.Subject != c.ClientID {
		return p, forbidden("the management API takes tokens a client obtained for itself (grant_type=client_credentials), not tokens of a signed-in user")
	}
	return principal{tenant: tenantID, clientID: c.ClientID, scopes: strings.Fields(c.Scope)}, nil
}

// tokenTenant reads the tenant out of the unverified token's issuer, to know whose keys verify it.
func (a *API) tokenTenant(tok string) (string, error) {
	bad := unauthorized("the access token is not a JWT issued by this server")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(tok) > 8<<10 {
		return "", bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", bad
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return "", bad
	}
	id, ok := strings.CutPrefix(c.Issuer, a.publicURL+"/t/")
	if !ok || !config.ValidTenantID(id) {
		return "", bad
	}
	return id, nil
}

// authorize lets the call in when its token may use the route: the route's scope (or umm:admin), and a
// tenant it may manage (its own; every tenant for the operator tenant's clients). Operator-only routes
// (tenants) need a client of the operator tenant.
func (a *API) authorize(ctx context.Context, c *call) error {
	p := c.principal
	if !slices.Contains(p.scopes, ScopeAdmin) && !slices.Contains(p.scopes, c.route.scope) {
		return problem(http.StatusForbidden, "insufficient-scope", "this operation needs the scope "+c.route.scope+" (or "+ScopeAdmin+"): grant it to the client and request a new token")
	}
	operator := p.tenant == a.operator
	if c.route.scope == scopeRead("tenants") || c.route.scope == scopeWrite("tenants") {
		if !operator {
			return forbidden("only clients of the operator tenant may manage tenants")
		}
	}
	if c.tenant != "" && c.tenant != p.tenant && !operator {
		return forbidden("this client manages tenant " + p.tenant + " only")
	}
	return nil
}

// rateLimitHeaders tell a let-in client its budget (draft-ietf-httpapi-ratelimit-headers).
func (a *API) rateLimitHeaders(w http.ResponseWriter, left int) {
	w.Header().Set("RateLimit-Policy", a.ratePolicy())
	w.Header().Set("RateLimit", `"default";r=`+itoa(left)+`;t=1`)
}

func (a *API) ratePolicy() string {
	return `"default";q=` + itoa(a.rateBurst) + `;w=1`
}

func (a *API) ratePolicyText() string {
	return "the management API's rate limit (" + itoa(a.rateBurst) + " requests at once, refilled per second)"
}

func itoa(n int) string { return strconv.Itoa(n) }
