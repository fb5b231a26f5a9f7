package login

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/identity/webauthntest"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
	"github.com/umm-project/umm/internal/web"
)

// passkeyOrigin is the public URL identity serves passkeys for in these tests (https: a secure context).
const passkeyOrigin = "https://umm.test"

func TestPasskeyMethodNames(t *testing.T) {
	if identity.AMRHardwareKey != session.MethodHardwareKey || identity.AMRSoftwareKey != session.MethodSoftwareKey ||
		identity.AMRUser != session.MethodUser {
		t.Fatal("identity's passkey methods differ from the session's")
	}
}

func newPasskeyEnv(t *testing.T, db *store.DB, settings func(*store.Tenant)) *env {
	t.Helper()
	e := newEnv(t, db)
	e.ids.PublicURL = passkeyOrigin
	if settings != nil {
		settings(&e.tenant)
		if err := db.UpdateTenant(context.Background(), e.tenant); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// passkeyOptionsJSON posts to an options endpoint with the CSRF token of pg's form that posts to action;
// it returns the status and the decoded answer.
func (b *browser) passkeyOptionsJSON(path string, token string, extra url.Values) (int, map[string]json.RawMessage, []byte) {
	b.e.t.Helper()
	v := url.Values{}
	for k, vs := range extra {
		v[k] = vs
	}
	if token != "" {
		v.Set("csrf_token", token)
	}
	pg := b.post(path, v)
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(pg.Body), &m); err != nil {
		b.e.t.Fatalf("options answered %d %q: %v", pg.Status, pg.Body, err)
	}
	if pg.Header.Get("Content-Type") != "application/json" {
		b.e.t.Errorf("options Content-Type %q", pg.Header.Get("Content-Type"))
	}
	return pg.Status, m, []byte(pg.Body)
}

func jsonString(m map[string]json.RawMessage, k string) string {
	var s string
	_ = json.Unmarshal(m[k], &s)
	return s
}

// passkeyForm is the hidden form of the passkey button (or the add form) on pg.
func passkeyForm(t *testing.T, pg *page, action string) form {
	t.Helper()
	for _, f := range pg.forms() {
		if f.Action == action {
			return f
		}
	}
	t.Fatalf("no form posting to %s in:\n%s", action, pg.Body)
	return form{}
}

// addPasskey adds a passkey named name to the signed-in user of b through the account page.
func (b *browser) addPasskey(a *webauthntest.Authenticator, name string) *page {
	b.e.t.Helper()
	pg := b.get(b.e.path("/account/passkeys"))
	if pg.Status != http.StatusOK {
		b.e.t.Fatalf("passkeys page: %d %s", pg.Status, pg.Body)
	}
	f := passkeyForm(b.e.t, pg, b.e.path("/account/passkeys"))
	status, m, raw := b.passkeyOptionsJSON(b.e.path("/account/passkeys/options"), f.Fields.Get("csrf_token"), nil)
	if status != http.StatusOK {
		b.e.t.Fatalf("registration options: %d %s", status, raw)
	}
	cred, err := a.Create(raw)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.submit(f, url.Values{"ceremony": {jsonString(m, "ceremony")}, "credential": {string(cred)}, "name": {name}})
}

// passkeySignIn answers the sign-in page pg's passkey button with a; extra is posted with the answer.
func (b *browser) passkeySignIn(pg *page, action string, a *webauthntest.Authenticator, extra url.Values) *page {
	b.e.t.Helper()
	f := passkeyForm(b.e.t, pg, action)
	status, m, raw := b.passkeyOptionsJSON(b.e.path("/login/passkey/options"), f.Fields.Get("csrf_token"), extra)
	if status != http.StatusOK {
		b.e.t.Fatalf("sign-in options: %d %s", status, raw)
	}
	cred, err := a.Get(raw)
	if err != nil {
		b.e.t.Fatal(err)
	}
	set := url.Values{"ceremony": {jsonString(m, "ceremony")}, "credential": {string(cred)}}
	for k, vs := range extra {
		set[k] = vs
	}
	return b.submit(f, set)
}

func TestPasskeyPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPasskeyEnv(t, db, nil)
		a := webauthntest.New(passkeyOrigin)

		// Add a passkey from the account page of a password sign-in.
		owner := e.browser()
		owner.signInDirect()
		empty := owner.get(e.path("/account/passkeys"))
		wantBody(t, empty, "You have no passkeys yet.", `data-passkey="register"`, "passkey.js", `data-passkey-nojs`)
		if csp := empty.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("passkeys page CSP %q", csp)
		}
		if pg := owner.addPasskey(a, "Work laptop"); pg.Status != http.StatusSeeOther || pg.Location != e.path("/account/passkeys?done=passkey_added") {
			t.Fatalf("add: %d %q %s", pg.Status, pg.Location, pg.Body)
		}
		list := owner.get(e.path("/account/passkeys?done=passkey_added"))
		wantBody(t, list, "Passkey added.", "Work laptop", "not used yet")
		if !slices.Contains(e.eventTypes(), events.TypeFactorEnrolled) {
			t.Errorf("events %v", e.eventTypes())
		}
		// The same authenticator again: the options exclude it; a client ignoring that is refused.
		a.IgnoreExclusions = true
		if pg := owner.addPasskey(a, ""); pg.Location != e.path("/account/passkeys?error=passkey_taken") {
			t.Errorf("added twice: %d %q", pg.Status, pg.Location)
		}
		a.IgnoreExclusions = false
		wantBody(t, owner.get(e.path("/account/passkeys?error=passkey_taken")), "This passkey was added already")

		// Passwordless sign-in through a login request, in another browser.
		b := e.browser()
		lrID, loc := b.beginAuthorize("client_id=first&scope=openid")
		login := b.get(loc)
		wantBody(t, login, `autocomplete="username webauthn"`, "Sign in with a passkey", `data-conditional="1"`,
			`data-options="`+e.path("/login/passkey/options")+`"`, "/static/passkey.js")
		if csp := login.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("sign-in page CSP %q", csp)
		}
		pg := b.passkeySignIn(login, e.path("/login/passkey?lr="+lrID), a, nil)
		if pg.Status != http.StatusSeeOther || pg.Location != resumePath(e.tenant, lrID) {
			t.Fatalf("passkey sign-in: %d %q %s", pg.Status, pg.Location, pg.Body)
		}
		lr := e.loginRequest(lrID)
		if lr.Status != store.LoginAuthenticated || lr.UserID != e.user.ID || !slices.Contains(lr.AMR, "swk") ||
			!slices.Contains(lr.AMR, "user") {
			t.Fatalf("login request %s %s amr %v", lr.Status, lr.UserID, lr.AMR)
		}
		wantBody(t, owner.get(e.path("/account/passkeys")), "last used")

		// Rename, then remove (a recent sign-in: the owner signed in just now).
		pks := owner.get(e.path("/account/passkeys"))
		rename := passkeyForm(t, pks, e.path("/account/passkeys/rename"))
		if pg := owner.submit(rename, url.Values{"name": {"Desk"}}); pg.Location != e.path("/account/passkeys?done=passkey_renamed") {
			t.Fatalf("rename: %d %q", pg.Status, pg.Location)
		}
		wantBody(t, owner.get(e.path("/account/passkeys")), "Desk")
		if pg := owner.submit(rename, url.Values{"id": {"nope"}, "name": {"x"}}); pg.Location != e.path("/account/passkeys?error=passkey_unknown") {
			t.Fatalf("rename unknown: %d %q", pg.Status, pg.Location)
		}
		remove := passkeyForm(t, pks, e.path("/account/passkeys/remove"))
		e.clock.Advance(10 * time.Minute)
		if pg := owner.submit(remove, nil); pg.Status != http.StatusSeeOther || !strings.Contains(pg.Location, "/account/reauth?next=") {
			t.Fatalf("remove after 10 minutes: %d %q", pg.Status, pg.Location)
		}
		fresh := e.browser()
		fresh.signInDirect()
		pks = fresh.get(e.path("/account/passkeys"))
		if pg := fresh.submit(passkeyForm(t, pks, e.path("/account/passkeys/remove")), nil); pg.Location != e.path("/account/passkeys?done=passkey_removed") {
			t.Fatalf("remove: %d %q", pg.Status, pg.Location)
		}
		if !slices.Contains(e.eventTypes(), events.TypeFactorRemoved) {
			t.Errorf("events %v", e.eventTypes())
		}
		// The removed passkey signs in no more.
		c := e.browser()
		login = c.get(e.path("/login"))
		pg = c.passkeySignIn(login, e.path("/login/passkey"), a, nil)
		if pg.Status != http.StatusUnprocessableEntity {
			t.Fatalf("removed passkey: %d %q", pg.Status, pg.Location)
		}
		wantBody(t, pg, "This passkey was not accepted.", `role="alert"`)
	})
}

