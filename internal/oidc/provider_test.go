package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
	"github.com/umm-project/umm/internal/web"
)

// A PKCE pair (RFC 7636 appendix B).
const (
	testVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// fixture is a Provider with real stores, keys, identity and sessions, serving one test tenant with a set
// of clients and users. Identity and sessions share the provider's clock.
type fixture struct {
	*stack
	t       testing.TB
	handler http.Handler // the provider's routes behind the security headers
	tenant  store.Tenant
	alice   store.User // enabled, with a profile, roles and a verified email
	bob     store.User // enabled, no profile
}

// newFixture builds the provider on db with a fresh tenant.
func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i + 1)
	}
	f := &fixture{stack: newStack(t, db, master), t: t}
	f.sessions.Now = f.now
	f.identity.Now = f.now
	f.handler = web.Chain(f.mux, web.SecurityHeaders(testPublicURL))

	id := storetest.Tenant(t, db)
	var err error
	if f.tenant, err = db.GetTenant(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, c := range testClients(id) {
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	f.alice = f.createUser("alice@example.com", "Alice", "Liddell", true, []string{"admin", "staff"})
	f.bob = f.createUser("bob@example.com", "", "", false, nil)
	return f
}

// testClients are the clients of every test tenant.
func testClients(tenantID string) []store.Client {
	code := []string{"authorization_code", "refresh_token"}
	return []store.Client{
		{TenantID: tenantID, ClientID: "web", Name: "Web App", SecretHash: []byte("x"), GrantTypes: code,
			TokenEndpointAuthMethod: "client_secret_basic",
			RedirectURIs: []string{"https://app.example.com/cb", "https://app.example.com/cb2?tenant=a",
				"https://app.example.com:8443/cb"},
			PostLogoutRedirectURIs: []string{"https://app.example.com/bye", "https://app.example.com/bye2?x=1"}},
		{TenantID: tenantID, ClientID: "first", Name: "First Party", SecretHash: []byte("x"), GrantTypes: code,
			TokenEndpointAuthMethod: "client_secret_post", FirstParty: true,
			RedirectURIs: []string{"https://first.example.com/cb"}},
		{TenantID: tenantID, ClientID: "spa", Name: "SPA", GrantTypes: code, TokenEndpointAuthMethod: "none",
			RedirectURIs: []string{"https://spa.example.com/cb"}},
		{TenantID: tenantID, ClientID: "native", Name: "Native", GrantTypes: code, TokenEndpointAuthMethod: "none",
			RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost:9000/cb",
				"com.example.app:/oauth2redirect"}},
		{TenantID: tenantID, ClientID: "loopback-conf", Name: "Confidential on loopback", SecretHash: []byte("x"),
			GrantTypes: code, TokenEndpointAuthMethod: "client_secret_basic",
			RedirectURIs: []string{"http://127.0.0.1:7000/cb"}},
		{TenantID: tenantID, ClientID: "scoped", Name: "Scoped", SecretHash: []byte("x"), GrantTypes: code,
			TokenEndpointAuthMethod: "client_secret_basic", Scopes: []string{"openid", "profile", "orders:read"},
			RedirectURIs: []string{"https://scoped.example.com/cb"}},
		{TenantID: tenantID, ClientID: "m2m", Name: "Machine", SecretHash: []byte("x"),
			GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_basic",
			RedirectURIs: []string{"https://m2m.example.com/cb"}},
		{TenantID: tenantID, ClientID: "danger", Name: "Dangerous URI", SecretHash: []byte("x"), GrantTypes: code,
			TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true,
			RedirectURIs: []string{"javascript:alert(1)//"}},
	}
}

func (f *fixture) createUser(email, given, family string, verified bool, roles []string) store.User {
	f.t.Helper()
	u, err := f.identity.CreateUser(context.Background(), f.tenant.ID, identity.NewUser{
		Email: email, GivenName: given, FamilyName: family, EmailVerified: verified, Roles: roles,
	}, "test")
	if err != nil {
		f.t.Fatalf("create user: %v", err)
	}
	if u, err = f.db.GetUser(context.Background(), f.tenant.ID, u.ID); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// browser is a cookie-keeping client that talks to the fixture's handler in-process.
type browser struct {
	f   *fixture
	jar *cookiejar.Jar
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, jar: jar}
}

// abs makes target absolute on the public URL.
func abs(target string) string {
	if strings.HasPrefix(target, "http") {
		return target
	}
	return testPublicURL + target
}

// request builds a request to target carrying the browser's cookies.
func (b *browser) request(method, target string, form url.Values) *http.Request {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, abs(target), body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	return r
}

// serve runs r through the handler and keeps the cookies the response sets.
func (b *browser) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	b.f.handler.ServeHTTP(w, r)
	b.jar.SetCookies(r.URL, w.Result().Cookies())
	return w
}

func (b *browser) get(target string) *httptest.ResponseRecorder {
	return b.serve(b.request(http.MethodGet, target, nil))
}

func (b *browser) post(target string, form url.Values) *httptest.ResponseRecorder {
	return b.serve(b.request(http.MethodPost, target, form))
}

// signIn starts a session for user in this browser, as the login pages do.
func (b *browser) signIn(user store.User) store.Session {
	b.f.t.Helper()
	r := b.request(http.MethodGet, "/t/"+b.f.tenant.ID+"/login", nil)
	w := httptest.NewRecorder()
	s, err := b.f.sessions.Start(context.Background(), w, r, b.f.tenant, user.ID, []string{"pwd"}, acrPassword, nil)
	if err != nil {
		b.f.t.Fatalf("start session: %v", err)
	}
	b.jar.SetCookies(r.URL, w.Result().Cookies())
	return s
}

