package login

import (
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

var (
	otpauthRe = regexp.MustCompile(`<a href="(otpauth://totp/[^"]+)"`)
	keyRe     = regexp.MustCompile(`<code id="totp-key"[^>]*>([A-Z2-7 ]+)</code>`)
	codeLiRe  = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
)

// enrolTOTP sets up an authenticator app through the account pages and returns its seed.
func (b *browser) enrolTOTP(t *testing.T) []byte {
	t.Helper()
	pg := b.get(b.e.path("/account/totp"))
	wantStatus(t, pg, http.StatusOK, "")
	seed := pageSeed(t, pg)
	res := b.submit(pg.formWith(t, "factor_id", ""), url.Values{"code": {identity.TOTPCode(seed, b.e.clock.Now())},
		"name": {"Work phone"}})
	wantStatus(t, res, http.StatusSeeOther, b.e.path("/account/signin?done=totp_added"))
	return seed
}

// pageSeed is the seed of the enrolment page pg, read from its grouped key.
func pageSeed(t *testing.T, pg *page) []byte {
	t.Helper()
	m := keyRe.FindStringSubmatch(pg.Body)
	if m == nil {
		t.Fatalf("no grouped key in:\n%s", pg.Body)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

func TestAccountSignInMethods(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"the section lists nothing yet and links the setups", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			pg := a.get(e.path("/account/signin"))
			wantStatus(t, pg, http.StatusOK, "")
			wantBody(t, pg, "Sign-in methods", `aria-current="page"`, "Set up an authenticator app", `href="`+e.path("/account/totp")+`"`,
				"Add a passkey", `href="`+e.path("/account/passkeys")+`"`, "You have no recovery codes.", "Remembered devices",
				"Firefox on Linux", "(this browser)")
			if strings.Contains(pg.Body, `name="factor_id"`) {
				t.Error("a factor listed before any was added")
			}
		}},
		{"the enrolment page shows a QR code, the key and the otpauth link; the first code enrols", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			pg := a.get(e.path("/account/totp"))
			wantStatus(t, pg, http.StatusOK, "")
			wantBody(t, pg, `<svg class="qr"`, `<path fill="#000" d="M`, `autocomplete="one-time-code"`, `inputmode="numeric"`)
			if cc := pg.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q: the page holds the seed", cc)
			}
			m := otpauthRe.FindStringSubmatch(pg.Body)
			if m == nil {
				t.Fatalf("no otpauth link in:\n%s", pg.Body)
			}
			seed := pageSeed(t, pg)
			uri, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
			if err != nil || uri.Query().Get("issuer") != "Acme Corp" || uri.Path != "/Acme Corp:"+testEmail {
				t.Fatalf("otpauth URI %q: %v", m[1], err)
			}
			if s, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(uri.Query().Get("secret")); string(s) != string(seed) {
				t.Error("the link's secret is not the grouped key")
			}
			f := pg.formWith(t, "factor_id", "")

			// A wrong code: 422, the same enrolment shown again.
			wrong := identity.TOTPCode(seed, e.clock.Now().Add(10*identity.TOTPPeriod))
			res := a.submit(f, url.Values{"code": {wrong}})
			wantStatus(t, res, http.StatusUnprocessableEntity, "")
			wantBody(t, res, "That code is not right.", `aria-invalid="true"`, `<svg class="qr"`)
			if string(pageSeed(t, res)) != string(seed) || res.formWith(t, "factor_id", f.Fields.Get("factor_id")).Action == "" {
				t.Error("a wrong code showed another enrolment")
			}
			if fs, _ := e.ids.Factors(context.Background(), e.tenant.ID, e.user.ID); len(fs) != 0 {
				t.Fatalf("factors after a wrong code: %+v", fs)
			}

			res = a.submit(f, url.Values{"code": {identity.TOTPCode(seed, e.clock.Now())}, "name": {"Work phone"}})
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/signin?done=totp_added"))
			pg = a.get(res.Location)
			wantBody(t, pg, "Your authenticator app was added.", "Work phone", "Authenticator app", "not used yet")
			if !slices.Contains(e.eventTypes(), events.TypeFactorEnrolled) {
				t.Error("no mfa.factor_enrolled event")
			}
		}},
		{"removing a factor takes a recent sign-in", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			a.enrolTOTP(t)
			fs, err := e.ids.Factors(context.Background(), e.tenant.ID, e.user.ID)
			if err != nil || len(fs) != 1 {
				t.Fatalf("factors %+v, %v", fs, err)
			}
			e.clock.Advance(6 * time.Minute)
			f := a.get(e.path("/account/signin")).formWith(t, "factor_id", fs[0].ID)
			res := a.submit(f, nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/reauth?next="+url.QueryEscape(e.path("/account/signin"))))
			if fs, _ := e.ids.Factors(context.Background(), e.tenant.ID, e.user.ID); len(fs) != 1 {
				t.Fatal("removed without a recent sign-in")
			}

			b := e.browser()
			b.signInDirect()
			res = b.submit(b.get(e.path("/account/signin")).formWith(t, "factor_id", fs[0].ID), nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/signin?done=factor_removed"))
			wantBody(t, b.get(res.Location), "The sign-in method was removed.")
			if fs, _ := e.ids.Factors(context.Background(), e.tenant.ID, e.user.ID); len(fs) != 0 {
				t.Errorf("factors after removal: %+v", fs)
			}
			if !slices.Contains(e.eventTypes(), events.TypeFactorRemoved) {
				t.Error("no mfa.factor_removed event")
			}
			csrf := b.get(e.path("/account/signin")).formWith(t, "csrf_token", "").Fields["csrf_token"]
			res = b.post(e.path("/account/factors/remove"), url.Values{"csrf_token": csrf, "factor_id": {fs[0].ID}})
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/signin?error=factor_unknown"))
		}},
		{"setting up an app takes a recent sign-in", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			e.clock.Advance(6 * time.Minute)
			wantStatus(t, a.get(e.path("/account/totp")), http.StatusSeeOther,
				e.path("/account/reauth?next="+url.QueryEscape(e.path("/account/totp"))))
			if fs, _ := e.db.ListFactors(context.Background(), e.tenant.ID, e.user.ID); len(fs) != 0 {
				t.Errorf("an enrolment started without a recent sign-in: %+v", fs)
			}
		}},
		{"an unknown or expired enrolment starts again", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			f := a.get(e.path("/account/totp")).formWith(t, "factor_id", "")
			res := a.submit(f, url.Values{"factor_id": {"not-an-enrolment"}, "code": {"123456"}})
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/totp?error=expired"))
			wantBody(t, a.get(res.Location), "That setup expired.")
		}},
		{"a removal without a CSRF token changes nothing", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			a.enrolTOTP(t)
			fs, _ := e.ids.Factors(context.Background(), e.tenant.ID, e.user.ID)
			res := a.post(e.path("/account/factors/remove"), url.Values{"factor_id": {fs[0].ID}})
			wantStatus(t, res, http.StatusForbidden, "")
			if fs, _ := e.ids.Factors(context.Background(), e.tenant.ID, e.user.ID); len(fs) != 1 {
				t.Error("removed without a CSRF token")
			}
		}},
		{"recovery codes: ten codes, each in its own element, shown once", func(t *testing.T, e *env) {
			a := e.browser()
			a.signInDirect()
			pg := a.get(e.path("/account/recovery-codes"))
			wantStatus(t, pg, http.StatusOK, "")
			wantBody(t, pg, "You have no recovery codes.", "Generate new codes")
			res := a.submit(pg.formWith(t, "csrf_token", ""), nil)
			wantStatus(t, res, http.StatusOK, "")
			wantBody(t, res, "Your new recovery codes", "Store these codes somewhere safe")
			codes := codeLiRe.FindAllStringSubmatch(res.Body, -1)
			if len(codes) != 10 {
				t.Fatalf("%d codes in:\n%s", len(codes), res.Body)
			}
			for _, c := range codes {
				if len(c[1]) < 10 {
					t.Errorf("code %q shorter than 10 characters", c[1])
				}
			}
			if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q", cc)
			}
			wantBody(t, a.get(e.path("/account/signin")), "10 of 10 recovery codes left.")
			if _, err := e.ids.UseRecoveryCode(context.Background(), e.tenant, e.user, codes[3][1], "", ""); err != nil {
				t.Fatal(err)
			}
			wantBody(t, a.get(e.path("/account/recovery-codes")), "9 of 10 recovery codes left.")

			// A new set replaces existing codes only after a recent sign-in.
			e.clock.Advance(6 * time.Minute)
			res = a.submit(a.get(e.path("/account/recovery-codes")).formWith(t, "csrf_token", ""), nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/reauth?next="+url.QueryEscape(e.path("/account/recovery-codes"))))
			if left, _, _ := e.ids.RecoveryCodesLeft(context.Background(), e.tenant.ID, e.user.ID); left != 9 {
				t.Errorf("%d codes left, want the old set's 9", left)
			}
		}},
		{"remembered devices can be removed", func(t *testing.T, e *env) {
			a, b := e.browser(), e.browser()
			a.signInDirect()
			b.signInDirect()
			pg := a.get(e.path("/account/signin"))
			devs := regexp.MustCompile(`name="device" value="([^"]+)"`).FindAllStringSubmatch(pg.Body, -1)
			if len(devs) != 2 {
				t.Fatalf("%d devices listed:\n%s", len(devs), pg.Body)
			}
			wantBody(t, pg, "network 127.0.0.0/24")
			ds, _ := e.db.ListKnownDevices(context.Background(), e.tenant.ID, e.user.ID)
			for _, d := range ds {
				if strings.Contains(pg.Body, string(d.DeviceHash)) {
					t.Error("raw device hash on the page")
				}
			}
			res := a.submit(pg.formWith(t, "device", devs[1][1]), nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/signin?done=device_removed"))
			if ds, _ := e.db.ListKnownDevices(context.Background(), e.tenant.ID, e.user.ID); len(ds) != 1 {
				t.Errorf("%d known devices, want 1", len(ds))
			}
			if !slices.Contains(e.eventTypes(), events.TypeDeviceForgotten) {
				t.Error("no device.forgotten event")
			}
			res = a.submit(pg.formWith(t, "device", devs[1][1]), nil)
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/signin?error=device_unknown"))
			res = a.submit(pg.formWith(t, "device", devs[0][1]), url.Values{"device": {"not-a-device"}})
			wantStatus(t, res, http.StatusSeeOther, e.path("/account/signin?error=no_choice"))
		}},
		{"without a session the pages send the browser to sign in", func(t *testing.T, e *env) {
			for _, p := range []string{"/account/signin", "/account/totp", "/account/recovery-codes"} {
				wantStatus(t, e.browser().get(e.path(p)), http.StatusSeeOther, e.path("/login"))
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
