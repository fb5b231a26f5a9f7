package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestPasswordlessSMSSignIn: with login.methods [password, sms_code] the sign-in page asks for the
// address first; an account without a verified number gets no "Text me a sign-in code", one with a
// number gets it, and the texted code signs in with amr sms and acr 1.
func TestPasswordlessSMSSignIn(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			phones := notifytest.NewSMSServer(t, "")
			srv := servertest.New(t, servertest.WithBackend(backend),
				servertest.WithConfig(func(c *config.Config) { c.Email, c.SMS = relay.Config, phones.WebhookConfig() }),
				servertest.WithSeed(func(ts *config.TenantSeed) {
					ts.Login = &config.Login{Methods: []string{config.MethodPassword, config.MethodSMSCode}, NewDeviceEmail: new(false)}
				}))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			secondStep := func(b *servertest.Browser) (servertest.Form, string, string, string) {
				t.Helper()
				resp, _, state, verifier := authorizeWith(t, srv, b, nil)
				first, _, body := b.GetForm(servertest.Location(t, resp).String())
				if strings.Contains(body, `type="password"`) {
					t.Fatalf("the identifier step shows a password field:\n%s", body)
				}
				resp, body = b.Submit(first, url.Values{"email": {srv.User.Email}})
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("the second step = %d:\n%s", resp.StatusCode, body)
				}
				return servertest.ParseForms(resp.Request.URL, body)[0], body, state, verifier
			}

			if _, body, _, _ := secondStep(srv.NewBrowser(t)); strings.Contains(body, "Text me a sign-in code") {
				t.Errorf("an account without a number is offered a texted code:\n%s", body)
			}

			const number = "+442079460958"
			if err := srv.DB.CreateFactor(context.Background(), store.Factor{TenantID: srv.Tenant, ID: "sms-" + servertest.RandomString(8),
				UserID: srv.User.ID, Kind: store.FactorSMS, Name: number, Data: `{"phone":"` + number + `"}`,
				ConfirmedAt: time.Now(), CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			b := srv.NewBrowser(t)
			second, body, state, verifier := secondStep(b)
			if !strings.Contains(body, "Text me a sign-in code") || !strings.Contains(body, `type="password"`) {
				t.Fatalf("the second step of an account with a number:\n%s", body)
			}
			resp, _ := b.Submit(second, url.Values{"method": {"sms_code"}, "password": nil})
			codePage := servertest.Location(t, resp)
			if !strings.HasSuffix(codePage.Path, "/login/code") {
				t.Fatalf("the texted code went to %s", codePage)
			}
			cf, _, body := b.GetForm(codePage.String())
			if !strings.Contains(body, `autocomplete="one-time-code"`) {
				t.Errorf("the code page's input has no autocomplete=one-time-code:\n%s", body)
			}
			m, err := phones.Wait(ctx, number)
			if err != nil {
				t.Fatal(err)
			}
			resp, body = b.Submit(cf, url.Values{"code": {m.Code()}})
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			if claims["acr"] != "1" || !slices.Equal(amrOf(claims), []string{"sms"}) {
				t.Errorf("a texted sign-in: acr %v amr %v, want 1 and [sms]", claims["acr"], claims["amr"])
			}
			if n := len(relay.Messages()); n != 0 {
				t.Errorf("%d emails, want none", n)
			}
		})
	}
}

