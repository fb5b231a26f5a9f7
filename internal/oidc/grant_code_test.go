package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestVerifyPKCE(t *testing.T) {
	tests := []struct {
		name, challenge, method, verifier string
		want                              bool
	}{
		{"S256 with the right verifier passes", pkceChallenge, "S256", pkceVerifier, true},
		{"S256 with another verifier fails", pkceChallenge, "S256", pkceVerifier[1:] + "x", false},
		{"plain is refused even when equal", pkceVerifier, "plain", pkceVerifier, false},
		{"missing verifier fails", pkceChallenge, "S256", "", false},
		{"a verifier shorter than 43 characters fails", pkceChallenge, "S256", pkceVerifier[:42], false},
		{"a verifier with characters outside the unreserved set fails", pkceChallenge, "S256", pkceVerifier[:42] + "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verifyPKCE(tt.challenge, tt.method, tt.verifier); got != tt.want {
				t.Errorf("verifyPKCE(%q, %q, %q) = %v, want %v", tt.challenge, tt.method, tt.verifier, got, tt.want)
			}
		})
	}
}

func TestAuthorizationCodeGrant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		ctx := context.Background()
		iss := testPublicURL + "/t/" + e.tenant.ID

		t.Run("a code becomes an access token, an ID token and a refresh token", func(t *testing.T) {
			m := e.login()
			if m["scope"] != "openid profile email offline_access" || m["refresh_token"] == nil {
				t.Fatalf("response %v", m)
			}
			at := m["access_token"].(string)
			if h := jwtHeader(t, at); h["typ"] != "at+jwt" || h["alg"] != "ES256" {
				t.Fatalf("access token header %v", h)
			}
			ac := jwtClaims(t, at)
			for k, want := range map[string]any{"iss": iss, "sub": e.user.ID, "client_id": "web", "sid": "sid-1", "acr": "1",
				"scope": "openid profile email offline_access"} {
				if ac[k] != want {
					t.Errorf("access token %s = %v, want %v", k, ac[k], want)
				}
			}
			if ac["gid"] == nil || ac["jti"] == nil || ac["auth_time"] == nil || ac["amr"] == nil {
				t.Errorf("access token claims %v", ac)
			}
			// RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat and jti are required.
			if aud, _ := ac["aud"].([]any); len(aud) != 1 || aud[0] != "web" {
				t.Errorf("access token aud = %v, want [web]", ac["aud"])
			}
			if iat, exp := ac["iat"].(float64), ac["exp"].(float64); exp-iat != e.tenant.Settings.AccessTokenTTLD().Seconds() {
				t.Errorf("access token iat %v exp %v: want exp = iat + the tenant's access token lifetime", iat, exp)
			}
			if m["expires_in"] != e.tenant.Settings.AccessTokenTTLD().Seconds() {
				t.Errorf("expires_in = %v", m["expires_in"])
			}
			idt := m["id_token"].(string)
			if h := jwtHeader(t, idt); h["alg"] != "RS256" || h["typ"] != "JWT" {
				t.Fatalf("id token header %v", h)
			}
			ic := jwtClaims(t, idt)
			for k, want := range map[string]any{"iss": iss, "sub": e.user.ID, "aud": "web", "azp": "web", "nonce": "n-1",
				"sid": "sid-1", "acr": "1", "email": "alice@example.com", "email_verified": true, "given_name": "Alice",
				"at_hash": atHash(at)} {
				if ic[k] != want {
					t.Errorf("id token %s = %v, want %v", k, ic[k], want)
				}
			}
			if ic["exp"] == nil || ic["iat"] == nil || ic["auth_time"] == nil {
				t.Errorf("id token claims %v", ic)
			}
			if iat, exp := ic["iat"].(float64), ic["exp"].(float64); exp-iat != e.tenant.Settings.IDTokenTTLD().Seconds() {
				t.Errorf("id token iat %v exp %v: want exp = iat + the tenant's ID token lifetime", iat, exp)
			}
			// The code carries the authentication's time (mintCode: a minute ago), not the time of redemption.
			if at, iat := ic["auth_time"].(float64), ic["iat"].(float64); at != ac["auth_time"] || iat-at < 59 || iat-at > 61 {
				t.Errorf("id token auth_time %v, iat %v: want the authentication's time, a minute before", at, iat)
			}
			if amr, _ := ic["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
				t.Errorf("id token amr = %v", ic["amr"])
			}
			if _, _, err := e.keys.Verify(ctx, e.tenant.ID, idt); err != nil {
				t.Errorf("id token does not verify: %v", err)
			}
			if evs := e.events(e.tenant.ID, events.TypeGrantCreated); len(evs) == 0 || evs[len(evs)-1].Subject != ac["gid"] {
				t.Errorf("grant.created events %v", evs)
			}
		})
		t.Run("a client that asks for ES256 gets an ES256 ID token", func(t *testing.T) {
			code := e.mintCode(codeOpts{client: "post", redirectURI: "https://post.example.com/cb"})
			m := wantTokenResponse(t, e.token(postAuth("post", secretPost), url.Values{"grant_type": {grantAuthorizationCode},
				"code": {code}, "redirect_uri": {"https://post.example.com/cb"}}))
			if h := jwtHeader(t, m["id_token"].(string)); h["alg"] != "ES256" {
				t.Fatalf("id token header %v", h)
			}
		})
		t.Run("no openid scope means no ID token", func(t *testing.T) {
			m := wantTokenResponse(t, e.redeem(e.mintCode(codeOpts{scopes: []string{"profile"}})))
			if m["id_token"] != nil || m["refresh_token"] != nil {
				t.Fatalf("response %v", m)
			}
		})
		t.Run("a client not registered for refresh_token gets no refresh token", func(t *testing.T) {
			code := e.mintCode(codeOpts{client: "nooffline", redirectURI: "https://nooffline.example.com/cb"})
			m := wantTokenResponse(t, e.token(basicAuth("nooffline", secretBasic), url.Values{"grant_type": {grantAuthorizationCode},
				"code": {code}, "redirect_uri": {"https://nooffline.example.com/cb"}}))
			if m["refresh_token"] != nil || m["id_token"] == nil {
				t.Fatalf("response %v", m)
			}
		})
		t.Run("a public client redeems with PKCE", func(t *testing.T) {
			code := e.mintCode(codeOpts{client: "spa", redirectURI: "https://spa.example.com/cb", challenge: pkceChallenge})
			wantTokenResponse(t, e.token(publicAuth("spa"), url.Values{"grant_type": {grantAuthorizationCode}, "code": {code},
				"redirect_uri": {"https://spa.example.com/cb"}, "code_verifier": {pkceVerifier}}))
		})

		spa := func(o codeOpts, verifier string) *httptest.ResponseRecorder {
			o.client, o.redirectURI = "spa", "https://spa.example.com/cb"
			form := url.Values{"grant_type": {grantAuthorizationCode}, "code": {e.mintCode(o)},
				"redirect_uri": {"https://spa.example.com/cb"}}
			if verifier != "" {
				form.Set("code_verifier", verifier)
			}
			return e.token(publicAuth("spa"), form)
		}
		failures := []struct {
			name   string
			resp   func() *httptest.ResponseRecorder
			status int
			code   string
		}{
			{"an unknown code is invalid_grant", func() *httptest.ResponseRecorder { return e.redeem(keys.NewToken()) },
				400, "invalid_grant"},
			{"a missing code is invalid_request", func() *httptest.ResponseRecorder {
				return e.token(webAuth, url.Values{"grant_type": {grantAuthorizationCode}, "redirect_uri": {"https://app.example.com/cb"}})
			}, 400, "invalid_request"},
			{"a missing redirect_uri is invalid_request", func() *httptest.ResponseRecorder {
				return e.token(webAuth, url.Values{"grant_type": {grantAuthorizationCode}, "code": {e.mintCode(codeOpts{})}})
			}, 400, "invalid_request"},
			{"another redirect_uri is invalid_grant", func() *httptest.ResponseRecorder {
				return e.token(webAuth, url.Values{"grant_type": {grantAuthorizationCode}, "code": {e.mintCode(codeOpts{})},
					"redirect_uri": {"https://app.example.com/cb2"}})
			}, 400, "invalid_grant"},
			{"a code of another client is invalid_grant", func() *httptest.ResponseRecorder {
				return e.redeem(e.mintCode(codeOpts{client: "post"}))
			}, 400, "invalid_grant"},
			{"an expired code is invalid_grant", func() *httptest.ResponseRecorder {
				return e.redeem(e.mintCode(codeOpts{ttl: -time.Second}))
			}, 400, "invalid_grant"},
			{"a code of a disabled user is invalid_grant", func() *httptest.ResponseRecorder {
				u, err := e.identity.CreateUser(ctx, e.tenant.ID, identityUser("disabled@example.com"), "test")
				if err != nil {
					t.Fatal(err)
				}
				code := e.mintCode(codeOpts{user: u.ID})
				if err := db.SetUserDisabled(ctx, e.tenant.ID, u.ID, true, e.now()); err != nil {
					t.Fatal(err)
				}
				return e.redeem(code)
			}, 400, "invalid_grant"},
			{"a code of another tenant is invalid_grant", func() *httptest.ResponseRecorder {
				return e.redeem(e.mintCode(codeOpts{tenant: e.other.ID}))
			}, 400, "invalid_grant"},
			{"PKCE without the verifier is invalid_grant", func() *httptest.ResponseRecorder {
				return spa(codeOpts{challenge: pkceChallenge}, "")
			}, 400, "invalid_grant"},
			{"PKCE with a wrong verifier is invalid_grant", func() *httptest.ResponseRecorder {
				return spa(codeOpts{challenge: pkceChallenge}, "x"+pkceVerifier[1:])
			}, 400, "invalid_grant"},
			{"PKCE with the plain method is refused", func() *httptest.ResponseRecorder {
				return spa(codeOpts{challenge: pkceVerifier, method: "plain"}, pkceVerifier)
			}, 400, "invalid_grant"},
			{"a public client without PKCE is refused", func() *httptest.ResponseRecorder {
				return spa(codeOpts{}, "")
			}, 400, "invalid_grant"},
			{"a verifier for a code without a challenge is refused (downgrade)", func() *httptest.ResponseRecorder {
				return e.token(webAuth, url.Values{"grant_type": {grantAuthorizationCode}, "code": {e.mintCode(codeOpts{})},
					"redirect_uri": {"https://app.example.com/cb"}, "code_verifier": {pkceVerifier}})
			}, 400, "invalid_grant"},
		}
		for _, tt := range failures {
			t.Run(tt.name, func(t *testing.T) {
				wantOAuthError(t, tt.resp(), tt.status, tt.code)
			})
		}

		t.Run("a failed PKCE check does not burn the code", func(t *testing.T) {
			o := codeOpts{client: "spa", redirectURI: "https://spa.example.com/cb", challenge: pkceChallenge}
			code := e.mintCode(o)
			form := url.Values{"grant_type": {grantAuthorizationCode}, "code": {code},
				"redirect_uri": {"https://spa.example.com/cb"}, "code_verifier": {"y" + pkceVerifier[1:]}}
			wantOAuthError(t, e.token(publicAuth("spa"), form), 400, "invalid_grant")
			form.Set("code_verifier", pkceVerifier)
			wantTokenResponse(t, e.token(publicAuth("spa"), form))
		})

		t.Run("a replayed code fails and revokes the tokens of the first redemption", func(t *testing.T) {
			code := e.mintCode(codeOpts{})
			m := wantTokenResponse(t, e.redeem(code))
			at, rt := m["access_token"].(string), m["refresh_token"].(string)
			if e.introspect(e.tenant.ID, at)["active"] != true {
				t.Fatal("access token inactive before the replay")
			}
			wantOAuthError(t, e.redeem(code), 400, "invalid_grant")
			if got := e.introspect(e.tenant.ID, at); got["active"] != false || len(got) != 1 {
				t.Fatalf("access token after replay: %v", got)
			}
			if got := e.introspect(e.tenant.ID, rt); got["active"] != false {
				t.Fatalf("refresh token after replay: %v", got)
			}
			wantOAuthError(t, e.token(webAuth, url.Values{"grant_type": {grantRefreshToken}, "refresh_token": {rt}}),
				400, "invalid_grant")
			g, err := db.GetGrant(ctx, e.tenant.ID, jwtClaims(t, at)["gid"].(string))
			if err != nil || g.RevokedAt.IsZero() {
				t.Fatalf("grant %+v, %v", g, err)
			}
			revoked := e.events(e.tenant.ID, events.TypeGrantRevoked)
			if !slices.ContainsFunc(revoked, func(ev store.Event) bool { return ev.Subject == g.ID && ev.Data["reason"] == "code_replay" }) {
				t.Fatalf("no grant.revoked event for %s: %v", g.ID, revoked)
			}
		})
		t.Run("a replay on another node is seen through the database", func(t *testing.T) {
			code := e.mintCode(codeOpts{})
			at := wantTokenResponse(t, e.redeem(code))["access_token"].(string)
			other := newTokenEnvOn(t, e) // a second provider (node) on the same database
			wantOAuthError(t, other.redeem(code), 400, "invalid_grant")
			if got := other.introspect(e.tenant.ID, at); got["active"] != false {
				t.Fatalf("access token on the replaying node: %v", got)
			}
		})
		t.Run("of 50 concurrent redemptions exactly one succeeds, and its grant ends revoked", func(t *testing.T) {
			code := e.mintCode(codeOpts{})
			const n = 50
			codes := make([]int, n)
			bodies := make([]map[string]any, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					w := e.redeem(code)
					codes[i] = w.Code
					bodies[i] = decodeJSON(t, w)
				})
			}
			wg.Wait()
			ok := 0
			var at string
			for i, c := range codes {
				switch {
				case c == http.StatusOK:
					ok++
					at = bodies[i]["access_token"].(string)
				case c == http.StatusBadRequest && bodies[i]["error"] == "invalid_grant":
				default:
					t.Errorf("response %d: %d %v", i, c, bodies[i])
				}
			}
			if ok != 1 {
				t.Fatalf("%d redemptions succeeded, want 1", ok)
			}
			if got := e.introspect(e.tenant.ID, at); got["active"] != false {
				t.Fatalf("the winner's access token survived the replays: %v", got)
			}
		})
	})
}
