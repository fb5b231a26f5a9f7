package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

type tenantResp struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Settings struct {
		AccessTokenTTL int64 `json:"access_token_ttl"`
		Playground     bool  `json:"playground"`
	} `json:"settings"`
	CreatedAt string `json:"created_at"`
}

// tenantEvent is the newest event of type typ in tenant.
func tenantEvent(t *testing.T, srv *servertest.Server, tenant, typ string) (actor, subject string) {
	t.Helper()
	evs, err := srv.DB.ListEvents(context.Background(), tenant, 0, typ, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatalf("no %s event in tenant %s", typ, tenant)
	}
	e := evs[len(evs)-1]
	return e.Actor, e.Subject
}

// operatorActor is the event actor of the bootstrap client acting on another tenant.
func operatorActor(t *testing.T, srv *servertest.Server) string {
	b, _ := srv.Bootstrap()
	return "client:" + b.Tenant + "/" + b.ClientID
}

func TestAPITenants(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			m := operator(t, srv)
			b, _ := srv.Bootstrap()

			created := m.ok(http.StatusCreated, "POST", "/tenants", map[string]any{"id": "acme", "name": "Acme",
				"settings": map[string]any{"access_token_ttl": 300}})
			var ten tenantResp
			created.json(t, &ten)
			if ten.ID != "acme" || ten.Name != "Acme" || ten.Settings.AccessTokenTTL != 300 || ten.CreatedAt == "" {
				t.Errorf("created tenant %s", created.body)
			}
			if loc := created.Header.Get("Location"); loc != admin.APIPrefix+"/tenants/acme" {
				t.Errorf("Location %q", loc)
			}
			if actor, _ := tenantEvent(t, srv, "acme", events.TypeTenantCreated); actor != operatorActor(t, srv) {
				t.Errorf("tenant.created actor %q, want the calling client %q", actor, operatorActor(t, srv))
			}

			t.Run("a taken id is a conflict", func(t *testing.T) {
				m.do("POST", "/tenants", map[string]any{"id": "acme"}).problem(t, http.StatusConflict)
			})
			t.Run("a malformed id is a field error", func(t *testing.T) {
				p := m.do("POST", "/tenants", map[string]any{"id": "Not A Tenant!"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "id" || p.Errors[0].Message == "" {
					t.Errorf("errors %+v, want one naming id", p.Errors)
				}
			})
			t.Run("an unknown field is a field error", func(t *testing.T) {
				p := m.do("POST", "/tenants", map[string]any{"id": "x1", "colour": "red"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "colour" {
					t.Errorf("errors %+v, want one naming colour", p.Errors)
				}
			})

			got := m.ok(http.StatusOK, "GET", "/tenants/acme", nil)
			etag := got.Header.Get("ETag")
			if etag == "" || etag != created.Header.Get("ETag") {
				t.Errorf("GET ETag %q, create ETag %q: want the same strong tag", etag, created.Header.Get("ETag"))
			}

			t.Run("a patch with the current ETag applies; a stale one is refused", func(t *testing.T) {
				r := m.ok(http.StatusOK, "PATCH", "/tenants/acme", map[string]any{"name": "Acme Corp", "settings": map[string]any{"playground": true}}, "If-Match", etag)
				var after tenantResp
				r.json(t, &after)
				if after.Name != "Acme Corp" || !after.Settings.Playground || after.Settings.AccessTokenTTL != 300 {
					t.Errorf("after the patch: %s", r.body)
				}
				if r.Header.Get("ETag") == etag {
					t.Error("the ETag did not change with the tenant")
				}
				m.do("PATCH", "/tenants/acme", map[string]any{"name": "Lost Update"}, "If-Match", etag).problem(t, http.StatusPreconditionFailed)
				var now tenantResp
				m.ok(http.StatusOK, "GET", "/tenants/acme", nil).json(t, &now)
				if now.Name != "Acme Corp" {
					t.Errorf("a stale write changed the name to %q", now.Name)
				}
			})
			t.Run("a negative lifetime is a field error", func(t *testing.T) {
				p := m.do("PATCH", "/tenants/acme", map[string]any{"settings": map[string]any{"access_token_ttl": -1}}).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "settings.access_token_ttl" {
					t.Errorf("errors %+v, want one naming settings.access_token_ttl", p.Errors)
				}
			})
			t.Run("the id is read-only", func(t *testing.T) {
				p := m.do("PATCH", "/tenants/acme", map[string]any{"id": "other"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "id" {
					t.Errorf("errors %+v", p.Errors)
				}
			})

			t.Run("the list pages through every tenant in id order", func(t *testing.T) {
				for _, id := range []string{"beta", "gamma"} {
					m.ok(http.StatusCreated, "POST", "/tenants", map[string]any{"id": id})
				}
				var ids []string
				cursor := ""
				for range 10 {
					r := m.ok(http.StatusOK, "GET", "/tenants?limit=2"+cursor, nil)
					var page struct {
						Data       []tenantResp `json:"data"`
						NextCursor *string      `json:"next_cursor"`
					}
					r.json(t, &page)
					for _, x := range page.Data {
						ids = append(ids, x.ID)
					}
					if page.NextCursor == nil {
						if strings.Contains(string(r.body), "next_cursor") {
							t.Errorf("the last page names next_cursor: %s", r.body)
						}
						break
					}
					cursor = "&cursor=" + *page.NextCursor
				}
				want := []string{"acme", "beta", b.Tenant, "gamma", srv.Tenant}
				slices.Sort(want)
				if !slices.Equal(ids, want) {
					t.Errorf("listed %v, want %v", ids, want)
				}
			})

			t.Run("the operator tenant cannot be deleted", func(t *testing.T) {
				m.do("DELETE", "/tenants/"+b.Tenant, nil).problem(t, http.StatusConflict)
			})
			t.Run("a delete with a stale ETag is refused, then one without applies", func(t *testing.T) {
				m.do("DELETE", "/tenants/gamma", nil, "If-Match", `"stale"`).problem(t, http.StatusPreconditionFailed)
				m.ok(http.StatusNoContent, "DELETE", "/tenants/gamma", nil)
				m.do("GET", "/tenants/gamma", nil).problem(t, http.StatusNotFound)
			})

			t.Run("clients of other tenants may not manage tenants, whatever their scopes", func(t *testing.T) {
				other := scopedCaller(t, m, srv.Tenant, "umm:tenants:read", "umm:tenants:write", admin.ScopeAdmin)
				other.do("GET", "/tenants", nil).problem(t, http.StatusForbidden)
				other.do("POST", "/tenants", map[string]any{"id": "sneaky"}).problem(t, http.StatusForbidden)
				other.do("GET", "/tenants/acme", nil).problem(t, http.StatusForbidden)
			})
		})
	}
}