// TestMaxAgeReauthenticatesWithAStrongFactor: a session older than the request's max_age, of a user with
// an authenticator app, is asked for an app code (the second-factor page, no password); the code steps
// the same session up and moves auth_time forward. A user without such a factor gets the password form.
func TestMaxAgeReauthenticatesWithAStrongFactor(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			srv := mfaServer(t, backend, relay, config.MFARequired, &skew, func(ts *config.TenantSeed) {
				ts.MFA.Factors = []string{config.FactorTOTP}
			})
			b := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b, nil)
			resp, _ = passwordStep(t, srv, b, resp)
			form, _, body := b.GetForm(servertest.Location(t, resp).String(), "/login/mfa/setup")
			seed := seedOf(t, body)
			resp, body = b.Submit(form, url.Values{"code": {identity.TOTPCode(seed, now())}})
			first := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)

			skew.Store(int64(2 * time.Minute))
			resp, _, state, verifier = authorizeWith(t, srv, b, url.Values{"max_age": {"60"}})
			resp, body = b.Get(servertest.Location(t, resp).String())
			mfa := servertest.Location(t, resp)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(mfa.Path, "/login/mfa") {
				t.Fatalf("a session older than max_age went to %s (%d), want the second-factor page:\n%s", mfa, resp.StatusCode, body)
			}
			f, _, body := b.GetForm(mfa.String()+"&method=totp", "/login/mfa?")
			if strings.Contains(body, `type="password"`) {
				t.Errorf("the re-authentication asks for the password:\n%s", body)
			}
			resp, body = b.Submit(f, url.Values{"code": {identity.TOTPCode(seed, now())}})
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			authTime := func(c map[string]any) int64 { v, _ := c["auth_time"].(float64); return int64(v) }
			if claims["sid"] != first["sid"] || authTime(claims) <= authTime(first) || claims["acr"] != "2" {
				t.Errorf("after the app code: sid %v (was %v), auth_time %d (was %d), acr %v", claims["sid"], first["sid"],
					authTime(claims), authTime(first), claims["acr"])
			}
			if eventCount(t, srv, "session.stepped_up") != 2 { // the setup at sign-in, then this
				t.Errorf("session.stepped_up events = %d, want 2", eventCount(t, srv, "session.stepped_up"))
			}

			// Without an app or a passkey: the password again.
			var skew2 atomic.Int64
			plain := mfaServer(t, backend, relay, config.MFAOff, &skew2)
			c := plain.NewBrowser(t)
			resp, _, state, verifier = authorizeWith(t, plain, c, nil)
			resp, body = passwordStep(t, plain, c, resp)
			finishAtClient(t, plain, c, resp, body, plain.FirstParty, state, verifier)
			skew2.Store(int64(2 * time.Minute))
			resp, _, _, _ = authorizeWith(t, plain, c, url.Values{"max_age": {"60"}})
			resp, body = c.Get(servertest.Location(t, resp).String())
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `type="password"`) {
				t.Errorf("a user without a strong factor: %d, want the password form:\n%s", resp.StatusCode, body)
			}
		})
	}
}

// TestClientMFAPolicyReplacesTheTenants: clients[].mfa_policy replaces the tenant's policy for that
// client, both ways: a required client under a tenant that is off asks for a second factor (also of a
// live session signed in for another client) while the other client does not; an off client under a
// required tenant does not, while the other client does.
func TestClientMFAPolicyReplacesTheTenants(t *testing.T) {
	t.Parallel()
	confidential := func(srv *servertest.Server) url.Values {
		return url.Values{"client_id": {srv.Confidential.ID}, "redirect_uri": {srv.Confidential.RedirectURI}}
	}
	withClientPolicy := func(policy string) func(*config.TenantSeed) {
		return func(ts *config.TenantSeed) {
			ts.MFA.Factors = []string{config.FactorEmail}
			for i := range ts.Clients {
				if ts.Clients[i].ClientID == servertest.FirstPartyClientID {
					ts.Clients[i].MFAPolicy = policy
				}
			}
		}
	}
	for _, backend := range storetest.Backends(t) {
		t.Run(backend+"/tenant off, client required", func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFAOff, &skew, withClientPolicy(config.MFARequired))

			// The other client: the password alone.
			b := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b, confidential(srv))
			resp, body := passwordStep(t, srv, b, resp)
			if claims := finishAtClient(t, srv, b, resp, body, srv.Confidential, state, verifier); claims["acr"] != "1" {
				t.Errorf("the client that follows the tenant: acr %v, want 1", claims["acr"])
			}
			// The required client on that live session: a step-up, without the password.
			resp, _, state, verifier = authorizeWith(t, srv, b, nil)
			resp, _ = b.Get(servertest.Location(t, resp).String())
			resp, body = emailSecondFactor(t, srv, b, relay, resp, 1, false)
			if claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier); claims["acr"] != "2" {
				t.Errorf("the required client on a password session: acr %v, want 2", claims["acr"])
			}
			// The required client in a new browser: the password, then the second factor.
			c := srv.NewBrowser(t)
			resp, _, _, _ = authorizeWith(t, srv, c, nil)
			resp, _ = passwordStep(t, srv, c, resp)
			if loc := servertest.Location(t, resp); !strings.HasSuffix(loc.Path, "/login/mfa") {
				t.Errorf("the required client's sign-in went to %s, want the second-factor page", loc)
			}
		})
		t.Run(backend+"/tenant required, client off", func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFARequired, &skew, withClientPolicy(config.MFAOff))

			b := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b, nil)
			resp, body := passwordStep(t, srv, b, resp)
			if claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier); claims["acr"] != "1" {
				t.Errorf("the client whose policy is off: acr %v, want 1", claims["acr"])
			}
			if n := eventCount(t, srv, "mfa.challenged"); n != 0 {
				t.Errorf("%d mfa.challenged events for the client whose policy is off", n)
			}
			c := srv.NewBrowser(t)
			resp, _, _, _ = authorizeWith(t, srv, c, confidential(srv))
			resp, _ = passwordStep(t, srv, c, resp)
			if loc := servertest.Location(t, resp); !strings.HasSuffix(loc.Path, "/login/mfa") {
				t.Errorf("the client that follows the required tenant went to %s, want the second-factor page", loc)
			}
		})
	}
}