// authorizeURL is the authorization endpoint of the fixture's tenant with params.
func (f *fixture) authorizeURL(params url.Values) string {
	return "/t/" + f.tenant.ID + "/authorize?" + params.Encode()
}

// codeParams are valid authorization request parameters for client web.
func codeParams(mods ...func(url.Values)) url.Values {
	v := url.Values{
		"client_id":             {"web"},
		"redirect_uri":          {"https://app.example.com/cb"},
		"response_type":         {"code"},
		"scope":                 {"openid profile email"},
		"state":                 {"xyz-state"},
		"nonce":                 {"n-0S6_WzA2Mj"},
		"code_challenge":        {testChallenge},
		"code_challenge_method": {"S256"},
	}
	for _, m := range mods {
		m(v)
	}
	return v
}

func set(k, val string) func(url.Values) { return func(v url.Values) { v.Set(k, val) } }
func del(k string) func(url.Values)      { return func(v url.Values) { v.Del(k) } }
func add(k, val string) func(url.Values) { return func(v url.Values) { v.Add(k, val) } }

// location parses the Location header of a redirect.
func location(t *testing.T, w *httptest.ResponseRecorder) *url.URL {
	t.Helper()
	loc := w.Header().Get("Location")
	if loc == "" {
		t.Fatalf("no Location header; status %d, body %.300s", w.Code, w.Body.String())
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	return u
}

// loginRequestID returns the lr of a redirect to the login page.
func (f *fixture) loginRequestID(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code != http.StatusFound {
		t.Fatalf("status %d, want 302 to login; body %.300s", w.Code, w.Body.String())
	}
	u := location(t, w)
	if want := "/t/" + f.tenant.ID + "/login"; u.Path != want {
		t.Fatalf("redirect to %s, want %s", u, want)
	}
	return u.Query().Get("lr")
}

// complete marks the login request authenticated by user in session s, as the login pages do.
func (f *fixture) complete(t *testing.T, lrID string, s store.Session, scopes ...string) {
	t.Helper()
	ctx := context.Background()
	lr, err := f.db.GetLoginRequest(ctx, f.tenant.ID, lrID)
	if err != nil {
		t.Fatal(err)
	}
	if scopes == nil {
		scopes = lr.Params.Scopes
	}
	lr.Status, lr.UserID, lr.SessionID, lr.AuthTime = store.LoginAuthenticated, s.UserID, s.ID, s.AuthTime
	lr.AMR, lr.ACR, lr.GrantedScopes = s.AMR, s.ACR, scopes
	if err := f.db.CompleteLoginRequest(ctx, lr); err != nil {
		t.Fatal(err)
	}
}

// code returns the stored code of a successful redirect, after checking state and iss.
func (f *fixture) code(t *testing.T, w *httptest.ResponseRecorder, wantRedirect, wantState string) store.AuthCode {
	t.Helper()
	if w.Code != http.StatusFound {
		t.Fatalf("status %d, want 302 with a code; body %.300s", w.Code, w.Body.String())
	}
	u := location(t, w)
	q := u.Query()
	if got := strings.SplitN(u.String(), "?", 2)[0]; got != strings.SplitN(wantRedirect, "?", 2)[0] {
		t.Fatalf("redirected to %s, want %s", u, wantRedirect)
	}
	if q.Get("error") != "" {
		t.Fatalf("error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != wantState || q.Get("iss") != f.p.issuer(f.tenant.ID) {
		t.Errorf("state %q iss %q, want %q and %q", q.Get("state"), q.Get("iss"), wantState, f.p.issuer(f.tenant.ID))
	}
	c, err := f.db.GetAuthCode(context.Background(), f.tenant.ID, keys.HashToken(q.Get("code")))
	if err != nil {
		t.Fatalf("stored code: %v", err)
	}
	return c
}

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func TestPKCEConstants(t *testing.T) {
	if s256(testVerifier) != testChallenge {
		t.Fatal("the RFC 7636 appendix B pair does not match")
	}
}

func TestTenantLoader(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		tests := []struct {
			name, id string
			found    bool
		}{
			{"an existing tenant is found", f.tenant.ID, true},
			{"an unknown tenant is not found", "no-such-tenant", false},
			{"a malformed id is not found without a query", "UPPER_case", false},
			{"an overlong id is not found", strings.Repeat("a", 64), false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for range 2 { // the second time from the cache
					tn, err := f.p.loadTenant(context.Background(), tt.id)
					if tt.found && (err != nil || tn.ID != tt.id) {
						t.Fatalf("loadTenant(%q) = %v, %v", tt.id, tn.ID, err)
					}
					if !tt.found && !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("loadTenant(%q) error %v, want ErrNotFound", tt.id, err)
					}
				}
			})
		}
		t.Run("an unknown tenant's pages answer 404", func(t *testing.T) {
			b := f.browser()
			for _, path := range []string{"/t/nope/authorize", "/t/nope/authorize/resume?lr=x", "/t/nope/logout",
				"/t/nope/.well-known/openid-configuration", "/t/nope/jwks.json", "/t/nope/userinfo"} {
				if w := b.get(path); w.Code != http.StatusNotFound {
					t.Errorf("GET %s: status %d, want 404", path, w.Code)
				}
			}
		})
	})
}

func TestIssuer(t *testing.T) {
	p := &Provider{publicURL: "https://id.example.com"}
	if got := p.issuer("acme"); got != "https://id.example.com/t/acme" {
		t.Fatalf("issuer = %q", got)
	}
}