func TestPasskeyErrors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPasskeyEnv(t, db, nil)
		a := webauthntest.New(passkeyOrigin)
		owner := e.browser()
		owner.signInDirect()
		owner.addPasskey(a, "")

		b := e.browser()
		login := b.get(e.path("/login"))
		f := passkeyForm(t, login, e.path("/login/passkey"))

		// The options endpoint answers JSON errors.
		status, m, _ := b.passkeyOptionsJSON(e.path("/login/passkey/options"), "", nil)
		if status != http.StatusForbidden || jsonString(m, "error") != "access_denied" || jsonString(m, "error_description") == "" {
			t.Errorf("options without CSRF token: %d %v", status, m)
		}
		status, m, _ = b.passkeyOptionsJSON(e.path("/login/passkey/options"), f.Fields.Get("csrf_token"), url.Values{"flow": {"unknown"}})
		if status != http.StatusBadRequest || jsonString(m, "error") != "invalid_request" {
			t.Errorf("options of an unknown MFA flow: %d %v", status, m)
		}
		// Each client IP may start a bounded number of ceremonies a minute.
		for i := 0; ; i++ {
			pg := b.post(e.path("/login/passkey/options"), url.Values{"csrf_token": {f.Fields.Get("csrf_token")}})
			if pg.Status == http.StatusTooManyRequests {
				if i < 50 || pg.Header.Get("Retry-After") == "" || !strings.Contains(pg.Body, `"too_many_requests"`) {
					t.Fatalf("limited after %d ceremonies: %s (Retry-After %q)", i, pg.Body, pg.Header.Get("Retry-After"))
				}
				break
			}
			if i > 100 {
				t.Fatal("no limit on ceremonies")
			}
		}
		e.clock.Advance(time.Minute)
		status, m, _ = b.passkeyOptionsJSON(e.path("/account/passkeys/options"), f.Fields.Get("csrf_token"), nil)
		if status != http.StatusUnauthorized || jsonString(m, "error") != "login_required" {
			t.Errorf("registration options signed out: %d %v", status, m)
		}

		// Answers that do not verify, expired and replayed ceremonies.
		if pg := b.submit(f, url.Values{"credential": {"{}"}, "ceremony": {"x"}}); pg.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(pg.Body, "The passkey request expired.") {
			t.Errorf("unknown ceremony: %d %s", pg.Status, pg.Body)
		}
		if pg := b.submit(f, nil); pg.Status != http.StatusUnprocessableEntity || !strings.Contains(pg.Body, "This passkey was not accepted.") {
			t.Errorf("no credential: %d", pg.Status)
		}
		_, m, raw := b.passkeyOptionsJSON(e.path("/login/passkey/options"), f.Fields.Get("csrf_token"), nil)
		cred, _ := a.Get(raw)
		other := e.browser()
		other.get(e.path("/login"))
		otherForm := passkeyForm(t, other.get(e.path("/login")), e.path("/login/passkey"))
		if pg := other.submit(otherForm, url.Values{"ceremony": {jsonString(m, "ceremony")}, "credential": {string(cred)}}); pg.Status != http.StatusUnprocessableEntity {
			t.Errorf("another browser's ceremony: %d", pg.Status)
		}
		_, m, raw = b.passkeyOptionsJSON(e.path("/login/passkey/options"), f.Fields.Get("csrf_token"), nil)
		cred, _ = a.Get(raw)
		e.clock.Advance(identity.PasskeyTTL + time.Second)
		if pg := b.submit(f, url.Values{"ceremony": {jsonString(m, "ceremony")}, "credential": {string(cred)}}); pg.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(pg.Body, "The passkey request expired.") {
			t.Errorf("expired ceremony: %d", pg.Status)
		}
		nouv := *a
		nouv.NoUV = true
		if pg := b.passkeySignIn(login, e.path("/login/passkey"), &nouv, nil); pg.Status != http.StatusUnprocessableEntity {
			t.Errorf("no user verification: %d %q", pg.Status, pg.Location)
		}
		a.Counter = nouv.Counter
		if pg := b.passkeySignIn(login, e.path("/login/passkey"), a, nil); pg.Status != http.StatusSeeOther || pg.Location != e.path("/account") {
			t.Errorf("good answer after the refusals: %d %q %s", pg.Status, pg.Location, pg.Body)
		}
		if pg := b.submit(f, url.Values{"credential": {"{}"}, "ceremony": {"x"}, "csrf_token": {"forged"}}); pg.Status != http.StatusForbidden {
			t.Errorf("answer without CSRF token: %d", pg.Status)
		}
	})
}

