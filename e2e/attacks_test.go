package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/store/storetest"
)

// TestAttacks runs hostile requests against the real server on SQLite and PostgreSQL.
func TestAttacks(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend)
			t.Run("redirect URI variants get an error page and never a redirect", func(t *testing.T) { testRedirectURIVariants(t, s) })
			t.Run("a code redeemed 50 times at once succeeds once and the replay revokes its tokens", func(t *testing.T) { testCodeReplay(t, s) })
			t.Run("PKCE", func(t *testing.T) { testPKCE(t, s) })
			t.Run("a code is refused once its lifetime has passed", func(t *testing.T) { testExpiredCode(t, s) })
			t.Run("codes and tokens of tenant acme are refused at tenant other", func(t *testing.T) { testCrossTenant(t, s) })
			t.Run("a code is bound to its client and redirect URI", func(t *testing.T) { testCodeBinding(t, s) })
			t.Run("a login POST without a valid CSRF token or from another site is refused with 403 and starts no session", func(t *testing.T) { testLoginCSRF(t, s) })
			t.Run("a reused refresh token revokes its family", func(t *testing.T) { testRefreshReuse(t, s) })
			t.Run("oversized and malformed requests get 4xx and never 5xx", func(t *testing.T) { testMalformed(t, s) })
			t.Run("pages forbid framing and token responses forbid caching", func(t *testing.T) { testHeaders(t, s) })
			t.Run("logout never redirects to an unregistered post_logout_redirect_uri", func(t *testing.T) { testLogoutRedirect(t, s) })
			t.Run("a wrong password and an unknown account get the same answer and no session", func(t *testing.T) { testLoginEnumeration(t, s) })
			t.Run("a session cookie of tenant acme is no session at tenant other", func(t *testing.T) { testCrossTenantSession(t, s) })
			t.Run("a device code stays pending until the user types it and denies, then answers access_denied", func(t *testing.T) { testDeviceDeny(t, s) })
			t.Run("a refresh may narrow the scope but not widen it", func(t *testing.T) { testRefreshScope(t, s) })
			t.Run("userinfo refuses an access token without a user", func(t *testing.T) { testUserinfoClientToken(t, s) })
			t.Run("a client cannot revoke another client's token", func(t *testing.T) { testRevokeOtherClient(t, s) })
			t.Run("each tenant signs in only its own users under its own issuer", func(t *testing.T) { testTenantUsers(t, s) })
			t.Run("a refresh token used by 20 requests at once succeeds at most once", func(t *testing.T) { testRefreshRace(t, s) })
			t.Run("an approved device code yields one token set however often it is polled", func(t *testing.T) { testDevicePollRace(t, s) })
			t.Run("a login request resumes once and only in the browser that started it", func(t *testing.T) { testResumeBinding(t, s) })
			t.Run("signing in again rotates the session and the old cookie is worthless", func(t *testing.T) { testSessionRotation(t, s) })
			t.Run("signing out everywhere on the account page ends the other browsers' sessions", func(t *testing.T) { testEndAllSessions(t, s) })
		})
	}
}

// rawGet sends GET u without following redirects.
func rawGet(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b)
}

func authorizeURL(s *server, tenant string, q url.Values) string {
	return s.Issuer(tenant) + "/authorize?" + q.Encode()
}

func codeParams(client, redirectURI string) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirectURI}, "scope": {"openid"},
		"state": {"attacker-state"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"},
	}
}

func testRedirectURIVariants(t *testing.T, s *server) {
	ru, _ := url.Parse(s.RP.URL)
	hostport, port := ru.Host, ru.Port()
	p, _ := strconv.Atoi(port)
	otherPort := strconv.Itoa(p + 1)
	tests := []struct{ name, client, uri string }{
		{"an upper-case path", "web", s.RP.URL + "/CB"},
		{"a trailing slash", "web", s.RP.URL + "/cb/"},
		{"an added query", "web", s.RP.URL + "/cb?next=x"},
		{"an added fragment", "web", s.RP.URL + "/cb#x"},
		{"an attacker's user info before the host", "web", "http://attacker@" + hostport + "/cb"},
		{"the registered host as user info of the attacker's host", "web", "http://" + hostport + "@attacker.example/cb"},
		{"dot segments that resolve to the path", "web", s.RP.URL + "/x/../cb"},
		{"a trailing dot segment", "web", s.RP.URL + "/cb/."},
		{"another port", "web", "http://127.0.0.1:" + otherPort + "/cb"},
		{"a percent-encoded path character", "web", s.RP.URL + "/%63b"},
		{"a percent-encoded slash", "web", s.RP.URL + "%2Fcb"},
		{"localhost for 127.0.0.1", "web", "http://localhost:" + port + "/cb"},
		{"https for http", "web", "https://" + hostport + "/cb"},
		{"a longer path", "web", s.RP.URL + "/cb/evil"},
		{"an unregistered client", "nosuchclient", s.RP.URL + "/cb"},
		{"a native client with another loopback address", "native", "http://127.0.0.2:" + port + "/cb"},
		{"a native client with another path", "native", "http://127.0.0.1:" + port + "/cb2"},
		{"a native client with an attacker's host", "native", "http://attacker.example/cb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawGet(t, authorizeURL(s, "acme", codeParams(tt.client, tt.uri)))
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Fatalf("answered %s with Location %q, want an error page (RFC 6749 §4.1.2.1)", resp.Status, loc)
			}
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("answered %s, want a 4xx error page: %s", resp.Status, snippet(body))
			}
		})
	}
	t.Run("the registered redirect URI itself is accepted", func(t *testing.T) {
		resp, body := rawGet(t, authorizeURL(s, "acme", codeParams("web", s.RP.URL+"/cb")))
		if resp.StatusCode/100 != 3 {
			t.Fatalf("answered %s, want a redirect to the sign-in page: %s", resp.Status, snippet(body))
		}
	})
}

