package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

type consentResp struct {
	UserID   string   `json:"user_id"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
}

func TestAPIConsents(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			m := operator(t, srv)
			ctx := context.Background()
			var other struct {
				ID string `json:"id"`
			}
			m.ok(http.StatusCreated, "POST", "/tenants/"+srv.Tenant+"/users", map[string]any{"email": "zed@example.com"}).json(t, &other)
			for _, g := range []struct{ user, client string }{
				{srv.User.ID, servertest.ConfidentialClientID}, {srv.User.ID, servertest.PublicClientID}, {other.ID, servertest.ConfidentialClientID},
			} {
				err := srv.DB.InTx(ctx, func(tx *store.Tx) error {
					return srv.Identity.GrantConsent(ctx, tx, srv.Tenant, g.user, g.client, []string{"openid", "email"})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			base := "/tenants/" + srv.Tenant + "/consents"
			list := func(query string) []consentResp {
				var page struct {
					Data []consentResp `json:"data"`
				}
				m.ok(http.StatusOK, "GET", base+query, nil).json(t, &page)
				return page.Data
			}

			t.Run("a user's consents", func(t *testing.T) {
				cs := list("?user_id=" + srv.User.ID)
				// ordered by client id; scopes as stored (sorted)
				if len(cs) != 2 || cs[0].ClientID != servertest.PublicClientID || cs[1].ClientID != servertest.ConfidentialClientID ||
					strings.Join(cs[0].Scopes, " ") != "email openid" {
					t.Errorf("consents of the user: %+v", cs)
				}
			})
			t.Run("a client's consents", func(t *testing.T) {
				cs := list("?client_id=" + servertest.ConfidentialClientID)
				if len(cs) != 2 {
					t.Errorf("consents for web: %+v", cs)
				}
				for _, c := range cs {
					if c.ClientID != servertest.ConfidentialClientID {
						t.Errorf("client filter answered %+v", c)
					}
				}
			})
			t.Run("every consent, a page at a time", func(t *testing.T) {
				type page struct {
					Data       []consentResp `json:"data"`
					NextCursor string        `json:"next_cursor"`
				}
				var p1, p2 page
				m.ok(http.StatusOK, "GET", base+"?limit=2", nil).json(t, &p1)
				if len(p1.Data) != 2 || p1.NextCursor == "" {
					t.Fatalf("first page: %+v", p1)
				}
				r := m.ok(http.StatusOK, "GET", base+"?limit=2&cursor="+p1.NextCursor, nil)
				r.json(t, &p2)
				if len(p2.Data) != 1 || p2.NextCursor != "" || strings.Contains(string(r.body), "next_cursor") {
					t.Fatalf("second page: %s", r.body)
				}
				for _, c := range p1.Data {
					if c.UserID == p2.Data[0].UserID && c.ClientID == p2.Data[0].ClientID {
						t.Errorf("%+v is on both pages", c)
					}
				}
			})
			t.Run("a revoked consent is gone, with its event naming the calling client", func(t *testing.T) {
				m.ok(http.StatusNoContent, "DELETE", base+"/"+srv.User.ID+"/"+servertest.ConfidentialClientID, nil)
				if cs := list("?user_id=" + srv.User.ID); len(cs) != 1 || cs[0].ClientID != servertest.PublicClientID {
					t.Errorf("after the revocation: %+v", cs)
				}
				if actor, subject := tenantEvent(t, srv, srv.Tenant, events.TypeConsentRevoked); actor != operatorActor(t, srv) || subject != srv.User.ID {
					t.Errorf("consent.revoked by %q of %q", actor, subject)
				}
				m.do("DELETE", base+"/"+srv.User.ID+"/"+servertest.ConfidentialClientID, nil).problem(t, http.StatusNotFound)
			})
			t.Run("revoking needs the consents write scope", func(t *testing.T) {
				ro := scopedCaller(t, m, srv.Tenant, "umm:consents:read")
				ro.ok(http.StatusOK, "GET", base, nil)
				ro.do("DELETE", base+"/"+other.ID+"/"+servertest.ConfidentialClientID, nil).problem(t, http.StatusForbidden)
			})
		})
	}
}
