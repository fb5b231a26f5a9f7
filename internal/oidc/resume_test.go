package oidc

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestResume(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		resumeURL := func(id string) string { return "/t/" + f.tenant.ID + "/authorize/resume?lr=" + url.QueryEscape(id) }

		// start runs authorize in a new browser, signs alice in and returns the browser, the login request
		// id and the session.
		start := func(t *testing.T, params url.Values) (*browser, string, store.Session) {
			b := f.browser()
			id := f.loginRequestID(t, b.get(f.authorizeURL(params)))
			return b, id, b.signIn(f.alice)
		}

		t.Run("an authenticated request gets one code, then is used up", func(t *testing.T) {
			b, id, sess := start(t, codeParams())
			f.complete(t, id, sess, "openid", "profile") // the user granted less than asked
			before := time.Now()
			c := f.code(t, b.get(resumeURL(id)), "https://app.example.com/cb", "xyz-state")
			if !slices.Equal(c.Scopes, []string{"openid", "profile"}) {
				t.Errorf("code scopes %v, want the granted ones", c.Scopes)
			}
			if c.UserID != f.alice.ID || c.SessionID != sess.ID || c.Nonce != "n-0S6_WzA2Mj" || c.CodeChallenge != testChallenge ||
				c.RedirectURI != "https://app.example.com/cb" || c.ClientID != "web" || !c.RedeemedAt.IsZero() ||
				!c.AuthTime.Equal(sess.AuthTime) || !slices.Equal(c.AMR, sess.AMR) || c.ACR != sess.ACR {
				t.Errorf("stored code %+v", c)
			}
			if ttl := f.tenant.Settings.CodeTTLD(); c.ExpiresAt.Before(before.Add(ttl-2*time.Second)) ||
				c.ExpiresAt.After(before.Add(ttl+2*time.Second)) {
				t.Errorf("code expires at %v, want about %v from now", c.ExpiresAt, ttl)
			}
			lr, _ := db.GetLoginRequest(ctx, f.tenant.ID, id)
			if lr.Status != store.LoginDone {
				t.Errorf("login request status %s, want done", lr.Status)
			}
			evs, err := db.ListEvents(ctx, f.tenant.ID, 0, events.TypeCodeIssued, 100)
			if err != nil || !slices.ContainsFunc(evs, func(e store.Event) bool { return e.Subject == c.GrantID }) {
				t.Errorf("no code.issued event for grant %s: %v %v", c.GrantID, evs, err)
			}
			clients, _ := f.sessions.Clients(ctx, f.tenant.ID, sess.ID)
			if !slices.Contains(clients, "web") {
				t.Errorf("session clients %v", clients)
			}

			w := b.get(resumeURL(id))
			if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" || !strings.Contains(w.Body.String(), "already used") {
				t.Errorf("second resume: status %d Location %q body %.200s; want an \"already used\" page", w.Code,
					w.Header().Get("Location"), w.Body.String())
			}
		})

		t.Run("another browser is refused", func(t *testing.T) {
			_, id, sess := start(t, codeParams())
			f.complete(t, id, sess)
			other := f.browser()
			other.signIn(f.alice)
			w := other.get(resumeURL(id))
			if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
				t.Errorf("status %d Location %q; want a 400 page", w.Code, w.Header().Get("Location"))
			}
			if lr, _ := db.GetLoginRequest(ctx, f.tenant.ID, id); lr.Status != store.LoginAuthenticated {
				t.Errorf("the refused attempt consumed the request: %s", lr.Status)
			}
		})

		t.Run("a browser without the binding cookie is refused", func(t *testing.T) {
			b, id, sess := start(t, codeParams())
			f.complete(t, id, sess)
			r := b.request(http.MethodGet, resumeURL(id), nil)
			r.Header.Del("Cookie")
			if w := b.serve(r); w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
				t.Errorf("status %d; want a 400 page", w.Code)
			}
		})

		t.Run("an expired request is refused", func(t *testing.T) {
			b, id, sess := start(t, codeParams())
			f.complete(t, id, sess)
			f.skew.Store(int64(f.tenant.Settings.LoginRequestTTLD() + time.Minute))
			defer f.skew.Store(0)
			w := b.get(resumeURL(id))
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "expired") {
				t.Errorf("status %d; want an expiry page", w.Code)
			}
		})

		t.Run("a denied request answers access_denied", func(t *testing.T) {
			b, id, _ := start(t, codeParams())
			if err := db.SetLoginRequestStatus(ctx, f.tenant.ID, id, store.LoginPending, store.LoginDenied); err != nil {
				t.Fatal(err)
			}
			w := b.get(resumeURL(id))
			q := location(t, w).Query()
			if q.Get("error") != "access_denied" || q.Get("state") != "xyz-state" || q.Get("iss") != f.p.issuer(f.tenant.ID) ||
				q.Get("code") != "" {
				t.Errorf("redirect %s", w.Header().Get("Location"))
			}
			if w := b.get(resumeURL(id)); w.Code != http.StatusBadRequest {
				t.Errorf("second resume of a denied request: status %d, want 400", w.Code)
			}
		})

		t.Run("a pending request goes back to the login page", func(t *testing.T) {
			b, id, _ := start(t, codeParams())
			if got := f.loginRequestID(t, b.get(resumeURL(id))); got != id {
				t.Errorf("lr %q, want %q", got, id)
			}
		})

		t.Run("an unknown request is refused", func(t *testing.T) {
			for _, target := range []string{resumeURL("nope"), "/t/" + f.tenant.ID + "/authorize/resume",
				resumeURL(strings.Repeat("x", 100)), resumeURL("a") + "&lr=b"} {
				if w := f.browser().get(target); w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
					t.Errorf("GET %s: status %d; want a 400 page", target, w.Code)
				}
			}
		})

		t.Run("a request of another tenant is not found", func(t *testing.T) {
			b, id, sess := start(t, codeParams())
			f.complete(t, id, sess)
			other := storetest.Tenant(t, db)
			if w := b.get("/t/" + other + "/authorize/resume?lr=" + id); w.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", w.Code)
			}
		})

		t.Run("a disabled user gets access_denied", func(t *testing.T) {
			erin := f.createUser("erin@example.com", "", "", false, nil)
			b := f.browser()
			id := f.loginRequestID(t, b.get(f.authorizeURL(codeParams())))
			f.complete(t, id, b.signIn(erin))
			if err := db.SetUserDisabled(ctx, f.tenant.ID, erin.ID, true, time.Now()); err != nil {
				t.Fatal(err)
			}
			if q := location(t, b.get(resumeURL(id))).Query(); q.Get("error") != "access_denied" || q.Get("code") != "" {
				t.Errorf("got %v", q)
			}
		})

		t.Run("a redirect URI removed from the client since is refused", func(t *testing.T) {
			b, id, sess := start(t, codeParams(set("client_id", "scoped"), set("redirect_uri", "https://scoped.example.com/cb"),
				set("scope", "openid")))
			f.complete(t, id, sess)
			c, _ := db.GetClient(ctx, f.tenant.ID, "scoped")
			c.RedirectURIs = []string{"https://scoped.example.com/new"}
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			if w := b.get(resumeURL(id)); w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
				t.Errorf("status %d Location %q; want a 400 page", w.Code, w.Header().Get("Location"))
			}
		})

		t.Run("a plain OAuth request resumes with its scopes", func(t *testing.T) {
			b, id, sess := start(t, codeParams(set("scope", "profile")))
			f.complete(t, id, sess)
			if c := f.code(t, b.get(resumeURL(id)), "https://app.example.com/cb", "xyz-state"); !slices.Equal(c.Scopes, []string{"profile"}) {
				t.Errorf("scopes %v", c.Scopes)
			}
		})
	})
}