func testCodeReplay(t *testing.T, s *server) {
	a := newAgent(s)
	verifier := oauth2.GenerateVerifier()
	code := a.mustCode(t, verifier)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {s.RP.URL + "/cb"}, "code_verifier": {verifier}}

	const n = 50
	var winner tokenResponse
	wins := 0
	for _, r := range concurrently(s, n, "acme", "web", webSecret, form) {
		switch {
		case r.Status == http.StatusOK:
			wins++
			winner = r
		case r.Status != http.StatusBadRequest || r.Error != "invalid_grant":
			t.Errorf("a losing redemption answered %d %q %s, want 400 invalid_grant", r.Status, r.Error, snippet(r.Raw))
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent redemptions of one code succeeded, want exactly 1", wins, n)
	}
	tr := winner
	if tr.AccessToken == "" {
		t.Fatalf("the winning response %q has no access_token", snippet(tr.Raw))
	}
	// One more replay after the winner has surely committed (RFC 6749 §4.1.2: the server SHOULD revoke
	// every token issued from a code that is used twice).
	if r := s.redeem(t, code, verifier); r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
		t.Errorf("a later replay answered %d %q, want 400 invalid_grant", r.Status, r.Error)
	}
	if s.active(t, tr.AccessToken) {
		t.Error("the winner's access token is still active after the code was replayed")
	}
	if tr.RefreshToken != "" {
		if r := s.refresh(t, tr.RefreshToken); r.Status == http.StatusOK {
			t.Error("the winner's refresh token still works after the code was replayed")
		}
	}
}

func testPKCE(t *testing.T, s *server) {
	a := newAgent(s)
	a.mustCode(t, oauth2.GenerateVerifier()) // alice signs in once; the cases below ride on the session
	alice := flowOpts{Email: aliceEmail, Password: alicePassword}
	nativeRedirect := "http://127.0.0.1:" + mustPort(s.RP.URL) + "/cb"

	t.Run("a public client without code_challenge gets no code", func(t *testing.T) {
		q := codeParams("native", nativeRedirect)
		q.Del("code_challenge")
		q.Del("code_challenge_method")
		wantAuthorizeError(t, a, s, q, "invalid_request")
	})
	t.Run("the plain challenge method gets no code", func(t *testing.T) {
		q := codeParams("web", s.RP.URL+"/cb")
		q.Set("code_challenge", oauth2.GenerateVerifier())
		q.Set("code_challenge_method", "plain")
		wantAuthorizeError(t, a, s, q, "invalid_request")
	})
	t.Run("an unknown challenge method gets no code", func(t *testing.T) {
		q := codeParams("web", s.RP.URL+"/cb")
		q.Set("code_challenge_method", "S512")
		wantAuthorizeError(t, a, s, q, "invalid_request")
	})
	t.Run("a wrong code_verifier is refused", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := a.code(t, "acme", "web", s.RP.URL+"/cb", verifier, alice, nil).Get("code")
		if r := s.redeem(t, code, oauth2.GenerateVerifier()); r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
			t.Errorf("answered %d %q, want 400 invalid_grant (RFC 7636 §4.6)", r.Status, r.Error)
		}
	})
	t.Run("a missing code_verifier is refused", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := a.code(t, "acme", "web", s.RP.URL+"/cb", verifier, alice, nil).Get("code")
		if r := s.redeem(t, code, ""); r.Status != http.StatusBadRequest || (r.Error != "invalid_grant" && r.Error != "invalid_request") {
			t.Errorf("answered %d %q, want 400 invalid_grant", r.Status, r.Error)
		}
	})
	t.Run("a public client redeems with the right verifier and no secret", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := a.code(t, "acme", "native", nativeRedirect, verifier, alice, nil).Get("code")
		r := s.token(t, "acme", "", "", url.Values{"grant_type": {"authorization_code"}, "client_id": {"native"},
			"code": {code}, "redirect_uri": {nativeRedirect}, "code_verifier": {verifier}})
		if r.Status != http.StatusOK || r.AccessToken == "" {
			t.Errorf("answered %d %s, want 200 with tokens", r.Status, snippet(r.Raw))
		}
	})
}

