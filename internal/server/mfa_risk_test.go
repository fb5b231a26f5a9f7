package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestAdaptiveUnknownDeviceOnAllowedNetwork: under policy adaptive, an address on risk.allow scores 0,
// but a browser the user never completed a sign-in on is still asked for a second factor, and the event
// says both; once that browser is known, the allowed address signs in with the password alone.
func TestAdaptiveUnknownDeviceOnAllowedNetwork(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := servertest.New(t, servertest.WithBackend(backend),
				servertest.WithConfig(func(c *config.Config) {
					c.Email = relay.Config
					c.Risk.Allow = []string{"127.0.0.0/8", "::1/128"}
				}),
				servertest.WithSeed(func(ts *config.TenantSeed) { ts.MFA = &config.MFA{Policy: config.MFAAdaptive} }))
			b := srv.NewBrowser(t)
			resp, _, state, verifier := authorizeWith(t, srv, b, nil)
			resp, _ = passwordStep(t, srv, b, resp)
			ev := lastEvent(t, srv, "risk.assessed")
			if ev.Data["decision"] != "challenged" || ev.Data["level"] != "low" ||
				!strings.Contains(ev.Data["explain"].(string), "allow list") || !strings.Contains(ev.Data["explain"].(string), "new device") {
				t.Errorf("a new browser on an allowed address: risk.assessed %v", ev.Data)
			}
			resp, body := emailSecondFactor(t, srv, b, relay, resp, 1, false)
			if claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier); claims["acr"] != "2" {
				t.Errorf("acr %v, want 2", claims["acr"])
			}

			resp, _, state, verifier = authorizeWith(t, srv, b, url.Values{"prompt": {"login"}})
			resp, body = passwordStep(t, srv, b, resp)
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			ev = lastEvent(t, srv, "risk.assessed")
			if claims["acr"] != "1" || ev.Data["decision"] != "allowed" {
				t.Errorf("the known browser on an allowed address: acr %v, risk.assessed %v", claims["acr"], ev.Data)
			}
		})
	}
}

// perPage matches the per-page values (tokens, nonces, the request id), so that two refusals can be compared.
var perPage = regexp.MustCompile(`value="[^"]*"|nonce="[^"]*"|lr(=|%3D)[A-Za-z0-9_-]+`)

// TestDenyListRefusesBeforePassword: an address on risk.deny gets the same neutral 403 for a wrong
// password, the right one and an unknown address, before any password is checked (no login.failed);
// each attempt writes login.blocked and risk.assessed (denied) with the reason in words.
func TestDenyListRefusesBeforePassword(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithConfig(func(c *config.Config) {
				c.Email = relay.Config
				c.Risk.Deny = []string{"127.0.0.0/8", "::1/128"}
			}), servertest.WithSeed(func(ts *config.TenantSeed) { ts.MFA = &config.MFA{Policy: config.MFAOptional} }))
			var bodies []string
			for _, try := range []struct{ name, email, password string }{
				{"a wrong password", srv.User.Email, "Wrong-Password-1"},
				{"the right password", srv.User.Email, srv.User.Password},
				{"an unknown address", "nobody@example.org", "Wrong-Password-1"},
			} {
				b := srv.NewBrowser(t)
				resp, _, _, _ := authorizeWith(t, srv, b, nil)
				lf, _, _ := b.GetForm(servertest.Location(t, resp).String())
				resp, body := b.Submit(lf, url.Values{"email": {try.email}, "password": {try.password}})
				if resp.StatusCode != http.StatusForbidden || strings.Contains(strings.ToLower(body), "risk") || strings.Contains(body, "deny") {
					t.Fatalf("%s from a denied address = %d:\n%s", try.name, resp.StatusCode, body)
				}
				bodies = append(bodies, perPage.ReplaceAllString(body, ""))
			}
			for i := range bodies[1:] {
				if bodies[i+1] != bodies[0] {
					t.Errorf("attempt %d reads differently from the first:\n%s\n----\n%s", i+2, bodies[i+1], bodies[0])
				}
			}
			if n := eventCount(t, srv, "login.failed"); n != 0 {
				t.Errorf("%d login.failed events: a password was checked", n)
			}
			if n := eventCount(t, srv, "login.blocked"); n != 3 {
				t.Errorf("%d login.blocked events, want 3", n)
			}
			blocked := lastEvent(t, srv, "login.blocked")
			ev := lastEvent(t, srv, "risk.assessed")
			if ev.Data["decision"] != "denied" || !strings.Contains(ev.Data["explain"].(string), "deny list") ||
				!strings.Contains(blocked.Data["reasons"].(string), "deny list") {
				t.Errorf("risk.assessed %v, login.blocked %v", ev.Data, blocked.Data)
			}
			if n := eventCount(t, srv, "risk.assessed"); n != 3 {
				t.Errorf("%d risk.assessed events, want 3", n)
			}
		})
	}
}

// TestFailedSignInIsScored: a wrong password is scored too: risk.assessed with decision failed, the
// account's id and the reasons in words; an unknown address is scored without an account. The next
// attempts from the address count the failures.
func TestFailedSignInIsScored(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithConfig(func(c *config.Config) {
				c.Email = relay.Config
				c.Risk.IPFailuresThreshold = 2
			}))
			try := func(email string) {
				t.Helper()
				b := srv.NewBrowser(t)
				resp, _, _, _ := authorizeWith(t, srv, b, nil)
				lf, _, _ := b.GetForm(servertest.Location(t, resp).String())
				if resp, body := b.Submit(lf, url.Values{"email": {email}, "password": {"Wrong-Password-1"}}); resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("a wrong password = %d:\n%s", resp.StatusCode, body)
				}
			}
			try(srv.User.Email)
			ev := lastEvent(t, srv, "risk.assessed")
			if ev.Data["decision"] != "failed" || ev.Subject != srv.User.ID || !strings.Contains(ev.Data["explain"].(string), "new device") {
				t.Errorf("a wrong password: risk.assessed subject %q %v", ev.Subject, ev.Data)
			}
			try("nobody@example.org")
			ev = lastEvent(t, srv, "risk.assessed")
			if ev.Data["decision"] != "failed" || ev.Subject != "" {
				t.Errorf("an unknown address: risk.assessed subject %q %v", ev.Subject, ev.Data)
			}
			try(srv.User.Email)
			ev = lastEvent(t, srv, "risk.assessed")
			if !strings.Contains(ev.Data["explain"].(string), "2 failed attempts from this IP") {
				t.Errorf("the third attempt: risk.assessed %v, want the two failures before it", ev.Data)
			}
			if n := eventCount(t, srv, "risk.assessed"); n != 3 {
				t.Errorf("%d risk.assessed events, want 3", n)
			}
		})
	}
}
