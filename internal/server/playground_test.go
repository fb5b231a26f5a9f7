package server_test

import (
	"context"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// playgroundResult is what the playground's result page showed.
type playgroundResult struct {
	status         int
	body           string
	idClaims       map[string]any
	accessClaims   map[string]any
	userinfo       map[string]any
	passed, failed int
	callback       *url.URL
}

var preBlock = regexp.MustCompile(`(?s)<pre class="json" id="([a-z-]+)"><code>(.*?)</code></pre>`)

func parsePlayground(t *testing.T, status int, body string) playgroundResult {
	t.Helper()
	r := playgroundResult{status: status, body: body,
		passed: strings.Count(body, "✓ passed"), failed: strings.Count(body, "✗ failed")}
	for _, m := range preBlock.FindAllStringSubmatch(body, -1) {
		var v map[string]any
		if err := json.Unmarshal([]byte(html.UnescapeString(m[2])), &v); err != nil {
			t.Fatalf("block %s is not JSON: %v\n%s", m[1], err, m[2])
		}
		switch m[1] {
		case "id-token":
			r.idClaims = v
		case "access-token":
			r.accessClaims = v
		case "userinfo":
			r.userinfo = v
		}
	}
	return r
}

// runPlayground opens the playground page of issuer in b, clicks its sign-in link, signs in with email and
// password and returns the result page.
func runPlayground(t *testing.T, b *servertest.Browser, issuer, email, password string) playgroundResult {
	t.Helper()
	resp, body := b.Get(issuer + "/playground")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("playground page: %d\n%s", resp.StatusCode, body)
	}
	m := regexp.MustCompile(`<a class="button" id="start" href="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the playground page has no sign-in link:\n%s", body)
	}
	start, _ := url.Parse(issuer)
	next := start.ResolveReference(&url.URL{Path: html.UnescapeString(m[1])})
	var callback *url.URL
	for range 12 {
		if strings.HasSuffix(next.Path, "/playground/callback") {
			callback = next
		}
		resp, body = b.Get(next.String())
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			next = servertest.Location(t, resp)
			continue
		}
		if !strings.HasSuffix(next.Path, "/login") {
			r := parsePlayground(t, resp.StatusCode, body)
			r.callback = callback
			return r
		}
		var form *servertest.Form
		for _, f := range servertest.ParseForms(resp.Request.URL, body) {
			if _, ok := f.Values["password"]; ok {
				form = &f
			}
		}
		if form == nil {
			t.Fatalf("no password form at %s:\n%s", next, body)
		}
		resp, body = b.Submit(*form, url.Values{"email": {email}, "password": {password}})
		next = servertest.Location(t, resp)
	}
	t.Fatalf("the playground flow did not end (at %s)", next)
	return playgroundResult{}
}

func withPlayground(seed *config.TenantSeed) {
	seed.Settings = &config.TenantSettings{Playground: true}
}

func TestPlaygroundRunsARealCodeFlowAndShowsTheTokens(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithSeed(withPlayground))
			b := srv.NewBrowser(t)
			r := runPlayground(t, b, srv.Issuer, srv.User.Email, srv.User.Password)
			if r.status != http.StatusOK || r.failed != 0 || r.passed < 7 {
				t.Fatalf("result %d with %d passed and %d failed checks:\n%s", r.status, r.passed, r.failed, r.body)
			}
			t.Run("the ID token's claims are shown", func(t *testing.T) {
				if r.idClaims["sub"] != srv.User.ID || r.idClaims["iss"] != srv.Issuer || r.idClaims["aud"] != "playground" ||
					r.idClaims["email"] != srv.User.Email || r.idClaims["nonce"] == nil {
					t.Errorf("ID token claims = %v", r.idClaims)
				}
			})
			t.Run("the access token is shown decoded", func(t *testing.T) {
				if r.accessClaims["sub"] != srv.User.ID || r.accessClaims["client_id"] != "playground" {
					t.Errorf("access token claims = %v", r.accessClaims)
				}
			})
			t.Run("the UserInfo answer is shown", func(t *testing.T) {
				if r.userinfo["sub"] != srv.User.ID || r.userinfo["email"] != srv.User.Email {
					t.Errorf("userinfo = %v", r.userinfo)
				}
			})
			t.Run("the callback works once: replaying it finds no sign-in in progress", func(t *testing.T) {
				resp, body := b.Get(r.callback.String())
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "no playground sign-in in progress") ||
					strings.Contains(body, `id="id-token"`) {
					t.Errorf("replayed callback answered %d:\n%s", resp.StatusCode, body)
				}
			})
			// startedFlow starts a flow in a new browser and returns it with the state its cookie holds.
			startedFlow := func(t *testing.T) (*servertest.Browser, string) {
				b := srv.NewBrowser(t)
				resp, _ := b.Get(srv.Issuer + "/playground/start")
				authorize := servertest.Location(t, resp)
				return b, authorize.Query().Get("state")
			}
			t.Run("an error answer from the authorization server is shown, its text escaped", func(t *testing.T) {
				b, state := startedFlow(t)
				resp, body := b.Get(srv.Issuer + "/playground/callback?" + url.Values{"error": {"access_denied"},
					"error_description": {"<b>denied</b>"}, "state": {state}, "iss": {srv.Issuer}}.Encode())
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, "answered access_denied") ||
					!strings.Contains(body, "&lt;b&gt;denied&lt;/b&gt;") || strings.Contains(body, "<b>denied") {
					t.Errorf("error callback answered %d:\n%s", resp.StatusCode, body)
				}
			})
			t.Run("an answer from another issuer is refused (RFC 9207)", func(t *testing.T) {
				b, state := startedFlow(t)
				resp, body := b.Get(srv.Issuer + "/playground/callback?" + url.Values{"code": {"x"}, "state": {state},
					"iss": {"https://evil.example/t/" + srv.Tenant}}.Encode())
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "came from another issuer") {
					t.Errorf("mix-up callback answered %d:\n%s", resp.StatusCode, body)
				}
			})
			t.Run("a code that the token endpoint refuses is reported with its error", func(t *testing.T) {
				b, state := startedFlow(t)
				resp, body := b.Get(srv.Issuer + "/playground/callback?" + url.Values{"code": {"not-a-code"}, "state": {state},
					"iss": {srv.Issuer}}.Encode())
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, "token endpoint answered invalid_grant") {
					t.Errorf("bad code answered %d:\n%s", resp.StatusCode, body)
				}
			})
			t.Run("an answer with another state is refused before the code is redeemed", func(t *testing.T) {
				b := srv.NewBrowser(t)
				resp, _ := b.Get(srv.Issuer + "/playground/start")
				servertest.Location(t, resp) // the cookie is set; the browser never goes to authorize
				resp, body := b.Get(srv.Issuer + "/playground/callback?code=forged&state=forged&iss=" + url.QueryEscape(srv.Issuer))
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "does not belong to this sign-in") {
					t.Errorf("forged callback answered %d:\n%s", resp.StatusCode, body)
				}
			})
		})
	}
}

func TestPlaygroundIsOffUnlessTheTenantTurnsItOn(t *testing.T) {
	srv := servertest.New(t)
	b := srv.NewBrowser(t)
	for _, path := range []string{"/playground", "/playground/start", "/playground/callback?code=x&state=y"} {
		resp, body := b.Get(srv.Issuer + path)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "playground is off") {
			t.Errorf("%s answered %d:\n%s", path, resp.StatusCode, body)
		}
	}
	if _, err := srv.DB.GetClient(context.Background(), srv.Tenant, "playground"); err == nil {
		t.Error("a tenant without the playground has the playground client")
	}
	if banner := srv.Banner("umm", ""); strings.Contains(banner, "playground:") || strings.Contains(banner, "register it as a client") {
		t.Errorf("the banner of a tenant with clients and no playground mentions them:\n%s", banner)
	}
}

// TestZeroConfigStartLeadsToAWorkingSignIn: on an empty database the default tenant has the playground,
// / links it with the account page and the docs, and /t/default/ says where everything is.
func TestZeroConfigStartLeadsToAWorkingSignIn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	publicURL := "http://" + ln.Addr().String()
	cfg := servertest.Config(publicURL, storetest.URL(t, "sqlite"), t.TempDir())
	cfg.Tenants = nil
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	const email, password = "newcomer@example.com", "a-first-password-1"
	if _, err := srv.Admin.CreateUser(ctx, admin.DefaultTenantID, admin.UserInput{Email: email, Password: keys.Secret(password)}, "test"); err != nil {
		t.Fatal(err)
	}
	issuer := publicURL + "/t/default"
	b := servertest.NewBrowser(t)

	t.Run("the banner links the playground", func(t *testing.T) {
		banner := srv.Banner("umm", "")
		for _, want := range []string{"playground:    " + issuer + "/playground",
			"umm clients create --tenant default --id my-app --public --redirect-uri http://localhost:3000/callback"} {
			if !strings.Contains(banner, want) {
				t.Errorf("banner lacks %q:\n%s", want, banner)
			}
		}
	})
	t.Run("/ links the default tenant's account page, its playground and the docs", func(t *testing.T) {
		resp, body := b.Get(publicURL + "/")
		for _, want := range []string{`href="` + issuer + `/account"`, `href="` + issuer + `/playground"`, `href="https://github.com/umm-project/umm#readme"`} {
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("/ answered %d without %s:\n%s", resp.StatusCode, want, body)
			}
		}
	})
	t.Run("/t/default/ says where everything is", func(t *testing.T) {
		resp, body := b.Get(issuer + "/")
		for _, want := range []string{issuer + "/.well-known/openid-configuration", issuer + "/jwks.json", issuer + "/account", issuer + "/playground"} {
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("/t/default/ answered %d without %s:\n%s", resp.StatusCode, want, body)
			}
		}
		if resp, _ := b.Get(publicURL + "/t/nope/"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("/t/nope/ answered %d, want 404", resp.StatusCode)
		}
	})
	t.Run("the playground signs the first user in", func(t *testing.T) {
		r := runPlayground(t, b, issuer, email, password)
		if r.status != http.StatusOK || r.failed != 0 || r.idClaims["email"] != email || r.userinfo["email"] != email {
			t.Fatalf("result %d, %d failed checks, claims %v, userinfo %v:\n%s", r.status, r.failed, r.idClaims, r.userinfo, r.body)
		}
	})
}
