package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

type clientResp struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris"`
	GrantTypes   []string `json:"grant_types"`
	AuthMethod   string   `json:"token_endpoint_auth_method"`
	ClientSecret string   `json:"client_secret"`
}

// scopedCaller registers, through m, a machine client of tenant holding scopes and returns a caller with
// its token.
func scopedCaller(t *testing.T, m *mgmt, tenant string, scopes ...string) *mgmt {
	t.Helper()
	id := "m-" + strings.ToLower(servertest.RandomString(8))
	var c clientResp
	m.ok(http.StatusCreated, "POST", "/tenants/"+tenant+"/clients", map[string]any{"client_id": id,
		"grant_types": []string{"client_credentials"}, "scopes": scopes}).json(t, &c)
	return m.as(clientToken(t, m.srv, tenant, id, c.ClientSecret, strings.Join(scopes, " ")))
}

func TestAPIClients(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			m := operator(t, srv)
			base := "/tenants/" + srv.Tenant + "/clients"

			created := m.ok(http.StatusCreated, "POST", base, map[string]any{"client_id": "shop", "name": "Shop",
				"redirect_uris": []string{"https://shop.example.com/cb"}, "grant_types": []string{"authorization_code", "refresh_token", "client_credentials"},
				"scopes": []string{"openid", "email"}})
			var c clientResp
			created.json(t, &c)
			if c.ClientID != "shop" || c.AuthMethod != "client_secret_basic" || len(c.ClientSecret) < 32 {
				t.Fatalf("created client %s", created.body)
			}
			if loc := created.Header.Get("Location"); !strings.HasSuffix(loc, base+"/shop") {
				t.Errorf("Location %q", loc)
			}
			if actor, subject := tenantEvent(t, srv, srv.Tenant, events.TypeClientUpserted); actor != operatorActor(t, srv) || subject != "shop" {
				t.Errorf("client.upserted by %q of %q, want the calling client of shop", actor, subject)
			}
			t.Run("the answered secret authenticates the client", func(t *testing.T) {
				clientToken(t, srv, srv.Tenant, "shop", c.ClientSecret, "")
			})

			got := m.ok(http.StatusOK, "GET", base+"/shop", nil)
			etag := got.Header.Get("ETag")
			if etag == "" || etag != created.Header.Get("ETag") {
				t.Errorf("GET ETag %q, create ETag %q", etag, created.Header.Get("ETag"))
			}
			t.Run("no answer but the creation and the rotation carries a secret", func(t *testing.T) {
				list := m.ok(http.StatusOK, "GET", base, nil)
				for _, r := range []apiResp{got, list} {
					if s := string(r.body); strings.Contains(s, `"client_secret"`) || strings.Contains(s, "hash") || strings.Contains(s, c.ClientSecret) {
						t.Errorf("%s %s shows a secret: %s", r.Request.Method, r.Request.URL.Path, s)
					}
				}
			})

			t.Run("a bad redirect URI is a field error naming its index", func(t *testing.T) {
				p := m.do("PATCH", base+"/shop", map[string]any{"redirect_uris": []string{"https://shop.example.com/cb", "not a uri"}}).problem(t, http.StatusBadRequest)
				found := false
				for _, e := range p.Errors {
					found = found || e.Field == "redirect_uris[1]" && e.Message != ""
				}
				if !found {
					t.Errorf("errors %+v, want one naming redirect_uris[1]", p.Errors)
				}
				p = m.do("POST", base, map[string]any{"client_id": "bad", "redirect_uris": []string{"http://evil.example.com/cb#x"}}).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "redirect_uris[0]" {
					t.Errorf("errors %+v, want one naming redirect_uris[0]", p.Errors)
				}
			})
			t.Run("a patch with the current ETag applies; a stale one is refused", func(t *testing.T) {
				r := m.ok(http.StatusOK, "PATCH", base+"/shop", map[string]any{"name": "Web Shop", "redirect_uris": []string{"https://shop.example.com/cb2"}}, "If-Match", etag)
				var after clientResp
				r.json(t, &after)
				if after.Name != "Web Shop" || len(after.RedirectURIs) != 1 || after.RedirectURIs[0] != "https://shop.example.com/cb2" || len(after.GrantTypes) != 3 {
					t.Errorf("after the patch: %s", r.body)
				}
				m.do("PATCH", base+"/shop", map[string]any{"name": "Lost"}, "If-Match", etag).problem(t, http.StatusPreconditionFailed)
				m.do("DELETE", base+"/shop", nil, "If-Match", etag).problem(t, http.StatusPreconditionFailed)
			})
			t.Run("the auth method is read-only", func(t *testing.T) {
				p := m.do("PATCH", base+"/shop", map[string]any{"token_endpoint_auth_method": "none"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "token_endpoint_auth_method" {
					t.Errorf("errors %+v", p.Errors)
				}
			})

			t.Run("a rotated secret is answered once and replaces the old one", func(t *testing.T) {
				r := m.ok(http.StatusOK, "POST", base+"/shop/rotate-secret", map[string]any{"grace_seconds": 60})
				var s struct {
					ClientSecret string `json:"client_secret"`
				}
				r.json(t, &s)
				if len(s.ClientSecret) < 32 || s.ClientSecret == c.ClientSecret {
					t.Fatalf("rotation answered %s", r.body)
				}
				clientToken(t, srv, srv.Tenant, "shop", s.ClientSecret, "")
				clientToken(t, srv, srv.Tenant, "shop", c.ClientSecret, "") // within its grace
				p := m.do("POST", base+"/shop/rotate-secret", map[string]any{"grace_seconds": -5}).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "grace_seconds" {
					t.Errorf("errors %+v", p.Errors)
				}
				m.ok(http.StatusOK, "POST", base+"/shop/rotate-secret", nil) // no body: the default, no grace
			})

			t.Run("a read-only token reads but may not write", func(t *testing.T) {
				ro := scopedCaller(t, m, srv.Tenant, "umm:clients:read")
				ro.ok(http.StatusOK, "GET", base+"/shop", nil)
				p := ro.do("POST", base, map[string]any{"client_id": "nope"}).problem(t, http.StatusForbidden)
				if p.Type != "https://umm.dev/problems/insufficient-scope" {
					t.Errorf("problem type %q, want insufficient-scope", p.Type)
				}
				ro.do("DELETE", base+"/shop", nil).problem(t, http.StatusForbidden)
				ro.do("GET", "/tenants/"+srv.Tenant+"/events", nil).problem(t, http.StatusForbidden)
			})

			t.Run("a caller cannot give or take management scopes it does not hold", func(t *testing.T) {
				w := scopedCaller(t, m, srv.Tenant, "umm:clients:read", "umm:clients:write")
				p := w.do("POST", base, map[string]any{"client_id": "escalator", "grant_types": []string{"client_credentials"},
					"scopes": []string{"umm:clients:read", "umm:admin"}}).problem(t, http.StatusForbidden)
				if len(p.Errors) != 1 || p.Errors[0].Field != "scopes[1]" {
					t.Errorf("errors %+v, want scopes[1] (umm:admin)", p.Errors)
				}
				w.ok(http.StatusCreated, "POST", base, map[string]any{"client_id": "reader", "grant_types": []string{"client_credentials"},
					"scopes": []string{"umm:clients:read"}})
				w.do("PATCH", base+"/reader", map[string]any{"scopes": []string{"umm:clients:read", "umm:users:write"}}).problem(t, http.StatusForbidden)
				// An operator made this one powerful: the lesser caller may rename it, not take its secret.
				m.ok(http.StatusCreated, "POST", base, map[string]any{"client_id": "powerful", "grant_types": []string{"client_credentials"},
					"scopes": []string{"umm:admin"}})
				w.ok(http.StatusOK, "PATCH", base+"/powerful", map[string]any{"name": "Powerful"})
				w.do("POST", base+"/powerful/rotate-secret", nil).problem(t, http.StatusForbidden)
				m.ok(http.StatusOK, "POST", base+"/powerful/rotate-secret", nil)
			})
			t.Run("the list pages through the clients", func(t *testing.T) {
				seen := map[string]bool{}
				cursor, pages := "", 0
				for ; pages < 20; pages++ {
					r := m.ok(http.StatusOK, "GET", base+"?limit=2"+cursor, nil)
					var page struct {
						Data       []clientResp `json:"data"`
						NextCursor string       `json:"next_cursor"`
					}
					r.json(t, &page)
					for _, x := range page.Data {
						if seen[x.ClientID] {
							t.Errorf("%s listed twice", x.ClientID)
						}
						seen[x.ClientID] = true
					}
					if page.NextCursor == "" {
						break
					}
					cursor = "&cursor=" + page.NextCursor
				}
				for _, id := range []string{"shop", servertest.ConfidentialClientID, servertest.PublicClientID, servertest.FirstPartyClientID} {
					if !seen[id] {
						t.Errorf("%s not listed (%d pages): %v", id, pages, seen)
					}
				}
				p := m.do("GET", base+"?cursor=garbage!", nil).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "cursor" {
					t.Errorf("errors %+v", p.Errors)
				}
			})

			t.Run("a deleted client is gone and its secret stops working", func(t *testing.T) {
				m.ok(http.StatusNoContent, "DELETE", base+"/shop", nil)
				m.do("GET", base+"/shop", nil).problem(t, http.StatusNotFound)
				m.do("DELETE", base+"/shop", nil).problem(t, http.StatusNotFound)
			})
		})
	}
}
