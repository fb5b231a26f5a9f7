package login

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestReauth: requireRecent lets a session signed in within five minutes through and sends an older one
// to the re-authentication page, whose right password moves the session's auth_time on and goes back to
// next (a path of the account pages only); a wrong one is refused beside the field.
func TestReauth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		b := e.browser()
		b.signInDirect()
		s := e.liveSessions()[0]
		p := &Pages{now: e.clock.Now}
		rec := func() (bool, string) {
			w := httptest.NewRecorder()
			ok := p.requireRecent(w, nil, e.tenant, s, e.path("/account/signin"))
			return ok, w.Header().Get("Location")
		}
		if ok, _ := rec(); !ok {
			t.Fatal("a session that signed in just now is not recent")
		}
		e.clock.Advance(6 * time.Minute)
		ok, loc := rec()
		if ok || loc != e.path("/account/reauth?next="+url.QueryEscape(e.path("/account/signin"))) {
			t.Fatalf("a six-minute-old session: ok %v, location %q", ok, loc)
		}

		pg := b.get(loc)
		wantStatus(t, pg, http.StatusOK, "")
		wantBody(t, pg, `autocomplete="current-password"`)
		f := pg.formWith(t, "csrf_token", "")
		wrong := b.submit(f, url.Values{"password": {"not the password"}})
		wantStatus(t, wrong, http.StatusUnprocessableEntity, "")
		wantBody(t, wrong, `aria-invalid="true"`)
		right := b.submit(f, url.Values{"password": {testPassword}})
		wantStatus(t, right, http.StatusSeeOther, e.path("/account/signin"))
		after, err := db.GetSession(context.Background(), e.tenant.ID, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !after.AuthTime.After(s.AuthTime) {
			t.Errorf("auth_time %v did not move on from %v", after.AuthTime, s.AuthTime)
		}

		// next is a path of the account pages, never another site.
		away := pg.formWith(t, "csrf_token", "")
		away.Action = e.path("/account/reauth?next=" + url.QueryEscape("https://evil.example/"))
		wantStatus(t, b.submit(away, url.Values{"password": {testPassword}}), http.StatusSeeOther, e.path("/account"))
	})
}
