package oidc

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestTokenEndpointRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		m2m := basicAuth("m2m", secretM2M)
		raw := func(endpoint, contentType, body string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/"+e.tenant.ID+"/"+endpoint, strings.NewReader(body))
			if contentType != "" {
				r.Header.Set("Content-Type", contentType)
			}
			r.SetBasicAuth("m2m", secretM2M)
			r.RemoteAddr = e.ip + ":1"
			return e.serve(r)
		}
		tests := []struct {
			name   string
			resp   func() *httptest.ResponseRecorder
			status int
			code   string
		}{
			{"a JSON body is refused", func() *httptest.ResponseRecorder {
				return raw("token", "application/json", `{"grant_type":"client_credentials"}`)
			}, 400, "invalid_request"},
			{"a body without a content type is refused", func() *httptest.ResponseRecorder {
				return raw("token", "", "grant_type=client_credentials")
			}, 400, "invalid_request"},
			{"a content type with a charset is accepted", func() *httptest.ResponseRecorder {
				return raw("token", "application/x-www-form-urlencoded; charset=UTF-8", "grant_type=client_credentials")
			}, 200, ""},
			{"a repeated parameter is refused", func() *httptest.ResponseRecorder {
				return raw("token", "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=a&scope=b")
			}, 400, "invalid_request"},
			{"a repeated grant_type is refused", func() *httptest.ResponseRecorder {
				return raw("token", "application/x-www-form-urlencoded", "grant_type=client_credentials&grant_type=client_credentials")
			}, 400, "invalid_request"},
			{"broken percent-encoding is refused", func() *httptest.ResponseRecorder {
				return raw("token", "application/x-www-form-urlencoded", "grant_type=client%ZZcredentials")
			}, 400, "invalid_request"},
			{"semicolon separators are refused", func() *httptest.ResponseRecorder {
				return raw("token", "application/x-www-form-urlencoded", "grant_type=client_credentials;scope=x")
			}, 400, "invalid_request"},
			{"an oversized body is refused", func() *httptest.ResponseRecorder {
				return raw("token", "application/x-www-form-urlencoded", "grant_type=client_credentials&x="+strings.Repeat("a", maxFormBytes))
			}, 413, "invalid_request"},
			{"a missing grant_type is invalid_request", func() *httptest.ResponseRecorder {
				return e.token(m2m, url.Values{})
			}, 400, "invalid_request"},
			{"an unknown grant_type is unsupported_grant_type", func() *httptest.ResponseRecorder {
				return e.token(m2m, url.Values{"grant_type": {"password"}})
			}, 400, "unsupported_grant_type"},
			{"a grant the client is not registered for is unauthorized_client", func() *httptest.ResponseRecorder {
				return e.token(m2m, url.Values{"grant_type": {grantAuthorizationCode}, "code": {"x"}})
			}, 400, "unauthorized_client"},
			{"an unknown tenant is 404", func() *httptest.ResponseRecorder {
				return e.call("no-such-tenant", "token", m2m, url.Values{"grant_type": {grantClientCredentials}})
			}, 404, "invalid_request"},
			{"a malformed tenant id is 404", func() *httptest.ResponseRecorder {
				return e.call("NOT_A_TENANT", "token", m2m, url.Values{"grant_type": {grantClientCredentials}})
			}, 404, "invalid_request"},
			{"a malformed Authorization header is invalid_client", func() *httptest.ResponseRecorder {
				r := e.request(e.tenant.ID, "token", url.Values{"grant_type": {grantClientCredentials}})
				r.Header.Set("Authorization", "Basic %%%")
				return e.serve(r)
			}, 401, "invalid_client"},
			{"a Bearer Authorization header is invalid_client", func() *httptest.ResponseRecorder {
				r := e.request(e.tenant.ID, "token", url.Values{"grant_type": {grantClientCredentials}})
				r.Header.Set("Authorization", "Bearer abc")
				return e.serve(r)
			}, 401, "invalid_client"},
			{"a huge client_id is invalid_client", func() *httptest.ResponseRecorder {
				return e.token(postAuth(strings.Repeat("c", 5000), "x"), url.Values{"grant_type": {grantClientCredentials}})
			}, 401, "invalid_client"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := tt.resp()
				if tt.status == 200 {
					wantTokenResponse(t, w)
					return
				}
				wantOAuthError(t, w, tt.status, tt.code)
			})
		}
		t.Run("GET is not allowed", func(t *testing.T) {
			w := e.serve(httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/token?grant_type=client_credentials", nil))
			if w.Code != http.StatusMethodNotAllowed {
				t.Fatalf("status %d", w.Code)
			}
		})
		t.Run("credentials in the URL query are ignored", func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/"+e.tenant.ID+"/token?client_id=m2m-noscope&client_secret="+secretM2M,
				strings.NewReader("grant_type=client_credentials"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			wantOAuthError(t, e.serve(r), 401, "invalid_client")
		})
		t.Run("random bodies never cause a server error", func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			rng := rand.New(rand.NewPCG(seed, 2))
			pieces := []string{"grant_type=", "authorization_code", "refresh_token", "client_credentials", grantDeviceCode, "&",
				"code=", "refresh_token=", "device_code=", "scope=", "openid", "%", "%00", "%ff", "=", ";", "+", "client_id=",
				"client_secret=", "client_assertion=", "client_assertion_type=", assertionTypeJWTBearer, "token=", "a.b.c",
				"eyJhbGciOiJFUzI1NiJ9", ".", "redirect_uri=", "code_verifier=", "\x00", "\xff", "m2m", "spa", "web"}
			for i := range 1000 {
				var b strings.Builder
				for range rng.IntN(12) {
					b.WriteString(pieces[rng.IntN(len(pieces))])
				}
				endpoint := []string{"token", "introspect", "revoke", "device_authorization"}[i%4]
				r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/"+e.tenant.ID+"/"+endpoint, strings.NewReader(b.String()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				// Many IPs, so that the failures neither hit the IP limit (which would hide the rest behind 429)
				// nor throttle the other tests' IP.
				r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1", rng.IntN(256), rng.IntN(256), rng.IntN(256))
				if rng.IntN(2) == 0 {
					r.SetBasicAuth("spa", b.String())
				}
				if w := e.serve(r); w.Code >= 500 {
					t.Fatalf("seed %d: %s %q: %d %s", seed, endpoint, b.String(), w.Code, w.Body)
				}
			}
		})
	})
}

func TestWriteTokenErrorHidesServerErrors(t *testing.T) {
	e := newTokenEnv(t, storetest.Open(t))
	r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/"+e.tenant.ID+"/token", nil)
	w := httptest.NewRecorder()
	e.p.writeTokenError(w, r, errors.New("pq: password authentication failed for user umm"))
	if w.Code != http.StatusInternalServerError || bytes.Contains(w.Body.Bytes(), []byte("password")) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if m := decodeJSON(t, w); m["error"] != "server_error" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%v %v", m, w.Header())
	}
}
