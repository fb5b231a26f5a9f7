package login

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestLogin(t *testing.T) {
	tests := []struct {
		name string
		opts []envOption
		run  func(t *testing.T, e *env)
	}{
		{"signing in with the right password starts a session and completes the request", nil, func(t *testing.T, e *env) {
			b := e.browser()
			lrID, loc := b.beginAuthorize("client_id=first&scope=openid+email")
			form := b.get(loc)
			wantStatus(t, form, http.StatusOK, "")
			wantBody(t, form, "Acme Corp", "Our Own Portal")
			before := e.clock.Now()
			pg := b.signIn(form, testEmail, testPassword)
			wantStatus(t, pg, http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
			lr := e.loginRequest(lrID)
			ss := e.liveSessions()
			if len(ss) != 1 {
				t.Fatalf("%d live sessions, want 1", len(ss))
			}
			if lr.Status != store.LoginAuthenticated || lr.UserID != e.user.ID || lr.SessionID != ss[0].ID {
				t.Errorf("request = %s user %q session %q, want authenticated %q %q", lr.Status, lr.UserID, lr.SessionID, e.user.ID, ss[0].ID)
			}
			if !slices.Equal(lr.AMR, []string{"pwd"}) || lr.ACR != "1" || !slices.Equal(lr.GrantedScopes, []string{"openid", "email"}) {
				t.Errorf("amr %v acr %q scopes %v, want [pwd] 1 [openid email]", lr.AMR, lr.ACR, lr.GrantedScopes)
			}
			if lr.AuthTime.Before(before.Truncate(time.Second)) || lr.AuthTime.After(e.clock.Now()) {
				t.Errorf("auth_time %v is not the time of this sign-in (%v)", lr.AuthTime, before)
			}
			if got := b.cookie("umm_session"); got == "" {
				t.Error("no session cookie after signing in")
			}
			evs := e.eventTypes()
			for _, want := range []string{events.TypeSessionStarted, events.TypeLoginSucceeded, events.TypeLoginRequestCompleted} {
				if !slices.Contains(evs, want) {
					t.Errorf("events %v lack %s", evs, want)
				}
			}
			if n := testutil.ToFloat64(e.metrics.Logins.WithLabelValues("success")); n != 1 {
				t.Errorf("umm_logins_total{result=success} = %v, want 1", n)
			}
		}},
		{"a wrong password gets the generic message and changes nothing", nil, func(t *testing.T, e *env) {
			b := e.browser()
			lrID, loc := b.beginAuthorize("client_id=first&scope=openid")
			pg := b.signIn(b.get(loc), testEmail, "not the password")
			wantStatus(t, pg, http.StatusUnprocessableEntity, "")
			wantBody(t, pg, "Email or password is incorrect", `role="alert"`, `aria-describedby="form-error"`,
				`value="`+testEmail+`"`)
			if lr := e.loginRequest(lrID); lr.Status != store.LoginPending {
				t.Errorf("request status %s, want pending", lr.Status)
			}
			if len(e.liveSessions()) != 0 || b.cookie("umm_session") != "" {
				t.Error("a session exists after a failed sign-in")
			}
			if n := testutil.ToFloat64(e.metrics.Logins.WithLabelValues("failure")); n != 1 {
				t.Errorf("umm_logins_total{result=failure} = %v, want 1", n)
			}
		}},
		{"an unknown email gets exactly the same page as a wrong password", nil, func(t *testing.T, e *env) {
			b := e.browser()
			_, loc := b.beginAuthorize("client_id=first&scope=openid")
			wrong := b.signIn(b.get(loc), testEmail, "not the password")
			unknown := b.signIn(b.get(loc), "nobody@example.com", "not the password")
			if wrong.Status != unknown.Status {
				t.Errorf("status %d for a wrong password but %d for an unknown email", wrong.Status, unknown.Status)
			}
			norm := func(pg *page, email string) string {
				s := regexp.MustCompile(`name="csrf_token" value="[^"]*"`).ReplaceAllString(pg.Body, "")
				return strings.ReplaceAll(s, email, "EMAIL")
			}
			if a, b := norm(wrong, testEmail), norm(unknown, "nobody@example.com"); a != b {
				t.Errorf("pages differ:\nwrong password:\n%s\nunknown email:\n%s", a, b)
			}
		}},
		{"a sign-in without a CSRF token is refused and changes nothing", nil, func(t *testing.T, e *env) {
			b := e.browser()
			lrID, loc := b.beginAuthorize("client_id=first&scope=openid")
			b.get(loc)
			evs := len(e.eventTypes())
			for _, token := range []string{"", "forged"} {
				form := url.Values{"email": {testEmail}, "password": {testPassword}}
				if token != "" {
					form.Set("csrf_token", token)
				}
				pg := b.post(loc, form)
				wantStatus(t, pg, http.StatusForbidden, "")
				wantBody(t, pg, "Nothing was changed")
			}
			if lr := e.loginRequest(lrID); lr.Status != store.LoginPending {
				t.Errorf("request status %s, want pending", lr.Status)
			}
			if len(e.liveSessions()) != 0 || b.cookie("umm_session") != "" {
				t.Error("a session was started without a CSRF token")
			}
			if n := len(e.eventTypes()); n != evs {
				t.Errorf("%d events appended by refused posts", n-evs)
			}
		}},
		{"a CSRF token from another browser is refused", nil, func(t *testing.T, e *env) {
			other := e.browser()
			f := other.get(e.path("/login")).formWith(t, "csrf_token", "")
			b := e.browser()
			b.get(e.path("/login"))
			pg := b.submit(f, url.Values{"email": {testEmail}, "password": {testPassword}})
			wantStatus(t, pg, http.StatusForbidden, "")
			if len(e.liveSessions()) != 0 {
				t.Error("a session was started with another browser's token")
			}
		}},
		{"signing in rotates the session cookie and ends the browser's old session", nil, func(t *testing.T, e *env) {
			b := e.browser()
			b.setCookie("umm_session", "planted-by-an-attacker-0123456789abcdefghijk")
			form := b.get(e.path("/login"))
			wantStatus(t, b.signIn(form, testEmail, testPassword), http.StatusSeeOther, e.path("/account"))
			first := b.cookie("umm_session")
			if first == "" || strings.HasPrefix(first, "planted") {
				t.Fatalf("session cookie %q after sign-in: not a fresh one", first)
			}
			firstSID := e.liveSessions()[0].ID
			wantStatus(t, b.signIn(form, testEmail, testPassword), http.StatusSeeOther, e.path("/account"))
			second := b.cookie("umm_session")
			if second == "" || second == first {
				t.Fatalf("session cookie not rotated at a second sign-in: %q then %q", first, second)
			}
			ss := e.liveSessions()
			if len(ss) != 1 || ss[0].ID == firstSID {
				t.Errorf("live sessions %v: the first session should have ended", ss)
			}
			old := e.browser()
			old.setCookie("umm_session", first)
			wantStatus(t, old.get(e.path("/account")), http.StatusSeeOther, e.path("/login"))
		}},
		{"a valid session skips the form and reuses the session's auth_time", nil, func(t *testing.T, e *env) {
			b := e.browser()
			b.signInDirect()
			sess := e.liveSessions()[0]
			e.clock.Advance(2 * time.Minute)
			lrID, loc := b.beginAuthorize("client_id=first&scope=openid")
			wantStatus(t, b.get(loc), http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
			lr := e.loginRequest(lrID)
			if lr.Status != store.LoginAuthenticated || lr.SessionID != sess.ID || !lr.AuthTime.Equal(sess.AuthTime) ||
				!slices.Equal(lr.AMR, sess.AMR) {
				t.Errorf("request %+v does not reuse session %+v", lr, sess)
			}
		}},
		{"prompt=login shows the form even with a valid session", nil, func(t *testing.T, e *env) {
			b := e.browser()
			b.signInDirect()
			e.clock.Advance(2 * time.Minute)
			lrID, loc := b.beginAuthorize("client_id=first&scope=openid&require_login=1")
			form := b.get(loc)
			wantStatus(t, form, http.StatusOK, "")
			wantStatus(t, b.signIn(form, testEmail, testPassword), http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
			if lr := e.loginRequest(lrID); !lr.AuthTime.Equal(e.clock.Now().Truncate(time.Second)) {
				t.Errorf("auth_time %v, want the new sign-in's %v", lr.AuthTime, e.clock.Now())
			}
		}},
		{"a session that grew older than max_age while the request waited shows the form", nil, func(t *testing.T, e *env) {
			b := e.browser()
			lrID, loc := b.beginAuthorize("client_id=first&scope=openid&max_age=60")
			b.signInDirect() // in another tab, after the request began: oidc saw no session to mark
			e.clock.Advance(2 * time.Minute)
			form := b.get(loc)
			wantStatus(t, form, http.StatusOK, "")
			wantStatus(t, b.signIn(form, testEmail, testPassword), http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
			if lr := e.loginRequest(lrID); !lr.AuthTime.Equal(e.clock.Now().Truncate(time.Second)) {
				t.Errorf("auth_time %v, want the new sign-in's %v", lr.AuthTime, e.clock.Now())
			}
		}},
		{"a session within max_age is reused", nil, func(t *testing.T, e *env) {
			b := e.browser()
			b.signInDirect()
			lrID, loc := b.beginAuthorize("client_id=first&scope=openid&max_age=600")
			e.clock.Advance(2 * time.Minute)
			wantStatus(t, b.get(loc), http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
		}},
		{"the login hint prefills the email", nil, func(t *testing.T, e *env) {
			b := e.browser()
			_, loc := b.beginAuthorize("client_id=first&scope=openid&login_hint=" + url.QueryEscape(testEmail))
			wantBody(t, b.get(loc), `value="`+testEmail+`"`)
		}},
		{"empty fields get messages tied to them", nil, func(t *testing.T, e *env) {
			b := e.browser()
			pg := b.submit(b.get(e.path("/login")).formWith(t, "csrf_token", ""), url.Values{})
			wantStatus(t, pg, http.StatusUnprocessableEntity, "")
			wantBody(t, pg, `aria-describedby="email-error"`, `id="email-error">Enter your email address.`,
				`aria-describedby="password-error"`, `id="password-error">Enter your password.`, `role="alert"`)
		}},
		{"a malformed email is explained on its field", nil, func(t *testing.T, e *env) {
			b := e.browser()
			pg := b.signIn(b.get(e.path("/login")), "ada-at-example", testPassword)
			wantStatus(t, pg, http.StatusUnprocessableEntity, "")
			wantBody(t, pg, `id="email-error">Enter an email address in the correct format`, `value="ada-at-example"`)
		}},
		{"a request started in another browser is refused with a way to start again", nil, func(t *testing.T, e *env) {
			_, loc := e.browser().beginAuthorize("client_id=first&scope=openid")
			pg := e.browser().get(loc)
			wantStatus(t, pg, http.StatusBadRequest, "")
			wantBody(t, pg, "started in another browser", `href="`+e.path("/login")+`"`)
		}},
		{"an expired request says so", nil, func(t *testing.T, e *env) {
			b := e.browser()
			_, loc := b.beginAuthorize("client_id=first&scope=openid&ttl=1m")
			e.clock.Advance(2 * time.Minute)
			pg := b.get(loc)
			wantStatus(t, pg, http.StatusBadRequest, "")
			wantBody(t, pg, "This sign-in has expired")
		}},
		{"an unknown request says so", nil, func(t *testing.T, e *env) {
			pg := e.browser().get(e.path("/login?lr=nosuchrequest"))
			wantStatus(t, pg, http.StatusBadRequest, "")
			wantBody(t, pg, "unknown or has expired")
		}},
		{"a completed request goes on to resume instead of signing in again", nil, func(t *testing.T, e *env) {
			b := e.browser()
			lrID, loc := b.beginAuthorize("client_id=first&scope=openid")
			form := b.get(loc)
			b.signIn(form, testEmail, testPassword)
			wantStatus(t, b.signIn(form, testEmail, testPassword), http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
			if n := len(e.liveSessions()); n != 1 {
				t.Errorf("%d sessions after a second submit, want 1", n)
			}
		}},
		{"a direct sign-in ends at the account page", nil, func(t *testing.T, e *env) {
			b := e.browser()
			b.signInDirect()
			wantStatus(t, b.get(e.path("/login")), http.StatusSeeOther, e.path("/account"))
		}},
		{"every failed sign-in reads the same, locked out, unknown or wrong", []envOption{withLockout(2)}, func(t *testing.T, e *env) {
			b := e.browser()
			form := b.get(e.path("/login"))
			// What differs legitimately: the address typed is echoed, and every form has a new CSRF token.
			normal := func(pg *page, email string) string {
				body := strings.ReplaceAll(pg.Body, email, "EMAIL")
				return regexp.MustCompile(`name="csrf_token" value="[^"]*"`).ReplaceAllString(body, "CSRF")
			}
			wrong := b.signIn(form, testEmail, "wrong password")
			answers := map[string]*page{"an unknown address": b.signIn(form, "nobody@example.com", "wrong password")}
			_ = b.signIn(form, testEmail, "wrong password") // the second failure locks this IP out of the account
			_ = b.signIn(form, "nobody@example.com", "wrong password")
			answers["the right password while locked out"] = b.signIn(form, testEmail, testPassword)
			answers["an unknown address while locked out"] = b.signIn(form, "nobody@example.com", testPassword)
			for what, pg := range answers {
				email := testEmail
				if strings.Contains(what, "unknown") {
					email = "nobody@example.com"
				}
				if pg.Status != wrong.Status || pg.Header.Get("Retry-After") != "" {
					t.Errorf("%s: status %d Retry-After %q; a wrong password answers %d without Retry-After",
						what, pg.Status, pg.Header.Get("Retry-After"), wrong.Status)
				}
				if normal(pg, email) != normal(wrong, testEmail) {
					t.Errorf("%s reads differently from a wrong password:\n%s", what, pg.Body)
				}
			}
			wantStatus(t, wrong, http.StatusUnprocessableEntity, "")
			wantBody(t, wrong, "Email or password is incorrect, or too many attempts were made.")
			if len(e.liveSessions()) != 0 {
				t.Error("signed in while locked out")
			}
			if got := testutil.ToFloat64(e.metrics.Logins.WithLabelValues("throttled")); got < 2 {
				t.Errorf("throttled sign-ins counted %v, want the two locked-out ones at least", got)
			}
		}},
		{"a browser that signed in before keeps its own budget while its IP is locked out", []envOption{withLockout(2)}, func(t *testing.T, e *env) {
			owner := e.browser()
			owner.signInDirect()
			if owner.cookie(DeviceCookieName) == "" {
				t.Fatal("no umm_device cookie after a sign-in")
			}
			attacker := e.browser()
			form := attacker.get(e.path("/login"))
			for range 2 {
				attacker.signIn(form, testEmail, "guess")
			}
			wantStatus(t, attacker.signIn(form, testEmail, testPassword), http.StatusUnprocessableEntity, "")
			owner.setCookie("umm_session", "signed-out") // the session is gone; the device cookie stays
			wantStatus(t, owner.signIn(owner.get(e.path("/login")), testEmail, testPassword),
				http.StatusSeeOther, e.path("/account"))
			t.Run("a forged device cookie is no device", func(t *testing.T) {
				forger := e.browser()
				id, _, _ := strings.Cut(owner.cookie(DeviceCookieName), ".")
				forger.setCookie(DeviceCookieName, id+".forged")
				wantStatus(t, forger.signIn(forger.get(e.path("/login")), testEmail, testPassword), http.StatusUnprocessableEntity, "")
			})
			t.Run("the device is remembered once, with device.remembered", func(t *testing.T) {
				n := 0
				for _, typ := range e.eventTypes() {
					if typ == events.TypeDeviceRemembered {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d device.remembered events, want 1: %v", n, e.eventTypes())
				}
			})
		}},
		{"the sign-in page allows the form to end at the client", nil, func(t *testing.T, e *env) {
			b := e.browser()
			_, loc := b.beginAuthorize("client_id=first&scope=openid")
			if csp := b.get(loc).Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example") {
				t.Errorf("CSP %q does not allow the redirect to the client", csp)
			}
		}},
		{"the sign-in form has the standard autocomplete attributes and labels", nil, func(t *testing.T, e *env) {
			pg := e.browser().get(e.path("/login"))
			wantBody(t, pg, `<label for="email">`, `<input id="email" name="email" type="email" autocomplete="username"`,
				`<label for="password">`, `<input id="password" name="password" type="password" autocomplete="current-password"`,
				`<button type="submit"`, `<html lang="en">`, `name="csrf_token"`)
		}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.run(t, newEnv(t, db, tt.opts...))
			})
		}
	})
}