// wantAuthorizeError runs an authorization request (with a session, so an accepted request would yield a
// code) and fails unless it ends in an error: an error redirect with code, or an error page.
func wantAuthorizeError(t *testing.T, a *agent, s *server, q url.Values, code string) {
	t.Helper()
	loc, err := a.authorize(authorizeURL(s, "acme", q), flowOpts{})
	if err != nil {
		if strings.Contains(err.Error(), "sign-in form") || strings.Contains(err.Error(), "consent") {
			t.Fatalf("the request was accepted: %v", err)
		}
		if !strings.HasPrefix(err.Error(), "4") {
			t.Fatalf("want an error redirect or a 4xx page: %v", err)
		}
		return // an error page
	}
	v := loc.Query()
	if v.Get("code") != "" || v.Get("error") != code {
		t.Fatalf("redirected to %s, want error=%s and no code", loc.Redacted(), code)
	}
}

func testExpiredCode(t *testing.T, s *server) {
	a := newAgent(s)
	alice := flowOpts{Email: aliceEmail, Password: alicePassword}
	redeemShort := func(code, verifier string) tokenResponse {
		return s.token(t, "short", "web", webSecret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {s.RP.URL + "/cb"}, "code_verifier": {verifier}})
	}
	// Tenant short's code_ttl is 1s, and the server stores expiries rounded up to the second: a code lives
	// at least 1s and at most 2s after it was minted. Both checks below hold whatever the machine's speed.
	const ttl, rounding = time.Second, time.Second
	// The positive control proves the tenant works, so that the refusal below is about the lifetime. It
	// counts only when code and redemption together took less than the lifetime (the code was minted after
	// start); a stalled machine tries again instead of failing.
	for attempt := 1; ; attempt++ {
		verifier := oauth2.GenerateVerifier()
		start := time.Now()
		code := a.code(t, "short", "web", s.RP.URL+"/cb", verifier, alice, nil).Get("code")
		r := redeemShort(code, verifier)
		if time.Since(start) >= ttl {
			if attempt == 5 {
				t.Fatalf("five attempts each took more than the code's %s lifetime to sign in and redeem", ttl)
			}
			continue
		}
		if r.Status != http.StatusOK {
			t.Fatalf("a code redeemed within its lifetime at tenant short answered %d %s, want 200", r.Status, snippet(r.Raw))
		}
		break
	}
	verifier := oauth2.GenerateVerifier()
	code := a.code(t, "short", "web", s.RP.URL+"/cb", verifier, alice, nil).Get("code")
	minted := time.Now() // the code was minted before this
	time.Sleep(time.Until(minted.Add(ttl + rounding + 500*time.Millisecond)))
	if r := redeemShort(code, verifier); r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
		t.Errorf("a code redeemed after its 1s lifetime answered %d %q, want 400 invalid_grant", r.Status, r.Error)
	}
}

func testCrossTenant(t *testing.T, s *server) {
	a := newAgent(s)
	verifier := oauth2.GenerateVerifier()
	code := a.mustCode(t, verifier)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {s.RP.URL + "/cb"}, "code_verifier": {verifier}}

	t.Run("acme's code redeemed by other's client", func(t *testing.T) {
		r := s.token(t, "other", "otherweb", otherSecret, form)
		if r.Status < 400 || r.Status >= 500 || r.AccessToken != "" {
			t.Errorf("answered %d %s, want 400 invalid_grant", r.Status, snippet(r.Raw))
		}
	})
	t.Run("acme's code and client credentials at other's token endpoint", func(t *testing.T) {
		r := s.token(t, "other", "web", webSecret, form)
		if r.Status != http.StatusUnauthorized || r.Error != "invalid_client" {
			t.Errorf("answered %d %q, want 401 invalid_client: client web does not exist at other", r.Status, r.Error)
		}
	})
	tr := s.redeem(t, code, verifier)
	if tr.Status != http.StatusOK {
		t.Fatalf("the code no longer works at acme after the cross-tenant attempts: %d %s", tr.Status, snippet(tr.Raw))
	}
	t.Run("acme's access token at other's userinfo", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.Issuer("other")+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		resp, err := httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("answered %s, want 401", resp.Status)
		}
	})
	t.Run("acme's access token introspected at other", func(t *testing.T) {
		if active, m := s.introspect(t, "other", "otherweb", otherSecret, tr.AccessToken); active {
			t.Errorf("introspection at other = %v, want active false", m)
		}
	})
	t.Run("acme's refresh token at other", func(t *testing.T) {
		r := s.token(t, "other", "otherweb", otherSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
		if r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
			t.Errorf("answered %d %q, want 400 invalid_grant", r.Status, r.Error)
		}
	})
	t.Run("acme's tokens still work at acme", func(t *testing.T) {
		if !s.active(t, tr.AccessToken) {
			t.Error("the access token is not active at acme")
		}
		if r := s.refresh(t, tr.RefreshToken); r.Status != http.StatusOK {
			t.Errorf("refresh at acme answered %d %s", r.Status, snippet(r.Raw))
		}
	})
}

