package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestRedirectURIRegistered(t *testing.T) {
	clients := map[string]store.Client{}
	for _, c := range testClients("t") {
		clients[c.ClientID] = c
	}
	tests := []struct {
		name, client, uri string
		want              bool
	}{
		{"the registered URI matches", "web", "https://app.example.com/cb", true},
		{"a registered URI with a query matches as registered", "web", "https://app.example.com/cb2?tenant=a", true},
		{"a registered URI with a port matches", "web", "https://app.example.com:8443/cb", true},
		{"an upper-case host does not match", "web", "https://APP.example.com/cb", false},
		{"an upper-case scheme does not match", "web", "HTTPS://app.example.com/cb", false},
		{"an upper-case path does not match", "web", "https://app.example.com/CB", false},
		{"a trailing slash does not match", "web", "https://app.example.com/cb/", false},
		{"an added query does not match", "web", "https://app.example.com/cb?next=evil", false},
		{"a changed query does not match", "web", "https://app.example.com/cb2?tenant=b", false},
		{"an empty query does not match", "web", "https://app.example.com/cb?", false},
		{"a fragment does not match", "web", "https://app.example.com/cb#x", false},
		{"user info before the host does not match", "web", "https://app.example.com@evil.example/cb", false},
		{"user info on the right host does not match", "web", "https://user@app.example.com/cb", false},
		{"dot segments do not match", "web", "https://app.example.com/x/../cb", false},
		{"a single dot segment does not match", "web", "https://app.example.com/./cb", false},
		{"another port does not match", "web", "https://app.example.com:444/cb", false},
		{"the default port written out does not match", "web", "https://app.example.com:443/cb", false},
		{"a percent-encoded character does not match", "web", "https://app.example.com/%63b", false},
		{"an encoded slash does not match", "web", "https://app.example.com%2Fcb", false},
		{"http instead of https does not match", "web", "http://app.example.com/cb", false},
		{"a suffix host does not match", "web", "https://app.example.com.evil.example/cb", false},
		{"a longer path does not match", "web", "https://app.example.com/cb/evil", false},
		{"a URI registered by another client does not match", "web", "https://spa.example.com/cb", false},
		{"the empty string does not match", "web", "", false},
		{"a public native client may use another port on 127.0.0.1", "native", "http://127.0.0.1:51234/cb", true},
		{"a public native client may use the registered 127.0.0.1 without a port", "native", "http://127.0.0.1/cb", true},
		{"a public native client may use another port on [::1]", "native", "http://[::1]:9999/cb", true},
		{"a public native client may drop the port on [::1]", "native", "http://[::1]/cb", true},
		{"loopback port flexibility keeps the path exact", "native", "http://127.0.0.1:51234/cb/", false},
		{"loopback port flexibility keeps the query exact", "native", "http://127.0.0.1:51234/cb?x=1", false},
		{"loopback port flexibility does not cover localhost", "native", "http://localhost:9001/cb", false},
		{"the registered localhost URI matches exactly", "native", "http://localhost:9000/cb", true},
		{"loopback port flexibility does not cover https", "native", "https://127.0.0.1:5000/cb", false},
		{"a host that starts like the loopback address does not match", "native", "http://127.0.0.1.evil.example/cb", false},
		{"user info after the loopback address does not match", "native", "http://127.0.0.1@evil.example/cb", false},
		{"a non-numeric port does not match", "native", "http://127.0.0.1:80a/cb", false},
		{"port zero does not match", "native", "http://127.0.0.1:0/cb", false},
		{"an out-of-range port does not match", "native", "http://127.0.0.1:65536/cb", false},
		{"a signed port does not match", "native", "http://127.0.0.1:+80/cb", false},
		{"a port with leading zeros beyond five digits does not match", "native", "http://127.0.0.1:000080/cb", false},
		{"another loopback address does not match", "native", "http://127.0.0.2:5000/cb", false},
		{"the IPv4 address does not match an IPv6 registration", "native", "http://127.0.0.1:8080/cb2", false},
		{"a private-use scheme matches exactly", "native", "com.example.app:/oauth2redirect", true},
		{"a private-use scheme with another path does not match", "native", "com.example.app:/other", false},
		{"a confidential client gets no loopback port flexibility", "loopback-conf", "http://127.0.0.1:7001/cb", false},
		{"a confidential client's exact loopback URI matches", "loopback-conf", "http://127.0.0.1:7000/cb", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redirectURIRegistered(clients[tt.client], tt.uri); got != tt.want {
				t.Errorf("redirectURIRegistered(%s, %q) = %v, want %v", tt.client, tt.uri, got, tt.want)
			}
		})
	}
}