// TestOptionalEmailCodesSwitch: under policy optional with factors [email], a user who did not turn
// email codes on is not asked for one; after "Turn on" on the account page the next sign-in asks for an
// emailed code; "Turn off" needs a recent sign-in (the re-authentication page otherwise), and afterwards
// the password is enough again.
func TestOptionalEmailCodesSwitch(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFAOptional, &skew, func(ts *config.TenantSeed) {
				ts.MFA.Factors = []string{config.FactorEmail}
			})
			signIn := func(b *servertest.Browser) (*http.Response, string, string, string) {
				t.Helper()
				resp, _, state, verifier := authorizeWith(t, srv, b, url.Values{"prompt": {"login"}})
				resp, body := passwordStep(t, srv, b, resp)
				return resp, body, state, verifier
			}
			b := srv.NewBrowser(t)
			resp, body, state, verifier := signIn(b)
			if claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier); claims["acr"] != "1" {
				t.Fatalf("before email codes are on: acr %v, want 1", claims["acr"])
			}
			switchCodes := func(b *servertest.Browser, on string) *http.Response {
				t.Helper()
				f, _, body := b.GetForm(srv.TenantURL("/account/signin"), "/account/email-codes")
				if f.Values.Get("on") != on {
					t.Fatalf("the account page's switch posts on=%q, want %q:\n%s", f.Values.Get("on"), on, body)
				}
				resp, _ := b.Submit(f, nil)
				return resp
			}
			if loc := servertest.Location(t, switchCodes(b, "1")); !strings.Contains(loc.RawQuery, "email_codes_on") {
				t.Fatalf("turning email codes on went to %s", loc)
			}

			c := srv.NewBrowser(t)
			resp, _, state, verifier = signIn(c)
			resp, body = emailSecondFactor(t, srv, c, relay, resp, 1, false)
			if claims := finishAtClient(t, srv, c, resp, body, srv.FirstParty, state, verifier); claims["acr"] != "2" ||
				!slices.Equal(amrOf(claims), []string{"pwd", "email", "mfa"}) {
				t.Errorf("with email codes on: acr %v amr %v", claims["acr"], claims["amr"])
			}

			skew.Store(int64(10 * time.Minute))
			if loc := servertest.Location(t, switchCodes(c, "0")); !strings.HasSuffix(loc.Path, "/account/reauth") {
				t.Fatalf("turning email codes off 10 minutes after the sign-in went to %s, want the re-authentication page", loc)
			}
			skew.Store(0) // the outbox sends by the real clock
			d := srv.NewBrowser(t)
			resp, _, state, verifier = signIn(d)
			resp, body = emailSecondFactor(t, srv, d, relay, resp, 2, false)
			finishAtClient(t, srv, d, resp, body, srv.FirstParty, state, verifier)
			if loc := servertest.Location(t, switchCodes(d, "0")); !strings.Contains(loc.RawQuery, "email_codes_off") {
				t.Fatalf("turning email codes off went to %s", loc)
			}
			e := srv.NewBrowser(t)
			resp, body, state, verifier = signIn(e)
			if claims := finishAtClient(t, srv, e, resp, body, srv.FirstParty, state, verifier); claims["acr"] != "1" {
				t.Errorf("after email codes are off: acr %v, want 1", claims["acr"])
			}
		})
	}
}

