package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/federation/ldaptest"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

type connectionResp struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	DisplayName     string `json:"display_name"`
	Timeout         string `json:"timeout"`
	Position        int    `json:"position"`
	ClientSecretSet bool   `json:"client_secret_set"`
	BindPasswordSet bool   `json:"bind_password_set"`
}

func TestAPIConnections(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			m := operator(t, srv)
			base := "/tenants/" + srv.Tenant + "/connections"
			const upstreamSecret = "upstream-secret-4f9a2c"
			noSecret := func(r apiResp) {
				t.Helper()
				if strings.Contains(string(r.body), upstreamSecret) || strings.Contains(string(r.body), "service-pass") {
					t.Errorf("%s %s answers a connection secret: %s", r.Request.Method, r.Request.URL.Path, r.body)
				}
			}

			r := m.ok(http.StatusCreated, "POST", base, map[string]any{"id": "corp", "type": "oidc", "display_name": "Corp",
				"issuer": "https://idp.corp.example", "client_id": "umm", "client_secret": upstreamSecret, "domains": []string{"corp.example"}})
			noSecret(r)
			var c connectionResp
			r.json(t, &c)
			if c.ID != "corp" || !c.ClientSecretSet || r.Header.Get("Location") == "" {
				t.Errorf("created connection %s", r.body)
			}
			if actor, _ := tenantEvent(t, srv, srv.Tenant, events.TypeConnectionUpserted); actor != operatorActor(t, srv) {
				t.Errorf("connection.upserted by %q, want the calling client", actor)
			}

			t.Run("a POST of an existing id replaces it and keeps the secret it leaves out", func(t *testing.T) {
				r := m.ok(http.StatusOK, "POST", base, map[string]any{"id": "corp", "type": "oidc", "display_name": "Corp SSO",
					"issuer": "https://idp.corp.example", "client_id": "umm"})
				noSecret(r)
				var c connectionResp
				r.json(t, &c)
				if c.DisplayName != "Corp SSO" || !c.ClientSecretSet {
					t.Errorf("replaced connection %s", r.body)
				}
			})
			t.Run("the list and the get show no secret", func(t *testing.T) {
				noSecret(m.ok(http.StatusOK, "GET", base, nil))
				noSecret(m.ok(http.StatusOK, "GET", base+"/corp", nil))
			})
			t.Run("a patch with the current ETag applies; a stale one is refused", func(t *testing.T) {
				etag := m.ok(http.StatusOK, "GET", base+"/corp", nil).Header.Get("ETag")
				r := m.ok(http.StatusOK, "PATCH", base+"/corp", map[string]any{"display_name": "Corp Login", "position": 2}, "If-Match", etag)
				var c connectionResp
				r.json(t, &c)
				if c.DisplayName != "Corp Login" || c.Position != 2 || !c.ClientSecretSet {
					t.Errorf("patched connection %s", r.body)
				}
				m.do("PATCH", base+"/corp", map[string]any{"display_name": "Lost"}, "If-Match", etag).problem(t, http.StatusPreconditionFailed)
				p := m.do("PATCH", base+"/corp", map[string]any{"type": "saml"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "type" {
					t.Errorf("errors %+v, want type read-only", p.Errors)
				}
			})
			t.Run("missing settings are field errors", func(t *testing.T) {
				p := m.do("POST", base, map[string]any{"id": "half", "type": "oidc"}).problem(t, http.StatusBadRequest)
				fields := map[string]bool{}
				for _, e := range p.Errors {
					fields[e.Field] = true
				}
				if !fields["issuer"] || !fields["client_id"] {
					t.Errorf("errors %+v, want issuer and client_id", p.Errors)
				}
				p = m.do("POST", base, map[string]any{"id": "slow", "type": "ldap", "timeout": "soon"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "timeout" {
					t.Errorf("errors %+v, want timeout", p.Errors)
				}
			})

			t.Run("a directory connection syncs its users", func(t *testing.T) {
				const annDN = "uid=ann,ou=people,dc=corp,dc=example"
				dir := ldaptest.Start(t,
					ldaptest.NewEntry("cn=umm,dc=corp,dc=example", "objectClass", "person", "cn", "umm", "userPassword", "service-pass"),
					ldaptest.NewEntry(annDN, "objectClass", "person", "uid", "ann", "mail", "ann@dir.example", "userPassword", "ann-pass"))
				r := m.ok(http.StatusCreated, "POST", base, map[string]any{"id": "dir", "type": "ldap", "url": dir.URL(),
					"bind_dn": "cn=umm,dc=corp,dc=example", "bind_password": "service-pass", "base_dn": "ou=people,dc=corp,dc=example",
					"user_filter": "(mail={login})", "timeout": "2s"})
				noSecret(r)
				var c connectionResp
				r.json(t, &c)
				if !c.BindPasswordSet || c.Timeout != "2s" {
					t.Errorf("directory connection %s", r.body)
				}
				ctx := context.Background()
				tn, err := srv.DB.GetTenant(ctx, srv.Tenant)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := srv.Identity.ProvisionFederated(ctx, tn, identity.Upstream{Connection: "dir", Subject: annDN,
					Email: "ann@dir.example", EmailVerified: true}); err != nil {
					t.Fatal(err)
				}
				var rep struct{ Read, Updated, Disabled int }
				m.ok(http.StatusOK, "POST", base+"/dir/sync", nil).json(t, &rep)
				if rep.Read != 1 || rep.Updated != 1 || rep.Disabled != 0 {
					t.Errorf("first sync: %+v", rep)
				}
				dir.Remove(annDN)
				m.ok(http.StatusOK, "POST", base+"/dir/sync", map[string]any{"force": false}).json(t, &rep)
				if rep.Disabled != 1 {
					t.Errorf("sync after ann left: %+v", rep)
				}
				if actor, _ := tenantEvent(t, srv, srv.Tenant, events.TypeDirectorySynced); actor != operatorActor(t, srv) {
					t.Errorf("connection.synced by %q, want the calling client", actor)
				}
				m.do("POST", base+"/nowhere/sync", nil).problem(t, http.StatusNotFound)
			})

			t.Run("a deleted connection is gone", func(t *testing.T) {
				ro := scopedCaller(t, m, srv.Tenant, "umm:connections:read")
				ro.do("DELETE", base+"/corp", nil).problem(t, http.StatusForbidden)
				m.ok(http.StatusNoContent, "DELETE", base+"/corp", nil)
				m.do("GET", base+"/corp", nil).problem(t, http.StatusNotFound)
				m.do("DELETE", base+"/corp", nil).problem(t, http.StatusNotFound)
			})
		})
	}
}