func TestPasskeyNotAllowed(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	e := newPasskeyEnv(t, db, func(tn *store.Tenant) {
		tn.Settings.Login = config.Login{Methods: []string{config.MethodPassword}}
		tn.Settings.MFA = config.MFA{Factors: []string{config.FactorTOTP}}
	})
	b := e.browser()
	login := b.get(e.path("/login"))
	wantBody(t, login, `autocomplete="username"`)
	for _, absent := range []string{"webauthn", "passkey.js", "data-passkey"} {
		if strings.Contains(login.Body, absent) {
			t.Errorf("sign-in page without passkeys has %q", absent)
		}
	}
	if csp := login.Header.Get("Content-Security-Policy"); strings.Contains(csp, "connect-src") {
		t.Errorf("CSP %q", csp)
	}
	token := login.formWith(t, "csrf_token", "").Fields.Get("csrf_token")
	status, m, _ := b.passkeyOptionsJSON(e.path("/login/passkey/options"), token, nil)
	if status != http.StatusForbidden || jsonString(m, "error") != "not_allowed" {
		t.Errorf("options: %d %v", status, m)
	}
	if pg := b.post(e.path("/login/passkey"), url.Values{"csrf_token": {token}, "credential": {"{}"}, "ceremony": {"x"}}); pg.Status != http.StatusForbidden {
		t.Errorf("answer: %d", pg.Status)
	}
	b.signInDirect()
	acc := b.get(e.path("/account/profile"))
	if strings.Contains(acc.Body, "/account/passkeys") {
		t.Error("the account navigation links the passkeys section")
	}
	wantBody(t, b.get(e.path("/account/passkeys")), "Passkeys are not available here.")
}

