package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// mfaServer is a server whose tenant has MFA policy policy (and change applied to its seed), email
// through relay, and a clock the test moves.
func mfaServer(t *testing.T, backend string, relay *notifytest.Relay, policy string, skew *atomic.Int64,
	change ...func(*config.TenantSeed)) *servertest.Server {
	t.Helper()
	return servertest.New(t, servertest.WithBackend(backend),
		servertest.WithClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }),
		servertest.WithConfig(func(c *config.Config) { c.Email = relay.Config }),
		servertest.WithSeed(func(ts *config.TenantSeed) {
			ts.MFA = &config.MFA{Policy: policy}
			for _, c := range change {
				c(ts)
			}
		}))
}

// authorizeWith starts an authorization request of the first-party client with extra parameters and
// returns where it went, the state and the PKCE verifier.
func authorizeWith(t *testing.T, srv *servertest.Server, b *servertest.Browser, extra url.Values) (*http.Response, string, string, string) {
	t.Helper()
	verifier, state := servertest.RandomString(32), servertest.RandomString(16)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {srv.FirstParty.ID}, "redirect_uri": {srv.FirstParty.RedirectURI},
		"scope": {"openid email"}, "state": {state}, "nonce": {servertest.RandomString(16)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	resp, body := b.Get(srv.TenantURL("/authorize?" + q.Encode()))
	return resp, body, state, verifier
}

// passwordStep signs in with the seeded user's password from the sign-in page resp leads to.
func passwordStep(t *testing.T, srv *servertest.Server, b *servertest.Browser, resp *http.Response) (*http.Response, string) {
	t.Helper()
	login := servertest.Location(t, resp)
	lf, _, _ := b.GetForm(login.String())
	return b.Submit(lf, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
}

// emailSecondFactor follows resp to the second-factor page, asks for an email code, reads the n-th
// message of relay and submits its code (with remember ticked when asked). It returns the answer.
func emailSecondFactor(t *testing.T, srv *servertest.Server, b *servertest.Browser, relay *notifytest.Relay, resp *http.Response,
	n int, remember bool) (*http.Response, string) {
	t.Helper()
	mfa := servertest.Location(t, resp)
	if !strings.HasSuffix(mfa.Path, "/login/mfa") {
		t.Fatalf("went to %s, want the second-factor page", mfa)
	}
	send, _, body := b.GetForm(mfa.String(), "/login/mfa/send")
	if !strings.Contains(body, "Email me a code") {
		t.Fatalf("the second-factor page offers no email code:\n%s", body)
	}
	resp, _ = b.Submit(send, nil)
	page := servertest.Location(t, resp)
	codeForm, _, body := b.GetForm(page.String(), "/login/mfa?")
	if !strings.Contains(body, `autocomplete="one-time-code"`) {
		t.Errorf("the code input has no autocomplete=one-time-code:\n%s", body)
	}
	code := codeOf(t, awaitMailTo(t, relay, n, srv.User.Email))
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	r2, b2 := b.Submit(codeForm, url.Values{"code": {wrong}})
	if r2.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b2, `aria-invalid="true"`) {
		t.Fatalf("a wrong code = %d:\n%s", r2.StatusCode, b2)
	}
	set := url.Values{"code": {code}}
	if remember {
		if !strings.Contains(body, `name="remember"`) {
			t.Fatalf("no Remember this device checkbox:\n%s", body)
		}
		set.Set("remember", "1")
	}
	return b.Submit(codeForm, set)
}

func amrOf(claims map[string]any) []string {
	var out []string
	list, _ := claims["amr"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// TestRequiredMFAWithEmailCode: under policy required, a user whose only factor is a verified address
// gets an emailed code after the password; the ID token says acr 2 and amr pwd, email, mfa. A wrong
// code is refused beside the input. "Remember this device" skips the second factor on the next sign-in
// in this browser until remember_device_days have passed.
func TestRequiredMFAWithEmailCode(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFARequired, &skew, func(ts *config.TenantSeed) {
				ts.MFA.RememberDeviceDays = 2
			})
			b := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b, nil)
			resp, _ = passwordStep(t, srv, b, resp)
			resp, body := emailSecondFactor(t, srv, b, relay, resp, 1, true)
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			if claims["acr"] != "2" || !slices.Equal(amrOf(claims), []string{"pwd", "email", "mfa"}) {
				t.Errorf("acr %v amr %v, want 2 and [pwd email mfa]", claims["acr"], claims["amr"])
			}
			if eventCount(t, srv, "mfa.challenged") != 1 || eventCount(t, srv, "mfa.succeeded") != 1 ||
				eventCount(t, srv, "mfa.failed") != 1 || eventCount(t, srv, "mfa.device_trusted") != 1 {
				t.Errorf("events: challenged %d succeeded %d failed %d trusted %d", eventCount(t, srv, "mfa.challenged"),
					eventCount(t, srv, "mfa.succeeded"), eventCount(t, srv, "mfa.failed"), eventCount(t, srv, "mfa.device_trusted"))
			}

			// The same browser, signed out: the password is enough while the device is remembered.
			signOut(t, srv, b)
			resp, _, state, verifier = authorizeWith(t, srv, b, url.Values{"prompt": {"login"}})
			resp, body = passwordStep(t, srv, b, resp)
			claims = finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			if claims["acr"] != "1" {
				t.Errorf("a remembered device: acr %v, want 1", claims["acr"])
			}

			// Two days later the device is no longer remembered.
			skew.Store(int64(49 * time.Hour))
			resp, _, _, _ = authorizeWith(t, srv, b, url.Values{"prompt": {"login"}})
			resp, _ = passwordStep(t, srv, b, resp)
			if loc := servertest.Location(t, resp); !strings.HasSuffix(loc.Path, "/login/mfa") {
				t.Errorf("after remember_device_days the password went to %s, want the second-factor page", loc)
			}
		})
	}
}

