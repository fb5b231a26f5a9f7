package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestAuthorizeGrantsWhatItCan checks OIDC Core §3.1.2.1: scope values that are unknown, or that the client
// may not request, are left out of the grant instead of failing the request, and the token response's
// scope lists what was granted.
func TestAuthorizeGrantsWhatItCan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		const secret = "granted-secret"
		for _, c := range []store.Client{
			{TenantID: f.tenant.ID, ClientID: "granted", Name: "Granted", SecretHash: f.kr.HashSecret(secret),
				GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true,
				RedirectURIs: []string{"https://granted.example.com/cb"}},
			{TenantID: f.tenant.ID, ClientID: "granted-scoped", Name: "Granted scoped", SecretHash: f.kr.HashSecret(secret),
				GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true,
				Scopes: []string{"openid", "orders:read"}, RedirectURIs: []string{"https://granted-scoped.example.com/cb"}},
		} {
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name, client, scope string
			want                []string
		}{
			{"unknown scopes are left out", "granted", "openid admin:all profile x:y", []string{"openid", "profile"}},
			{"a custom scope the client has not registered is left out", "granted", "openid orders:read", []string{"openid"}},
			{"a standard scope the client's list lacks is left out", "granted-scoped", "openid email orders:read",
				[]string{"openid", "orders:read"}},
			{"a request without openid keeps what it may have", "granted-scoped", "orders:read bogus", []string{"orders:read"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				redirect := "https://" + tt.client + ".example.com/cb"
				b := f.browser()
				b.signIn(f.alice)
				w := b.get(f.authorizeURL(codeParams(set("client_id", tt.client), set("redirect_uri", redirect), set("scope", tt.scope))))
				c := f.code(t, w, redirect, "xyz-state")
				if !slices.Equal(c.Scopes, tt.want) {
					t.Errorf("the code grants %v, want %v", c.Scopes, tt.want)
				}
				code := location(t, w).Query().Get("code")
				form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
					"code_verifier": {testVerifier}}
				r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/"+f.tenant.ID+"/token", strings.NewReader(form.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth(tt.client, secret)
				rec := httptest.NewRecorder()
				f.handler.ServeHTTP(rec, r)
				m := decodeJSON(t, rec)
				if rec.Code != http.StatusOK || m["scope"] != strings.Join(tt.want, " ") {
					t.Errorf("token response %d %v: want scope %q", rec.Code, m, strings.Join(tt.want, " "))
				}
				if at, _ := m["access_token"].(string); at == "" || jwtClaims(t, at)["scope"] != strings.Join(tt.want, " ") {
					t.Errorf("the access token does not carry the granted scope: %v", m)
				}
			})
		}
	})
}