func TestPasskeySecondFactor(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPasskeyEnv(t, db, func(tn *store.Tenant) { tn.Settings.MFA = config.MFA{Policy: config.MFAOptional} })
		a := webauthntest.New(passkeyOrigin)
		a.Attachment = "cross-platform"
		owner := e.browser()
		owner.signInDirect()
		owner.addPasskey(a, "YubiKey")

		// A password sign-in now asks for the second factor.
		b := e.browser()
		lrID, loc := b.beginAuthorize("client_id=first&scope=openid")
		pg := b.signIn(b.get(loc), testEmail, testPassword)
		u, err := url.Parse(pg.Location)
		if err != nil || u.Path != e.path("/login/mfa") {
			t.Fatalf("password sign-in went to %q", pg.Location)
		}
		flowID := u.Query().Get("flow")

		// The second-factor page's button: options for this user's passkeys only.
		token := b.get(e.path("/login")).formWith(t, "csrf_token", "").Fields.Get("csrf_token")
		status, m, raw := b.passkeyOptionsJSON(e.path("/login/passkey/options"), token, url.Values{"flow": {flowID}})
		if status != http.StatusOK || !strings.Contains(string(raw), `"allowCredentials"`) {
			t.Fatalf("options: %d %s", status, raw)
		}
		// Another browser cannot use the flow.
		other := e.browser()
		otherToken := other.get(e.path("/login")).formWith(t, "csrf_token", "").Fields.Get("csrf_token")
		if status, _, _ := other.passkeyOptionsJSON(e.path("/login/passkey/options"), otherToken, url.Values{"flow": {flowID}}); status != http.StatusBadRequest {
			t.Errorf("another browser's flow: %d", status)
		}
		cred, err := a.Get(raw)
		if err != nil {
			t.Fatal(err)
		}
		pg = b.post(e.path("/login/passkey"), url.Values{"csrf_token": {token}, "flow": {flowID}, "remember": {"on"},
			"ceremony": {jsonString(m, "ceremony")}, "credential": {string(cred)}})
		if pg.Status != http.StatusSeeOther || pg.Location != resumePath(e.tenant, lrID) {
			t.Fatalf("second factor: %d %q %s", pg.Status, pg.Location, pg.Body)
		}
		lr := e.loginRequest(lrID)
		for _, want := range []string{"pwd", "hwk", "mfa"} {
			if !slices.Contains(lr.AMR, want) {
				t.Errorf("amr %v lacks %s", lr.AMR, want)
			}
		}
		if !slices.Contains(e.eventTypes(), events.TypeMFADeviceTrusted) {
			t.Errorf("remember was not recorded: %v", e.eventTypes())
		}
		// The flow is used up.
		pg = b.post(e.path("/login/passkey"), url.Values{"csrf_token": {token}, "flow": {flowID},
			"ceremony": {jsonString(m, "ceremony")}, "credential": {string(cred)}})
		if pg.Status != http.StatusBadRequest {
			t.Errorf("used flow: %d", pg.Status)
		}
	})
}