func testCodeBinding(t *testing.T, s *server) {
	a := newAgent(s)
	t.Run("another client cannot redeem the code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := a.mustCode(t, verifier)
		r := s.token(t, "acme", "thirdparty", thirdSecret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {s.RP.URL + "/cb"}, "code_verifier": {verifier}})
		if r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
			t.Errorf("answered %d %q, want 400 invalid_grant (RFC 6749 §4.1.3)", r.Status, r.Error)
		}
	})
	t.Run("another redirect_uri cannot redeem the code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := a.mustCode(t, verifier)
		r := s.token(t, "acme", "web", webSecret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {s.RP.URL + "/cb/"}, "code_verifier": {verifier}})
		if r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
			t.Errorf("answered %d %q, want 400 invalid_grant (RFC 6749 §4.1.3)", r.Status, r.Error)
		}
	})
	t.Run("a wrong client secret is refused", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := a.mustCode(t, verifier)
		r := s.token(t, "acme", "web", "wrong-secret-0123456789", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {s.RP.URL + "/cb"}, "code_verifier": {verifier}})
		if r.Status != http.StatusUnauthorized || r.Error != "invalid_client" {
			t.Errorf("answered %d %q, want 401 invalid_client", r.Status, r.Error)
		}
	})
}

func testLoginCSRF(t *testing.T, s *server) {
	tests := []struct {
		name   string
		mutate func(v url.Values, h http.Header)
	}{
		{"without the token", func(v url.Values, h http.Header) { v.Del("csrf_token") }},
		{"with a wrong token", func(v url.Values, h http.Header) { v.Set("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") }},
		{"from a cross-site origin", func(v url.Values, h http.Header) { h.Set("Origin", "http://attacker.example") }},
		{"from a cross-site sandboxed frame (Origin null)", func(v url.Values, h http.Header) {
			h.Set("Origin", "null")
			h.Set("Sec-Fetch-Site", "cross-site")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAgent(s)
			q := codeParams("web", s.RP.URL+"/cb")
			p, f := signInPage(t, a, authorizeURL(s, "acme", q))
			if _, ok := f.values()["csrf_token"]; !ok {
				t.Errorf("the sign-in form has no csrf_token field")
			}
			vals := f.values()
			vals.Set(f.input("autocomplete", "username")["name"], aliceEmail)
			if pw := f.input("autocomplete", "current-password"); pw != nil {
				vals.Set(pw["name"], alicePassword)
			}
			action, _ := p.URL.Parse(f.attrs["action"])
			req, _ := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(""))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.URL)
			tt.mutate(vals, req.Header)
			req.Body = io.NopCloser(strings.NewReader(vals.Encode()))
			req.ContentLength = int64(len(vals.Encode()))
			resp, err := a.do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != http.StatusForbidden {
				t.Errorf("answered %d, want 403: %s", resp.Status, snippet(resp.Body))
			}
			su, _ := url.Parse(s.Issuer("acme") + "/")
			for _, c := range a.c.Jar.Cookies(su) {
				if c.Name == "umm_session" {
					t.Errorf("the refused POST set a session cookie")
				}
			}
			q.Set("prompt", "none")
			loc, err := a.authorize(authorizeURL(s, "acme", q), flowOpts{})
			if err != nil || loc.Query().Get("error") != "login_required" {
				t.Errorf("prompt=none after the refused POST: %v %v, want error=login_required", loc, err)
			}
		})
	}
}