// signOut ends the browser's session through the account page's sign-out button.
func signOut(t *testing.T, srv *servertest.Server, b *servertest.Browser) {
	t.Helper()
	f, _, body := b.GetForm(srv.TenantURL("/account/profile"), "/account/logout")
	resp, _ := b.Submit(f, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d:\n%s", resp.StatusCode, body)
	}
}

// TestStepUpWithACRValues: a password session (policy off) asked for acr_values=2 goes to the
// second-factor page without a password; the code steps the same session up to acr 2. An essential
// acr phr, which an email code cannot reach, ends at the client with unmet_authentication_requirements.
func TestStepUpWithACRValues(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFAOff, &skew, func(ts *config.TenantSeed) {
				ts.MFA.Factors = []string{config.FactorEmail, config.FactorWebAuthn}
			})
			// Turn email codes on for the user (what the account page does).
			ctx := context.Background()
			if err := srv.DB.CreateFactor(ctx, emailFactor(srv)); err != nil {
				t.Fatal(err)
			}
			b := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b, nil)
			resp, body := passwordStep(t, srv, b, resp)
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			sid := claims["sid"]
			if claims["acr"] != "1" {
				t.Fatalf("policy off: acr %v, want 1", claims["acr"])
			}

			resp, _, state, verifier = authorizeWith(t, srv, b, url.Values{"acr_values": {"2"}})
			login := servertest.Location(t, resp)
			resp, _ = b.Get(login.String())
			resp, body = emailSecondFactor(t, srv, b, relay, resp, 1, false)
			claims = finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			if claims["acr"] != "2" || claims["sid"] != sid || !slices.Contains(amrOf(claims), "mfa") {
				t.Errorf("step-up: acr %v sid %v (was %v) amr %v", claims["acr"], claims["sid"], sid, claims["amr"])
			}
			if eventCount(t, srv, "session.stepped_up") != 1 {
				t.Errorf("session.stepped_up events = %d", eventCount(t, srv, "session.stepped_up"))
			}

			// acr 2 as an essential claim, asked of another browser's password session: the emailed code adds to
			// the session's password, which together reach acr 2 (SAML's multi-factor contexts ask this way).
			b2 := srv.NewBrowser(t)
			resp, _, state, verifier = authorizeWith(t, srv, b2, nil)
			resp, body = passwordStep(t, srv, b2, resp)
			first := finishAtClient(t, srv, b2, resp, body, srv.FirstParty, state, verifier)
			resp, _, state, verifier = authorizeWith(t, srv, b2, url.Values{"claims": {`{"id_token":{"acr":{"essential":true,"values":["2"]}}}`}})
			resp, _ = b2.Get(servertest.Location(t, resp).String())
			resp, body = emailSecondFactor(t, srv, b2, relay, resp, 2, false)
			claims = finishAtClient(t, srv, b2, resp, body, srv.FirstParty, state, verifier)
			if claims["acr"] != "2" || claims["sid"] != first["sid"] {
				t.Errorf("an essential acr 2 step-up: acr %v sid %v (was %v)", claims["acr"], claims["sid"], first["sid"])
			}

			// phr as an essential claim: this user has no passkey.
			claimsReq := `{"id_token":{"acr":{"essential":true,"values":["phr"]}}}`
			resp, _, state, _ = authorizeWith(t, srv, b, url.Values{"claims": {claimsReq}})
			cb := completeInBrowser(t, srv, b, servertest.Location(t, resp))
			if cb.Query().Get("error") != "unmet_authentication_requirements" || cb.Query().Get("state") != state {
				t.Errorf("an essential phr without a passkey ended at %s", cb)
			}
		})
	}
}