// TestAuthorizeErrorPage covers the requests that must never redirect: the client or its redirect URI is
// not established, so an error page answers.
func TestAuthorizeErrorPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		tests := []struct {
			name   string
			params url.Values
		}{
			{"a request without client_id gets a page", codeParams(del("client_id"))},
			{"an empty client_id gets a page", codeParams(set("client_id", ""))},
			{"an unknown client gets a page", codeParams(set("client_id", "nobody"))},
			{"an overlong client_id gets a page", codeParams(set("client_id", strings.Repeat("c", 5000)))},
			{"a client_id sent twice gets a page", codeParams(add("client_id", "spa"))},
			{"a request without redirect_uri gets a page", codeParams(del("redirect_uri"))},
			{"a redirect_uri sent twice gets a page", codeParams(add("redirect_uri", "https://app.example.com/cb"))},
			{"an unregistered redirect_uri gets a page", codeParams(set("redirect_uri", "https://evil.example/cb"))},
			{"a redirect_uri with another case gets a page", codeParams(set("redirect_uri", "https://app.example.com/Cb"))},
			{"a redirect_uri with a trailing slash gets a page", codeParams(set("redirect_uri", "https://app.example.com/cb/"))},
			{"a redirect_uri with an added query gets a page", codeParams(set("redirect_uri", "https://app.example.com/cb?a=b"))},
			{"a redirect_uri with user info gets a page", codeParams(set("redirect_uri", "https://app.example.com@evil.example/cb"))},
			{"a redirect_uri with dot segments gets a page", codeParams(set("redirect_uri", "https://app.example.com/a/../cb"))},
			{"a redirect_uri with another port gets a page", codeParams(set("redirect_uri", "https://app.example.com:8444/cb"))},
			{"a redirect_uri with percent-encoding gets a page", codeParams(set("redirect_uri", "https://app.example.com/%63b"))},
			{"an overlong redirect_uri gets a page", codeParams(set("redirect_uri", "https://app.example.com/cb"+strings.Repeat("a", 5000)))},
			{"a loopback port change by a confidential client gets a page", codeParams(set("client_id", "loopback-conf"),
				set("redirect_uri", "http://127.0.0.1:7001/cb"))},
			{"a localhost port change by a native client gets a page", codeParams(set("client_id", "native"),
				set("redirect_uri", "http://localhost:9001/cb"))},
			{"another client's redirect_uri gets a page", codeParams(set("redirect_uri", "https://spa.example.com/cb"))},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := f.browser().get(f.authorizeURL(tt.params))
				if w.Code != http.StatusBadRequest {
					t.Errorf("status %d, want 400", w.Code)
				}
				if loc := w.Header().Get("Location"); loc != "" {
					t.Errorf("redirected to %s; must show a page", loc)
				}
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type %q, want an HTML page", ct)
				}
				if strings.Contains(w.Body.String(), "evil.example") {
					t.Error("the page echoes the attacker's URI")
				}
				if !strings.Contains(w.Body.String(), f.tenant.Name) {
					t.Errorf("the page does not show the tenant's name %q", f.tenant.Name)
				}
			})
		}
		t.Run("a malformed query gets a page", func(t *testing.T) {
			w := f.browser().get("/t/" + f.tenant.ID + "/authorize?client_id=web&redirect_uri=%zz")
			if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
				t.Errorf("status %d, Location %q; want a 400 page", w.Code, w.Header().Get("Location"))
			}
		})
		t.Run("a POST that is not a form gets a page", func(t *testing.T) {
			b := f.browser()
			r := b.request(http.MethodPost, "/t/"+f.tenant.ID+"/authorize", nil)
			r.Body = http.NoBody
			r.Header.Set("Content-Type", "application/json")
			if w := b.serve(r); w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
				t.Errorf("status %d; want a 400 page", w.Code)
			}
		})
	})
}

