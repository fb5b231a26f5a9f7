package login

import (
	"context"
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

const (
	testEmail    = "ada@example.com"
	testPassword = "correct horse battery staple"
	redirectURI  = "https://app.example/cb"
)

// clock is the one settable clock shared by the pages, identity and the session manager.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one tenant served by the hosted pages on httptest, with a user and two clients: "first" (first
// party, no consent page) and "third" (asks for consent). GET /t/{tenant}/authorize stands in for oidc's
// authorization endpoint (it stores a pending LoginRequest exactly as oidc does) and
// /t/{tenant}/authorize/resume answers "resumed".
type env struct {
	t        *testing.T
	db       *store.DB
	tenant   store.Tenant
	ids      *identity.Service
	sessions *session.Manager
	metrics  *web.Metrics
	clock    *clock
	srv      *httptest.Server
	user     store.User
}

type envOption func(*config.Security)

func withIPLimit(n int) envOption { return func(s *config.Security) { s.IPLimitPerMinute = n } }

func withLockout(n int) envOption { return func(s *config.Security) { s.AccountLockoutThreshold = n } }

func newEnv(t *testing.T, db *store.DB, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	sec := config.Security{
		Argon2MemoryKiB: 8192, Argon2Iterations: 1, Argon2Parallelism: 1, MaxConcurrentHashes: 2,
		AccountLockoutThreshold: 10, AccountLockoutDuration: config.Duration(15 * time.Minute), IPLimitPerMinute: 1000,
	}
	for _, o := range opts {
		o(&sec)
	}
	tenantID := newTenant(t, db)
	tenant, err := db.GetTenant(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	ids := identity.New(db, sec, nil)
	ids.Now = clk.Now
	sm := session.New(db, false, nil)
	sm.Now, sm.ClientIP = clk.Now, web.ClientIP
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	kr := keys.NewKeyring(master)
	ids.SealEmail = kr.Seal // a sign-in from a new browser queues the New sign-in email
	ids.Keyring = kr
	metrics := web.NewMetrics(prometheus.NewRegistry())
	p, err := New(Deps{DB: db, Identity: ids, Sessions: sm, CSRF: web.NewCSRF(kr.MAC("umm csrf", nil), false, ""),
		Metrics: metrics, Keyring: kr, PublicURL: "http://umm.test", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, tenant: tenant, ids: ids, sessions: sm, metrics: metrics, clock: clk}
	mux := http.NewServeMux()
	p.Routes(mux)
	mux.HandleFunc("GET /t/{tenant}/authorize", e.fakeAuthorize)
	mux.HandleFunc("GET /t/{tenant}/authorize/resume", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "resumed")
	})
	e.srv = httptest.NewServer(web.Chain(mux, web.SecurityHeaders("http://umm.test")))
	t.Cleanup(e.srv.Close)

	e.user, err = ids.CreateUser(ctx, tenantID, identity.NewUser{Email: testEmail, Password: testPassword,
		GivenName: "Ada", FamilyName: "Lovelace", EmailVerified: true}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Client{
		{ClientID: "first", Name: "Our Own Portal", FirstParty: true},
		{ClientID: "third", Name: "Photo Printer"},
		{ClientID: "tv", Name: "Living Room TV", GrantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code"}},
	} {
		c.TenantID, c.RedirectURIs, c.TokenEndpointAuthMethod = tenantID, []string{redirectURI}, "none"
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func newTenant(t *testing.T, db *store.DB) string {
	t.Helper()
	id := "l-" + keys.NewID()[:12]
	if err := db.CreateTenant(context.Background(), store.Tenant{ID: id, Name: "Acme Corp"}); err != nil {
		t.Fatal(err)
	}
	return id
}

// fakeAuthorize stores a pending authorize-kind LoginRequest bound to this browser, as oidc's authorize
// does, and redirects to the sign-in page. Query: client_id, scope, login_hint, require_login,
// require_consent, ttl (a Go duration; default 10m).
func (e *env) fakeAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := e.clock.Now()
	ttl := 10 * time.Minute
	if v := q.Get("ttl"); v != "" {
		ttl, _ = time.ParseDuration(v)
	}
	maxAge := int64(-1)
	if v := q.Get("max_age"); v != "" {
		maxAge, _ = strconv.ParseInt(v, 10, 64)
	}
	lr := store.LoginRequest{TenantID: e.tenant.ID, ID: keys.NewID(), Kind: store.LoginKindAuthorize,
		ClientID: q.Get("client_id"), CreatedAt: now, ExpiresAt: now.Add(ttl),
		Params: store.AuthorizeParams{ResponseType: "code", RedirectURI: redirectURI, Scopes: strings.Fields(q.Get("scope")),
			MaxAge: maxAge, LoginHint: q.Get("login_hint"), RequireLogin: q.Has("require_login"),
			RequireConsent: q.Has("require_consent")},
		BrowserHash: e.sessions.BrowserHash(w, r, e.tenant.ID),
	}
	if err := e.db.CreateLoginRequest(r.Context(), lr); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Location", "/t/"+e.tenant.ID+"/login?lr="+lr.ID)
	w.WriteHeader(http.StatusFound)
}

func (e *env) path(p string) string { return "/t/" + e.tenant.ID + p }

func (e *env) loginRequest(id string) store.LoginRequest {
	e.t.Helper()
	lr, err := e.db.GetLoginRequest(context.Background(), e.tenant.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return lr
}

func (e *env) eventTypes() []string {
	e.t.Helper()
	evs, err := e.db.ListEvents(context.Background(), e.tenant.ID, 0, "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func (e *env) liveSessions() []store.Session {
	e.t.Helper()
	ss, err := e.sessions.List(context.Background(), e.tenant.ID, e.user.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ss
}

// browser is a cookie-jar client that does not follow redirects, so each step can be checked.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is one response, body read.
type page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func (b *browser) do(req *http.Request) *page {
	b.e.t.Helper()
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	pg := &page{Status: resp.StatusCode, Header: resp.Header, Body: string(body), Location: resp.Header.Get("Location")}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		checkPage(b.e.t, req.Method+" "+req.URL.Path, pg.Body)
	}
	return pg
}

func (b *browser) get(path string) *page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) *page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formRe   = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	inputRe  = regexp.MustCompile(`(?s)<input\b[^>]*>`)
	attrRe   = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"`)
	buttonRe = regexp.MustCompile(`(?s)<button\b([^>]*)>(.*?)</button>`)
	labelRe  = regexp.MustCompile(`<label\b[^>]*\bfor="([^"]+)"`)
	idRe     = regexp.MustCompile(`\bid="([^"]+)"`)
)

func attrs(tag string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(tag, -1) {
		m[a[1]] = html.UnescapeString(a[2])
	}
	return m
}

// form is one parsed <form> of a page.
type form struct {
	Action  string
	Fields  url.Values // hidden and prefilled inputs
	Buttons []map[string]string
}

// forms parses the page's forms.
func (pg *page) forms() []form {
	var out []form
	for _, m := range formRe.FindAllStringSubmatch(pg.Body, -1) {
		f := form{Action: attrs(m[1])["action"], Fields: url.Values{}}
		for _, in := range inputRe.FindAllString(m[2], -1) {
			a := attrs(in)
			if a["name"] != "" && (a["type"] == "hidden" || a["value"] != "") {
				f.Fields.Add(a["name"], a["value"])
			}
		}
		for _, bt := range buttonRe.FindAllStringSubmatch(m[2], -1) {
			f.Buttons = append(f.Buttons, attrs(bt[1]))
		}
		out = append(out, f)
	}
	return out
}

// formWith returns the first form whose fields or buttons contain name=value (value "" matches any).
func (pg *page) formWith(t *testing.T, name, value string) form {
	t.Helper()
	for _, f := range pg.forms() {
		if v, ok := f.Fields[name]; ok && (value == "" || slices.Contains(v, value)) {
			return f
		}
		for _, b := range f.Buttons {
			if b["name"] == name && (value == "" || b["value"] == value) {
				return f
			}
		}
		if name == "" {
			return f
		}
	}
	t.Fatalf("no form with %s=%q in:\n%s", name, value, pg.Body)
	return form{}
}

// submit posts form f with its hidden fields (including csrf_token) plus set.
func (b *browser) submit(f form, set url.Values) *page {
	b.e.t.Helper()
	v := url.Values{}
	for k, vs := range f.Fields {
		v[k] = append([]string(nil), vs...)
	}
	for k, vs := range set {
		v[k] = vs
	}
	return b.post(f.Action, v)
}

// decide presses the Allow or Deny button (decision "allow" or "deny") of a consent or device approve page.
func (b *browser) decide(pg *page, decision string) *page {
	b.e.t.Helper()
	return b.submit(pg.formWith(b.e.t, "decision", decision), url.Values{"decision": {decision}})
}

// signIn goes from a sign-in page (GET already done: pg) through the form with the given password.
func (b *browser) signIn(pg *page, email, password string) *page {
	b.e.t.Helper()
	if pg.Status != http.StatusOK {
		b.e.t.Fatalf("sign-in page: status %d, body:\n%s", pg.Status, pg.Body)
	}
	return b.submit(pg.formWith(b.e.t, "csrf_token", ""), url.Values{"email": {email}, "password": {password}})
}

// beginAuthorize starts an authorization request at the stand-in endpoint and follows to the sign-in page
// URL; it returns the login request id and the Location it redirected to.
func (b *browser) beginAuthorize(query string) (lrID, location string) {
	b.e.t.Helper()
	pg := b.get(b.e.path("/authorize?" + query))
	if pg.Status != http.StatusFound {
		b.e.t.Fatalf("authorize: status %d: %s", pg.Status, pg.Body)
	}
	u, err := url.Parse(pg.Location)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return u.Query().Get("lr"), pg.Location
}

// signInDirect signs the browser in without a login request (ends at the account page).
func (b *browser) signInDirect() {
	b.e.t.Helper()
	pg := b.signIn(b.get(b.e.path("/login")), testEmail, testPassword)
	if pg.Status != http.StatusSeeOther || pg.Location != b.e.path("/account") {
		b.e.t.Fatalf("direct sign-in: status %d location %q body:\n%s", pg.Status, pg.Location, pg.Body)
	}
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.srv.URL + b.e.path("/"))
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.e.srv.URL + b.e.path("/"))
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: b.e.path("/")}})
}