func emailFactor(srv *servertest.Server) store.Factor {
	return store.Factor{TenantID: srv.Tenant, ID: "email-" + servertest.RandomString(8), UserID: srv.User.ID,
		Kind: store.FactorEmail, Name: srv.User.Email, ConfirmedAt: time.Now(), CreatedAt: time.Now()}
}

// TestPasswordlessEmailSignIn: with login.methods [password, email_code] the sign-in page asks for the
// address first, then offers the password and "Email me a sign-in code". The emailed code signs in
// (amr email, acr 1); the emailed link signs in only in the browser that asked; an unknown address reads
// the same and gets nothing.
func TestPasswordlessEmailSignIn(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFAOff, &skew, func(ts *config.TenantSeed) {
				ts.Login = &config.Login{Methods: []string{config.MethodPassword, config.MethodEmailCode}, NewDeviceEmail: new(false)}
			})
			b := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b, nil)
			first, _, body := b.GetForm(servertest.Location(t, resp).String())
			if strings.Contains(body, `type="password"`) || !strings.Contains(body, "Continue") {
				t.Fatalf("the identifier step shows a password field or no Continue:\n%s", body)
			}
			resp, body = b.Submit(first, url.Values{"email": {srv.User.Email}})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `type="password"`) || !strings.Contains(body, "Email me a sign-in code") {
				t.Fatalf("the second step = %d:\n%s", resp.StatusCode, body)
			}
			second := servertest.ParseForms(resp.Request.URL, body)[0]
			resp, _ = b.Submit(second, url.Values{"method": {"email_code"}, "password": nil})
			codePage := servertest.Location(t, resp)
			cf, _, body := b.GetForm(codePage.String())
			if !strings.Contains(body, `autocomplete="one-time-code"`) {
				t.Errorf("the code page's input has no autocomplete=one-time-code:\n%s", body)
			}
			m := awaitMailTo(t, relay, 1, srv.User.Email)
			resp, body = b.Submit(cf, url.Values{"code": {codeOf(t, m)}})
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			if claims["acr"] != "1" || !slices.Equal(amrOf(claims), []string{"email"}) {
				t.Errorf("a passwordless sign-in: acr %v amr %v", claims["acr"], claims["amr"])
			}

			// The link: refused in another browser, signs in in this one.
			b2 := srv.NewBrowser(t)
			resp, _, _, _ = authorizeWith(t, srv, b2, nil)
			first, _, _ = b2.GetForm(servertest.Location(t, resp).String())
			resp, body = b2.Submit(first, url.Values{"email": {srv.User.Email}})
			second = servertest.ParseForms(resp.Request.URL, body)[0]
			b2.Submit(second, url.Values{"method": {"email_code"}, "password": nil})
			link := regexp.MustCompile(`https?://\S+/login/link\?token=[A-Za-z0-9_-]+`).FindString(awaitMailTo(t, relay, 2, srv.User.Email).Body)
			if link == "" {
				t.Fatal("no sign-in link in the email")
			}
			if resp, body := srv.NewBrowser(t).Get(link); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "only in the browser") {
				t.Errorf("the link in another browser = %d:\n%s", resp.StatusCode, body)
			}
			if resp, _ := b2.Get(link); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("the link in the browser that asked = %d", resp.StatusCode)
			}

			// An unknown address: the same page, and no message.
			b3 := srv.NewBrowser(t)
			resp, _, _, _ = authorizeWith(t, srv, b3, nil)
			first, _, _ = b3.GetForm(servertest.Location(t, resp).String())
			resp, body = b3.Submit(first, url.Values{"email": {"nobody@example.org"}})
			second = servertest.ParseForms(resp.Request.URL, body)[0]
			resp, _ = b3.Submit(second, url.Values{"method": {"email_code"}, "password": nil})
			if loc := servertest.Location(t, resp); !strings.HasSuffix(loc.Path, "/login/code") {
				t.Errorf("an unknown address went to %s", loc)
			}
			if n := len(relay.Messages()); n != 2 {
				t.Errorf("%d messages, want 2 (none for the unknown address)", n)
			}
		})
	}
}