func TestPasskeyMFAButton(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	e := newPasskeyEnv(t, db, nil)
	p, err := New(Deps{DB: db, Identity: e.ids, Sessions: e.sessions, CSRF: web.NewCSRF(make([]byte, 32), false, ""),
		Keyring: keys.NewKeyring(make([]byte, 32))})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Security-Policy", "default-src 'none'")
	got := p.passkeyMFA(rec, e.tenant, "flow-1")
	if got == nil || got.Flow != "flow-1" || got.Action != e.path("/login/passkey") || got.OptionsURL != e.path("/login/passkey/options") ||
		got.Conditional || got.Button != "passkey.mfa.button" {
		t.Fatalf("passkeyMFA = %+v", got)
	}
	if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Errorf("CSP %q", rec.Header().Get("Content-Security-Policy"))
	}
	e.tenant.Settings.MFA = config.MFA{Factors: []string{config.FactorTOTP}}
	if got := p.passkeyMFA(httptest.NewRecorder(), e.tenant, "flow-1"); got != nil {
		t.Errorf("passkeyMFA without webauthn factors = %+v", got)
	}
}

// TestPasskeyOnlyNeverSeesPassword: where passkeys are allowed and usable the sign-in page asks for the
// address first, so an account whose only way in is a passkey never gets a password field: not on the
// first step, not on the step after its address (which still offers the passkey), and not when the
// address comes as a login hint. An unknown address gets the field on the second step, like an account
// with a password.
func TestPasskeyOnlyNeverSeesPassword(t *testing.T) {
	t.Parallel()
	const passwordInput = `type="password"`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newPasskeyEnv(t, db, nil)
		a := webauthntest.New(passkeyOrigin)
		owner := e.browser()
		owner.signInDirect()
		if pg := owner.addPasskey(a, "Phone"); pg.Status != http.StatusSeeOther {
			t.Fatalf("add: %d %s", pg.Status, pg.Body)
		}
		if err := db.DeletePasswordHash(context.Background(), e.tenant.ID, e.user.ID); err != nil {
			t.Fatal(err)
		}

		b := e.browser()
		lrID, loc := b.beginAuthorize("client_id=first&scope=openid")
		first := b.get(loc)
		wantBody(t, first, `autocomplete="username webauthn"`, "Sign in with a passkey", "Continue")
		if strings.Contains(first.Body, passwordInput) {
			t.Fatalf("the first step shows a password field:\n%s", first.Body)
		}
		second := b.submit(first.formWith(t, "csrf_token", ""), url.Values{"email": {testEmail}})
		wantStatus(t, second, http.StatusOK, "")
		wantBody(t, second, "Sign in with a passkey")
		if strings.Contains(second.Body, passwordInput) {
			t.Errorf("the passkey-only account's step shows a password field:\n%s", second.Body)
		}
		// The passkey signs the account in from the second step.
		if pg := b.passkeySignIn(second, e.path("/login/passkey?lr="+lrID), a, nil); pg.Status != http.StatusSeeOther {
			t.Errorf("passkey sign-in from the second step: %d %s", pg.Status, pg.Body)
		}
		h := e.browser()
		_, loc = h.beginAuthorize("client_id=first&scope=openid&login_hint=" + url.QueryEscape(testEmail))
		if hinted := h.get(loc); strings.Contains(hinted.Body, passwordInput) {
			t.Errorf("the page with a login hint shows a password field:\n%s", hinted.Body)
		}

		c := e.browser()
		pg := c.get(e.path("/login"))
		pg = c.submit(pg.formWith(t, "csrf_token", ""), url.Values{"email": {"nobody@example.com"}})
		wantBody(t, pg, passwordInput, `autocomplete="current-password"`)
	})
}