// TestAuthorizeErrorRedirect covers errors found once client and redirect URI are valid: they go back to
// the client with error, error_description, state and iss.
func TestAuthorizeErrorRedirect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		long := func(n int) string { return strings.Repeat("a", n) }
		tests := []struct {
			name      string
			params    url.Values
			wantError string
			wantState string // "" means the default state
			wantDesc  string // a substring of error_description, when set
		}{
			{"a missing response_type is invalid_request", codeParams(del("response_type")), "invalid_request", "", "response_type"},
			{"response_type token is unsupported", codeParams(set("response_type", "token")), "unsupported_response_type", "", ""},
			{"response_type code id_token is unsupported", codeParams(set("response_type", "code id_token")), "unsupported_response_type", "", ""},
			{"response_type id_token is unsupported", codeParams(set("response_type", "id_token")), "unsupported_response_type", "", ""},
			{"a client without the code grant is unauthorized_client", codeParams(set("client_id", "m2m"),
				set("redirect_uri", "https://m2m.example.com/cb")), "unauthorized_client", "", ""},
			{"a request without openid whose only scopes are unknown is invalid_scope", codeParams(set("scope", "admin:all other")),
				"invalid_scope", "", "none of the requested scopes"},
			{"a request whose only scopes the client may not request is invalid_scope", codeParams(set("client_id", "scoped"),
				set("redirect_uri", "https://scoped.example.com/cb"), set("scope", "email roles")), "invalid_scope", "", ""},
			{"an empty scope is invalid_scope", codeParams(del("scope")), "invalid_scope", "", ""},
			{"a scope with a quote is invalid_scope", codeParams(set("scope", `openid "x`)), "invalid_scope", "", ""},
			{"an overlong scope is invalid_scope", codeParams(set("scope", "openid "+long(3000))), "invalid_scope", "", ""},
			{"a public client without PKCE is invalid_request", codeParams(set("client_id", "spa"),
				set("redirect_uri", "https://spa.example.com/cb"), del("code_challenge"), del("code_challenge_method")),
				"invalid_request", "", "PKCE"},
			{"PKCE plain is refused", codeParams(set("code_challenge_method", "plain")), "invalid_request", "", "S256"},
			{"PKCE without a method (plain) is refused", codeParams(del("code_challenge_method")), "invalid_request", "", "S256"},
			{"an unknown PKCE method is refused", codeParams(set("code_challenge_method", "S512")), "invalid_request", "", "S256"},
			{"a method without a challenge is refused", codeParams(del("code_challenge")), "invalid_request", "", "code_challenge"},
			{"a 42-character challenge is refused", codeParams(set("code_challenge", long(42))), "invalid_request", "", "43"},
			{"a 129-character challenge is refused", codeParams(set("code_challenge", long(129))), "invalid_request", "", "43"},
			{"a challenge with padding is refused", codeParams(set("code_challenge", testChallenge+"=")), "invalid_request", "", ""},
			{"a challenge with a plus sign is refused", codeParams(set("code_challenge", "+"+testChallenge[1:])), "invalid_request", "", ""},
			{"prompt none with login is refused", codeParams(set("prompt", "none login")), "invalid_request", "", "none"},
			{"an unknown prompt is refused", codeParams(set("prompt", "create")), "invalid_request", "", "prompt"},
			{"a negative max_age is refused", codeParams(set("max_age", "-1")), "invalid_request", "", "max_age"},
			{"a non-numeric max_age is refused", codeParams(set("max_age", "1h")), "invalid_request", "", "max_age"},
			{"a huge max_age is refused", codeParams(set("max_age", "99999999999999999999")), "invalid_request", "", "max_age"},
			{"response_mode fragment is refused", codeParams(set("response_mode", "fragment")), "invalid_request", "", "response_mode"},
			{"response_mode jwt is refused", codeParams(set("response_mode", "query.jwt")), "invalid_request", "", "response_mode"},
			{"a request object is not supported", codeParams(set("request", "eyJhbGciOiJub25lIn0.e30.")), "request_not_supported", "", ""},
			{"a request_uri is not supported", codeParams(set("request_uri", "https://app.example.com/r")), "request_uri_not_supported", "", ""},
			{"a repeated scope parameter is invalid_request", codeParams(add("scope", "email")), "invalid_request", "", "scope"},
			{"a repeated nonce is invalid_request", codeParams(add("nonce", "other")), "invalid_request", "", "nonce"},
			{"a repeated response_type is invalid_request", codeParams(add("response_type", "code")), "invalid_request", "", ""},
			{"an oversized state is refused without echoing it", codeParams(set("state", long(513))), "invalid_request", "-", "state"},
			{"a repeated state is refused without echoing it", codeParams(add("state", "two")), "invalid_request", "-", "state"},
			{"a state with control characters is refused", codeParams(set("state", "a\x01b")), "invalid_request", "-", "state"},
			{"an oversized nonce is refused", codeParams(set("nonce", long(513))), "invalid_request", "", "nonce"},
			{"an oversized login_hint is refused", codeParams(set("login_hint", long(600))), "invalid_request", "", "login_hint"},
			{"an oversized id_token_hint is refused", codeParams(set("id_token_hint", long(9000))), "invalid_request", "", ""},
			{"a state of 512 characters is echoed", codeParams(set("state", long(512)), set("response_type", "token")),
				"unsupported_response_type", long(512), ""},
			{"a state with spaces and symbols is echoed", codeParams(set("state", "a b&c=d é"), set("response_type", "token")),
				"unsupported_response_type", "a b&c=d é", ""},
			{"the registered query is kept next to the error", codeParams(set("redirect_uri", "https://app.example.com/cb2?tenant=a"),
				set("response_type", "token")), "unsupported_response_type", "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					b := f.browser()
					var w = b.get(f.authorizeURL(tt.params))
					if method == http.MethodPost {
						w = b.post("/t/"+f.tenant.ID+"/authorize", tt.params)
					}
					if w.Code != http.StatusFound {
						t.Fatalf("%s: status %d, want 302; body %.300s", method, w.Code, w.Body.String())
					}
					u := location(t, w)
					q := u.Query()
					redirect := tt.params.Get("redirect_uri")
					if base, _, _ := strings.Cut(redirect, "?"); u.Scheme+"://"+u.Host+u.Path != base {
						t.Errorf("%s: redirected to %s, want %s", method, u, redirect)
					}
					if strings.Contains(redirect, "?tenant=a") && q.Get("tenant") != "a" {
						t.Errorf("%s: the registered query was lost: %s", method, u)
					}
					if q.Get("error") != tt.wantError {
						t.Errorf("%s: error %q (%s), want %q", method, q.Get("error"), q.Get("error_description"), tt.wantError)
					}
					if q.Get("error_description") == "" || !strings.Contains(q.Get("error_description"), tt.wantDesc) {
						t.Errorf("%s: error_description %q, want it to mention %q", method, q.Get("error_description"), tt.wantDesc)
					}
					wantState := tt.wantState
					switch wantState {
					case "":
						wantState = tt.params.Get("state")
					case "-":
						wantState = ""
					}
					if _, has := q["state"]; q.Get("state") != wantState || (wantState == "" && has) {
						t.Errorf("%s: state %q, want %q", method, q.Get("state"), wantState)
					}
					if q.Get("iss") != f.p.issuer(f.tenant.ID) {
						t.Errorf("%s: iss %q, want %q", method, q.Get("iss"), f.p.issuer(f.tenant.ID))
					}
					if q.Get("code") != "" {
						t.Errorf("%s: a code came with the error", method)
					}
					if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
						t.Errorf("%s: Cache-Control %q", method, cc)
					}
				}
			})
		}
	})
}

func TestAuthorizeStartsLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tests := []struct {
			name                        string
			params                      url.Values
			wantRequireLogin, wantConst bool
			check                       func(t *testing.T, p store.AuthorizeParams)
		}{
			{"a plain request is stored as sent", codeParams(set("login_hint", "alice@example.com"), set("ui_locales", "fr en"),
				set("acr_values", "1 urn:x"), set("max_age", "300")), false, false,
				func(t *testing.T, p store.AuthorizeParams) {
					want := store.AuthorizeParams{ResponseType: "code", RedirectURI: "https://app.example.com/cb",
						Scopes: []string{"openid", "profile", "email"}, State: "xyz-state", Nonce: "n-0S6_WzA2Mj",
						CodeChallenge: testChallenge, CodeChallengeMethod: "S256", ResponseMode: "query", MaxAge: 300,
						LoginHint: "alice@example.com", UILocales: "fr en", ACRValues: []string{"1", "urn:x"}}
					if !equalParams(p, want) {
						t.Errorf("params = %+v\nwant %+v", p, want)
					}
				}},
			{"prompt=login requires login", codeParams(set("prompt", "login")), true, false, nil},
			{"prompt=select_account is treated as login", codeParams(set("prompt", "select_account")), true, false,
				func(t *testing.T, p store.AuthorizeParams) {
					if !slices.Equal(p.Prompt, []string{"login"}) {
						t.Errorf("prompt %v", p.Prompt)
					}
				}},
			{"max_age=0 requires login", codeParams(set("max_age", "0")), true, false, nil},
			{"prompt=consent requires consent", codeParams(set("prompt", "consent")), false, true, nil},
			{"prompt=login consent requires both", codeParams(set("prompt", "login consent")), true, true, nil},
			{"a request without openid is plain OAuth", codeParams(set("scope", "profile")), false, false,
				func(t *testing.T, p store.AuthorizeParams) {
					if slices.Contains(p.Scopes, "openid") || p.MaxAge != -1 {
						t.Errorf("scopes %v max_age %d", p.Scopes, p.MaxAge)
					}
				}},
			{"repeated scope values are stored once", codeParams(set("scope", "openid openid  email")), false, false,
				func(t *testing.T, p store.AuthorizeParams) {
					if !slices.Equal(p.Scopes, []string{"openid", "email"}) {
						t.Errorf("scopes %v", p.Scopes)
					}
				}},
			{"form_post is stored", codeParams(set("response_mode", "form_post")), false, false,
				func(t *testing.T, p store.AuthorizeParams) {
					if p.ResponseMode != "form_post" {
						t.Errorf("response_mode %q", p.ResponseMode)
					}
				}},
			{"empty parameters count as absent", codeParams(set("prompt", ""), set("max_age", ""), add("nonce", "")), false, false, nil},
			{"a public native client on another loopback port is accepted", codeParams(set("client_id", "native"),
				set("redirect_uri", "http://127.0.0.1:49152/cb")), false, false,
				func(t *testing.T, p store.AuthorizeParams) {
					if p.RedirectURI != "http://127.0.0.1:49152/cb" {
						t.Errorf("redirect_uri %q: the one sent must be kept", p.RedirectURI)
					}
				}},
			{"a private-use scheme is accepted", codeParams(set("client_id", "native"),
				set("redirect_uri", "com.example.app:/oauth2redirect")), false, false, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := f.browser()
				start := f.now()
				id := f.loginRequestID(t, b.get(f.authorizeURL(tt.params)))
				lr, err := db.GetLoginRequest(ctx, f.tenant.ID, id)
				if err != nil {
					t.Fatal(err)
				}
				if lr.Status != store.LoginPending || lr.Kind != store.LoginKindAuthorize || lr.ClientID != tt.params.Get("client_id") {
					t.Errorf("status %s kind %s client %s", lr.Status, lr.Kind, lr.ClientID)
				}
				if len(lr.BrowserHash) == 0 {
					t.Error("the request is not bound to the browser")
				}
				ttl := f.tenant.Settings.LoginRequestTTLD()
				if lr.ExpiresAt.Before(start.Add(ttl-2*time.Second)) || lr.ExpiresAt.After(start.Add(ttl+2*time.Second)) {
					t.Errorf("expires at %v, want about %v", lr.ExpiresAt, start.Add(ttl))
				}
				if lr.Params.RequireLogin != tt.wantRequireLogin || lr.Params.RequireConsent != tt.wantConst {
					t.Errorf("require login %v consent %v, want %v %v", lr.Params.RequireLogin, lr.Params.RequireConsent,
						tt.wantRequireLogin, tt.wantConst)
				}
				if tt.check != nil {
					tt.check(t, lr.Params)
				}
			})
		}
	})
}

