package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

const ordersAPI = "https://api.orders.example"

type apiResource struct {
	ID          string `json:"id"`
	Identifier  string `json:"identifier"`
	Name        string `json:"name"`
	Permissions []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"permissions"`
	TokenLifetime int64    `json:"token_lifetime"`
	Claims        []string `json:"claims"`
}

type roleResource struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Permissions []struct {
		API        string `json:"api"`
		Permission string `json:"permission"`
	} `json:"permissions"`
}

type groupResource struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Roles       []string `json:"roles"`
}

type orgResource struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
	Branding    map[string]any `json:"branding"`
	Connections []string       `json:"connections"`
}

type memberResource struct {
	UserID string   `json:"user_id"`
	Email  string   `json:"email"`
	Roles  []string `json:"roles"`
}

type checkAnswer struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
}

// ordersModelBody is the orders API as created over HTTP: three permissions and every authorization claim.
func ordersModelBody() map[string]any {
	return map[string]any{"identifier": ordersAPI, "name": "Orders", "token_lifetime": 300,
		"claims": []string{"permissions", "roles", "groups", "org_id", "org_roles"},
		"permissions": []map[string]any{
			{"name": "orders:read", "description": "Read orders"}, {"name": "orders:write"}, {"name": "orders:delete"}}}
}

func grant(perm string) []map[string]string {
	return []map[string]string{{"api": ordersAPI, "permission": perm}}
}

// TestManagementAPIAuthz drives APIs, roles, groups, organizations and the permission check over HTTP.
func TestManagementAPIAuthz(t *testing.T) {
	t.Parallel()
	checker := config.ClientSeed{ClientID: "checker", ClientSecret: "checker-secret-0123456789abcdef", GrantTypes: []string{"client_credentials"},
		TokenEndpointAuthMethod: "client_secret_basic", Scopes: []string{"umm:authz:check"}}
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithClient(checker))
			m := operator(t, srv)
			tb := "/tenants/" + srv.Tenant

			// The API.
			r := m.ok(http.StatusCreated, "POST", tb+"/apis", ordersModelBody())
			var api apiResource
			r.json(t, &api)
			if r.Header.Get("Location") != admin.APIPrefix+tb+"/apis/"+api.ID || api.Identifier != ordersAPI || len(api.Permissions) != 3 ||
				api.TokenLifetime != 300 || len(api.Claims) != 5 {
				t.Fatalf("created API %+v at %q", api, r.Header.Get("Location"))
			}
			apiTag := r.Header.Get("ETag")
			if got := m.ok(http.StatusOK, "GET", tb+"/apis/"+api.ID, nil).Header.Get("ETag"); got != apiTag {
				t.Errorf("GET ETag %q, want the creation's %q", got, apiTag)
			}
			var apis struct{ Data []apiResource }
			m.ok(http.StatusOK, "GET", tb+"/apis", nil).json(t, &apis)
			if len(apis.Data) != 1 || apis.Data[0].ID != api.ID {
				t.Errorf("API list %+v", apis.Data)
			}

			t.Run("an API is patched with its ETag and a stale one is refused", func(t *testing.T) {
				m := m.on(t)
				r := m.ok(http.StatusOK, "PATCH", tb+"/apis/"+api.ID, map[string]any{"name": "Orders API", "token_lifetime": 0}, "If-Match", apiTag)
				var got apiResource
				r.json(t, &got)
				if got.Name != "Orders API" || got.TokenLifetime != 0 || len(got.Permissions) != 3 || got.Identifier != ordersAPI {
					t.Errorf("patched API %+v", got)
				}
				m.do("PATCH", tb+"/apis/"+api.ID, map[string]any{"name": "Stale"}, "If-Match", apiTag).problem(t, http.StatusPreconditionFailed)
				p := m.do("PATCH", tb+"/apis/"+api.ID, map[string]any{"identifier": "https://elsewhere.example"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "identifier" {
					t.Errorf("identifier change errors %+v", p.Errors)
				}
			})

			t.Run("an API's field errors name the field", func(t *testing.T) {
				m := m.on(t)
				p := m.do("POST", tb+"/apis", map[string]any{"identifier": "orders", "claims": []string{"roles", "colour"},
					"permissions": []map[string]any{{"name": "a b"}}}).problem(t, http.StatusBadRequest)
				fields := fieldsOf(p)
				for _, f := range []string{"identifier", "claims[1]", "permissions[0].name"} {
					if !slices.Contains(fields, f) {
						t.Errorf("errors %v lack %s", fields, f)
					}
				}
				p = m.do("POST", tb+"/apis", `{"identifier": "https://big.example", "token_lifetime": 9223372036854775807}`).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"token_lifetime"}) {
					t.Errorf("a lifetime beyond any duration: errors %+v", p.Errors)
				}
				p = m.do("POST", tb+"/apis", map[string]any{"identifier": ordersAPI}).problem(t, http.StatusConflict)
				if len(p.Errors) != 1 || p.Errors[0].Field != "identifier" {
					t.Errorf("conflict errors %+v", p.Errors)
				}
				m.do("GET", tb+"/apis/nope", nil).problem(t, http.StatusNotFound)
			})

			// Roles granting one permission each.
			for _, rp := range [][2]string{{"reader", "orders:read"}, {"writer", "orders:write"}, {"deleter", "orders:delete"}} {
				r := m.ok(http.StatusCreated, "POST", tb+"/roles", map[string]any{"name": rp[0], "permissions": grant(rp[1])})
				var role roleResource
				r.json(t, &role)
				if role.Name != rp[0] || len(role.Permissions) != 1 || role.Permissions[0].API != ordersAPI || role.Permissions[0].Permission != rp[1] {
					t.Errorf("created role %+v", role)
				}
				if r.Header.Get("Location") != admin.APIPrefix+tb+"/roles/"+rp[0] {
					t.Errorf("role Location %q", r.Header.Get("Location"))
				}
			}

			t.Run("roles: patch, stale ETag, field errors, conflicts", func(t *testing.T) {
				m := m.on(t)
				tag := m.ok(http.StatusOK, "GET", tb+"/roles/reader", nil).Header.Get("ETag")
				var role roleResource
				m.ok(http.StatusOK, "PATCH", tb+"/roles/reader", map[string]any{"description": "Reads orders"}, "If-Match", tag).json(t, &role)
				if role.Description != "Reads orders" || len(role.Permissions) != 1 {
					t.Errorf("patched role %+v", role)
				}
				m.do("PATCH", tb+"/roles/reader", map[string]any{"description": "Stale"}, "If-Match", tag).problem(t, http.StatusPreconditionFailed)
				p := m.do("POST", tb+"/roles", map[string]any{"name": "flyer", "permissions": []map[string]string{
					{"api": ordersAPI, "permission": "orders:fly"}, {"api": "https://nowhere.example", "permission": "x"}}}).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"permissions[0].permission", "permissions[1].api"}) {
					t.Errorf("role errors %+v", p.Errors)
				} else if !strings.Contains(p.Errors[0].Message, "orders:fly") || !strings.Contains(p.Errors[0].Message, "orders:read") {
					t.Errorf("the message does not say what the API has: %q", p.Errors[0].Message)
				}
				p = m.do("PATCH", tb+"/roles/writer", map[string]any{"permissions": grant("orders:fly")}).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"permissions[0].permission"}) {
					t.Errorf("patch errors %+v", p.Errors)
				}
				p = m.do("PATCH", tb+"/roles/writer", map[string]any{"name": "author"}).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"name"}) {
					t.Errorf("rename errors %+v", p.Errors)
				}
				p = m.do("POST", tb+"/roles", map[string]any{"name": "reader"}).problem(t, http.StatusConflict)
				if len(p.Errors) != 1 || p.Errors[0].Field != "name" {
					t.Errorf("conflict errors %+v", p.Errors)
				}
				var roles struct {
					Data       []roleResource
					NextCursor string `json:"next_cursor"`
				}
				m.ok(http.StatusOK, "GET", tb+"/roles?limit=2", nil).json(t, &roles)
				if len(roles.Data) != 2 || roles.Data[0].Name != "deleter" || roles.NextCursor == "" {
					t.Fatalf("first page of roles %+v", roles)
				}
				cursor := roles.NextCursor
				roles.Data, roles.NextCursor = nil, ""
				m.ok(http.StatusOK, "GET", tb+"/roles?limit=2&cursor="+url.QueryEscape(cursor), nil).json(t, &roles)
				if len(roles.Data) != 1 || roles.Data[0].Name != "writer" || roles.NextCursor != "" {
					t.Errorf("last page of roles %+v", roles)
				}
			})

			// A user holding reader directly, writer through a group and deleter in an organization.
			var bob userJSON
			m.ok(http.StatusCreated, "POST", tb+"/users", map[string]any{"email": "bob@example.com", "roles": []string{"reader"}}).json(t, &bob)
			var staff groupResource
			r = m.ok(http.StatusCreated, "POST", tb+"/groups", map[string]any{"name": "staff", "roles": []string{"writer"}})
			r.json(t, &staff)
			if r.Header.Get("Location") != admin.APIPrefix+tb+"/groups/"+staff.ID || !slices.Equal(staff.Roles, []string{"writer"}) {
				t.Errorf("created group %+v", staff)
			}
			var member memberResource
			m.ok(http.StatusCreated, "POST", tb+"/groups/"+staff.ID+"/members", map[string]any{"user_id": bob.ID}).json(t, &member)
			if member.UserID != bob.ID || member.Email != "bob@example.com" {
				t.Errorf("group member %+v", member)
			}
			var globex orgResource
			r = m.ok(http.StatusCreated, "POST", tb+"/organizations", map[string]any{"id": "globex", "name": "Globex",
				"display_name": "Globex Corporation", "branding": map[string]any{"primary_color": "#336699"}})
			r.json(t, &globex)
			if r.Header.Get("Location") != admin.APIPrefix+tb+"/organizations/globex" || globex.Branding["primary_color"] != "#336699" || globex.Connections == nil {
				t.Errorf("created organization %+v", globex)
			}
			m.ok(http.StatusCreated, "POST", tb+"/organizations/globex/members", map[string]any{"user_id": bob.ID, "roles": []string{"deleter"}}).json(t, &member)
			if member.UserID != bob.ID || !slices.Equal(member.Roles, []string{"deleter"}) {
				t.Errorf("organization member %+v", member)
			}

			t.Run("groups: patch roles, members listed, added twice, removed", func(t *testing.T) {
				m := m.on(t)
				tag := m.ok(http.StatusOK, "GET", tb+"/groups/"+staff.ID, nil).Header.Get("ETag")
				var g groupResource
				m.ok(http.StatusOK, "PATCH", tb+"/groups/"+staff.ID, map[string]any{"description": "Everyone", "roles": []string{"writer", "reader"}}, "If-Match", tag).json(t, &g)
				if g.Description != "Everyone" || !slices.Equal(g.Roles, []string{"reader", "writer"}) {
					t.Errorf("patched group %+v", g)
				}
				m.do("PATCH", tb+"/groups/"+staff.ID, map[string]any{"name": "Stale"}, "If-Match", tag).problem(t, http.StatusPreconditionFailed)
				m.ok(http.StatusOK, "PATCH", tb+"/groups/"+staff.ID, map[string]any{"roles": []string{"writer"}})
				p := m.do("POST", tb+"/groups", map[string]any{"name": "", "roles": []string{"writer", "pilot"}}).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"name", "roles[1]"}) {
					t.Errorf("group errors %+v", p.Errors)
				}
				m.do("POST", tb+"/groups", map[string]any{"name": "staff"}).problem(t, http.StatusConflict)

				m.ok(http.StatusCreated, "POST", tb+"/groups/"+staff.ID+"/members", map[string]any{"user_id": srv.User.ID})
				var l struct{ Data []memberResource }
				m.ok(http.StatusOK, "GET", tb+"/groups/"+staff.ID+"/members", nil).json(t, &l)
				if len(l.Data) != 2 {
					t.Errorf("group members %+v", l.Data)
				}
				p = m.do("POST", tb+"/groups/"+staff.ID+"/members", map[string]any{"user_id": bob.ID}).problem(t, http.StatusConflict)
				if len(p.Errors) != 1 || p.Errors[0].Field != "user_id" {
					t.Errorf("member conflict %+v", p.Errors)
				}
				m.do("POST", tb+"/groups/"+staff.ID+"/members", map[string]any{"user_id": "nobody"}).problem(t, http.StatusNotFound)
				m.do("POST", tb+"/groups/nope/members", map[string]any{"user_id": bob.ID}).problem(t, http.StatusNotFound)
				m.ok(http.StatusNoContent, "DELETE", tb+"/groups/"+staff.ID+"/members/"+srv.User.ID, nil)
				m.do("DELETE", tb+"/groups/"+staff.ID+"/members/"+srv.User.ID, nil).problem(t, http.StatusNotFound)
				m.ok(http.StatusOK, "GET", tb+"/groups/"+staff.ID+"/members", nil).json(t, &l)
				if len(l.Data) != 1 || l.Data[0].UserID != bob.ID {
					t.Errorf("group members after a removal %+v", l.Data)
				}
			})

			t.Run("organizations: patch, field errors, members and their roles, search by organization", func(t *testing.T) {
				m := m.on(t)
				tag := m.ok(http.StatusOK, "GET", tb+"/organizations/globex", nil).Header.Get("ETag")
				var o orgResource
				m.ok(http.StatusOK, "PATCH", tb+"/organizations/globex", map[string]any{"display_name": "Globex Inc.", "branding": map[string]any{"logo_url": "https://globex.example/logo.png"}}, "If-Match", tag).json(t, &o)
				if o.DisplayName != "Globex Inc." || o.Branding["primary_color"] != "#336699" || o.Branding["logo_url"] == nil {
					t.Errorf("patched organization %+v", o)
				}
				m.do("PATCH", tb+"/organizations/globex", map[string]any{"name": "Stale"}, "If-Match", tag).problem(t, http.StatusPreconditionFailed)
				p := m.do("PATCH", tb+"/organizations/globex", map[string]any{"id": "initech"}).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"id"}) {
					t.Errorf("id change errors %+v", p.Errors)
				}
				p = m.do("POST", tb+"/organizations", map[string]any{"id": "Not An Id", "name": "X", "connections": []string{"nowhere"}}).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"id", "connections[0]"}) {
					t.Errorf("organization errors %+v", p.Errors)
				}
				p = m.do("POST", tb+"/organizations", map[string]any{"id": "globex", "name": "Other"}).problem(t, http.StatusConflict)
				if len(p.Errors) != 1 || p.Errors[0].Field != "id" {
					t.Errorf("conflict errors %+v", p.Errors)
				}

				var alice memberResource
				m.ok(http.StatusCreated, "POST", tb+"/organizations/globex/members", map[string]any{"user_id": srv.User.ID}).json(t, &alice)
				if alice.Email != srv.User.Email || alice.Roles == nil || len(alice.Roles) != 0 {
					t.Errorf("member without roles %+v", alice)
				}
				p = m.do("POST", tb+"/organizations/globex/members", map[string]any{"user_id": srv.User.ID, "roles": []string{"pilot"}}).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"roles[0]"}) {
					t.Errorf("member role errors %+v", p.Errors)
				}
				m.do("POST", tb+"/organizations/globex/members", map[string]any{"user_id": srv.User.ID}).problem(t, http.StatusConflict)
				var rb struct{ Roles []string }
				m.ok(http.StatusOK, "PUT", tb+"/organizations/globex/members/"+srv.User.ID+"/roles", map[string]any{"roles": []string{"writer", "reader"}}).json(t, &rb)
				if !slices.Equal(rb.Roles, []string{"reader", "writer"}) {
					t.Errorf("member roles %v", rb.Roles)
				}
				m.do("PUT", tb+"/organizations/globex/members/nobody/roles", map[string]any{"roles": []string{}}).problem(t, http.StatusNotFound)

				var l struct{ Data []memberResource }
				m.ok(http.StatusOK, "GET", tb+"/organizations/globex/members", nil).json(t, &l)
				if len(l.Data) != 2 {
					t.Errorf("organization members %+v", l.Data)
				}
				var users userList
				m.ok(http.StatusOK, "GET", tb+"/users?org=globex&sort=email", nil).json(t, &users)
				if len(users.Data) != 2 || users.Data[0].Email != srv.User.Email || users.Data[1].Email != "bob@example.com" {
					t.Errorf("users of globex %+v", users.Data)
				}
				m.ok(http.StatusNoContent, "DELETE", tb+"/organizations/globex/members/"+srv.User.ID, nil)
				m.do("DELETE", tb+"/organizations/globex/members/"+srv.User.ID, nil).problem(t, http.StatusNotFound)
				m.ok(http.StatusOK, "GET", tb+"/users?org=globex", nil).json(t, &users)
				if len(users.Data) != 1 || users.Data[0].ID != bob.ID {
					t.Errorf("users of globex after a removal %+v", users.Data)
				}
				p = m.do("GET", tb+"/users?org=initech", nil).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"org"}) {
					t.Errorf("unknown organization errors %+v", p.Errors)
				}
			})

			t.Run("the check says why a permission is held, or not", func(t *testing.T) {
				m := m.on(t)
				ck := m.as(clientToken(t, srv, srv.Tenant, checker.ClientID, checker.ClientSecret, "umm:authz:check"))
				tests := []struct {
					name, permission, org string
					allowed               bool
					reason                []string // words the reason holds
				}{
					{"a direct role", "orders:read", "", true, []string{"reader"}},
					{"a group's role", "orders:write", "", true, []string{"writer", "staff"}},
					{"an organization's role", "orders:delete", "globex", true, []string{"deleter", "globex"}},
					{"an organization's role outside it", "orders:delete", "", false, []string{"orders:delete"}},
					{"a permission the API lacks", "orders:fly", "", false, []string{"orders:fly"}},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						var a checkAnswer
						ck := ck.on(t)
						ck.ok(http.StatusOK, "POST", tb+"/authz/check", map[string]any{"user_id": bob.ID, "permission": tt.permission, "api": ordersAPI, "org_id": tt.org}).json(t, &a)
						if a.Allowed != tt.allowed || a.Reason == "" {
							t.Fatalf("check = %+v, want allowed %v", a, tt.allowed)
						}
						for _, w := range tt.reason {
							if !strings.Contains(a.Reason, w) {
								t.Errorf("reason %q does not name %s", a.Reason, w)
							}
						}
					})
				}
				var a checkAnswer
				ck.ok(http.StatusOK, "POST", tb+"/authz/check", map[string]any{"user_id": srv.User.ID, "permission": "orders:delete", "api": ordersAPI, "org_id": "globex"}).json(t, &a)
				if a.Allowed || !strings.Contains(a.Reason, "member") {
					t.Errorf("a non-member's check = %+v", a)
				}
				for _, body := range []map[string]any{
					{"user_id": "nobody", "permission": "orders:read", "api": ordersAPI},
					{"user_id": bob.ID, "permission": "orders:read", "api": "https://nowhere.example"},
					{"user_id": bob.ID, "permission": "orders:read", "api": ordersAPI, "org_id": "initech"},
				} {
					ck.do("POST", tb+"/authz/check", body).problem(t, http.StatusNotFound)
				}
				p := ck.do("POST", tb+"/authz/check", map[string]any{"user_id": bob.ID}).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); !slices.Equal(fields, []string{"permission", "api"}) {
					t.Errorf("check errors %+v", p.Errors)
				}
				// umm:authz:check reads nothing else; umm:admin may check too.
				ck.do("GET", tb+"/roles", nil).problem(t, http.StatusForbidden)
				m.ok(http.StatusOK, "POST", tb+"/authz/check", map[string]any{"user_id": bob.ID, "permission": "orders:read", "api": ordersAPI}).json(t, &a)
				if !a.Allowed {
					t.Errorf("the operator's check = %+v", a)
				}
			})

			t.Run("writes are events of the calling client", func(t *testing.T) {
				b, _ := srv.Bootstrap()
				want := "client:" + b.Tenant + "/" + b.ClientID
				for typ, subject := range map[string]string{"api.created": api.ID, "role.created": "reader", "group.created": staff.ID,
					"group.member_added": staff.ID, "organization.created": "globex", "organization.member_added": "globex"} {
					evs, err := srv.DB.ListEvents(context.Background(), srv.Tenant, 0, typ, 100)
					if err != nil {
						t.Fatal(err)
					}
					var found bool
					for _, e := range evs {
						if e.Subject == subject {
							found = true
							if e.Actor != want {
								t.Errorf("%s actor = %q, want %q", typ, e.Actor, want)
							}
						}
					}
					if !found {
						t.Errorf("no %s event of %s", typ, subject)
					}
				}
			})

			t.Run("deletes", func(t *testing.T) {
				m := m.on(t)
				m.ok(http.StatusNoContent, "DELETE", tb+"/groups/"+staff.ID+"/members/"+bob.ID, nil)
				m.do("DELETE", tb+"/groups/"+staff.ID+"/members/"+bob.ID, nil).problem(t, http.StatusNotFound)
				for _, path := range []string{"/groups/" + staff.ID, "/organizations/globex", "/roles/deleter", "/apis/" + api.ID} {
					tag := m.ok(http.StatusOK, "GET", tb+path, nil).Header.Get("ETag")
					m.do("DELETE", tb+path, nil, "If-Match", `"stale"`).problem(t, http.StatusPreconditionFailed)
					m.ok(http.StatusNoContent, "DELETE", tb+path, nil, "If-Match", tag)
					m.do("GET", tb+path, nil).problem(t, http.StatusNotFound)
				}
				var role roleResource
				m.ok(http.StatusOK, "GET", tb+"/roles/reader", nil).json(t, &role)
				if len(role.Permissions) != 0 {
					t.Errorf("a role keeps permissions of a deleted API: %+v", role)
				}
			})
		})
	}
}

// on returns the caller reporting to t, for use in a subtest.
func (m *mgmt) on(t testing.TB) *mgmt {
	c := *m
	c.t = t
	return &c
}

func fieldsOf(p admin.Problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// TestManagementAPIRBACTokens sets up an API, roles, a user and an organization through the management
// API, then checks the tokens the server issues for the API: a client's by client credentials and a
// user's by the authorization code flow, without and with an organization.
func TestManagementAPIRBACTokens(t *testing.T) {
	t.Parallel()
	machine := config.ClientSeed{ClientID: "orders-worker", ClientSecret: "orders-worker-secret-0123456789", GrantTypes: []string{"client_credentials"},
		TokenEndpointAuthMethod: "client_secret_basic", Scopes: []string{"orders:read", "orders:write"}}
	app := config.ClientSeed{ClientID: "orders-app", ClientSecret: "orders-app-secret-0123456789ab", Name: "Orders",
		RedirectURIs: []string{servertest.RedirectURI}, GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: "client_secret_basic",
		FirstParty: true, Scopes: []string{"openid", "email", "orders:read", "orders:write", "orders:delete"}}
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithClient(machine), servertest.WithClient(app))
			m := operator(t, srv)
			tb := "/tenants/" + srv.Tenant
			m.ok(http.StatusCreated, "POST", tb+"/apis", ordersModelBody())
			m.ok(http.StatusCreated, "POST", tb+"/roles", map[string]any{"name": "reader", "permissions": grant("orders:read")})
			m.ok(http.StatusCreated, "POST", tb+"/roles", map[string]any{"name": "deleter", "permissions": grant("orders:delete")})
			const email, password = "carol@example.com", "amber-quill-harbor-5150"
			var carol userJSON
			m.ok(http.StatusCreated, "POST", tb+"/users", map[string]any{"email": email, "password": password, "email_verified": true}).json(t, &carol)
			m.ok(http.StatusOK, "PUT", tb+"/users/"+carol.ID+"/roles", map[string]any{"roles": []string{"reader"}})
			m.ok(http.StatusCreated, "POST", tb+"/organizations", map[string]any{"id": "acme", "name": "Acme"})
			m.ok(http.StatusCreated, "POST", tb+"/organizations/acme/members", map[string]any{"user_id": carol.ID, "roles": []string{"deleter"}})

			t.Run("a client's token for the API holds the permissions it is registered for", func(t *testing.T) {
				tr := token(t, srv, servertest.Client{ID: machine.ClientID, Secret: machine.ClientSecret},
					url.Values{"grant_type": {"client_credentials"}, "resource": {ordersAPI}})
				c := accessClaims(t, srv, tr.AccessToken)
				if aud := strList(c["aud"]); !slices.Equal(aud, []string{ordersAPI}) {
					t.Errorf("aud = %v, want the API's identifier", aud)
				}
				if c["scope"] != "orders:read orders:write" || !slices.Equal(strList(c["permissions"]), []string{"orders:read", "orders:write"}) {
					t.Errorf("scope %v permissions %v", c["scope"], c["permissions"])
				}
			})

			userToken := func(t *testing.T, extra url.Values) map[string]any {
				t.Helper()
				code, verifier := codeFlowAs(t, srv, app, email, password, "openid orders:read orders:write orders:delete", extra)
				tr := token(t, srv, servertest.Client{ID: app.ClientID, Secret: app.ClientSecret}, url.Values{"grant_type": {"authorization_code"},
					"code": {code}, "redirect_uri": {servertest.RedirectURI}, "code_verifier": {verifier}})
				return accessClaims(t, srv, tr.AccessToken)
			}
			t.Run("a user's token for the API holds exactly what the user's roles grant", func(t *testing.T) {
				c := userToken(t, url.Values{"resource": {ordersAPI}})
				if aud := strList(c["aud"]); !slices.Equal(aud, []string{ordersAPI}) || c["sub"] != carol.ID {
					t.Errorf("aud %v sub %v", aud, c["sub"])
				}
				if c["scope"] != "openid orders:read" || !slices.Equal(strList(c["permissions"]), []string{"orders:read"}) ||
					!slices.Equal(strList(c["roles"]), []string{"reader"}) {
					t.Errorf("scope %v permissions %v roles %v", c["scope"], c["permissions"], c["roles"])
				}
				if c["org_id"] != nil || c["org_roles"] != nil {
					t.Errorf("organization claims without an organization: %v %v", c["org_id"], c["org_roles"])
				}
			})
			t.Run("within an organization the member's roles there add theirs, and the token names it", func(t *testing.T) {
				c := userToken(t, url.Values{"resource": {ordersAPI}, "organization": {"acme"}})
				if c["scope"] != "openid orders:read orders:delete" && c["scope"] != "openid orders:delete orders:read" {
					t.Errorf("scope %v", c["scope"])
				}
				perms := strList(c["permissions"])
				slices.Sort(perms)
				if !slices.Equal(perms, []string{"orders:delete", "orders:read"}) {
					t.Errorf("permissions %v", perms)
				}
				if c["org_id"] != "acme" || !slices.Equal(strList(c["org_roles"]), []string{"deleter"}) {
					t.Errorf("org_id %v org_roles %v", c["org_id"], c["org_roles"])
				}
			})
			t.Run("a role changed through the API changes the next token", func(t *testing.T) {
				m := m.on(t)
				m.ok(http.StatusOK, "PATCH", tb+"/roles/reader", map[string]any{"permissions": []map[string]string{
					{"api": ordersAPI, "permission": "orders:read"}, {"api": ordersAPI, "permission": "orders:write"}}})
				c := userToken(t, url.Values{"resource": {ordersAPI}})
				if c["scope"] != "openid orders:read orders:write" || !slices.Equal(strList(c["permissions"]), []string{"orders:read", "orders:write"}) {
					t.Errorf("scope %v permissions %v", c["scope"], c["permissions"])
				}
			})
		})
	}
}

// accessClaims verifies an access token with the tenant's keys and returns its claims.
func accessClaims(t *testing.T, srv *servertest.Server, tok string) map[string]any {
	t.Helper()
	payload, hdr, err := srv.Keys.Verify(context.Background(), srv.Tenant, tok, keys.ES256)
	if err != nil {
		t.Fatalf("the access token does not verify: %v", err)
	}
	if typ, _ := hdr.ExtraHeaders["typ"].(string); typ != "at+jwt" {
		t.Errorf("typ = %q, want at+jwt", typ)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// strList reads a JSON array of strings, or a single string, as a list.
func strList(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	l, _ := v.([]any)
	out := []string{}
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// codeFlowAs runs the authorization code flow with PKCE for a first-party client, signing in as email
// with password, with extra authorization request parameters; it returns the code and the verifier.
func codeFlowAs(t *testing.T, srv *servertest.Server, client config.ClientSeed, email, password, scope string, extra url.Values) (code, verifier string) {
	t.Helper()
	b := srv.NewBrowser(t)
	verifier = servertest.RandomString(32)
	sum := sha256.Sum256([]byte(verifier))
	state := servertest.RandomString(16)
	q := url.Values{
		"response_type": {"code"}, "client_id": {client.ClientID}, "redirect_uri": {servertest.RedirectURI},
		"scope": {scope}, "state": {state}, "nonce": {servertest.RandomString(16)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	resp, body := b.Get(srv.TenantURL("/authorize?" + q.Encode()))
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		t.Fatalf("authorize = %d:\n%s", resp.StatusCode, body)
	}
	next := servertest.Location(t, resp)
	for range 10 {
		if strings.HasPrefix(next.String(), servertest.RedirectURI) {
			if next.Query().Get("state") != state || next.Query().Get("code") == "" {
				t.Fatalf("the code flow ended at %s", next)
			}
			return next.Query().Get("code"), verifier
		}
		resp, body := b.Get(next.String())
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			next = servertest.Location(t, resp)
			continue
		}
		var form *servertest.Form
		for _, f := range servertest.ParseForms(resp.Request.URL, body) {
			if _, ok := f.Values["password"]; ok {
				form = &f
				break
			}
		}
		if form == nil {
			t.Fatalf("no sign-in form at %s (%d):\n%s", next, resp.StatusCode, body)
		}
		resp, body = b.Submit(*form, url.Values{"email": {email}, "password": {password}})
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			t.Fatalf("signing in answered %d:\n%s", resp.StatusCode, body)
		}
		next = servertest.Location(t, resp)
	}
	t.Fatalf("the flow did not reach the client (at %s)", next)
	return "", ""
}

type invitationResource struct {
	ID       string   `json:"id"`
	Email    string   `json:"email"`
	Roles    []string `json:"roles"`
	Status   string   `json:"status"`
	UserID   string   `json:"user_id"`
	ClientID string   `json:"client_id"`
}

// TestManagementAPIOrganizationInvitations invites addresses to an organization over HTTP: the emailed
// link creates the account as a member holding the invitation's roles there; a revoked invitation's link
// stops working.
func TestManagementAPIOrganizationInvitations(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithConfig(func(c *config.Config) { c.Email = relay.Config }))
			m := operator(t, srv)
			tb := "/tenants/" + srv.Tenant
			org := tb + "/organizations/globex"
			m.ok(http.StatusCreated, "POST", tb+"/roles", map[string]any{"name": "buyer"})
			m.ok(http.StatusCreated, "POST", tb+"/organizations", map[string]any{"id": "globex", "name": "Globex", "display_name": "Globex Corporation"})

			r := m.ok(http.StatusCreated, "POST", org+"/invitations", map[string]any{"email": "erin@example.com", "roles": []string{"buyer"}})
			var inv invitationResource
			r.json(t, &inv)
			if inv.Status != "pending" || !slices.Equal(inv.Roles, []string{"buyer"}) || r.Header.Get("Location") != admin.APIPrefix+org+"/invitations/"+inv.ID {
				t.Fatalf("invitation %+v at %q", inv, r.Header.Get("Location"))
			}
			link := lastLink(t, relay, 1, "erin@example.com")
			if msg := relay.Messages()[0]; !strings.Contains(msg.Subject, "Globex Corporation") {
				t.Errorf("the email does not name the organization: %q", msg.Subject)
			}

			t.Run("refusals name the field", func(t *testing.T) {
				m := m.on(t)
				p := m.do("POST", org+"/invitations", map[string]any{"email": "frank@example.com", "roles": []string{"pilot"}, "client_id": "nope"}).problem(t, http.StatusBadRequest)
				if fields := fieldsOf(p); len(fields) != 1 || fields[0] != "roles" && fields[0] != "client_id" {
					t.Errorf("errors %+v", p.Errors)
				}
				p = m.do("POST", org+"/invitations", map[string]any{"email": srv.User.Email}).problem(t, http.StatusConflict)
				if !strings.Contains(p.Detail, "/members") {
					t.Errorf("an existing account's detail %q does not say to add it as a member", p.Detail)
				}
				m.do("POST", tb+"/organizations/initech/invitations", map[string]any{"email": "frank@example.com"}).problem(t, http.StatusNotFound)
				m.do("GET", tb+"/organizations/initech/invitations", nil).problem(t, http.StatusNotFound)
			})

			t.Run("accepting makes the account a member holding the roles", func(t *testing.T) {
				m := m.on(t)
				b := srv.NewBrowser(t)
				form, resp, body := b.GetForm(link, "/invitation")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET link = %d:\n%s", resp.StatusCode, body)
				}
				if resp, body := b.Submit(form, url.Values{"password": {"hazel-kettle-orbit-9090"}}); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("accepting = %d:\n%s", resp.StatusCode, body)
				}
				var l struct{ Data []memberResource }
				m.ok(http.StatusOK, "GET", org+"/members", nil).json(t, &l)
				if len(l.Data) != 1 || l.Data[0].Email != "erin@example.com" || !slices.Equal(l.Data[0].Roles, []string{"buyer"}) {
					t.Fatalf("members %+v", l.Data)
				}
				var got invitationResource
				m.ok(http.StatusOK, "GET", org+"/invitations/"+inv.ID, nil).json(t, &got)
				if got.Status != "accepted" || got.UserID != l.Data[0].UserID {
					t.Errorf("accepted invitation %+v", got)
				}
				m.do("DELETE", org+"/invitations/"+inv.ID, nil).problem(t, http.StatusConflict)
			})

			t.Run("a revoked invitation's link stops working", func(t *testing.T) {
				m := m.on(t)
				var grace invitationResource
				m.ok(http.StatusCreated, "POST", org+"/invitations", map[string]any{"email": "grace@example.com", "expires_in": 3600}).json(t, &grace)
				link := lastLink(t, relay, 2, "grace@example.com")
				var l struct {
					Data       []invitationResource
					NextCursor string `json:"next_cursor"`
				}
				m.ok(http.StatusOK, "GET", org+"/invitations?limit=1", nil).json(t, &l)
				if len(l.Data) != 1 || l.NextCursor == "" {
					t.Fatalf("first page %+v", l)
				}
				seen := l.Data[0].ID
				cursor := l.NextCursor
				l.Data, l.NextCursor = nil, ""
				m.ok(http.StatusOK, "GET", org+"/invitations?limit=1&cursor="+url.QueryEscape(cursor), nil).json(t, &l)
				if len(l.Data) != 1 || l.Data[0].ID == seen || l.NextCursor != "" {
					t.Fatalf("second page %+v", l)
				}
				m.ok(http.StatusNoContent, "DELETE", org+"/invitations/"+grace.ID, nil)
				if _, body := srv.NewBrowser(t).Get(link); strings.Contains(body, `name="password"`) || !strings.Contains(body, "withdrawn") {
					t.Fatalf("a revoked link does not say it was withdrawn:\n%s", body)
				}
				m.do("GET", tb+"/organizations/globex/invitations/nope", nil).problem(t, http.StatusNotFound)
			})
		})
	}
}
