package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		ctx := context.Background()
		tv := basicAuth("tv", secretBasic)
		start := func(a clientAuth, scope string) map[string]any {
			t.Helper()
			w := e.call(e.tenant.ID, "device_authorization", a, url.Values{"scope": {scope}})
			if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("device authorization: %d %v %s", w.Code, w.Header(), w.Body)
			}
			return decodeJSON(t, w)
		}
		poll := func(a clientAuth, deviceCode string) *httptest.ResponseRecorder {
			return e.token(a, url.Values{"grant_type": {grantDeviceCode}, "device_code": {deviceCode}})
		}
		userHash := func(m map[string]any) []byte {
			return keys.HashToken(keys.NormalizeUserCode(m["user_code"].(string)))
		}
		approve := func(m map[string]any) {
			t.Helper()
			if err := db.ApproveDeviceCode(ctx, e.tenant.ID, userHash(m), e.user.ID, "sid-tv", e.now(), []string{"pwd"}, "1"); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("the device authorization response follows RFC 8628", func(t *testing.T) {
			m := start(tv, "openid offline_access")
			iss := testPublicURL + "/t/" + e.tenant.ID
			uc, _ := m["user_code"].(string)
			if !userCodeRE.MatchString(uc) || m["verification_uri"] != iss+"/device" ||
				m["verification_uri_complete"] != iss+"/device?user_code="+uc || m["expires_in"] != float64(600) ||
				m["interval"] != float64(5) || len(m["device_code"].(string)) < 40 {
				t.Fatalf("response %v", m)
			}
			d, err := db.GetDeviceCodeByUserCode(ctx, e.tenant.ID, userHash(m))
			if err != nil || d.ClientID != "tv" || d.Status != store.DevicePending || strings.Join(d.Scopes, " ") != "openid offline_access" {
				t.Fatalf("stored %+v, %v", d, err)
			}
			if string(d.DeviceCodeHash) != string(keys.HashToken(m["device_code"].(string))) {
				t.Fatal("the device code is not stored as its hash")
			}
		})
		t.Run("a public client may start the device flow", func(t *testing.T) {
			start(publicAuth("spa"), "openid")
		})
		t.Run("a client not registered for the device grant is unauthorized", func(t *testing.T) {
			wantOAuthError(t, e.call(e.tenant.ID, "device_authorization", webAuth, url.Values{"scope": {"openid"}}),
				400, "unauthorized_client")
		})
		t.Run("a wrong secret at the device endpoint is invalid_client", func(t *testing.T) {
			wantOAuthError(t, e.call(e.tenant.ID, "device_authorization", basicAuth("tv", "nope"), url.Values{}),
				401, "invalid_client")
		})
		t.Run("a polling device waits, slows down, then gets tokens once", func(t *testing.T) {
			m := start(tv, "openid offline_access")
			dc := m["device_code"].(string)
			wantOAuthError(t, poll(tv, dc), 400, "authorization_pending")
			sd := wantOAuthError(t, poll(tv, dc), 400, "slow_down")
			if !strings.Contains(sd["error_description"].(string), "10 seconds") {
				t.Fatalf("slow_down description %v", sd)
			}
			e.advance(6 * time.Second)
			sd = wantOAuthError(t, poll(tv, dc), 400, "slow_down") // the interval was 10 s
			if !strings.Contains(sd["error_description"].(string), "15 seconds") {
				t.Fatalf("second slow_down description %v", sd)
			}
			e.advance(16 * time.Second)
			wantOAuthError(t, poll(tv, dc), 400, "authorization_pending")
			approve(m)
			tok := wantTokenResponse(t, poll(tv, dc))
			if tok["id_token"] == nil || tok["refresh_token"] == nil {
				t.Fatalf("tokens %v", tok)
			}
			ac := jwtClaims(t, tok["access_token"].(string))
			if ac["sub"] != e.user.ID || ac["sid"] != "sid-tv" || ac["gid"] == nil || ac["client_id"] != "tv" {
				t.Fatalf("access token %v", ac)
			}
			if _, ok := jwtClaims(t, tok["id_token"].(string))["nonce"]; ok {
				t.Fatal("a device ID token has no nonce")
			}
			wantOAuthError(t, poll(tv, dc), 400, "invalid_grant")
			rt := tok["refresh_token"].(string)
			wantTokenResponse(t, e.token(tv, url.Values{"grant_type": {grantRefreshToken}, "refresh_token": {rt}}))
		})
		t.Run("a denied device code answers access_denied", func(t *testing.T) {
			m := start(tv, "openid")
			if err := db.DenyDeviceCode(ctx, e.tenant.ID, userHash(m)); err != nil {
				t.Fatal(err)
			}
			wantOAuthError(t, poll(tv, m["device_code"].(string)), 400, "access_denied")
		})
		t.Run("an expired device code answers expired_token, even when approved", func(t *testing.T) {
			m := start(tv, "openid")
			approve(m)
			e.advance(11 * time.Minute)
			defer e.advance(-11 * time.Minute)
			wantOAuthError(t, poll(tv, m["device_code"].(string)), 400, "expired_token")
		})
		t.Run("a device code polled by another client is invalid_grant", func(t *testing.T) {
			m := start(tv, "openid")
			approve(m)
			wantOAuthError(t, poll(publicAuth("spa"), m["device_code"].(string)), 400, "invalid_grant")
			wantTokenResponse(t, poll(tv, m["device_code"].(string)))
		})
		t.Run("a device code is unknown at another tenant", func(t *testing.T) {
			m := start(tv, "openid")
			approve(m)
			wantOAuthError(t, e.call(e.other.ID, "token", tv, url.Values{"grant_type": {grantDeviceCode},
				"device_code": {m["device_code"].(string)}}), 400, "invalid_grant")
		})
		t.Run("an unknown or missing device code is refused", func(t *testing.T) {
			wantOAuthError(t, poll(tv, "nope"), 400, "invalid_grant")
			wantOAuthError(t, e.token(tv, url.Values{"grant_type": {grantDeviceCode}}), 400, "invalid_request")
		})
		t.Run("a scope the client may not request is invalid_scope", func(t *testing.T) {
			m := wantOAuthError(t, e.call(e.tenant.ID, "device_authorization", tv, url.Values{"scope": {"openid admin"}}), 400, "invalid_scope")
			if d, _ := m["error_description"].(string); !strings.Contains(d, "registered for the client") || strings.Contains(d, "admin") {
				t.Errorf("error_description %q: want it to say what to request, without echoing the request", d)
			}
		})
		t.Run("approval is for pending codes only", func(t *testing.T) {
			m := start(tv, "openid")
			approve(m)
			err := db.ApproveDeviceCode(ctx, e.tenant.ID, userHash(m), e.user.ID, "sid-2", e.now(), nil, "")
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second approval: %v", err)
			}
		})
	})
}