// TestSignInCodesExpireAndLimitAttempts: an emailed second-factor code and a passwordless sign-in code
// are refused after 10 minutes, and after identity.MaxCodeFailures wrong codes even the right one is
// refused (the flow has ended).
func TestSignInCodesExpireAndLimitAttempts(t *testing.T) {
	t.Parallel()
	wrongCode := func(right string) string {
		if right == "000000" {
			return "111111"
		}
		return "000000"
	}
	for _, backend := range storetest.Backends(t) {
		t.Run(backend+"/second factor", func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFARequired, &skew, func(ts *config.TenantSeed) {
				ts.MFA.Factors = []string{config.FactorEmail}
			})
			codeForm := func(n int) (*servertest.Browser, servertest.Form, string) {
				t.Helper()
				b := srv.NewBrowser(t)
				resp, _, _, _ := authorizeWith(t, srv, b, nil)
				resp, _ = passwordStep(t, srv, b, resp)
				send, _, _ := b.GetForm(servertest.Location(t, resp).String(), "/login/mfa/send")
				resp, _ = b.Submit(send, nil)
				f, _, _ := b.GetForm(servertest.Location(t, resp).String(), "/login/mfa?")
				return b, f, codeOf(t, awaitMailTo(t, relay, n, srv.User.Email))
			}

			b, f, code := codeForm(1)
			skew.Store(int64(10*time.Minute + time.Second))
			if resp, body := b.Submit(f, url.Values{"code": {code}}); resp.StatusCode == http.StatusSeeOther {
				t.Errorf("the right code after 10 minutes signed in:\n%s", body)
			}
			skew.Store(0)

			b, f, code = codeForm(2)
			for i := range identity.MaxCodeFailures {
				resp, body := b.Submit(f, url.Values{"code": {wrongCode(code)}})
				if resp.StatusCode == http.StatusSeeOther {
					t.Fatalf("wrong code %d signed in:\n%s", i+1, body)
				}
				if last := i == identity.MaxCodeFailures-1; last != strings.Contains(body, "Too many wrong codes") {
					t.Fatalf("wrong code %d of %d = %d:\n%s", i+1, identity.MaxCodeFailures, resp.StatusCode, body)
				}
			}
			if resp, body := b.Submit(f, url.Values{"code": {code}}); resp.StatusCode == http.StatusSeeOther {
				t.Errorf("the right code after %d wrong ones signed in:\n%s", identity.MaxCodeFailures, body)
			}
		})
		t.Run(backend+"/passwordless", func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFAOff, &skew, func(ts *config.TenantSeed) {
				ts.Login = &config.Login{Methods: []string{config.MethodPassword, config.MethodEmailCode}, NewDeviceEmail: new(false)}
			})
			codeForm := func(n int) (*servertest.Browser, servertest.Form, string) {
				t.Helper()
				b := srv.NewBrowser(t)
				resp, _, _, _ := authorizeWith(t, srv, b, nil)
				first, _, _ := b.GetForm(servertest.Location(t, resp).String())
				resp, body := b.Submit(first, url.Values{"email": {srv.User.Email}})
				second := servertest.ParseForms(resp.Request.URL, body)[0]
				resp, _ = b.Submit(second, url.Values{"method": {"email_code"}, "password": nil})
				f, _, _ := b.GetForm(servertest.Location(t, resp).String())
				return b, f, codeOf(t, awaitMailTo(t, relay, n, srv.User.Email))
			}

			b, f, code := codeForm(1)
			skew.Store(int64(10*time.Minute + time.Second))
			if resp, body := b.Submit(f, url.Values{"code": {code}}); resp.StatusCode == http.StatusSeeOther {
				t.Errorf("the right code after 10 minutes signed in:\n%s", body)
			}
			skew.Store(0)

			b, f, code = codeForm(2)
			for i := range identity.MaxCodeFailures {
				resp, body := b.Submit(f, url.Values{"code": {wrongCode(code)}})
				if resp.StatusCode == http.StatusSeeOther {
					t.Fatalf("wrong code %d signed in:\n%s", i+1, body)
				}
				if last := i == identity.MaxCodeFailures-1; last != strings.Contains(body, "Too many wrong codes") {
					t.Fatalf("wrong code %d of %d = %d:\n%s", i+1, identity.MaxCodeFailures, resp.StatusCode, body)
				}
			}
			if resp, body := b.Submit(f, url.Values{"code": {code}}); resp.StatusCode == http.StatusSeeOther {
				t.Errorf("the right code after %d wrong ones signed in:\n%s", identity.MaxCodeFailures, body)
			}
			if n := eventCount(t, srv, "login.succeeded"); n != 0 {
				t.Errorf("%d login.succeeded events, want none", n)
			}
		})
	}
}
