package oidc

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestIntrospection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		ctx := context.Background()
		iss := testPublicURL + "/t/" + e.tenant.ID
		login := e.login()
		at, rt, idt := login["access_token"].(string), login["refresh_token"].(string), login["id_token"].(string)
		inactive := func(t *testing.T, m map[string]any) {
			t.Helper()
			if m["active"] != false || len(m) != 1 {
				t.Fatalf("want {\"active\":false}, got %v", m)
			}
		}

		t.Run("an access token is active with its claims", func(t *testing.T) {
			m := e.introspect(e.tenant.ID, at)
			ac := jwtClaims(t, at)
			for k, want := range map[string]any{"active": true, "scope": "openid profile email offline_access", "client_id": "web",
				"sub": e.user.ID, "token_type": "Bearer", "iss": iss, "jti": ac["jti"], "exp": ac["exp"], "iat": ac["iat"],
				"sid": "sid-1"} {
				if m[k] != want {
					t.Errorf("%s = %v, want %v", k, m[k], want)
				}
			}
			if aud, _ := m["aud"].([]any); len(aud) != 1 || aud[0] != "web" {
				t.Errorf("aud = %v", m["aud"])
			}
		})
		t.Run("another client of the tenant learns nothing about the token (RFC 7662 section 4)", func(t *testing.T) {
			for _, tok := range []string{at, rt} {
				w := e.call(e.tenant.ID, "introspect", basicAuth("m2m", secretM2M), url.Values{"token": {tok}})
				if w.Code != http.StatusOK {
					t.Fatalf("introspect: %d %s", w.Code, w.Body)
				}
				inactive(t, decodeJSON(t, w))
				inactive(t, decodeJSON(t, e.call(e.tenant.ID, "introspect", postAuth("post", secretPost), url.Values{"token": {tok}})))
			}
		})
		t.Run("a client named in the access token's aud may introspect it", func(t *testing.T) {
			now := e.now()
			tok, err := e.keys.Sign(ctx, e.tenant.ID, accessTokenAlg, typAccessToken, &accessClaims{
				Issuer: iss, Subject: e.user.ID, Audience: keys.Audience{"web", "m2m"}, ClientID: "web", Scope: "openid",
				IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Minute).Unix(), JTI: randomHex(8),
			})
			if err != nil {
				t.Fatal(err)
			}
			m := decodeJSON(t, e.call(e.tenant.ID, "introspect", basicAuth("m2m", secretM2M), url.Values{"token": {tok}}))
			if m["active"] != true || m["client_id"] != "web" {
				t.Fatalf("the audience's introspection = %v, want active", m)
			}
			inactive(t, decodeJSON(t, e.call(e.tenant.ID, "introspect", postAuth("post", secretPost), url.Values{"token": {tok}})))
		})
		t.Run("a public client is refused", func(t *testing.T) {
			resp := e.call(e.tenant.ID, "introspect", publicAuth("spa"), url.Values{"token": {at}})
			m := decodeJSON(t, resp)
			if resp.Code != http.StatusUnauthorized || m["error"] != "invalid_client" {
				t.Fatalf("status %d, %v; want 401 invalid_client", resp.Code, m)
			}
		})
		t.Run("a refresh token is active with its grant's claims", func(t *testing.T) {
			m := e.introspect(e.tenant.ID, rt)
			if m["active"] != true || m["client_id"] != "web" || m["sub"] != e.user.ID || m["token_type"] != "refresh_token" ||
				m["scope"] != "openid profile email offline_access" || m["exp"] == nil || m["iss"] != iss {
				t.Fatalf("%v", m)
			}
		})
		t.Run("the token type hint is only a hint", func(t *testing.T) {
			m := decodeJSON(t, e.call(e.tenant.ID, "introspect", webAuth, url.Values{"token": {rt}, "token_type_hint": {"access_token"}}))
			if m["active"] != true {
				t.Fatalf("%v", m)
			}
			m = decodeJSON(t, e.call(e.tenant.ID, "introspect", webAuth, url.Values{"token": {at}, "token_type_hint": {"refresh_token"}}))
			if m["active"] != true {
				t.Fatalf("%v", m)
			}
		})
		t.Run("an ID token is not an access token", func(t *testing.T) {
			inactive(t, e.introspect(e.tenant.ID, idt))
		})
		t.Run("tokens of one tenant are inactive at another", func(t *testing.T) {
			inactive(t, e.introspect(e.other.ID, at))
			inactive(t, e.introspect(e.other.ID, rt))
		})
		t.Run("a tampered access token is inactive", func(t *testing.T) {
			parts := strings.Split(at, ".")
			c := jwtClaims(t, at)
			c["sub"] = "mallory"
			parts[1] = encodeSegment(t, c)
			inactive(t, e.introspect(e.tenant.ID, strings.Join(parts, ".")))
		})
		t.Run("garbage is inactive", func(t *testing.T) {
			for _, tok := range []string{"x", "a.b.c", strings.Repeat("a", 10000), "..", "eyJhbGciOiJub25lIn0.e30."} {
				inactive(t, e.introspect(e.tenant.ID, tok))
			}
		})
		t.Run("an expired access token is inactive", func(t *testing.T) {
			fresh := e.login()["access_token"].(string)
			if e.introspect(e.tenant.ID, fresh)["active"] != true { // verified now, and remembered by this node
				t.Fatal("inactive before expiry")
			}
			e.advance(store.DefaultAccessTokenTTL + time.Second)
			defer e.advance(-store.DefaultAccessTokenTTL - time.Second)
			inactive(t, e.introspect(e.tenant.ID, fresh))
		})
		t.Run("an access token revoked on another node is inactive within the cache lifetime, even if its message is lost", func(t *testing.T) {
			fresh := e.login()["access_token"].(string)
			if e.introspect(e.tenant.ID, fresh)["active"] != true {
				t.Fatal("inactive before revocation")
			}
			other := newTokenEnvOn(t, e)
			if w := other.call(e.tenant.ID, "revoke", webAuth, url.Values{"token": {fresh}}); w.Code != http.StatusOK {
				t.Fatalf("revoke: %d %s", w.Code, w.Body)
			}
			inactive(t, other.introspect(e.tenant.ID, fresh))
			deadline := time.Now().Add(revokedCacheTTL + 2*time.Second)
			for e.introspect(e.tenant.ID, fresh)["active"] != false {
				if time.Now().After(deadline) {
					t.Fatal("this node still believes the token active")
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
		t.Run("a grant revoked in the database makes its access tokens inactive", func(t *testing.T) {
			fresh := e.login()["access_token"].(string)
			gid := jwtClaims(t, fresh)["gid"].(string)
			if _, err := db.RevokeGrant(ctx, e.tenant.ID, gid, e.now()); err != nil {
				t.Fatal(err)
			}
			inactive(t, e.introspect(e.tenant.ID, fresh)) // never introspected here before: no cached answer
		})
		t.Run("an access token introspected before its revocation is inactive at once after it", func(t *testing.T) {
			m := e.login()
			byJTI, rt2 := m["access_token"].(string), m["refresh_token"].(string)
			byGrant := e.token(webAuth, url.Values{"grant_type": {grantRefreshToken}, "refresh_token": {rt2}})
			tr := decodeJSON(t, byGrant)
			byGrantAT, byGrantRT := tr["access_token"].(string), tr["refresh_token"].(string)
			for _, tok := range []string{byJTI, byGrantAT} { // verified now, and remembered by this node
				if e.introspect(e.tenant.ID, tok)["active"] != true {
					t.Fatal("inactive before revocation")
				}
			}
			if w := e.call(e.tenant.ID, "revoke", webAuth, url.Values{"token": {byJTI}}); w.Code != http.StatusOK {
				t.Fatalf("revoke: %d %s", w.Code, w.Body)
			}
			inactive(t, e.introspect(e.tenant.ID, byJTI))
			if w := e.call(e.tenant.ID, "revoke", webAuth, url.Values{"token": {byGrantRT}}); w.Code != http.StatusOK {
				t.Fatalf("revoke: %d %s", w.Code, w.Body)
			}
			inactive(t, e.introspect(e.tenant.ID, byGrantAT))
		})
		t.Run("a grant revoked on another node makes a token this node verified inactive as soon as the message arrives", func(t *testing.T) {
			fresh := e.login()["access_token"].(string)
			if e.introspect(e.tenant.ID, fresh)["active"] != true {
				t.Fatal("inactive before revocation")
			}
			gid := jwtClaims(t, fresh)["gid"].(string)
			if _, err := db.RevokeGrant(ctx, e.tenant.ID, gid, e.now()); err != nil {
				t.Fatal(err)
			}
			e.p.Invalidate(store.TopicRevoke, e.tenant.ID+":"+store.RevokedGrant+":"+gid)
			inactive(t, e.introspect(e.tenant.ID, fresh))
		})
		t.Run("a missing token is invalid_request", func(t *testing.T) {
			wantOAuthError(t, e.call(e.tenant.ID, "introspect", webAuth, url.Values{}), 400, "invalid_request")
		})
		t.Run("an unauthenticated caller is invalid_client", func(t *testing.T) {
			wantOAuthError(t, e.call(e.tenant.ID, "introspect", clientAuth{}, url.Values{"token": {at}}), 401, "invalid_client")
			wantOAuthError(t, e.call(e.tenant.ID, "introspect", basicAuth("web", "wrong"), url.Values{"token": {at}}), 401, "invalid_client")
		})
		t.Run("the response is never cached", func(t *testing.T) {
			w := e.call(e.tenant.ID, "introspect", webAuth, url.Values{"token": {at}})
			if w.Header().Get("Cache-Control") != "no-store" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("headers %v", w.Header())
			}
		})
	})
}

func TestRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		revoke := func(a clientAuth, tenantID, token, hint string) {
			t.Helper()
			form := url.Values{"token": {token}}
			if hint != "" {
				form.Set("token_type_hint", hint)
			}
			w := e.call(tenantID, "revoke", a, form)
			if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("revoke: %d %v %s", w.Code, w.Header(), w.Body)
			}
		}
		active := func(token string) bool { return e.introspect(e.tenant.ID, token)["active"] == true }

		t.Run("revoking a refresh token revokes its grant and every token of it", func(t *testing.T) {
			m := e.login()
			at, rt := m["access_token"].(string), m["refresh_token"].(string)
			revoke(webAuth, e.tenant.ID, rt, "refresh_token")
			if active(rt) || active(at) {
				t.Fatal("tokens alive after revocation")
			}
			wantOAuthError(t, e.token(webAuth, url.Values{"grant_type": {grantRefreshToken}, "refresh_token": {rt}}), 400, "invalid_grant")
			gid := jwtClaims(t, at)["gid"]
			found := false
			for _, ev := range e.events(e.tenant.ID, events.TypeGrantRevoked) {
				found = found || (ev.Subject == gid && ev.Data["reason"] == "revocation_endpoint")
			}
			if !found {
				t.Fatal("no grant.revoked event")
			}
		})
		t.Run("revoking an access token leaves the refresh token alive", func(t *testing.T) {
			m := e.login()
			at, rt := m["access_token"].(string), m["refresh_token"].(string)
			revoke(webAuth, e.tenant.ID, at, "")
			if active(at) || !active(rt) {
				t.Fatal("wrong tokens revoked")
			}
			if len(e.events(e.tenant.ID, "access_token.revoked")) == 0 {
				t.Fatal("no access_token.revoked event")
			}
			revoke(webAuth, e.tenant.ID, at, "") // again: still 200
		})
		t.Run("a wrong hint does not prevent revocation", func(t *testing.T) {
			m := e.login()
			revoke(webAuth, e.tenant.ID, m["access_token"].(string), "refresh_token")
			revoke(webAuth, e.tenant.ID, m["refresh_token"].(string), "access_token")
			if active(m["access_token"].(string)) || active(m["refresh_token"].(string)) {
				t.Fatal("tokens alive")
			}
		})
		t.Run("an unknown token is answered 200", func(t *testing.T) {
			revoke(webAuth, e.tenant.ID, "unknown", "")
			revoke(webAuth, e.tenant.ID, "a.b.c", "access_token")
		})
		t.Run("another client's tokens are answered 200 and left alone", func(t *testing.T) {
			m := e.login()
			revoke(postAuth("post", secretPost), e.tenant.ID, m["access_token"].(string), "")
			revoke(postAuth("post", secretPost), e.tenant.ID, m["refresh_token"].(string), "")
			if !active(m["access_token"].(string)) || !active(m["refresh_token"].(string)) {
				t.Fatal("another client revoked web's tokens")
			}
		})
		t.Run("a token cannot be revoked through another tenant", func(t *testing.T) {
			m := e.login()
			revoke(webAuth, e.other.ID, m["access_token"].(string), "")
			revoke(webAuth, e.other.ID, m["refresh_token"].(string), "")
			if !active(m["access_token"].(string)) || !active(m["refresh_token"].(string)) {
				t.Fatal("revoked through another tenant")
			}
		})
		t.Run("a missing token is invalid_request", func(t *testing.T) {
			wantOAuthError(t, e.call(e.tenant.ID, "revoke", webAuth, url.Values{}), 400, "invalid_request")
		})
		t.Run("an unauthenticated caller is invalid_client", func(t *testing.T) {
			wantOAuthError(t, e.call(e.tenant.ID, "revoke", basicAuth("web", "wrong"), url.Values{"token": {"x"}}), 401, "invalid_client")
		})
	})
}