func equalParams(a, b store.AuthorizeParams) bool {
	return a.ResponseType == b.ResponseType && a.RedirectURI == b.RedirectURI && slices.Equal(a.Scopes, b.Scopes) &&
		a.State == b.State && a.Nonce == b.Nonce && a.CodeChallenge == b.CodeChallenge &&
		a.CodeChallengeMethod == b.CodeChallengeMethod && a.ResponseMode == b.ResponseMode &&
		slices.Equal(a.Prompt, b.Prompt) && a.MaxAge == b.MaxAge && a.LoginHint == b.LoginHint &&
		a.UILocales == b.UILocales && slices.Equal(a.ACRValues, b.ACRValues) && a.RequireLogin == b.RequireLogin &&
		a.RequireConsent == b.RequireConsent
}

// TestAuthorizeWithSession covers the SSO fast path and prompt=none.
func TestAuthorizeWithSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		first := func(mods ...func(url.Values)) url.Values {
			return codeParams(append([]func(url.Values){set("client_id", "first"),
				set("redirect_uri", "https://first.example.com/cb")}, mods...)...)
		}
		carol := f.createUser("carol@example.com", "Carol", "", true, nil)
		if err := db.InTx(ctx, func(tx *store.Tx) error {
			return f.identity.GrantConsent(ctx, tx, f.tenant.ID, carol.ID, "web", []string{"openid", "profile", "email"})
		}); err != nil {
			t.Fatal(err)
		}
		dave := f.createUser("dave@example.com", "", "", false, nil)

		tests := []struct {
			name    string
			user    *store.User // signed in first; nil for none
			age     time.Duration
			disable bool
			params  url.Values
			want    string // "code", "login", "relogin" (login page, the form required), or an error code
		}{
			{"no session and prompt=none is login_required", nil, 0, false, first(set("prompt", "none")), "login_required"},
			{"no session goes to the login page", nil, 0, false, first(), "login"},
			{"a session for a first-party client gets a code at once", &f.alice, 0, false, first(), "code"},
			{"a session with prompt=none for a first-party client gets a code", &f.alice, 0, false, first(set("prompt", "none")), "code"},
			{"a session with prompt=login goes to the login page", &f.alice, 0, false, first(set("prompt", "login")), "relogin"},
			{"a session with prompt=consent goes to the login page", &f.alice, 0, false, first(set("prompt", "consent")), "login"},
			// Not RequireLogin: the login page sees the session is too old (tooOld) and asks for a password or
			// one strong factor (step-up), which a blanket RequireLogin would rule out.
			{"a session older than max_age goes to the login page", &f.alice, 2 * time.Minute, false, first(set("max_age", "60")), "login"},
			{"a session older than max_age with prompt=none is login_required", &f.alice, 2 * time.Minute, false,
				first(set("max_age", "60"), set("prompt", "none")), "login_required"},
			{"a session within max_age gets a code", &f.alice, 0, false, first(set("max_age", "600")), "code"},
			{"max_age=0 always goes to the login page", &f.alice, 0, false, first(set("max_age", "0")), "relogin"},
			{"a third-party client without consent goes to the login page", &f.alice, 0, false, codeParams(), "login"},
			{"a third-party client without consent and prompt=none is consent_required", &f.alice, 0, false,
				codeParams(set("prompt", "none")), "consent_required"},
			{"a third-party client whose consent covers the scopes gets a code", &carol, 0, false, codeParams(), "code"},
			{"a consent that does not cover a new scope is consent_required with prompt=none", &carol, 0, false,
				codeParams(set("scope", "openid roles"), set("prompt", "none")), "consent_required"},
			{"an id_token_hint for the session's user gets a code", &f.alice, 0, false,
				first(set("id_token_hint", f.idToken(t, f.tenant.ID, f.alice, "sid")), set("prompt", "none")), "code"},
			{"an id_token_hint for another user with prompt=none is login_required", &f.alice, 0, false,
				first(set("id_token_hint", f.idToken(t, f.tenant.ID, f.bob, "sid")), set("prompt", "none")), "login_required"},
			{"an id_token_hint for another user goes to the login form", &f.alice, 0, false,
				first(set("id_token_hint", f.idToken(t, f.tenant.ID, f.bob, "sid"))), "relogin"},
			{"an id_token_hint that is not ours is ignored", &f.alice, 0, false, first(set("id_token_hint", "not.a.token")), "code"},
			{"a disabled user's session does not count", &dave, 0, true, first(), "login"},
			{"a disabled user's session with prompt=none is login_required", &dave, 0, true, first(set("prompt", "none")), "login_required"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f.skew.Store(0)
				b := f.browser()
				var sess store.Session
				if tt.user != nil {
					sess = b.signIn(*tt.user)
				}
				if tt.disable {
					if err := db.SetUserDisabled(ctx, f.tenant.ID, tt.user.ID, true, time.Now()); err != nil {
						t.Fatal(err)
					}
				}
				f.skew.Store(int64(tt.age))
				defer f.skew.Store(0)
				w := b.get(f.authorizeURL(tt.params))
				switch tt.want {
				case "login", "relogin":
					// The login page shows the form only when the request requires it; otherwise it reuses a
					// valid session. So a session that must not be reused must be marked here.
					lr, err := db.GetLoginRequest(ctx, f.tenant.ID, f.loginRequestID(t, w))
					if err != nil {
						t.Fatal(err)
					}
					if lr.Params.RequireLogin != (tt.want == "relogin") {
						t.Errorf("RequireLogin = %v, want %v", lr.Params.RequireLogin, tt.want == "relogin")
					}
				case "code":
					c := f.code(t, w, tt.params.Get("redirect_uri"), tt.params.Get("state"))
					if c.UserID != tt.user.ID || c.SessionID != sess.ID || c.ClientID != tt.params.Get("client_id") ||
						c.Nonce != tt.params.Get("nonce") || c.CodeChallenge != testChallenge || c.CodeChallengeMethod != "S256" ||
						c.RedirectURI != tt.params.Get("redirect_uri") || c.GrantID == "" ||
						!slices.Equal(c.Scopes, strings.Fields(tt.params.Get("scope"))) || c.ACR != acrPassword ||
						!slices.Equal(c.AMR, []string{"pwd"}) || !c.AuthTime.Equal(sess.AuthTime) {
						t.Errorf("stored code %+v does not match the request and session %+v", c, sess)
					}
					clients, err := f.sessions.Clients(ctx, f.tenant.ID, sess.ID)
					if err != nil || !slices.Contains(clients, c.ClientID) {
						t.Errorf("session clients %v, %v: want %s", clients, err, c.ClientID)
					}
				default:
					if w.Code != http.StatusFound {
						t.Fatalf("status %d", w.Code)
					}
					q := location(t, w).Query()
					if q.Get("error") != tt.want || q.Get("state") != tt.params.Get("state") || q.Get("iss") == "" {
						t.Errorf("error %q state %q iss %q, want %s", q.Get("error"), q.Get("state"), q.Get("iss"), tt.want)
					}
				}
			})
		}
	})
}

