package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestClientCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		m2m := basicAuth("m2m", secretM2M)
		cc := func(a clientAuth, scope string) *httptest.ResponseRecorder {
			form := url.Values{"grant_type": {grantClientCredentials}}
			if scope != "" {
				form.Set("scope", scope)
			}
			return e.token(a, form)
		}
		t.Run("a confidential client gets an access token about itself", func(t *testing.T) {
			wantTokenResponse(t, cc(m2m, "orders:read")) // the tenant's keys are created on first use
			before := len(e.events(e.tenant.ID, ""))
			m := wantTokenResponse(t, cc(m2m, "orders:read"))
			if m["scope"] != "orders:read" || m["refresh_token"] != nil || m["id_token"] != nil {
				t.Fatalf("response %v", m)
			}
			at := m["access_token"].(string)
			h, c := jwtHeader(t, at), jwtClaims(t, at)
			if h["typ"] != "at+jwt" || h["alg"] != "ES256" || h["kid"] == nil {
				t.Fatalf("header %v", h)
			}
			if c["sub"] != "m2m" || c["client_id"] != "m2m" || c["iss"] != testPublicURL+"/t/"+e.tenant.ID ||
				c["scope"] != "orders:read" || c["jti"] == nil || c["gid"] != nil || c["exp"] == nil || c["iat"] == nil {
				t.Fatalf("claims %v", c)
			}
			if aud, _ := c["aud"].([]any); len(aud) != 1 || aud[0] != "m2m" {
				t.Fatalf("aud %v", c["aud"])
			}
			if after := len(e.events(e.tenant.ID, "")); after != before {
				t.Fatalf("client_credentials wrote %d events", after-before)
			}
		})
		t.Run("no scope asks for the client's registered scopes that need no user", func(t *testing.T) {
			m := wantTokenResponse(t, cc(m2m, ""))
			if m["scope"] != "orders:read orders:write" {
				t.Fatalf("scope = %v", m["scope"])
			}
		})
		t.Run("a client registered without scopes gets a token without scope", func(t *testing.T) {
			m := wantTokenResponse(t, cc(postAuth("m2m-noscope", secretM2M), ""))
			if _, ok := m["scope"]; ok {
				t.Fatalf("scope = %v", m["scope"])
			}
		})
		for _, tt := range []struct{ name, scope string }{
			{"openid is refused", "openid"},
			{"offline_access is refused", "orders:read offline_access"},
			{"a scope the client is not registered for is refused", "orders:delete"},
			{"a malformed scope is refused", "orders:read \"x\""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantOAuthError(t, cc(m2m, tt.scope), http.StatusBadRequest, "invalid_scope")
			})
		}
		t.Run("a public client may not use client_credentials", func(t *testing.T) {
			wantOAuthError(t, cc(publicAuth("public-cc"), ""), http.StatusBadRequest, "unauthorized_client")
		})
		t.Run("a client not registered for client_credentials is unauthorized", func(t *testing.T) {
			wantOAuthError(t, cc(webAuth, ""), http.StatusBadRequest, "unauthorized_client")
		})
		t.Run("the access token introspects as active for its client", func(t *testing.T) {
			at := wantTokenResponse(t, cc(m2m, "orders:write"))["access_token"].(string)
			m := decodeJSON(t, e.call(e.tenant.ID, "introspect", m2m, url.Values{"token": {at}}))
			if m["active"] != true || m["client_id"] != "m2m" || m["sub"] != "m2m" || m["scope"] != "orders:write" {
				t.Fatalf("introspection %v", m)
			}
		})
	})
}