func testRefreshReuse(t *testing.T, s *server) {
	a := newAgent(s)
	verifier := oauth2.GenerateVerifier()
	tr := s.redeem(t, a.mustCode(t, verifier), verifier)
	if tr.Status != http.StatusOK || tr.RefreshToken == "" {
		t.Fatalf("redeem: %d %s", tr.Status, snippet(tr.Raw))
	}
	t.Run("another client cannot use the refresh token", func(t *testing.T) {
		r := s.token(t, "acme", "thirdparty", thirdSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
		if r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
			t.Errorf("answered %d %q, want 400 invalid_grant", r.Status, r.Error)
		}
	})
	next := s.refresh(t, tr.RefreshToken)
	if next.Status != http.StatusOK || next.RefreshToken == "" || next.RefreshToken == tr.RefreshToken {
		t.Fatalf("refresh answered %d %s, want 200 with a new refresh token", next.Status, snippet(next.Raw))
	}
	if r := s.refresh(t, tr.RefreshToken); r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
		t.Errorf("reusing the old refresh token answered %d %q, want 400 invalid_grant", r.Status, r.Error)
	}
	if r := s.refresh(t, next.RefreshToken); r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
		t.Errorf("the new refresh token after reuse answered %d %q, want 400 invalid_grant (family revoked)", r.Status, r.Error)
	}
	if s.active(t, next.AccessToken) {
		t.Error("an access token of the revoked family is still active")
	}
}

func testMalformed(t *testing.T, s *server) {
	big := strings.Repeat("a", 10_000)
	huge := "grant_type=client_credentials&pad=" + strings.Repeat("b", 2<<20)
	const form = "application/x-www-form-urlencoded"
	longState := codeParams("web", s.RP.URL+"/cb")
	longState.Set("state", big)
	basic := func(r *http.Request) { r.SetBasicAuth("web", webSecret) }
	tests := []struct {
		name, method, path, ctype, body string
		prep                            func(*http.Request)
		any4xx                          bool // false: exactly 4xx; true: anything below 500
	}{
		{"a 2 MB token request", "POST", "/t/acme/token", form, huge, basic, false},
		{"a 10k-character code", "POST", "/t/acme/token", form, "grant_type=authorization_code&code=" + big + "&redirect_uri=x", basic, false},
		{"bad percent-encoding in a token request", "POST", "/t/acme/token", form, "grant_type=authorization_code&code=%zz", basic, false},
		{"a duplicated grant_type", "POST", "/t/acme/token", form, "grant_type=client_credentials&grant_type=client_credentials", basic, false},
		{"a duplicated scope", "POST", "/t/acme/token", form, "grant_type=client_credentials&scope=api:read&scope=openid", basic, false},
		{"a JSON token request", "POST", "/t/acme/token", "application/json", `{"grant_type":"client_credentials"}`, basic, false},
		{"a token request without a content type", "POST", "/t/acme/token", "", "grant_type=client_credentials", basic, false},
		{"non-UTF-8 in a code", "POST", "/t/acme/token", form, "grant_type=authorization_code&code=%ff%fe&redirect_uri=x", basic, false},
		{"a GET on the token endpoint", "GET", "/t/acme/token?grant_type=client_credentials", "", "", basic, false},
		{"a 10k-character client id in basic auth", "POST", "/t/acme/token", form, "grant_type=client_credentials",
			func(r *http.Request) { r.SetBasicAuth(big, "x") }, false},
		{"bad percent-encoding in basic auth", "POST", "/t/acme/token", form, "grant_type=client_credentials",
			func(r *http.Request) { r.SetBasicAuth("web%zz", "x") }, false},
		{"a 10k-character client_id at authorize", "GET", "/t/acme/authorize?response_type=code&client_id=" + big, "", "", nil, false},
		{"bad percent-encoding at authorize", "GET", "/t/acme/authorize?response_type=code&client_id=%zz&redirect_uri=%", "", "", nil, false},
		{"a duplicated client_id at authorize", "GET", "/t/acme/authorize?response_type=code&client_id=web&client_id=web&redirect_uri=" + url.QueryEscape(s.RP.URL+"/cb"), "", "", nil, false},
		{"a duplicated redirect_uri at authorize", "GET", "/t/acme/authorize?response_type=code&client_id=web&redirect_uri=" + url.QueryEscape(s.RP.URL+"/cb") + "&redirect_uri=" + url.QueryEscape(s.RP.URL+"/cb"), "", "", nil, false},
		{"non-UTF-8 client_id at authorize", "GET", "/t/acme/authorize?response_type=code&client_id=%ff%fe", "", "", nil, false},
		{"a 10k-character state at authorize", "GET", "/t/acme/authorize?" + longState.Encode(), "", "", nil, true},
		{"a 40k-character query", "GET", "/t/acme/authorize?x=" + strings.Repeat("c", 40_000), "", "", nil, false},
		{"a 2 MB introspection request", "POST", "/t/acme/introspect", form, "token=" + strings.Repeat("d", 2<<20), basic, false},
		{"bad percent-encoding at revocation", "POST", "/t/acme/revoke", form, "token=%zz", basic, false},
		{"a duplicated client_id at device authorization", "POST", "/t/acme/device_authorization", form, "client_id=web&client_id=web", basic, false},
		{"a 10k-character bearer token at userinfo", "GET", "/t/acme/userinfo", "", "", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+big) }, false},
		{"a non-ASCII bearer token at userinfo", "GET", "/t/acme/userinfo", "", "", func(r *http.Request) { r.Header.Set("Authorization", "Bearer \xff\xfe") }, false},
		{"a 2 MB login POST", "POST", "/t/acme/login?lr=x", form, "email=" + strings.Repeat("e", 2<<20), nil, false},
		{"a login POST for an unknown login request", "POST", "/t/acme/login?lr=nosuchrequest", form, "email=a%40b.c&password=x", nil, false},
		{"a 10k-character login request id", "GET", "/t/acme/login?lr=" + big, "", "", nil, false},
		{"non-UTF-8 in a login POST", "POST", "/t/acme/login?lr=%ff", form, "email=%ff%fe&password=%ff", nil, false},
		{"a consent page for an unknown login request", "GET", "/t/acme/consent?lr=nosuchrequest", "", "", nil, false},
		{"a resume for an unknown login request", "GET", "/t/acme/authorize/resume?lr=nosuchrequest", "", "", nil, false},
		{"non-UTF-8 user code at the device page", "GET", "/t/acme/device?user_code=%ff%fe", "", "", nil, true},
		{"a garbage id_token_hint at logout", "GET", "/t/acme/logout?id_token_hint=" + big, "", "", nil, false},
		{"an unknown tenant", "GET", "/t/nosuchtenant/.well-known/openid-configuration", "", "", nil, false},
		{"an invalid tenant id", "GET", "/t/%ff%fe/authorize", "", "", nil, false},
	}
	c := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, s.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			req.Header.Set("Origin", s.URL)
			if tt.prep != nil {
				tt.prep(req)
			}
			resp, err := c.Do(req)
			if err != nil {
				// The server may close the connection on an oversized body after answering; a transport
				// error without an answer is a failure.
				t.Fatalf("%s %s: %v", tt.method, tt.path[:min(len(tt.path), 60)], err)
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			switch {
			case resp.StatusCode >= 500:
				t.Errorf("answered %s, want 4xx: %s", resp.Status, snippet(string(b)))
			case !tt.any4xx && (resp.StatusCode < 400 || resp.StatusCode >= 500):
				t.Errorf("answered %s, want 4xx: %s", resp.Status, snippet(string(b)))
			}
		})
	}
}

