package login_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
)

// TestCookiesThroughTheWiredServer signs in through the whole server (server.New's wiring, not a test
// Manager) and checks the cookies the browser gets: Secure exactly when the public URL is https.
func TestCookiesThroughTheWiredServer(t *testing.T) {
	for _, public := range []string{"https://id.example.test", ""} {
		name := "an http public URL"
		if public != "" {
			name = "an https public URL"
		}
		t.Run(name, func(t *testing.T) {
			var opts []servertest.Option
			if public != "" {
				opts = append(opts, servertest.WithConfig(func(c *config.Config) { c.Server.PublicURL = public }))
			}
			srv := servertest.New(t, opts...)
			base := srv.Config.Server.PublicURL
			jar := map[string]*http.Cookie{}
			do := func(method, path string, form url.Values) *httptest.ResponseRecorder {
				var body *strings.Reader
				if form != nil {
					body = strings.NewReader(form.Encode())
				} else {
					body = strings.NewReader("")
				}
				r := httptest.NewRequest(method, base+path, body)
				if form != nil {
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				for _, c := range jar {
					r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
				}
				w := httptest.NewRecorder()
				srv.Handler().ServeHTTP(w, r)
				for _, c := range w.Result().Cookies() {
					jar[c.Name] = c
				}
				return w
			}

			page := do(http.MethodGet, "/t/"+srv.Tenant+"/login", nil)
			m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page.Body.String())
			if page.Code != http.StatusOK || m == nil {
				t.Fatalf("login page: status %d, no CSRF token", page.Code)
			}
			res := do(http.MethodPost, "/t/"+srv.Tenant+"/login", url.Values{"csrf_token": {m[1]},
				"email": {srv.User.Email}, "password": {srv.User.Password}})
			if res.Code != http.StatusSeeOther {
				t.Fatalf("sign-in: status %d, body %.300s", res.Code, res.Body.String())
			}
			wantSecure := strings.HasPrefix(base, "https://")
			for _, name := range []string{"umm_session", "umm_csrf"} {
				c := jar[name]
				if c == nil {
					t.Fatalf("no %s cookie after signing in", name)
				}
				if c.Secure != wantSecure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
					t.Errorf("%s: Secure %v HttpOnly %v SameSite %v; want Secure %v, HttpOnly, SameSite=Lax",
						name, c.Secure, c.HttpOnly, c.SameSite, wantSecure)
				}
			}
			if hsts := res.Header().Get("Strict-Transport-Security"); (hsts != "") != wantSecure {
				t.Errorf("Strict-Transport-Security %q with public URL %s", hsts, base)
			}
		})
	}
}

// TestSecurityHeadersThroughTheWiredServer checks the security headers on pages and protocol responses
// of the whole server.
func TestSecurityHeadersThroughTheWiredServer(t *testing.T) {
	srv := servertest.New(t)
	tp := "/t/" + srv.Tenant
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, tp + "/login"},
		{http.MethodGet, tp + "/account"},
		{http.MethodGet, tp + "/device"},
		{http.MethodGet, tp + "/authorize?client_id=nobody"},
		{http.MethodGet, tp + "/logout"},
		{http.MethodPost, tp + "/token"},
		{http.MethodGet, tp + "/userinfo"},
		{http.MethodPost, tp + "/introspect"},
		{http.MethodGet, tp + "/.well-known/openid-configuration"},
		{http.MethodGet, tp + "/jwks.json"},
		{http.MethodGet, "/t/no-such-tenant/login"},
	} {
		r := httptest.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(""))
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		if csp == "" || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s %s (status %d): CSP %q, nosniff %q, Referrer-Policy %q", tt.method, tt.path, w.Code, csp,
				h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
	}
}
