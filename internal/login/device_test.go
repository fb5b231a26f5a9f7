package login

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// newDeviceCode stores a pending device code of the "tv" client, as oidc's device authorization endpoint
// does, and returns its user code (BCDF-GHJK form).
func (e *env) newDeviceCode(ttl time.Duration) string {
	e.t.Helper()
	code := keys.NewUserCode()
	now := e.clock.Now()
	err := e.db.CreateDeviceCode(context.Background(), store.DeviceCode{
		TenantID: e.tenant.ID, DeviceCodeHash: keys.HashToken(keys.NewToken()),
		UserCodeHash: keys.HashToken(keys.NormalizeUserCode(code)), ClientID: "tv", Scopes: []string{"openid", "profile"},
		Interval: 5 * time.Second, CreatedAt: now, ExpiresAt: now.Add(ttl),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

func (e *env) deviceCode(userCode string) store.DeviceCode {
	e.t.Helper()
	dc, err := e.db.GetDeviceCodeByUserCode(context.Background(), e.tenant.ID, keys.HashToken(keys.NormalizeUserCode(userCode)))
	if err != nil {
		e.t.Fatal(err)
	}
	return dc
}

// enterCode submits a user code on the device page.
func (b *browser) enterCode(code string) *page {
	b.e.t.Helper()
	pg := b.get(b.e.path("/device"))
	wantStatus(b.e.t, pg, http.StatusOK, "")
	return b.submit(pg.formWith(b.e.t, "csrf_token", ""), url.Values{"user_code": {code}})
}

func lrOf(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("lr")
}

func TestDevice(t *testing.T) {
	tests := []struct {
		name string
		opts []envOption
		run  func(t *testing.T, e *env)
	}{
		{"the code entry form is prefilled from verification_uri_complete", nil, func(t *testing.T, e *env) {
			pg := e.browser().get(e.path("/device?user_code=BCDF-GHJK"))
			wantStatus(t, pg, http.StatusOK, "")
			wantBody(t, pg, `<label for="user_code">`, `name="user_code"`, `autocomplete="one-time-code"`, `value="BCDF-GHJK"`,
				"Acme Corp")
		}},
		{"a wrong code gets a message on its field and counts against the IP", nil, func(t *testing.T, e *env) {
			e.newDeviceCode(10 * time.Minute)
			pg := e.browser().enterCode("ZZZZ-ZZZZ")
			wantStatus(t, pg, http.StatusUnprocessableEntity, "")
			wantBody(t, pg, `aria-describedby="user_code-hint user_code-error"`, `id="user_code-error">This code is not valid`,
				`value="ZZZZ-ZZZZ"`)
			th, err := e.db.GetThrottle(context.Background(), e.tenant.ID, "ip:device:127.0.0.1")
			if err != nil || th.Failures != 1 {
				t.Errorf("device failures for the IP = %d (%v), want 1", th.Failures, err)
			}
		}},
		{"an expired code gets the same message", nil, func(t *testing.T, e *env) {
			code := e.newDeviceCode(time.Minute)
			e.clock.Advance(2 * time.Minute)
			pg := e.browser().enterCode(code)
			wantStatus(t, pg, http.StatusUnprocessableEntity, "")
			wantBody(t, pg, "This code is not valid or has expired")
		}},
		{"an empty code asks for one", nil, func(t *testing.T, e *env) {
			pg := e.browser().enterCode("  ")
			wantStatus(t, pg, http.StatusUnprocessableEntity, "")
			wantBody(t, pg, `id="user_code-error">Enter the code shown on your device.`)
		}},
		{"too many wrong codes answer 429", []envOption{withIPLimit(2)}, func(t *testing.T, e *env) {
			b := e.browser()
			b.enterCode("ZZZZ-ZZZZ")
			pg := b.enterCode("ZZZZ-ZZZX")
			wantStatus(t, pg, http.StatusTooManyRequests, "")
			if pg.Header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			good := e.newDeviceCode(10 * time.Minute)
			wantStatus(t, b.enterCode(good), http.StatusTooManyRequests, "")
		}},
		{"a good code signs in, then allow approves the device code", nil, func(t *testing.T, e *env) {
			code := e.newDeviceCode(10 * time.Minute)
			b := e.browser()
			// Typed in lower case without the hyphen: normalised before the lookup.
			pg := b.enterCode(strings.ToLower(strings.ReplaceAll(code, "-", "")))
			wantStatus(t, pg, http.StatusSeeOther, "")
			lrID := lrOf(t, pg.Location)
			if pg.Location != e.path("/login?lr="+lrID) {
				t.Fatalf("after the code: %s, want the sign-in page", pg.Location)
			}
			stored, err := e.db.GetLoginRequest(context.Background(), e.tenant.ID, lrID)
			if err != nil {
				t.Fatal(err)
			}
			if params, _ := json.Marshal(stored.Params); strings.Contains(string(params), keys.NormalizeUserCode(code)) {
				t.Fatalf("the login request stores the user code in the clear: %s", params)
			}
			login := b.get(pg.Location)
			wantBody(t, login, "Living Room TV")
			wantStatus(t, b.signIn(login, testEmail, testPassword), http.StatusSeeOther, e.path("/device?lr="+lrID))
			approve := b.get(e.path("/device?lr=" + lrID))
			wantStatus(t, approve, http.StatusOK, "")
			wantBody(t, approve, "Living Room TV", code, "See your name",
				`<button type="submit" name="decision" value="allow">`, `<button type="submit" name="decision" value="deny"`)
			res := b.decide(approve, "allow")
			wantStatus(t, res, http.StatusSeeOther, e.path("/device?lr="+lrID))
			wantBody(t, b.get(res.Location), "Device connected", "return to your device")
			dc := e.deviceCode(code)
			sess := e.liveSessions()[0]
			if dc.Status != store.DeviceApproved || dc.UserID != e.user.ID || dc.SessionID != sess.ID ||
				!slices.Equal(dc.AMR, []string{"pwd"}) || dc.ACR != "1" || !dc.AuthTime.Equal(sess.AuthTime) {
				t.Errorf("device code %+v not approved by session %+v", dc, sess)
			}
			if lr := e.loginRequest(lrID); lr.Status != store.LoginDone {
				t.Errorf("request %s, want done", lr.Status)
			}
			if evs := e.eventTypes(); !slices.Contains(evs, events.TypeDeviceCodeApproved) {
				t.Errorf("events %v lack device_code.approved", evs)
			}
			// The approval cannot be replayed.
			again := b.submit(approve.formWith(t, "decision", "allow"), url.Values{"decision": {"deny"}})
			wantStatus(t, again, http.StatusSeeOther, e.path("/device?lr="+lrID))
			if dc := e.deviceCode(code); dc.Status != store.DeviceApproved {
				t.Errorf("device code %s after a replayed decision, want approved", dc.Status)
			}
		}},
		{"deny leaves the device code denied", nil, func(t *testing.T, e *env) {
			code := e.newDeviceCode(10 * time.Minute)
			b := e.browser()
			b.signInDirect()
			pg := b.enterCode(code)
			lrID := lrOf(t, pg.Location)
			wantStatus(t, pg, http.StatusSeeOther, e.path("/device?lr="+lrID))
			approve := b.get(pg.Location)
			res := b.decide(approve, "deny")
			wantStatus(t, res, http.StatusSeeOther, e.path("/device?lr="+lrID))
			wantBody(t, b.get(res.Location), "Access denied")
			if dc := e.deviceCode(code); dc.Status != store.DeviceDenied {
				t.Errorf("device code %s, want denied", dc.Status)
			}
			if evs := e.eventTypes(); !slices.Contains(evs, events.TypeDeviceCodeDenied) {
				t.Errorf("events %v lack device_code.denied", evs)
			}
		}},
		{"with a session the approve page comes at once", nil, func(t *testing.T, e *env) {
			code := e.newDeviceCode(10 * time.Minute)
			b := e.browser()
			b.signInDirect()
			pg := b.enterCode(code)
			wantStatus(t, pg, http.StatusSeeOther, e.path("/device?lr="+lrOf(t, pg.Location)))
			wantBody(t, b.get(pg.Location), "Connect Living Room TV?")
		}},
		{"the approve page belongs to the browser that entered the code", nil, func(t *testing.T, e *env) {
			code := e.newDeviceCode(10 * time.Minute)
			b := e.browser()
			b.signInDirect()
			pg := b.enterCode(code)
			other := e.browser()
			other.signInDirect()
			wantStatus(t, other.get(pg.Location), http.StatusBadRequest, "")
		}},
		{"a code that expires before approval is refused", nil, func(t *testing.T, e *env) {
			code := e.newDeviceCode(time.Minute)
			b := e.browser()
			b.signInDirect()
			pg := b.enterCode(code)
			approve := b.get(pg.Location)
			e.clock.Advance(61 * time.Second)
			res := b.decide(approve, "allow")
			if res.Status == http.StatusSeeOther {
				t.Fatalf("an expired code was approved: %s", res.Location)
			}
			if dc := e.deviceCode(code); dc.Status != store.DevicePending {
				t.Errorf("device code %s, want pending", dc.Status)
			}
		}},
		{"a decision without a CSRF token is refused and changes nothing", nil, func(t *testing.T, e *env) {
			code := e.newDeviceCode(10 * time.Minute)
			b := e.browser()
			b.signInDirect()
			pg := b.enterCode(code)
			wantStatus(t, b.post(pg.Location, url.Values{"decision": {"allow"}}), http.StatusForbidden, "")
			if dc := e.deviceCode(code); dc.Status != store.DevicePending {
				t.Errorf("device code %s, want pending", dc.Status)
			}
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
