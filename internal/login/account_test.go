package login

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestAccount(t *testing.T) {
	// account opens a section of the account console of a signed-in browser.
	account := func(t *testing.T, b *browser, section string) *page {
		t.Helper()
		pg := b.get(b.e.path("/account/" + section))
		wantStatus(t, pg, http.StatusOK, "")
		return pg
	}
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"without a session the account page sends the browser to sign in", func(t *testing.T, e *env) {
			wantStatus(t, e.browser().get(e.path("/account")), http.StatusSeeOther, e.path("/login"))
		}},
		{"the account page opens on the profile section of a signed-in browser", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			wantStatus(t, a.get(e.path("/account")), http.StatusSeeOther, e.path("/account/profile"))
		}},
		{"the sessions section shows who I am and lists my sessions, marking this one", func(t *testing.T, e *env) {
			a, b := e.browser(), e.browser()
			a.signInDirect()
			b.signInDirect()
			pg := account(t, a, "sessions")
			wantBody(t, pg, "Ada Lovelace", testEmail, "Firefox on Linux", "Acme Corp", "Sign out everywhere")
			if n := strings.Count(pg.Body, `name="sid"`); n != 2 {
				t.Errorf("%d sessions listed, want 2", n)
			}
			if n := strings.Count(pg.Body, "(this browser)"); n != 1 {
				t.Errorf("%d sessions marked as this browser, want 1", n)
			}
		}},
		{"ending another session signs that browser out only", func(t *testing.T, e *env) {
			a, b := e.browser(), e.browser()
			b.signInDirect()
			bSID := e.liveSessions()[0].ID
			a.signInDirect()
			res := a.submit(account(t, a, "sessions").formWith(t, "sid", bSID), nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/sessions?done=session_ended"))
			wantBody(t, a.get(res.Location), "The session was signed out.")
			wantStatus(t, b.get(e.path("/account")), http.StatusSeeOther, e.path("/login"))
			if ss := e.liveSessions(); len(ss) != 1 || ss[0].ID == bSID {
				t.Errorf("live sessions %v, want only this browser's", ss)
			}
		}},
		{"ending this browser's session signs out here", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			sid := e.liveSessions()[0].ID
			res := a.submit(account(t, a, "sessions").formWith(t, "sid", sid), nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/signed-out"))
			if len(e.liveSessions()) != 0 {
				t.Error("session still live")
			}
		}},
		{"ending a session of another user changes nothing", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			res := a.submit(account(t, a, "sessions").formWith(t, "sid", ""), url.Values{"sid": {"not-my-session"}})
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/sessions?error=session_unknown"))
			wantBody(t, a.get(res.Location), "That session had already ended.", `role="alert"`)
			if len(e.liveSessions()) != 1 {
				t.Error("this browser's session ended")
			}
		}},
		{"signing out everywhere ends every session", func(t *testing.T, e *env) {
			a, b := e.browser(), e.browser()
			a.signInDirect()
			b.signInDirect()
			res := a.submit(account(t, a, "sessions").formWith(t, "all", "1"), nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/signed-out"))
			wantBody(t, a.get(res.Location), "You have signed out")
			if n := len(e.liveSessions()); n != 0 {
				t.Errorf("%d sessions live after signing out everywhere", n)
			}
			for _, br := range []*browser{a, b} {
				wantStatus(t, br.get(e.path("/account")), http.StatusSeeOther, e.path("/login"))
			}
		}},
		{"the account page lists connected apps and revoking one removes its access", func(t *testing.T, e *env) {
			ctx := context.Background()
			err := e.db.InTx(ctx, func(tx *store.Tx) error {
				return e.ids.GrantConsent(ctx, tx, e.tenant.ID, e.user.ID, "third", []string{"openid", "email"})
			})
			if err != nil {
				t.Fatal(err)
			}
			a := e.browser()
			a.signInDirect()
			pg := account(t, a, "apps")
			wantBody(t, pg, "Photo Printer", "See your email address", "Remove access")
			res := a.submit(pg.formWith(t, "client_id", "third"), nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/apps?done=app_revoked"))
			wantBody(t, a.get(res.Location), "no longer has access", "No apps have access to your account.")
			if got, _ := e.ids.Consent(ctx, e.tenant.ID, e.user.ID, "third"); got != nil {
				t.Errorf("consent %v after revoking", got)
			}
			if evs := e.eventTypes(); !slices.Contains(evs, events.TypeConsentRevoked) {
				t.Errorf("events %v lack consent.revoked", evs)
			}
		}},
		{"revoking an app that has no access says so", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			f := account(t, a, "apps").formWith(t, "csrf_token", "")
			f.Action, f.Fields = e.path("/account/apps/revoke"), url.Values{"csrf_token": f.Fields["csrf_token"]}
			res := a.submit(f, url.Values{"client_id": {"third"}})
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/apps?error=app_unknown"))
		}},
		{"signing out ends this session and shows the signed-out page", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			pg := account(t, a, "profile")
			var logout form
			for _, f := range pg.forms() {
				if strings.HasSuffix(f.Action, "/account/logout") {
					logout = f
				}
			}
			res := a.submit(logout, nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/signed-out"))
			out := a.get(res.Location)
			wantStatus(t, out, http.StatusOK, "")
			wantBody(t, out, "You have signed out", `href="`+e.path("/login")+`"`)
			if len(e.liveSessions()) != 0 || a.cookie("umm_session") != "" {
				t.Error("still signed in after signing out")
			}
		}},
		{"account actions without a CSRF token are refused and change nothing", func(t *testing.T, e *env) {
			ctx := context.Background()
			_ = e.db.InTx(ctx, func(tx *store.Tx) error {
				return e.ids.GrantConsent(ctx, tx, e.tenant.ID, e.user.ID, "third", []string{"openid"})
			})
			a := e.browser()
			a.signInDirect()
			sid := e.liveSessions()[0].ID
			for _, post := range []struct {
				path string
				form url.Values
			}{
				{"/account/sessions/end", url.Values{"sid": {sid}}},
				{"/account/sessions/end", url.Values{"all": {"1"}}},
				{"/account/apps/revoke", url.Values{"client_id": {"third"}}},
				{"/account/logout", url.Values{}},
			} {
				wantStatus(t, a.post(e.path(post.path), post.form), http.StatusForbidden, "")
			}
			if len(e.liveSessions()) != 1 {
				t.Error("a session ended without a CSRF token")
			}
			if got, _ := e.ids.Consent(ctx, e.tenant.ID, e.user.ID, "third"); got == nil {
				t.Error("consent revoked without a CSRF token")
			}
		}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.run(t, newEnv(t, db))
			})
		}
	})
}