func mustPort(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		panic(fmt.Sprintf("parse %q: %v", u, err))
	}
	return pu.Port()
}

// signInPage follows an authorization request of a fresh agent to the sign-in page.
func signInPage(t *testing.T, a *agent, authURL string) (*page, *form) {
	t.Helper()
	p, err := a.get(authURL)
	for i := 0; err == nil && p.Status/100 == 3 && i < 10; i++ {
		loc, _ := p.URL.Parse(p.Header.Get("Location"))
		p, err = a.get(loc.String())
	}
	if err != nil || p.Status != http.StatusOK {
		t.Fatalf("no sign-in page: %v %v", err, p)
	}
	f := findForm(parseForms(p.Body), func(f form) bool { return f.input("autocomplete", "username") != nil })
	if f == nil {
		t.Fatalf("no sign-in form at %s: %s", p.URL, snippet(p.Body))
	}
	return p, f
}

func testHeaders(t *testing.T, s *server) {
	p, _ := signInPage(t, newAgent(s), authorizeURL(s, "acme", codeParams("web", s.RP.URL+"/cb")))
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("the sign-in page's Content-Security-Policy %q lacks frame-ancestors 'none' (clickjacking)", csp)
	}
	if got := p.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	resp, body, err := s.postForm("/t/acme/token", "web", webSecret, url.Values{"grant_type": {"client_credentials"}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("client_credentials: %v %s", errOrStatus(resp, err), snippet(string(body)))
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("token response Cache-Control = %q, want no-store (RFC 6749 §5.1)", cc)
	}
}

func testLogoutRedirect(t *testing.T, s *server) {
	a := newAgent(s)
	verifier := oauth2.GenerateVerifier()
	tr := s.redeem(t, a.mustCode(t, verifier), verifier)
	if tr.IDToken == "" {
		t.Fatalf("no id_token: %s", snippet(tr.Raw))
	}
	for _, uri := range []string{"http://attacker.example/bye", s.RP.URL + "/bye/", s.RP.URL + "/cb"} {
		q := url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {uri}, "state": {"s"}}
		p, err := a.get(s.Issuer("acme") + "/logout?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if loc := p.Header.Get("Location"); loc != "" {
			if u, err := p.URL.Parse(loc); err != nil || !a.onServer(u) {
				t.Errorf("logout with post_logout_redirect_uri %s redirected to %q, want an error page", uri, loc)
			}
		}
	}
}