// TestSMSSecondFactor: a user adds a phone number on the account page (refused when malformed, proven
// by a texted code), and under policy required signs in with a texted code as the second factor (acr 2,
// amr pwd sms mfa). The texts go through the signed webhook to the test endpoint.
func TestSMSSecondFactor(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			phones := notifytest.NewSMSServer(t, "")
			var skew atomic.Int64
			srv := servertest.New(t, servertest.WithBackend(backend),
				servertest.WithClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }),
				servertest.WithConfig(func(c *config.Config) { c.Email, c.SMS = relay.Config, phones.WebhookConfig() }),
				servertest.WithSeed(func(ts *config.TenantSeed) {
					ts.MFA = &config.MFA{Policy: config.MFARequired, Factors: []string{config.FactorSMS, config.FactorEmail}}
					ts.Login = &config.Login{NewDeviceEmail: new(false)}
				}))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			// Under required, the verified address is the second factor of a user who has no other.
			b := srv.NewBrowser(t)
			resp, _, _, _ := authorizeWith(t, srv, b, url.Values{"scope": {"openid"}})
			resp, _ = passwordStep(t, srv, b, resp)
			resp, body := emailSecondFactor(t, srv, b, relay, resp, 1, false)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("second factor: %d:\n%s", resp.StatusCode, body)
			}

			pf, _, _ := b.GetForm(srv.TenantURL("/account/phone"), "/account/phone")
			resp, body = b.Submit(pf, url.Values{"phone": {"12345"}})
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "country code") {
				t.Fatalf("a malformed number = %d:\n%s", resp.StatusCode, body)
			}
			resp, _ = b.Submit(pf, url.Values{"phone": {"+44 20 7946 0958"}})
			cf, _, body := b.GetForm(servertest.Location(t, resp).String(), "/account/phone/verify")
			if !strings.Contains(body, `autocomplete="one-time-code"`) {
				t.Errorf("the phone code input has no autocomplete=one-time-code:\n%s", body)
			}
			m, err := phones.Wait(ctx, "+442079460958")
			if err != nil {
				t.Fatal(err)
			}
			resp, _ = b.Submit(cf, url.Values{"code": {m.Code()}})
			if loc := servertest.Location(t, resp); !strings.HasSuffix(loc.Path, "/account/signin") {
				t.Fatalf("confirming the number went to %s", loc)
			}
			if eventCount(t, srv, "mfa.factor_enrolled") != 1 {
				t.Errorf("mfa.factor_enrolled events = %d", eventCount(t, srv, "mfa.factor_enrolled"))
			}

			// A new browser: password, then the texted code.
			b2 := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b2, nil)
			resp, _ = passwordStep(t, srv, b2, resp)
			mfa := servertest.Location(t, resp)
			send, _, body := b2.GetForm(mfa.String(), "/login/mfa/send")
			if !strings.Contains(body, "Text me a code") || strings.Contains(body, "Send a code by email") {
				t.Fatalf("the second-factor page does not offer the texted code alone (the address serves only a user with no other factor):\n%s", body)
			}
			resp, _ = b2.Submit(send, nil)
			codeForm, _, _ := b2.GetForm(servertest.Location(t, resp).String(), "/login/mfa?")
			m, err = phones.Wait(ctx, "+442079460958")
			if err != nil {
				t.Fatal(err)
			}
			resp, body = b2.Submit(codeForm, url.Values{"code": {m.Code()}})
			claims := finishAtClient(t, srv, b2, resp, body, srv.FirstParty, state, verifier)
			if claims["acr"] != "2" || !slices.Equal(amrOf(claims), []string{"pwd", "sms", "mfa"}) {
				t.Errorf("acr %v amr %v, want 2 and [pwd sms mfa]", claims["acr"], claims["amr"])
			}
		})
	}
}

