package login

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestConsent(t *testing.T) {
	// signInToConsent begins a request of the third-party client, signs in and returns the consent page.
	signInToConsent := func(t *testing.T, e *env, b *browser, query string) (string, *page) {
		t.Helper()
		lrID, loc := b.beginAuthorize(query)
		wantStatus(t, b.signIn(b.get(loc), testEmail, testPassword), http.StatusSeeOther, e.path("/consent?lr="+lrID))
		pg := b.get(e.path("/consent?lr=" + lrID))
		wantStatus(t, pg, http.StatusOK, "")
		return lrID, pg
	}
	consent := func(t *testing.T, e *env) []string {
		t.Helper()
		got, err := e.ids.Consent(context.Background(), e.tenant.ID, e.user.ID, "third")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"a third-party client asks for consent, and allow stores it and completes the request", func(t *testing.T, e *env) {
			b := e.browser()
			lrID, pg := signInToConsent(t, e, b, "client_id=third&scope=openid+email+offline_access")
			if lr := e.loginRequest(lrID); lr.Status != store.LoginPending {
				t.Fatalf("request is %s before consent, want pending", lr.Status)
			}
			wantBody(t, pg, "Photo Printer", "See your email address", "Stay connected when you are not using it",
				`<button type="submit" name="decision" value="allow">`, `<button type="submit" name="decision" value="deny"`,
				"Ada Lovelace", "Acme Corp")
			res := b.decide(pg, "allow")
			wantStatus(t, res, http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
			lr := e.loginRequest(lrID)
			want := []string{"openid", "email", "offline_access"}
			if lr.Status != store.LoginAuthenticated || lr.UserID != e.user.ID || !slices.Equal(lr.GrantedScopes, want) {
				t.Errorf("request %s user %q scopes %v, want authenticated %q %v", lr.Status, lr.UserID, lr.GrantedScopes, e.user.ID, want)
			}
			if got := consent(t, e); !covers(got, want) {
				t.Errorf("stored consent %v does not cover %v", got, want)
			}
			evs := e.eventTypes()
			if !slices.Contains(evs, events.TypeConsentGranted) || !slices.Contains(evs, events.TypeLoginRequestCompleted) {
				t.Errorf("events %v lack consent.granted and login_request.completed", evs)
			}
		}},
		{"deny marks the request denied and stores nothing", func(t *testing.T, e *env) {
			b := e.browser()
			lrID, pg := signInToConsent(t, e, b, "client_id=third&scope=openid+email")
			res := b.decide(pg, "deny")
			wantStatus(t, res, http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
			if lr := e.loginRequest(lrID); lr.Status != store.LoginDenied {
				t.Errorf("request %s, want denied", lr.Status)
			}
			if got := consent(t, e); got != nil {
				t.Errorf("consent %v stored after deny", got)
			}
			if evs := e.eventTypes(); !slices.Contains(evs, events.TypeLoginRequestDenied) {
				t.Errorf("events %v lack login_request.denied", evs)
			}
		}},
		{"a consent covering the scopes skips the page next time", func(t *testing.T, e *env) {
			b := e.browser()
			_, pg := signInToConsent(t, e, b, "client_id=third&scope=openid+email")
			b.decide(pg, "allow")
			lrID, loc := b.beginAuthorize("client_id=third&scope=email")
			wantStatus(t, b.get(loc), http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
		}},
		{"a new scope asks again", func(t *testing.T, e *env) {
			b := e.browser()
			_, pg := signInToConsent(t, e, b, "client_id=third&scope=openid")
			b.decide(pg, "allow")
			lrID, loc := b.beginAuthorize("client_id=third&scope=openid+profile")
			wantStatus(t, b.get(loc), http.StatusSeeOther, e.path("/consent?lr="+lrID))
		}},
		{"prompt=consent asks even when consent was given", func(t *testing.T, e *env) {
			b := e.browser()
			_, pg := signInToConsent(t, e, b, "client_id=third&scope=openid")
			b.decide(pg, "allow")
			lrID, loc := b.beginAuthorize("client_id=third&scope=openid&require_consent=1")
			wantStatus(t, b.get(loc), http.StatusSeeOther, e.path("/consent?lr="+lrID))
			wantStatus(t, b.get(e.path("/consent?lr="+lrID)), http.StatusOK, "")
		}},
		{"a first-party client never asks", func(t *testing.T, e *env) {
			b := e.browser()
			lrID, loc := b.beginAuthorize("client_id=first&scope=openid&require_consent=1")
			wantStatus(t, b.signIn(b.get(loc), testEmail, testPassword), http.StatusSeeOther, e.path("/authorize/resume?lr="+lrID))
		}},
		{"the consent page without a session sends the browser to sign in", func(t *testing.T, e *env) {
			b := e.browser()
			lrID, _ := b.beginAuthorize("client_id=third&scope=openid")
			wantStatus(t, b.get(e.path("/consent?lr="+lrID)), http.StatusSeeOther, e.path("/login?lr="+lrID))
		}},
		{"the consent page with a session older than a required fresh sign-in sends the browser to sign in", func(t *testing.T, e *env) {
			b := e.browser()
			b.signInDirect()
			e.clock.Advance(time.Minute)
			lrID, _ := b.beginAuthorize("client_id=third&scope=openid&require_login=1")
			wantStatus(t, b.get(e.path("/consent?lr="+lrID)), http.StatusSeeOther, e.path("/login?lr="+lrID))
		}},
		{"the consent page with a session older than max_age sends the browser to sign in", func(t *testing.T, e *env) {
			b := e.browser()
			b.signInDirect()
			lrID, _ := b.beginAuthorize("client_id=third&scope=openid&max_age=60")
			e.clock.Advance(2 * time.Minute)
			wantStatus(t, b.get(e.path("/consent?lr="+lrID)), http.StatusSeeOther, e.path("/login?lr="+lrID))
		}},
		{"the consent page acts only in the browser that started the request", func(t *testing.T, e *env) {
			b := e.browser()
			lrID, _ := signInToConsent(t, e, b, "client_id=third&scope=openid")
			other := e.browser()
			other.signInDirect()
			wantStatus(t, other.get(e.path("/consent?lr="+lrID)), http.StatusBadRequest, "")
		}},
		{"a consent without a CSRF token is refused and changes nothing", func(t *testing.T, e *env) {
			b := e.browser()
			lrID, _ := signInToConsent(t, e, b, "client_id=third&scope=openid")
			wantStatus(t, b.post(e.path("/consent?lr="+lrID), url.Values{"decision": {"allow"}}), http.StatusForbidden, "")
			if lr := e.loginRequest(lrID); lr.Status != store.LoginPending {
				t.Errorf("request %s, want pending", lr.Status)
			}
			if got := consent(t, e); got != nil {
				t.Errorf("consent %v stored without a CSRF token", got)
			}
		}},
		{"a missing decision is asked for again", func(t *testing.T, e *env) {
			b := e.browser()
			lrID, pg := signInToConsent(t, e, b, "client_id=third&scope=openid")
			res := b.submit(pg.formWith(t, "decision", "allow"), nil)
			wantStatus(t, res, http.StatusBadRequest, "")
			wantBody(t, res, "Choose Allow or Deny.")
			if lr := e.loginRequest(lrID); lr.Status != store.LoginPending {
				t.Errorf("request %s, want pending", lr.Status)
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