var alertRE = regexp.MustCompile(`(?s)role="alert"[^>]*>(.*?)</`)

func testLoginEnumeration(t *testing.T, s *server) {
	try := func(email, password string) (status int, alert string, a *agent) {
		a = newAgent(s)
		p, f := signInPage(t, a, authorizeURL(s, "acme", codeParams("web", s.RP.URL+"/cb")))
		vals := f.values()
		vals.Set(f.input("autocomplete", "username")["name"], email)
		if pw := f.input("autocomplete", "current-password"); pw != nil {
			vals.Set(pw["name"], password)
		}
		res, err := a.submit(p, f, vals)
		if err != nil {
			t.Fatal(err)
		}
		m := alertRE.FindStringSubmatch(res.Body)
		if m == nil {
			t.Errorf("sign-in with %s answered %d without an alert: %s", email, res.Status, snippet(res.Body))
			return res.Status, "", a
		}
		return res.Status, strings.TrimSpace(m[1]), a
	}
	s1, alert1, a1 := try(aliceEmail, "Wrong-Horse-9")
	s2, alert2, a2 := try("nobody@example.com", "Wrong-Horse-9")
	if s1 != s2 || alert1 != alert2 {
		t.Errorf("wrong password: %d %q; unknown account: %d %q; want the same answer", s1, alert1, s2, alert2)
	}
	if s1/100 == 3 {
		t.Errorf("a wrong password answered %d, want the form again", s1)
	}
	for _, a := range []*agent{a1, a2} {
		q := codeParams("web", s.RP.URL+"/cb")
		q.Set("prompt", "none")
		if loc, err := a.authorize(authorizeURL(s, "acme", q), flowOpts{}); err != nil || loc.Query().Get("error") != "login_required" {
			t.Errorf("prompt=none after a failed sign-in: %v %v, want error=login_required", loc, err)
		}
	}
}

func testCrossTenantSession(t *testing.T, s *server) {
	a := newAgent(s)
	a.mustCode(t, oauth2.GenerateVerifier())
	acme, _ := url.Parse(s.Issuer("acme") + "/")
	other, _ := url.Parse(s.Issuer("other") + "/")
	var moved []*http.Cookie
	for _, c := range a.c.Jar.Cookies(acme) {
		moved = append(moved, &http.Cookie{Name: c.Name, Value: c.Value, Path: "/t/other/"})
	}
	if len(moved) == 0 {
		t.Fatal("no cookies after signing in at acme")
	}
	b := newAgent(s)
	b.c.Jar.SetCookies(other, moved)
	q := codeParams("otherweb", s.RP.URL+"/cb")
	q.Set("prompt", "none")
	loc, err := b.authorize(authorizeURL(s, "other", q), flowOpts{})
	if err != nil {
		t.Fatalf("prompt=none at other with acme's cookies: %v", err)
	}
	if loc.Query().Get("error") != "login_required" || loc.Query().Get("code") != "" {
		t.Errorf("prompt=none at other with acme's session cookie = %s, want error=login_required", loc.Redacted())
	}
}

func testDeviceDeny(t *testing.T, s *server) {
	t.Helper()
	resp, body, err := s.postForm("/t/acme/device_authorization", "web", webSecret, url.Values{"scope": {"openid"}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("device authorization: %v %s", errOrStatus(resp, err), snippet(string(body)))
	}
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
		URI        string `json:"verification_uri"`
		Interval   int    `json:"interval"`
	}
	if err := json.Unmarshal(body, &da); err != nil || da.DeviceCode == "" || da.URI == "" || da.UserCode == "" {
		t.Fatalf("device authorization answered %s", snippet(string(body)))
	}
	poll := func() tokenResponse {
		return s.token(t, "acme", "web", webSecret, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}})
	}
	if r := poll(); r.Status != http.StatusBadRequest || r.Error != "authorization_pending" {
		t.Errorf("polling before the user acted answered %d %q, want 400 authorization_pending (RFC 8628 §3.5)", r.Status, r.Error)
	}
	polled := time.Now()
	a := newAgent(s)
	// The user types the code as people do: lower case, without the hyphen.
	typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
	leave, last, err := a.walk(da.URI, flowOpts{Email: aliceEmail, Password: alicePassword, Consent: "deny", UserCode: typed})
	if err != nil || leave != nil {
		t.Fatalf("the device pages ended at %v / %v, want a page: %v", leave, last, err)
	}
	if wait := time.Duration(da.Interval)*time.Second - time.Since(polled); wait > 0 {
		time.Sleep(wait) // keep to the interval so that the answer is not slow_down
	}
	if r := poll(); r.Status != http.StatusBadRequest || r.Error != "access_denied" {
		t.Errorf("polling after the user denied answered %d %q, want 400 access_denied (RFC 8628 §3.5)", r.Status, r.Error)
	}
}