// TestNewSignInEmailAndNotMe: the first sign-in of an account tells nobody; a sign-in from a second
// browser sends "New sign-in" with a This wasn't me link. The link's page changes nothing until its
// button is pressed; then every session ends, and a password recovery starts in that browser.
func TestNewSignInEmailAndNotMe(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFAOff, &skew, func(ts *config.TenantSeed) {
				ts.Login = &config.Login{} // new_device_email defaults to on
			})
			a := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, a, nil)
			resp, body := passwordStep(t, srv, a, resp)
			finishAtClient(t, srv, a, resp, body, srv.FirstParty, state, verifier)

			b := srv.NewBrowser(t)
			resp, _, state, verifier = authorizeWith(t, srv, b, nil)
			resp, body = passwordStep(t, srv, b, resp)
			finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			m := awaitMailTo(t, relay, 1, srv.User.Email)
			if !strings.Contains(m.Subject, "New sign-in") {
				t.Fatalf("the first message is %q, want the New sign-in email", m.Subject)
			}
			link := regexp.MustCompile(`https?://\S+/account/not-me\?token=[A-Za-z0-9_-]+`).FindString(m.Body)
			if link == "" {
				t.Fatalf("no This wasn't me link in:\n%s", m.Body)
			}
			live := func() int {
				ss, err := srv.DB.ListUserSessions(context.Background(), srv.Tenant, srv.User.ID, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				return len(ss)
			}
			c := srv.NewBrowser(t)
			f, _, _ := c.GetForm(link, "/account/not-me")
			if live() != 2 {
				t.Fatalf("opening the link ended sessions: %d live", live())
			}
			resp, _ = c.Submit(f, nil)
			if loc := servertest.Location(t, resp); !strings.Contains(loc.Path, "/recover") {
				t.Errorf("This wasn't me went to %s, want the recovery code page", loc)
			}
			if live() != 0 || eventCount(t, srv, "account.not_me") != 1 {
				t.Errorf("after This wasn't me: %d live sessions, %d account.not_me events", live(), eventCount(t, srv, "account.not_me"))
			}
			if m := awaitMailTo(t, relay, 2, srv.User.Email); !strings.Contains(m.Body, "/recover/password?token=") {
				t.Errorf("the second message is not a password reset:\n%s", m.Body)
			}
			if resp, _ := c.Get(link); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the used link = %d, want 400", resp.StatusCode)
			}
		})
	}
}
