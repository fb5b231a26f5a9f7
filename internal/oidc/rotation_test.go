package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// userInfo calls the tenant's UserInfo endpoint with token as a Bearer token.
func (e *tokenEnv) userInfo(tenantID, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+tenantID+"/userinfo", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return e.serve(r)
}

// TestKeyRotationKeepsUnexpiredTokensValid issues tokens, rotates the tenant's keys twice, and checks on a
// node that has never seen the tokens (so no per-node cache answers for them) that they still work: the
// retired keys stay published and verifying until keys.retain_retired has passed (issue #2, "Keys").
func TestKeyRotationKeepsUnexpiredTokensValid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		ctx := context.Background()
		m := e.login()
		at, idt, rt := m["access_token"].(string), m["id_token"].(string), m["refresh_token"].(string)
		atKid, idKid := jwtHeader(t, at)["kid"].(string), jwtHeader(t, idt)["kid"].(string)

		for range 2 {
			if err := e.keys.Rotate(ctx, e.tenant.ID); err != nil {
				t.Fatalf("rotate: %v", err)
			}
		}
		n := newTokenEnvOn(t, e) // another node: its own key, token and revocation caches

		t.Run("the access token signed by a retired key is still active at introspection", func(t *testing.T) {
			if got := n.introspect(e.tenant.ID, at); got["active"] != true {
				t.Fatalf("introspection after two rotations: %v", got)
			}
		})
		t.Run("UserInfo still accepts the access token", func(t *testing.T) {
			w := n.userInfo(e.tenant.ID, at)
			if w.Code != http.StatusOK || decodeJSON(t, w)["sub"] != e.user.ID {
				t.Fatalf("status %d body %s, WWW-Authenticate %q", w.Code, w.Body, w.Header().Get("WWW-Authenticate"))
			}
		})
		t.Run("the JWKS still publishes the retired keys, and the ID token verifies against it", func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/jwks.json", nil)
			w := n.serve(r)
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(w.Body.Bytes(), &set); w.Code != http.StatusOK || err != nil {
				t.Fatalf("status %d: %v", w.Code, err)
			}
			if len(set.Key(atKid)) != 1 || len(set.Key(idKid)) != 1 {
				t.Fatalf("JWKS lacks the retired keys %s and %s", atKid, idKid)
			}
			// Per algorithm: the retired key of the first rotation, the one of the second, current and next.
			if len(set.Keys) != 8 {
				t.Errorf("JWKS has %d keys, want 8 (2 algorithms x retired, retired, current, next)", len(set.Keys))
			}
			jws, err := jose.ParseSigned(idt, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify(set.Key(idKid)[0].Public()); err != nil {
				t.Errorf("the ID token does not verify with the published key: %v", err)
			}
		})
		t.Run("the ID token is still a valid id_token_hint at logout", func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/logout?id_token_hint="+url.QueryEscape(idt), nil)
			if w := n.serve(r); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "signed out") {
				t.Errorf("status %d body %.300s", w.Code, w.Body.String())
			}
		})
		t.Run("new tokens are signed by the new current keys and verify too", func(t *testing.T) {
			m := wantTokenResponse(t, n.token(webAuth, url.Values{"grant_type": {grantRefreshToken}, "refresh_token": {rt}}))
			at2, idt2 := m["access_token"].(string), m["id_token"].(string)
			if jwtHeader(t, at2)["kid"] == atKid || jwtHeader(t, idt2)["kid"] == idKid {
				t.Fatal("tokens issued after rotation are signed by a retired key")
			}
			if got := e.introspect(e.tenant.ID, at2); got["active"] != true {
				t.Fatalf("the first node does not accept the new key's token: %v", got)
			}
		})
	})
}

// TestRevokedConsentEndsTheClientsTokens withdraws the user's consent (the account page's "Remove access")
// and checks that the client's refresh token stops working and its access token becomes inactive.
func TestRevokedConsentEndsTheClientsTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		ctx := context.Background()
		if err := db.InTx(ctx, func(tx *store.Tx) error {
			return e.identity.GrantConsent(ctx, tx, e.tenant.ID, e.user.ID, "web", []string{"openid", "profile", "email", "offline_access"})
		}); err != nil {
			t.Fatal(err)
		}
		m := e.login()
		at, rt := m["access_token"].(string), m["refresh_token"].(string)
		if err := e.identity.RevokeConsent(ctx, e.tenant.ID, e.user.ID, "web", e.user.ID); err != nil {
			t.Fatalf("revoke consent: %v", err)
		}
		n := newTokenEnvOn(t, e)

		t.Run("the refresh token is invalid_grant", func(t *testing.T) {
			wantOAuthError(t, n.token(webAuth, url.Values{"grant_type": {grantRefreshToken}, "refresh_token": {rt}}),
				http.StatusBadRequest, "invalid_grant")
		})
		t.Run("the access token is inactive and refused by UserInfo", func(t *testing.T) {
			if got := n.introspect(e.tenant.ID, at); got["active"] != false {
				t.Errorf("introspection after consent revocation: %v", got)
			}
			if w := n.userInfo(e.tenant.ID, at); w.Code != http.StatusUnauthorized {
				t.Errorf("UserInfo status %d, want 401", w.Code)
			}
		})
		t.Run("the refresh token is inactive at introspection", func(t *testing.T) {
			if got := n.introspect(e.tenant.ID, rt); got["active"] != false {
				t.Errorf("introspection after consent revocation: %v", got)
			}
		})
	})
}