func testRefreshScope(t *testing.T, s *server) {
	a := newAgent(s)
	verifier := oauth2.GenerateVerifier()
	tr := s.redeem(t, a.mustCode(t, verifier), verifier) // scope openid email offline_access
	if tr.Status != http.StatusOK {
		t.Fatalf("redeem: %d %s", tr.Status, snippet(tr.Raw))
	}
	wide := s.token(t, "acme", "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
		"scope": {"openid email offline_access api:read"}})
	if wide.Status != http.StatusBadRequest || wide.Error != "invalid_scope" {
		t.Errorf("a refresh asking for a scope the grant lacks answered %d %q, want 400 invalid_scope (RFC 6749 §6)", wide.Status, wide.Error)
	}
	narrow := s.token(t, "acme", "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
		"scope": {"openid offline_access"}})
	if narrow.Status != http.StatusOK {
		t.Fatalf("a refresh narrowing the scope answered %d %s, want 200", narrow.Status, snippet(narrow.Raw))
	}
	if _, m := s.introspect(t, "acme", "web", webSecret, narrow.AccessToken); strings.Contains(str(m["scope"]), "email") {
		t.Errorf("the narrowed access token still has scope %v", m["scope"])
	}
}

func testUserinfoClientToken(t *testing.T, s *server) {
	cc := s.token(t, "acme", "web", webSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}})
	if cc.Status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", cc.Status, snippet(cc.Raw))
	}
	req, _ := http.NewRequest(http.MethodGet, s.Issuer("acme")+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+cc.AccessToken)
	resp, err := httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Errorf("userinfo with a client_credentials token answered %s, want 401 or 403 (OIDC Core §5.3: openid scope needed)", resp.Status)
	}
}

func testRevokeOtherClient(t *testing.T, s *server) {
	a := newAgent(s)
	verifier := oauth2.GenerateVerifier()
	tr := s.redeem(t, a.mustCode(t, verifier), verifier)
	if tr.Status != http.StatusOK {
		t.Fatalf("redeem: %d %s", tr.Status, snippet(tr.Raw))
	}
	resp, body, err := s.postForm("/t/acme/revoke", "thirdparty", thirdSecret, url.Values{"token": {tr.RefreshToken}})
	if err != nil || resp.StatusCode >= 500 {
		t.Fatalf("revoke as another client: %v %s", errOrStatus(resp, err), snippet(string(body)))
	}
	if r := s.refresh(t, tr.RefreshToken); r.Status != http.StatusOK {
		t.Errorf("after another client tried to revoke it, the refresh token answered %d %s; RFC 7009 §2.1 refuses such a request", r.Status, snippet(r.Raw))
	}
}

func testTenantUsers(t *testing.T, s *server) {
	q := codeParams("otherweb", s.RP.URL+"/cb")
	if _, err := newAgent(s).authorize(authorizeURL(s, "other", q), flowOpts{Email: aliceEmail, Password: alicePassword}); err == nil {
		t.Error("alice, a user of acme, signed in at tenant other")
	}
	a := newAgent(s)
	verifier := oauth2.GenerateVerifier()
	v := a.code(t, "other", "otherweb", s.RP.URL+"/cb", verifier, flowOpts{Email: bobEmail, Password: bobPassword}, nil)
	if v.Get("iss") != s.Issuer("other") {
		t.Errorf("callback iss = %q, want %q", v.Get("iss"), s.Issuer("other"))
	}
	tr := s.token(t, "other", "otherweb", otherSecret, url.Values{"grant_type": {"authorization_code"}, "code": {v.Get("code")},
		"redirect_uri": {s.RP.URL + "/cb"}, "code_verifier": {verifier}})
	if tr.Status != http.StatusOK {
		t.Fatalf("redeem at other: %d %s", tr.Status, snippet(tr.Raw))
	}
	ctx := oidc.ClientContext(testCtx(t, time.Minute), httpClient())
	p, err := oidc.NewProvider(ctx, s.Issuer("other"))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "otherweb"}).Verify(ctx, tr.IDToken)
	if err != nil {
		t.Fatalf("bob's ID token does not verify at other's issuer: %v", err)
	}
	var c idClaims
	_ = idt.Claims(&c)
	if c.Email != bobEmail {
		t.Errorf("ID token email = %q, want %q", c.Email, bobEmail)
	}
	// acme's keys do not verify other's tokens.
	acme := oidc.NewVerifier(s.Issuer("other"), oidc.NewRemoteKeySet(ctx, s.Issuer("acme")+"/jwks.json"), &oidc.Config{ClientID: "otherweb"})
	if _, err := acme.Verify(ctx, tr.IDToken); err == nil {
		t.Error("tenant other's ID token verifies with tenant acme's JWKS: the tenants share a signing key")
	}
}