// TestAuthorizeAfterConsentRevoked checks that a consent removed from the account page is asked for again.
func TestAuthorizeAfterConsentRevoked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		if err := db.InTx(ctx, func(tx *store.Tx) error {
			return f.identity.GrantConsent(ctx, tx, f.tenant.ID, f.alice.ID, "web", []string{"openid", "profile", "email"})
		}); err != nil {
			t.Fatal(err)
		}
		b := f.browser()
		b.signIn(f.alice)
		f.code(t, b.get(f.authorizeURL(codeParams(set("prompt", "none")))), "https://app.example.com/cb", "xyz-state")

		if err := f.identity.RevokeConsent(ctx, f.tenant.ID, f.alice.ID, "web", f.alice.ID); err != nil {
			t.Fatal(err)
		}
		q := location(t, b.get(f.authorizeURL(codeParams(set("prompt", "none"))))).Query()
		if q.Get("error") != "consent_required" {
			t.Errorf("prompt=none after the consent was revoked: %v, want consent_required", q)
		}
		f.loginRequestID(t, b.get(f.authorizeURL(codeParams())))
	})
}

// TestAuthorizeSessionOfAnotherTenant checks that a session cookie is a session only at its own tenant,
// even when a client sends it to another tenant's path.
func TestAuthorizeSessionOfAnotherTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		other := storetest.Tenant(t, db)
		for _, c := range testClients(other) {
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		b := f.browser()
		b.signIn(f.alice)
		var cookie string
		for _, c := range b.jar.Cookies(&url.URL{Scheme: "https", Host: "id.example.test", Path: "/t/" + f.tenant.ID + "/"}) {
			if c.Name == "umm_session" {
				cookie = c.Value
			}
		}
		if cookie == "" {
			t.Fatal("no session cookie")
		}
		params := codeParams(set("client_id", "first"), set("redirect_uri", "https://first.example.com/cb"), set("prompt", "none"))
		r := httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+other+"/authorize?"+params.Encode(), nil)
		r.AddCookie(&http.Cookie{Name: "umm_session", Value: cookie})
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		if q := location(t, w).Query(); q.Get("error") != "login_required" || q.Get("iss") != testPublicURL+"/t/"+other {
			t.Errorf("tenant %s with tenant %s's session: %v, want login_required from its own issuer", other, f.tenant.ID, q)
		}
		// The same cookie is still a session at its own tenant.
		f.code(t, b.get(f.authorizeURL(params)), "https://first.example.com/cb", "xyz-state")
	})
}
