package oidc

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

const ordersAPI = "https://api.acme.example"

// authzModel gives tenantID the orders API (permissions read, write, delete; every authorization claim;
// tokens of two minutes) and roles reader, writer and deleter granting one permission each; userID holds
// reader directly, writer through group staff, and deleter as a member of organization globex.
func authzModel(t testing.TB, db *store.DB, tenantID, userID string) *authz.Service {
	t.Helper()
	ctx := context.Background()
	s := authz.New(authz.Deps{DB: db})
	if _, err := s.CreateAPI(ctx, tenantID, authz.APIInput{Identifier: ordersAPI, Name: "Orders", TokenLifetime: 2 * time.Minute,
		Claims:      []string{"permissions", "roles", "groups", "org_id", "org_roles"},
		Permissions: []store.APIPermission{{Name: "orders:read"}, {Name: "orders:write"}, {Name: "orders:delete"}}}, "test"); err != nil {
		t.Fatal(err)
	}
	for role, perm := range map[string]string{"reader": "orders:read", "writer": "orders:write", "deleter": "orders:delete"} {
		if _, err := s.CreateRole(ctx, tenantID, authz.RoleInput{Name: role,
			Permissions: []authz.PermissionRef{{API: ordersAPI, Permission: perm}}}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetUserRoles(ctx, tenantID, userID, []string{"reader"}); err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, tenantID, authz.GroupInput{Name: "staff", Roles: []string{"writer"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(ctx, tenantID, g.ID, userID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrganization(ctx, tenantID, authz.OrganizationInput{ID: "globex", Name: "Globex"}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOrganizationMember(ctx, tenantID, "globex", userID, []string{"deleter"}, "test"); err != nil {
		t.Fatal(err)
	}
	return s
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := []string{}
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestTokensForAnAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		ctx := context.Background()
		az := authzModel(t, db, e.tenant.ID, e.user.ID)
		all := []string{"openid", "offline_access", "orders:read", "orders:write", "orders:delete"}
		for _, c := range []store.Client{
			{TenantID: e.tenant.ID, ClientID: "orders", SecretHash: e.kr.HashSecret(secretBasic),
				GrantTypes: []string{grantAuthorizationCode, grantRefreshToken}, TokenEndpointAuthMethod: authSecretBasic,
				RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: all, TokenClaims: []string{"roles", "groups"}},
			{TenantID: e.tenant.ID, ClientID: "reads", SecretHash: e.kr.HashSecret(secretBasic),
				GrantTypes: []string{grantAuthorizationCode}, TokenEndpointAuthMethod: authSecretBasic,
				RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"openid", "orders:read"}},
			{TenantID: e.tenant.ID, ClientID: "admin-cli", SecretHash: e.kr.HashSecret(secretM2M),
				GrantTypes: []string{grantClientCredentials}, TokenEndpointAuthMethod: authSecretBasic, Scopes: []string{"umm:users:read"}},
		} {
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		redeem := func(client string, o codeOpts, extra url.Values) map[string]any {
			t.Helper()
			o.client = client
			form := url.Values{"grant_type": {grantAuthorizationCode}, "code": {e.mintCode(o)}, "redirect_uri": {"https://app.example.com/cb"}}
			for k, v := range extra {
				form[k] = v
			}
			return wantTokenResponse(t, e.token(basicAuth(client, secretBasic), form))
		}

		t.Run("the token for an API carries exactly the permissions the user's direct and group roles grant", func(t *testing.T) {
			m := redeem("orders", codeOpts{scopes: all, resource: ordersAPI}, nil)
			if m["scope"] != "openid offline_access orders:read orders:write" {
				t.Errorf("scope = %v", m["scope"])
			}
			ac := jwtClaims(t, m["access_token"].(string))
			if aud := strs(ac["aud"]); !slices.Equal(aud, []string{ordersAPI}) {
				t.Errorf("aud = %v, want the API", aud)
			}
			if got := strs(ac["permissions"]); !slices.Equal(got, []string{"orders:read", "orders:write"}) {
				t.Errorf("permissions = %v", got)
			}
			if got := strs(ac["roles"]); !slices.Equal(got, []string{"reader", "writer"}) {
				t.Errorf("roles = %v", got)
			}
			if got := strs(ac["groups"]); !slices.Equal(got, []string{"staff"}) {
				t.Errorf("groups = %v", got)
			}
			if ac["org_id"] != nil || ac["org_roles"] != nil {
				t.Errorf("org claims without an organization: %v %v", ac["org_id"], ac["org_roles"])
			}
			if exp, iat := ac["exp"].(float64), ac["iat"].(float64); exp-iat != 120 || m["expires_in"] != float64(120) {
				t.Errorf("lifetime %v (expires_in %v), want the API's 120 s", exp-iat, m["expires_in"])
			}
			ic := jwtClaims(t, m["id_token"].(string))
			if got := strs(ic["roles"]); !slices.Equal(got, []string{"reader", "writer"}) || ic["permissions"] != nil {
				t.Errorf("id token roles %v permissions %v: want the client's token_claims only", ic["roles"], ic["permissions"])
			}

			t.Run("a refresh recomputes the permissions from the roles of the moment", func(t *testing.T) {
				if err := db.SetUserRoles(ctx, e.tenant.ID, e.user.ID, nil); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = db.SetUserRoles(ctx, e.tenant.ID, e.user.ID, []string{"reader"}) }()
				r := wantTokenResponse(t, e.token(basicAuth("orders", secretBasic), url.Values{"grant_type": {grantRefreshToken},
					"refresh_token": {m["refresh_token"].(string)}}))
				rc := jwtClaims(t, r["access_token"].(string))
				if r["scope"] != "openid offline_access orders:write" || !slices.Equal(strs(rc["permissions"]), []string{"orders:write"}) ||
					!slices.Equal(strs(rc["aud"]), []string{ordersAPI}) {
					t.Errorf("refreshed scope %v, permissions %v, aud %v", r["scope"], rc["permissions"], rc["aud"])
				}
			})
		})

		t.Run("with an organization the membership's roles add their permissions and the org claims appear", func(t *testing.T) {
			m := redeem("orders", codeOpts{scopes: all, resource: ordersAPI, org: "globex"}, nil)
			ac := jwtClaims(t, m["access_token"].(string))
			if got := strs(ac["permissions"]); !slices.Equal(got, []string{"orders:read", "orders:write", "orders:delete"}) {
				t.Errorf("permissions = %v", got)
			}
			if ac["org_id"] != "globex" || !slices.Equal(strs(ac["org_roles"]), []string{"deleter"}) {
				t.Errorf("org_id %v org_roles %v", ac["org_id"], ac["org_roles"])
			}
			ic := jwtClaims(t, m["id_token"].(string))
			if ic["org_id"] != "globex" || !slices.Equal(strs(ic["org_roles"]), []string{"deleter"}) {
				t.Errorf("id token org_id %v org_roles %v", ic["org_id"], ic["org_roles"])
			}

			t.Run("a member removed since cannot refresh the organization's tokens", func(t *testing.T) {
				if err := az.RemoveOrganizationMember(ctx, e.tenant.ID, "globex", e.user.ID, "test"); err != nil {
					t.Fatal(err)
				}
				defer func() {
					_ = az.AddOrganizationMember(ctx, e.tenant.ID, "globex", e.user.ID, []string{"deleter"}, "test")
				}()
				w := e.token(basicAuth("orders", secretBasic), url.Values{"grant_type": {grantRefreshToken},
					"refresh_token": {m["refresh_token"].(string)}})
				wantOAuthError(t, w, http.StatusBadRequest, "invalid_grant")
			})
		})

		t.Run("a client not registered for a permission does not get it, whatever the roles grant", func(t *testing.T) {
			m := redeem("reads", codeOpts{scopes: []string{"openid", "orders:read", "orders:write"}, resource: ordersAPI}, nil)
			if m["scope"] != "openid orders:read" {
				t.Errorf("scope = %v", m["scope"])
			}
		})

		t.Run("without a resource no permission of any API is granted", func(t *testing.T) {
			m := redeem("orders", codeOpts{scopes: all}, nil)
			ac := jwtClaims(t, m["access_token"].(string))
			if m["scope"] != "openid offline_access" || !slices.Equal(strs(ac["aud"]), []string{"orders"}) || ac["permissions"] != nil {
				t.Errorf("scope %v aud %v permissions %v", m["scope"], ac["aud"], ac["permissions"])
			}
			// The client's token_claims then decide the access token's claims too.
			if !slices.Equal(strs(ac["roles"]), []string{"reader", "writer"}) || !slices.Equal(strs(ac["groups"]), []string{"staff"}) {
				t.Errorf("roles %v groups %v, want the client's token_claims", ac["roles"], ac["groups"])
			}
		})

		t.Run("the token request may name the resource the code was issued for, and no other", func(t *testing.T) {
			m := redeem("orders", codeOpts{scopes: all}, url.Values{"resource": {ordersAPI}})
			if !strings.Contains(m["scope"].(string), "orders:read") {
				t.Errorf("scope = %v", m["scope"])
			}
			if _, err := az.CreateAPI(ctx, e.tenant.ID, authz.APIInput{Identifier: "https://billing.example"}, "test"); err != nil {
				t.Fatal(err)
			}
			code := e.mintCode(codeOpts{client: "orders", scopes: all, resource: ordersAPI})
			w := e.token(basicAuth("orders", secretBasic), url.Values{"grant_type": {grantAuthorizationCode}, "code": {code},
				"redirect_uri": {"https://app.example.com/cb"}, "resource": {"https://billing.example"}})
			wantOAuthError(t, w, http.StatusBadRequest, "invalid_target")
		})

		for _, tt := range []struct {
			name     string
			resource []string
		}{
			{"an unknown resource is invalid_target at the token endpoint", []string{"https://unknown.example"}},
			{"a resource that is not an absolute URI is invalid_target", []string{"orders"}},
			{"two resources are invalid_target", []string{ordersAPI, "https://unknown.example"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				code := e.mintCode(codeOpts{client: "orders", scopes: all})
				w := e.token(basicAuth("orders", secretBasic), url.Values{"grant_type": {grantAuthorizationCode}, "code": {code},
					"redirect_uri": {"https://app.example.com/cb"}, "resource": tt.resource})
				wantOAuthError(t, w, http.StatusBadRequest, "invalid_target")
				w = e.token(basicAuth("m2m", secretM2M), url.Values{"grant_type": {grantClientCredentials}, "resource": tt.resource})
				wantOAuthError(t, w, http.StatusBadRequest, "invalid_target")
			})
		}

		t.Run("client_credentials for an API gets the API's permissions the client is registered for", func(t *testing.T) {
			m := wantTokenResponse(t, e.token(basicAuth("m2m", secretM2M), url.Values{"grant_type": {grantClientCredentials},
				"resource": {ordersAPI}}))
			ac := jwtClaims(t, m["access_token"].(string))
			if m["scope"] != "orders:read orders:write" || !slices.Equal(strs(ac["aud"]), []string{ordersAPI}) ||
				!slices.Equal(strs(ac["permissions"]), []string{"orders:read", "orders:write"}) || ac["roles"] != nil {
				t.Errorf("scope %v aud %v permissions %v roles %v", m["scope"], ac["aud"], ac["permissions"], ac["roles"])
			}
		})

		t.Run("a management scope without a resource adds the management API to the audience", func(t *testing.T) {
			m := wantTokenResponse(t, e.token(basicAuth("admin-cli", secretM2M), url.Values{"grant_type": {grantClientCredentials}}))
			ac := jwtClaims(t, m["access_token"].(string))
			if aud := strs(ac["aud"]); !slices.Equal(aud, []string{"admin-cli", testPublicURL + "/admin/api/v1"}) {
				t.Errorf("aud = %v", aud)
			}
			m = wantTokenResponse(t, e.token(basicAuth("m2m", secretM2M), url.Values{"grant_type": {grantClientCredentials}}))
			if aud := strs(jwtClaims(t, m["access_token"].(string))["aud"]); !slices.Equal(aud, []string{"m2m"}) {
				t.Errorf("aud without a management scope = %v", aud)
			}
		})
	})
}

func TestAuthorizeResourceAndOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		authzModel(t, db, f.tenant.ID, f.alice.ID)
		first := func(mods ...func(url.Values)) url.Values {
			return codeParams(append([]func(url.Values){set("client_id", "first"),
				set("redirect_uri", "https://first.example.com/cb")}, mods...)...)
		}
		required := store.Client{TenantID: f.tenant.ID, ClientID: "b2b", Name: "B2B", SecretHash: []byte("x"),
			GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: "client_secret_post", FirstParty: true,
			RedirectURIs: []string{"https://b2b.example.com/cb"}, OrganizationRequired: true}
		if err := db.UpsertClient(ctx, required); err != nil {
			t.Fatal(err)
		}
		b2b := func(mods ...func(url.Values)) url.Values {
			return codeParams(append([]func(url.Values){set("client_id", "b2b"), set("redirect_uri", "https://b2b.example.com/cb")}, mods...)...)
		}
		tests := []struct {
			name             string
			user             store.User
			params           url.Values
			wantError        string // "" for a code
			wantOrg, wantRes string
		}{
			{"a known resource is kept with the code", f.alice, first(set("resource", ordersAPI)), "", "", ordersAPI},
			{"an unknown resource is sent back as invalid_target", f.alice, first(set("resource", "https://unknown.example")), "invalid_target", "", ""},
			{"two resources are invalid_target", f.alice, first(add("resource", ordersAPI), add("resource", "https://b.example")), "invalid_target", "", ""},
			{"a member signing in to an organization gets a code for it", f.alice, first(set("organization", "globex")), "", "globex", ""},
			{"a non-member is refused", f.bob, first(set("organization", "globex")), "access_denied", "", ""},
			{"an unknown organization is invalid_request", f.alice, first(set("organization", "initech")), "invalid_request", "", ""},
			{"a client requiring an organization takes the user's only one", f.alice, b2b(), "", "globex", ""},
			{"a client requiring an organization refuses a user of none", f.bob, b2b(), "access_denied", "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := f.browser()
				b.signIn(tt.user)
				w := b.get(f.authorizeURL(tt.params))
				if tt.wantError != "" {
					if w.Code != http.StatusFound {
						t.Fatalf("status %d; body %.300s", w.Code, w.Body.String())
					}
					q := location(t, w).Query()
					if q.Get("error") != tt.wantError || q.Get("state") != tt.params.Get("state") {
						t.Errorf("error %q (%s) state %q, want %s", q.Get("error"), q.Get("error_description"), q.Get("state"), tt.wantError)
					}
					return
				}
				c := f.code(t, w, tt.params.Get("redirect_uri"), tt.params.Get("state"))
				if c.OrgID != tt.wantOrg || c.Resource != tt.wantRes {
					t.Errorf("code org %q resource %q, want %q %q", c.OrgID, c.Resource, tt.wantOrg, tt.wantRes)
				}
			})
		}
	})
}

