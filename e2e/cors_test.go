package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/store/storetest"
)

// TestSinglePageApp runs a browser app served on another origin than UMM (another loopback port), in
// Chromium: it signs in through a browser navigation to /authorize, then calls the token, userinfo and
// revocation endpoints with fetch from its own page, as a single-page app does. The browser enforces
// CORS: a page on an origin no client allows cannot read any answer.
func TestSinglePageApp(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) { testSinglePageApp(t, backend) })
	}
}

func testSinglePageApp(t *testing.T, backend string) {
	s := startServer(t, backend)
	b := newBrowser(t)
	spa, extra, evil := newAppOrigin(t), newAppOrigin(t), newAppOrigin(t)
	// A public client registered by an operator: its redirect URI's origin is allowed by default; extra is
	// allowed by --allowed-origin; evil by nothing.
	s.cli(t, "", "clients", "create", "--tenant", "acme", "--id", "spa", "--public", "--first-party",
		"--redirect-uri", spa.URL+"/cb", "--grant-type", "authorization_code,refresh_token",
		"--scope", "openid,profile,email,offline_access", "--allowed-origin", extra.URL)
	issuer := s.Issuer("acme")

	app := b.newUser(t)
	var tokens map[string]any
	t.Run("the app signs in with code and PKCE, and redeems the code with fetch", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		q := url.Values{
			"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {spa.URL + "/cb"},
			"scope": {"openid profile offline_access"}, "state": {"spa-state"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
		}
		app.navigate(t, issuer+"/authorize?"+q.Encode())
		app.signIn(t, aliceEmail, alicePassword)
		app.waitFor(t, 20*time.Second, "#app-ready")
		loc := run(t, app, "read the location", chromedp.Location())
		cb, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, spa.URL+"/cb?") || cb.Query().Get("state") != "spa-state" || cb.Query().Get("code") == "" {
			t.Fatalf("the app's page is at %s, want its callback with a code and its state", loc)
		}
		res := app.fetch(t, "POST", issuer+"/token", url.Values{
			"grant_type": {"authorization_code"}, "client_id": {"spa"}, "code": {cb.Query().Get("code")},
			"redirect_uri": {spa.URL + "/cb"}, "code_verifier": {verifier},
		}, "")
		if res.Error != "" || res.Status != http.StatusOK {
			t.Fatalf("fetch token: %+v", res)
		}
		tokens = res.json(t)
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if s, _ := tokens[k].(string); s == "" {
				t.Fatalf("the token response has no %s: %s", k, res.Body)
			}
		}
	})
	if tokens == nil {
		t.FailNow()
	}
	t.Run("the app calls userinfo with its access token in an Authorization header (a preflighted fetch)", func(t *testing.T) {
		res := app.fetch(t, "GET", issuer+"/userinfo", nil, tokens["access_token"].(string))
		if res.Error != "" || res.Status != http.StatusOK || res.json(t)["sub"] == "" {
			t.Fatalf("fetch userinfo: %+v", res)
		}
	})
	var refreshed map[string]any
	t.Run("the app refreshes its tokens with fetch", func(t *testing.T) {
		res := app.fetch(t, "POST", issuer+"/token", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {"spa"}, "refresh_token": {tokens["refresh_token"].(string)},
		}, "")
		if res.Error != "" || res.Status != http.StatusOK {
			t.Fatalf("fetch token (refresh): %+v", res)
		}
		refreshed = res.json(t)
		if rt, _ := refreshed["refresh_token"].(string); rt == "" || rt == tokens["refresh_token"] {
			t.Fatalf("the refresh answer has no new refresh token: %s", res.Body)
		}
	})
	if refreshed == nil {
		t.FailNow()
	}
	t.Run("the app revokes its refresh token with fetch, and it no longer refreshes", func(t *testing.T) {
		rt := refreshed["refresh_token"].(string)
		res := app.fetch(t, "POST", issuer+"/revoke", url.Values{"token": {rt}, "client_id": {"spa"}}, "")
		if res.Error != "" || res.Status != http.StatusOK {
			t.Fatalf("fetch revoke: %+v", res)
		}
		res = app.fetch(t, "POST", issuer+"/token", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {"spa"}, "refresh_token": {rt},
		}, "")
		if res.Error != "" || res.Status != http.StatusBadRequest || res.json(t)["error"] != "invalid_grant" {
			t.Fatalf("refresh with the revoked token: %+v, want a readable invalid_grant", res)
		}
	})
	t.Run("an origin allowed with --allowed-origin reads discovery and the JWKS", func(t *testing.T) {
		p := b.newUser(t)
		p.navigate(t, extra.URL+"/")
		for _, u := range []string{issuer + "/.well-known/openid-configuration", issuer + "/jwks.json"} {
			if res := p.fetch(t, "GET", u, nil, ""); res.Error != "" || res.Status != http.StatusOK {
				t.Errorf("fetch %s from %s: %+v", u, extra.URL, res)
			}
		}
	})
	t.Run("a page on an origin no client allows is blocked by the browser", func(t *testing.T) {
		p := b.newUser(t)
		p.navigate(t, evil.URL+"/")
		for _, c := range []struct {
			method, url string
			form        url.Values
			bearer      string
		}{
			{"POST", issuer + "/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"spa"}, "refresh_token": {"x"}}, ""},
			{"POST", issuer + "/revoke", url.Values{"token": {"x"}, "client_id": {"spa"}}, ""},
			{"GET", issuer + "/userinfo", nil, refreshed["access_token"].(string)},
			{"GET", issuer + "/.well-known/openid-configuration", nil, ""},
		} {
			if res := p.fetch(t, c.method, c.url, c.form, c.bearer); res.Error == "" {
				t.Errorf("fetch %s %s from %s was readable: %+v", c.method, c.url, evil.URL, res)
			}
		}
	})
}

// newAppOrigin serves a browser app's page on its own loopback port: every path answers the same empty
// page, so the test runs the app's fetch calls from that origin.
func newAppOrigin(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>App</title><p id=app-ready>app</p>")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fetchResult is what a fetch from the page gave: the status and body, or the browser's error (a CORS
// refusal is a TypeError without any detail of the answer).
type fetchResult struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Error  string `json:"error"`
}

func (r fetchResult) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("the answer is not JSON: %v: %s", err, r.Body)
	}
	return m
}

// fetch runs fetch() in the page, as the app's own script would: a form body when form is given, and an
// Authorization header (which makes the browser send a preflight first) when bearer is given.
func (p *tab) fetch(t *testing.T, method, target string, form url.Values, bearer string) fetchResult {
	t.Helper()
	headers := map[string]string{}
	body := ""
	if form != nil {
		headers["Content-Type"] = "application/x-www-form-urlencoded"
		body = form.Encode()
	}
	if bearer != "" {
		headers["Authorization"] = "Bearer " + bearer
	}
	init := map[string]any{"method": method, "headers": headers}
	if form != nil {
		init["body"] = body
	}
	initJSON, _ := json.Marshal(init)
	targetJSON, _ := json.Marshal(target)
	js := fmt.Sprintf(`(async () => {
		try {
			const r = await fetch(%s, %s);
			return JSON.stringify({status: r.status, body: await r.text()});
		} catch (e) {
			return JSON.stringify({error: String(e)});
		}
	})()`, targetJSON, initJSON)
	out := run(t, p, "fetch "+target, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	var res fetchResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("fetch %s: %v: %s", target, err, out)
	}
	return res
}

// run runs an action that returns a value in the tab, with a bound, failing the test with the page.
func run[T any](t *testing.T, p *tab, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v\npage: %s", what, err, p.where())
	}
	return v
}
