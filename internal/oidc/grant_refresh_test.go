package oidc

import (
	"context"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestRefreshTokenGrant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		ctx := context.Background()
		refresh := func(a clientAuth, rt, scope string) *httptest.ResponseRecorder {
			form := url.Values{"grant_type": {grantRefreshToken}, "refresh_token": {rt}}
			if scope != "" {
				form.Set("scope", scope)
			}
			return e.token(a, form)
		}

		t.Run("a refresh token rotates on every use", func(t *testing.T) {
			first := e.login()
			rt1 := first["refresh_token"].(string)
			second := wantTokenResponse(t, refresh(webAuth, rt1, ""))
			rt2 := second["refresh_token"].(string)
			if rt2 == "" || rt2 == rt1 {
				t.Fatalf("refresh token not rotated: %v", second)
			}
			if second["scope"] != first["scope"] {
				t.Fatalf("scope %v, want %v", second["scope"], first["scope"])
			}
			ac1, ac2 := jwtClaims(t, first["access_token"].(string)), jwtClaims(t, second["access_token"].(string))
			if ac1["gid"] != ac2["gid"] || ac1["jti"] == ac2["jti"] || ac2["sid"] != "sid-1" || ac2["auth_time"] != ac1["auth_time"] {
				t.Fatalf("claims %v then %v", ac1, ac2)
			}
			ic := jwtClaims(t, second["id_token"].(string))
			if _, ok := ic["nonce"]; ok || ic["sub"] != e.user.ID || ic["at_hash"] != atHash(second["access_token"].(string)) {
				t.Fatalf("refreshed id token %v", ic)
			}
			if e.introspect(e.tenant.ID, rt1)["active"] != false || e.introspect(e.tenant.ID, rt2)["active"] != true {
				t.Fatal("the old refresh token must be inactive and the new one active")
			}
			wantTokenResponse(t, refresh(webAuth, rt2, ""))
		})
		t.Run("reusing a used refresh token revokes the whole family", func(t *testing.T) {
			first := e.login()
			rt1 := first["refresh_token"].(string)
			second := wantTokenResponse(t, refresh(webAuth, rt1, ""))
			rt2, at2 := second["refresh_token"].(string), second["access_token"].(string)
			wantOAuthError(t, refresh(webAuth, rt1, ""), 400, "invalid_grant")
			wantOAuthError(t, refresh(webAuth, rt2, ""), 400, "invalid_grant")
			for _, tok := range []string{first["access_token"].(string), at2, rt2} {
				if got := e.introspect(e.tenant.ID, tok); got["active"] != false {
					t.Fatalf("token alive after reuse: %v", got)
				}
			}
			gid := jwtClaims(t, at2)["gid"]
			reuse := e.events(e.tenant.ID, events.TypeRefreshReuseDetected)
			if !slices.ContainsFunc(reuse, func(ev store.Event) bool { return ev.Subject == gid }) {
				t.Fatalf("no refresh.reuse_detected for %v: %v", gid, reuse)
			}
			revoked := e.events(e.tenant.ID, events.TypeGrantRevoked)
			if !slices.ContainsFunc(revoked, func(ev store.Event) bool { return ev.Subject == gid && ev.Data["reason"] == "refresh_reuse" }) {
				t.Fatalf("no grant.revoked for %v: %v", gid, revoked)
			}
		})
		t.Run("scope may narrow the grant", func(t *testing.T) {
			rt := e.login()["refresh_token"].(string)
			m := wantTokenResponse(t, refresh(webAuth, rt, "profile"))
			if m["scope"] != "profile" || m["id_token"] != nil {
				t.Fatalf("narrowed response %v", m)
			}
			// The family keeps the full grant.
			m = wantTokenResponse(t, refresh(webAuth, m["refresh_token"].(string), ""))
			if m["scope"] != "openid profile email offline_access" {
				t.Fatalf("scope after narrowing = %v", m["scope"])
			}
		})
		t.Run("scope may not widen the grant", func(t *testing.T) {
			rt := e.login()["refresh_token"].(string)
			wantOAuthError(t, refresh(webAuth, rt, "openid roles"), 400, "invalid_scope")
			wantTokenResponse(t, refresh(webAuth, rt, "")) // the refused request did not use the token
		})
		t.Run("a refresh token of another client is invalid_grant and stays valid", func(t *testing.T) {
			code := e.mintCode(codeOpts{client: "post", redirectURI: "https://post.example.com/cb"})
			rt := wantTokenResponse(t, e.token(postAuth("post", secretPost), url.Values{"grant_type": {grantAuthorizationCode},
				"code": {code}, "redirect_uri": {"https://post.example.com/cb"}}))["refresh_token"].(string)
			wantOAuthError(t, refresh(webAuth, rt, ""), 400, "invalid_grant")
			wantTokenResponse(t, refresh(postAuth("post", secretPost), rt, ""))
		})
		t.Run("a refresh token of another tenant is invalid_grant", func(t *testing.T) {
			rt := e.login()["refresh_token"].(string)
			wantOAuthError(t, e.call(e.other.ID, "token", webAuth, url.Values{"grant_type": {grantRefreshToken},
				"refresh_token": {rt}}), 400, "invalid_grant")
		})
		t.Run("an unknown refresh token is invalid_grant", func(t *testing.T) {
			wantOAuthError(t, refresh(webAuth, "not-a-token", ""), 400, "invalid_grant")
		})
		t.Run("a missing refresh token is invalid_request", func(t *testing.T) {
			wantOAuthError(t, e.token(webAuth, url.Values{"grant_type": {grantRefreshToken}}), 400, "invalid_request")
		})
		t.Run("a revoked grant's refresh token is invalid_grant", func(t *testing.T) {
			m := e.login()
			gid := jwtClaims(t, m["access_token"].(string))["gid"].(string)
			if _, err := db.RevokeGrant(ctx, e.tenant.ID, gid, e.now()); err != nil {
				t.Fatal(err)
			}
			wantOAuthError(t, refresh(webAuth, m["refresh_token"].(string), ""), 400, "invalid_grant")
		})
		t.Run("an expired refresh token is invalid_grant", func(t *testing.T) {
			rt := e.login()["refresh_token"].(string)
			e.advance(store.DefaultRefreshTokenTTL + time.Minute)
			defer e.advance(-store.DefaultRefreshTokenTTL - time.Minute)
			wantOAuthError(t, refresh(webAuth, rt, ""), 400, "invalid_grant")
		})
		t.Run("a disabled user's refresh token is invalid_grant", func(t *testing.T) {
			u, err := e.identity.CreateUser(ctx, e.tenant.ID, identityUser("refresh-disabled@example.com"), "test")
			if err != nil {
				t.Fatal(err)
			}
			rt := wantTokenResponse(t, e.redeem(e.mintCode(codeOpts{user: u.ID})))["refresh_token"].(string)
			if err := db.SetUserDisabled(ctx, e.tenant.ID, u.ID, true, e.now()); err != nil {
				t.Fatal(err)
			}
			wantOAuthError(t, refresh(webAuth, rt, ""), 400, "invalid_grant")
		})
		t.Run("a deleted user's refresh token is invalid_grant", func(t *testing.T) {
			u, err := e.identity.CreateUser(ctx, e.tenant.ID, identityUser("refresh-deleted@example.com"), "test")
			if err != nil {
				t.Fatal(err)
			}
			rt := wantTokenResponse(t, e.redeem(e.mintCode(codeOpts{user: u.ID})))["refresh_token"].(string)
			if err := db.DeleteUser(ctx, e.tenant.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			wantOAuthError(t, refresh(webAuth, rt, ""), 400, "invalid_grant")
		})
	})
}
