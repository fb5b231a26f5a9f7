package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// The back-channel tests run the real provider (real stores, keys and identity) over httptest, with a
// clock that tests move by setting skew.

// tokenEnv is a provider with one tenant (and a second one for isolation tests), its clients and a user.
type tokenEnv struct {
	*stack
	t      testing.TB
	h      http.Handler // the provider's routes, without middleware
	tenant store.Tenant
	other  store.Tenant // a second tenant with the same clients and secrets
	user   store.User
	ip     string
}

// Secrets of the test clients.
const (
	secretBasic = "s3cret+basic/with:odd&chars"
	secretPost  = "s3cret-post"
	secretM2M   = "s3cret-m2m"
)

func newTokenEnv(t testing.TB, db *store.DB, opts ...envOption) *tokenEnv {
	t.Helper()
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	e := buildTokenEnv(t, db, master, opts...)
	var rb [1]byte
	_, _ = rand.Read(rb[:])
	e.ip = fmt.Sprintf("198.51.100.%d", 1+rb[0]%250)
	e.tenant = e.newTenant()
	e.other = e.newTenant()
	u, err := e.identity.CreateUser(context.Background(), e.tenant.ID, identity.NewUser{
		Email: "alice@example.com", GivenName: "Alice", FamilyName: "Liddell", EmailVerified: true,
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	e.user = u
	return e
}

// newTokenEnvOn returns a second node: another Provider (with its own caches) on base's database, master
// key, tenants and user, sharing base's clock.
func newTokenEnvOn(t testing.TB, base *tokenEnv, opts ...envOption) *tokenEnv {
	t.Helper()
	e := buildTokenEnv(t, base.db, base.master, opts...)
	e.ip, e.tenant, e.other, e.user = base.ip, base.tenant, base.other, base.user
	e.clock = base.stack
	return e
}

func buildTokenEnv(t testing.TB, db *store.DB, master []byte, opts ...envOption) *tokenEnv {
	t.Helper()
	e := &tokenEnv{stack: newStack(t, db, master, opts...), t: t}
	e.h = e.mux
	return e
}

func identityUser(email string) identity.NewUser { return identity.NewUser{Email: email} }

// advance moves the provider's clock.
func (e *tokenEnv) advance(d time.Duration) { e.skew.Add(int64(d)) }

func (e *tokenEnv) newTenant() store.Tenant {
	e.t.Helper()
	ctx := context.Background()
	id := storetest.Tenant(e.t, e.db)
	tn, err := e.db.GetTenant(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range e.clients(id) {
		if err := e.db.UpsertClient(ctx, c); err != nil {
			e.t.Fatal(err)
		}
	}
	return tn
}

// clients are the clients of every test tenant.
func (e *tokenEnv) clients(tenantID string) []store.Client {
	code := []string{grantAuthorizationCode, grantRefreshToken}
	return []store.Client{
		{TenantID: tenantID, ClientID: "web", SecretHash: e.kr.HashSecret(secretBasic), GrantTypes: code,
			TokenEndpointAuthMethod: authSecretBasic, RedirectURIs: []string{"https://app.example.com/cb"}},
		{TenantID: tenantID, ClientID: "post", SecretHash: e.kr.HashSecret(secretPost), GrantTypes: code,
			TokenEndpointAuthMethod: authSecretPost, RedirectURIs: []string{"https://post.example.com/cb"}, IDTokenAlg: "ES256"},
		{TenantID: tenantID, ClientID: "spa", GrantTypes: append(code, grantDeviceCode), TokenEndpointAuthMethod: authNone,
			RedirectURIs: []string{"https://spa.example.com/cb"}},
		{TenantID: tenantID, ClientID: "nooffline", SecretHash: e.kr.HashSecret(secretBasic),
			GrantTypes: []string{grantAuthorizationCode}, TokenEndpointAuthMethod: authSecretBasic,
			RedirectURIs: []string{"https://nooffline.example.com/cb"}},
		{TenantID: tenantID, ClientID: "m2m", SecretHash: e.kr.HashSecret(secretM2M), GrantTypes: []string{grantClientCredentials},
			TokenEndpointAuthMethod: authSecretBasic, Scopes: []string{"openid", "offline_access", "orders:read", "orders:write"}},
		{TenantID: tenantID, ClientID: "m2m-noscope", SecretHash: e.kr.HashSecret(secretM2M),
			GrantTypes: []string{grantClientCredentials}, TokenEndpointAuthMethod: authSecretPost},
		{TenantID: tenantID, ClientID: "public-cc", GrantTypes: []string{grantClientCredentials}, TokenEndpointAuthMethod: authNone},
		{TenantID: tenantID, ClientID: "tv", SecretHash: e.kr.HashSecret(secretBasic),
			GrantTypes: []string{grantDeviceCode, grantRefreshToken}, TokenEndpointAuthMethod: authSecretBasic},
	}
}

// request builds a form POST to the tenant's endpoint path ("token", "introspect", ...).
func (e *tokenEnv) request(tenantID, endpoint string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/"+tenantID+"/"+endpoint, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = e.ip + ":4711"
	return r
}

func (e *tokenEnv) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// clientAuth describes how a test request authenticates its client.
type clientAuth struct {
	basicID, basicSecret string // Basic (form-urlencoded as RFC 6749 §2.3.1 says)
	form                 url.Values
}

func basicAuth(id, secret string) clientAuth { return clientAuth{basicID: id, basicSecret: secret} }
func postAuth(id, secret string) clientAuth {
	return clientAuth{form: url.Values{"client_id": {id}, "client_secret": {secret}}}
}
func publicAuth(id string) clientAuth { return clientAuth{form: url.Values{"client_id": {id}}} }

// webAuth is the web client's correct credentials.
var webAuth = basicAuth("web", secretBasic)

// call POSTs form to the endpoint of tenantID with credentials a.
func (e *tokenEnv) call(tenantID, endpoint string, a clientAuth, form url.Values) *httptest.ResponseRecorder {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	for k, v := range a.form {
		f[k] = v
	}
	r := e.request(tenantID, endpoint, f)
	if a.basicID != "" {
		r.SetBasicAuth(url.QueryEscape(a.basicID), url.QueryEscape(a.basicSecret))
	}
	return e.serve(r)
}

func (e *tokenEnv) token(a clientAuth, form url.Values) *httptest.ResponseRecorder {
	return e.call(e.tenant.ID, "token", a, form)
}

// decode decodes a JSON response body.
func decodeJSON(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("status %d, body %q: %v", w.Code, w.Body.String(), err)
	}
	return m
}

// wantError checks an OAuth error response.
func wantOAuthError(t testing.TB, w *httptest.ResponseRecorder, status int, code string) map[string]any {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	m := decodeJSON(t, w)
	if m["error"] != code {
		t.Fatalf("error = %v, want %s; body %s", m["error"], code, w.Body)
	}
	if status < 500 && m["error_description"] == "" {
		t.Fatalf("no error_description: %s", w.Body)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control = %q", cc)
	}
	return m
}

// wantTokens checks a successful token response and returns it.
func wantTokenResponse(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", w.Code, w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" {
		t.Fatalf("caching headers: %v", w.Header())
	}
	m := decodeJSON(t, w)
	if m["token_type"] != "Bearer" || m["access_token"] == nil || m["expires_in"] == nil {
		t.Fatalf("token response %v", m)
	}
	return m
}

// claims returns the (unverified) payload of a JWT.
func jwtClaims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// header returns the (unverified) header of a JWT.
func jwtHeader(t testing.TB, jwt string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// codeOpts are what the authorization endpoint would have recorded with a code.
type codeOpts struct {
	client      string
	redirectURI string
	scopes      []string
	challenge   string
	method      string
	nonce       string
	ttl         time.Duration
	tenant      string
	user        string
	resource    string
	org         string
}

// pkceVerifier and its S256 challenge (RFC 7636 appendix B).
const (
	pkceVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	pkceChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// mintCode stores an authorization code as resume does and returns it.
func (e *tokenEnv) mintCode(o codeOpts) string {
	e.t.Helper()
	if o.client == "" {
		o.client = "web"
	}
	if o.redirectURI == "" {
		o.redirectURI = "https://app.example.com/cb"
	}
	if o.scopes == nil {
		o.scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	if o.ttl == 0 {
		o.ttl = time.Minute
	}
	if o.tenant == "" {
		o.tenant = e.tenant.ID
	}
	if o.user == "" {
		o.user = e.user.ID
	}
	if o.challenge != "" && o.method == "" {
		o.method = "S256"
	}
	code := keys.NewToken()
	now := e.now()
	err := e.db.CreateAuthCode(context.Background(), store.AuthCode{
		TenantID: o.tenant, CodeHash: keys.HashToken(code), ClientID: o.client, UserID: o.user, SessionID: "sid-1",
		GrantID: keys.NewID(), RedirectURI: o.redirectURI, Scopes: o.scopes, Nonce: o.nonce, CodeChallenge: o.challenge,
		CodeChallengeMethod: o.method, AuthTime: now.Add(-time.Minute), AMR: []string{"pwd"}, ACR: "1",
		CreatedAt: now, ExpiresAt: now.Add(o.ttl), Resource: o.resource, OrgID: o.org,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

// redeem exchanges code at the token endpoint for the web client.
func (e *tokenEnv) redeem(code string) *httptest.ResponseRecorder {
	return e.token(webAuth, url.Values{"grant_type": {grantAuthorizationCode}, "code": {code},
		"redirect_uri": {"https://app.example.com/cb"}})
}

// login runs a code redemption for the web client and returns the token response.
func (e *tokenEnv) login() map[string]any {
	e.t.Helper()
	return wantTokenResponse(e.t, e.redeem(e.mintCode(codeOpts{nonce: "n-1"})))
}

// introspect returns the introspection response for token, asked by the web client.
func (e *tokenEnv) introspect(tenantID, token string) map[string]any {
	e.t.Helper()
	w := e.call(tenantID, "introspect", webAuth, url.Values{"token": {token}})
	if w.Code != http.StatusOK {
		e.t.Fatalf("introspect: %d %s", w.Code, w.Body)
	}
	return decodeJSON(e.t, w)
}

// events returns the types of the tenant's events.
func (e *tokenEnv) events(tenantID, typ string) []store.Event {
	e.t.Helper()
	evs, err := e.db.ListEvents(context.Background(), tenantID, 0, typ, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// encodeSegment encodes v as a JWT segment.
func encodeSegment(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
