package login

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestAccountSignOutNotifiesClients: signing out on the account page tells the clients of the ended
// sessions, by front-channel iframes for this browser's session and by back-channel messages for every one.
func TestAccountSignOutNotifiesClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, tt := range []struct {
			name  string
			field string // the form that signs out
			value string
		}{
			{"signing out here", "", ""},
			{"signing out everywhere", "all", "1"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, db)
				c := store.Client{TenantID: e.tenant.ID, ClientID: "slo", Name: "SLO", RedirectURIs: []string{redirectURI},
					TokenEndpointAuthMethod: "none", FrontchannelLogoutURI: "https://slo.example.com/fc",
					BackchannelLogoutURI: "https://slo.example.com/bc"}
				if err := db.UpsertClient(ctx, c); err != nil {
					t.Fatal(err)
				}
				other := e.browser()
				other.signInDirect()
				otherSID := e.liveSessions()[0].ID
				a := e.browser()
				a.signInDirect()
				var here string
				for _, s := range e.liveSessions() {
					if err := e.sessions.AddClient(ctx, e.tenant.ID, s.ID, "slo"); err != nil {
						t.Fatal(err)
					}
					if s.ID != otherSID {
						here = s.ID
					}
				}
				pg := a.get(e.path("/account/sessions"))
				var f form
				for _, fm := range pg.forms() {
					if tt.field == "" && strings.HasSuffix(fm.Action, "/account/logout") {
						f = fm
					}
					if tt.field != "" && fm.Fields.Get(tt.field) == tt.value {
						f = fm
					}
				}
				res := a.submit(f, nil)
				wantStatus(t, res, http.StatusOK, "")
				want := `src="https://slo.example.com/fc?` + url.Values{"iss": {"http://umm.test/t/" + e.tenant.ID}, "sid": {here}}.Encode() + `"`
				if body := html.UnescapeString(res.Body); !strings.Contains(body, want) || !strings.Contains(body, "You have signed out") {
					t.Errorf("the signed-out page lacks %s:\n%s", want, body)
				}
				if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src https://slo.example.com/fc") {
					t.Errorf("CSP %q does not allow the iframe", csp)
				}
				ms, err := db.ListOutbox(ctx, e.tenant.ID)
				if err != nil {
					t.Fatal(err)
				}
				wantMsgs := 1
				if tt.field == "all" {
					wantMsgs = 2
				}
				sids := map[string]bool{}
				var bc []store.OutboxMessage
				for _, m := range ms {
					if m.Kind == events.KindEmail {
						continue // the New sign-in notice of the second browser
					}
					bc = append(bc, m)
					var p events.BackchannelLogout
					if err := json.Unmarshal(m.Payload, &p); err != nil || m.Kind != events.KindBackchannelLogout || p.ClientID != "slo" {
						t.Errorf("outbox message %+v", m)
					}
					sids[p.SessionID] = true
				}
				if len(bc) != wantMsgs || !sids[here] {
					t.Errorf("outbox %+v, want %d back-channel messages including this session %s", ms, wantMsgs, here)
				}
			})
		}
	})
}