func TestAuthorizeOrganizationChoice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		az := authzModel(t, db, f.tenant.ID, f.alice.ID)
		if _, err := az.CreateOrganization(ctx, f.tenant.ID, authz.OrganizationInput{ID: "initech", Name: "Initech"}, "test"); err != nil {
			t.Fatal(err)
		}
		if err := az.AddOrganizationMember(ctx, f.tenant.ID, "initech", f.alice.ID, nil, "test"); err != nil {
			t.Fatal(err)
		}
		if err := db.UpsertClient(ctx, store.Client{TenantID: f.tenant.ID, ClientID: "b2b", Name: "B2B", SecretHash: []byte("x"),
			GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: "client_secret_post", FirstParty: true,
			RedirectURIs: []string{"https://b2b.example.com/cb"}, OrganizationRequired: true}); err != nil {
			t.Fatal(err)
		}
		b2b := func(mods ...func(url.Values)) url.Values {
			return codeParams(append([]func(url.Values){set("client_id", "b2b"), set("redirect_uri", "https://b2b.example.com/cb")}, mods...)...)
		}

		t.Run("a member of several organizations with a session goes to the pages to choose one", func(t *testing.T) {
			b := f.browser()
			b.signIn(f.alice)
			w := b.get(f.authorizeURL(b2b()))
			if w.Code != http.StatusFound || !strings.Contains(location(t, w).Path, "/login") {
				t.Fatalf("status %d to %s, want the sign-in pages", w.Code, w.Header().Get("Location"))
			}
			if q := location(t, w).Query(); q.Get("code") != "" || q.Get("lr") == "" {
				t.Errorf("redirect %s, want a login request and no code", location(t, w))
			}
		})
		t.Run("with prompt=none the choice is interaction_required", func(t *testing.T) {
			b := f.browser()
			b.signIn(f.alice)
			w := b.get(f.authorizeURL(b2b(set("prompt", "none"))))
			if q := location(t, w).Query(); q.Get("error") != "interaction_required" {
				t.Errorf("error %q (%s), want interaction_required", q.Get("error"), q.Get("error_description"))
			}
		})
		t.Run("naming the organization needs no choice", func(t *testing.T) {
			b := f.browser()
			b.signIn(f.alice)
			params := b2b(set("organization", "initech"))
			c := f.code(t, b.get(f.authorizeURL(params)), params.Get("redirect_uri"), params.Get("state"))
			if c.OrgID != "initech" {
				t.Errorf("code org %q, want initech", c.OrgID)
			}
		})
	})
}