// checkPage checks the markup rules every hosted page follows: html lang, exactly one h1, a CSRF token and
// a submit button in every form, a label for every visible input, aria-describedby pointing at elements
// that exist.
func checkPage(t *testing.T, what, body string) {
	t.Helper()
	if !strings.Contains(body, `<html lang="`) {
		t.Errorf("%s: no <html lang>", what)
	}
	if n := strings.Count(body, "<h1"); n != 1 {
		t.Errorf("%s: %d <h1> elements, want 1", what, n)
	}
	ids := map[string]bool{}
	for _, m := range idRe.FindAllStringSubmatch(body, -1) {
		ids[m[1]] = true
	}
	labels := map[string]bool{}
	for _, m := range labelRe.FindAllStringSubmatch(body, -1) {
		labels[m[1]] = true
	}
	for _, m := range formRe.FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[2], `name="csrf_token"`) {
			t.Errorf("%s: a form without csrf_token: %s", what, m[0])
		}
		if !strings.Contains(m[2], `<button type="submit"`) {
			t.Errorf("%s: a form without <button type=\"submit\">: %s", what, m[0])
		}
	}
	for _, in := range inputRe.FindAllString(body, -1) {
		a := attrs(in)
		if a["type"] == "hidden" {
			continue
		}
		if a["id"] == "" || !labels[a["id"]] {
			t.Errorf("%s: input without a <label for>: %s", what, in)
		}
		for _, ref := range strings.Fields(a["aria-describedby"]) {
			if !ids[ref] {
				t.Errorf("%s: aria-describedby=%q names no element: %s", what, ref, in)
			}
		}
	}
	for _, bt := range buttonRe.FindAllStringSubmatch(body, -1) {
		for _, ref := range strings.Fields(attrs(bt[1])["aria-describedby"]) {
			if !ids[ref] {
				t.Errorf("%s: button aria-describedby=%q names no element", what, ref)
			}
		}
	}
}

// wantStatus fails when pg does not have the status (and, if loc is not empty, the Location).
func wantStatus(t *testing.T, pg *page, status int, loc string) {
	t.Helper()
	if pg.Status != status || (loc != "" && pg.Location != loc) {
		t.Fatalf("status %d location %q, want %d %q; body:\n%s", pg.Status, pg.Location, status, loc, pg.Body)
	}
}

func wantBody(t *testing.T, pg *page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(pg.Body, s) {
			t.Errorf("body lacks %q:\n%s", s, pg.Body)
		}
	}
}
