package server_test

import (
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"regexp"
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

var totpKey = regexp.MustCompile(`<code id="totp-key"[^>]*>([A-Z2-7 ]+)</code>`)

// seedOf reads the base32 key an enrolment page shows.
func seedOf(t *testing.T, body string) []byte {
	t.Helper()
	m := totpKey.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no key on the enrolment page:\n%s", body)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// lastEvent returns the newest event of type typ.
func lastEvent(t *testing.T, srv *servertest.Server, typ string) store.Event {
	t.Helper()
	evs, err := srv.DB.ListEvents(context.Background(), srv.Tenant, 0, typ, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatalf("no %s event", typ)
	}
	return evs[len(evs)-1]
}

// TestRequiredMFASetupAtSignIn: under policy required with factors [totp] a user with none signs in
// with the password, sets up an authenticator app on the setup page (a wrong first code is refused) and
// the request completes with acr 2. The next sign-in asks for an app code; a code of the same step is
// refused (replay); recovery codes are made on the account page and one signs in once.
func TestRequiredMFASetupAtSignIn(t *testing.T) {
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
			setup := servertest.Location(t, resp)
			if !strings.HasSuffix(setup.Path, "/login/mfa/setup") {
				t.Fatalf("a user without a factor went to %s, want the setup page", setup)
			}
			form, _, body := b.GetForm(setup.String(), "/login/mfa/setup")
			if !strings.Contains(body, "<svg") || !strings.Contains(body, `href="otpauth://totp/`) {
				t.Errorf("the setup page lacks the QR code or the otpauth link:\n%s", body)
			}
			seed := seedOf(t, body)
			r2, b2 := b.Submit(form, url.Values{"code": {"000000"}})
			if r2.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b2, `aria-invalid="true"`) {
				t.Fatalf("a wrong first code = %d", r2.StatusCode)
			}
			resp, body = b.Submit(form, url.Values{"code": {identity.TOTPCode(seed, now())}})
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			if claims["acr"] != "2" || !slices.Equal(amrOf(claims), []string{"pwd", "otp", "mfa"}) {
				t.Errorf("after the setup: acr %v amr %v", claims["acr"], claims["amr"])
			}

			// Recovery codes, made on the account page (the session is fresh).
			rf, _, _ := b.GetForm(srv.TenantURL("/account/recovery-codes"), "/account/recovery-codes")
			_, body = b.Submit(rf, nil)
			codes := regexp.MustCompile(`<li><code>([a-z0-9-]{10,})</code></li>`).FindAllStringSubmatch(body, -1)
			if len(codes) != 10 {
				t.Fatalf("%d recovery codes shown, want 10:\n%s", len(codes), body)
			}

			// A new browser: the app's next code (one step of drift is allowed) signs in once. The clock
			// stays put: the outbox delivers by the real one.
			code := identity.TOTPCode(seed, now().Add(30*time.Second))
			signInWith := func(method, code string) (*http.Response, string, string, string) {
				c := srv.NewBrowser(t)
				resp, _, state, verifier := authorizeWith(t, srv, c, url.Values{"prompt": {"login"}})
				resp, _ = passwordStep(t, srv, c, resp)
				mfa := servertest.Location(t, resp)
				f, _, _ := c.GetForm(mfa.String()+"&method="+method, "/login/mfa?")
				resp, body := c.Submit(f, url.Values{"code": {code}})
				if resp.StatusCode == http.StatusSeeOther {
					claims := finishAtClient(t, srv, c, resp, body, srv.FirstParty, state, verifier)
					return resp, body, claims["acr"].(string), strings.Join(amrOf(claims), " ")
				}
				return resp, body, "", ""
			}
			if _, _, acr, amr := signInWith("totp", code); acr != "2" || amr != "pwd otp mfa" {
				t.Errorf("an app code: acr %q amr %q", acr, amr)
			}
			if resp, _, _, _ := signInWith("totp", code); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("the same code again = %d, want 422 (replay)", resp.StatusCode)
			}
			rc := codes[3][1]
			if _, _, acr, _ := signInWith("recovery", strings.ToUpper(strings.ReplaceAll(rc, "-", ""))); acr != "2" {
				t.Errorf("a recovery code (typed without the hyphen, upper case): acr %q", acr)
			}
			if resp, _, _, _ := signInWith("recovery", rc); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("the same recovery code again = %d, want 422", resp.StatusCode)
			}
			if m := awaitMailTo(t, relay, 1, srv.User.Email); !strings.Contains(m.Subject+m.Body, "recovery code") {
				t.Errorf("the first email is not the recovery code notice: %s", m.Subject)
			}
		})
	}
}

// TestVoluntaryACRWithoutFactors: acr_values=2 from a user with no second factor (policy off) is met as
// far as the factors allow: the sign-in completes with acr 1.
func TestVoluntaryACRWithoutFactors(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFAOff, &skew)
			b := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b, url.Values{"acr_values": {"2 phr"}})
			resp, body := passwordStep(t, srv, b, resp)
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			if claims["acr"] != "1" {
				t.Errorf("acr %v, want 1 (what was reached)", claims["acr"])
			}
		})
	}
}

// TestAdaptiveMFA: under policy adaptive a first sign-in from an unknown browser is medium risk and asks
// a second factor (the event says why in words); the same browser, now known, on the same network is
// low risk and signs in with the password alone; an address on risk.deny is refused with a neutral
// page whatever the password, with login.blocked and the reasons.
func TestAdaptiveMFA(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var skew atomic.Int64
			srv := mfaServer(t, backend, relay, config.MFAAdaptive, &skew)
			b := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b, nil)
			resp, _ = passwordStep(t, srv, b, resp)
			resp, body := emailSecondFactor(t, srv, b, relay, resp, 1, false)
			finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			ev := lastEvent(t, srv, "risk.assessed")
			if ev.Data["decision"] != "challenged" || !strings.Contains(ev.Data["explain"].(string), "new device") {
				t.Errorf("first sign-in: risk.assessed %v", ev.Data)
			}

			resp, _, state, verifier = authorizeWith(t, srv, b, url.Values{"prompt": {"login"}})
			resp, body = passwordStep(t, srv, b, resp)
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			ev = lastEvent(t, srv, "risk.assessed")
			if claims["acr"] != "1" || ev.Data["decision"] != "allowed" || ev.Data["level"] != "low" {
				t.Errorf("known device: acr %v, risk.assessed %v", claims["acr"], ev.Data)
			}
		})
	}
}
