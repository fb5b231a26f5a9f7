package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestDiscovery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		iss := testPublicURL + "/t/" + f.tenant.ID
		paths := []string{
			"/t/" + f.tenant.ID + "/.well-known/openid-configuration",
			"/.well-known/oauth-authorization-server/t/" + f.tenant.ID,
			"/t/" + f.tenant.ID + "/.well-known/oauth-authorization-server",
		}
		var first []byte
		for _, path := range paths {
			t.Run("the document at "+path+" describes the tenant", func(t *testing.T) {
				b := f.browser()
				r := b.request(http.MethodGet, path, nil)
				r.Header.Set("Origin", "https://spa.example.com") // the public client spa's redirect URI origin
				w := b.serve(r)
				if w.Code != http.StatusOK {
					t.Fatalf("status %d", w.Code)
				}
				h := w.Header()
				if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "public, max-age=300" ||
					h.Get("Access-Control-Allow-Origin") != "https://spa.example.com" || h.Get("Vary") != "Origin" {
					t.Errorf("headers %v", h)
				}
				if first == nil {
					first = w.Body.Bytes()
				} else if string(first) != w.Body.String() {
					t.Error("the documents differ between paths")
				}
				var m map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
					t.Fatal(err)
				}
				strs := func(k string) []string {
					var out []string
					for _, v := range m[k].([]any) {
						out = append(out, v.(string))
					}
					return out
				}
				wantStr := map[string]string{
					"issuer":                        iss,
					"authorization_endpoint":        iss + "/authorize",
					"token_endpoint":                iss + "/token",
					"userinfo_endpoint":             iss + "/userinfo",
					"jwks_uri":                      iss + "/jwks.json",
					"end_session_endpoint":          iss + "/logout",
					"introspection_endpoint":        iss + "/introspect",
					"revocation_endpoint":           iss + "/revoke",
					"device_authorization_endpoint": iss + "/device_authorization",
				}
				for k, v := range wantStr {
					if m[k] != v {
						t.Errorf("%s = %v, want %s", k, m[k], v)
					}
				}
				wantList := map[string][]string{
					"scopes_supported":                                 {"openid", "profile", "email", "phone", "address", "offline_access", "roles", "orders:read"},
					"response_types_supported":                         {"code"},
					"response_modes_supported":                         {"query", "form_post"},
					"grant_types_supported":                            {"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"},
					"subject_types_supported":                          {"public"},
					"id_token_signing_alg_values_supported":            {"RS256", "ES256"},
					"token_endpoint_auth_methods_supported":            {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
					"token_endpoint_auth_signing_alg_values_supported": {"RS256", "ES256", "PS256"},
					// Public clients may introspect and revoke their own tokens; with private_key_jwt listed,
					// RFC 8414 §2 requires the signing algorithms too.
					"introspection_endpoint_auth_methods_supported":            {"client_secret_basic", "client_secret_post", "private_key_jwt"},
					"introspection_endpoint_auth_signing_alg_values_supported": {"RS256", "ES256", "PS256"},
					"revocation_endpoint_auth_methods_supported":               {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
					"revocation_endpoint_auth_signing_alg_values_supported":    {"RS256", "ES256", "PS256"},
					"prompt_values_supported":                                  {"none", "login", "consent", "select_account"},
					"code_challenge_methods_supported":                         {"S256"},
					"acr_values_supported":                                     {"1", "2", "phr"},
				}
				for k, want := range wantList {
					if got := strs(k); !slices.Equal(got, want) {
						t.Errorf("%s = %v, want %v", k, got, want)
					}
				}
				for _, c := range []string{"sub", "iss", "auth_time", "acr", "amr", "sid", "name", "given_name", "family_name",
					"updated_at", "email", "email_verified", "roles", "nonce", "nickname", "preferred_username", "picture", "website",
					"gender", "birthdate", "zoneinfo", "locale", "phone_number", "phone_number_verified", "address"} {
					if !slices.Contains(strs("claims_supported"), c) {
						t.Errorf("claims_supported lacks %s", c)
					}
				}
				wantBool := map[string]bool{
					"authorization_response_iss_parameter_supported": true,
					"request_parameter_supported":                    false,
					"request_uri_parameter_supported":                false,
					"claims_parameter_supported":                     true, // for acr (OIDC Core 5.5.1.1)
					// Single logout works: the outbox delivers logout tokens with sid, the iframes get iss and sid.
					"backchannel_logout_supported":          true,
					"backchannel_logout_session_supported":  true,
					"frontchannel_logout_supported":         true,
					"frontchannel_logout_session_supported": true,
				}
				for k, want := range wantBool {
					if got, ok := m[k].(bool); !ok || got != want {
						t.Errorf("%s = %v, want %v", k, m[k], want)
					}
				}
			})
		}
		t.Run("every endpoint the document names is served", func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(f.browser().get(paths[0]).Body.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			methods := map[string]string{
				"authorization_endpoint": http.MethodGet, "token_endpoint": http.MethodPost, "userinfo_endpoint": http.MethodGet,
				"jwks_uri": http.MethodGet, "end_session_endpoint": http.MethodGet, "introspection_endpoint": http.MethodPost,
				"revocation_endpoint": http.MethodPost, "device_authorization_endpoint": http.MethodPost,
			}
			for k, method := range methods {
				uri, _ := m[k].(string)
				if uri == "" {
					t.Errorf("%s is missing", k)
					continue
				}
				b := f.browser()
				w := b.serve(b.request(method, uri, url.Values{}))
				if w.Code == http.StatusNotFound || w.Code == http.StatusMethodNotAllowed || w.Code >= 500 {
					t.Errorf("%s %s (%s): status %d", method, uri, k, w.Code)
				}
			}
		})
		t.Run("another tenant's document names its own issuer", func(t *testing.T) {
			other := storetest.Tenant(t, db)
			var m map[string]any
			w := f.browser().get("/t/" + other + "/.well-known/openid-configuration")
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || m["issuer"] != testPublicURL+"/t/"+other {
				t.Errorf("issuer %v (%v)", m["issuer"], err)
			}
			if slices.Contains(m["scopes_supported"].([]any), any("orders:read")) {
				t.Error("a custom scope of another tenant leaked")
			}
		})
		t.Run("an unknown tenant has no document", func(t *testing.T) {
			for _, path := range []string{"/t/nope/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/t/nope"} {
				if w := f.browser().get(path); w.Code != http.StatusNotFound {
					t.Errorf("%s: status %d, want 404", path, w.Code)
				}
			}
		})
	})
}

// TestDiscoveryACRValues: acr_values_supported names only the classes a sign-in at the tenant can reach:
// "2" needs a usable second factor (an SMS-only tenant has none while no SMS provider is configured), and
// "phr" needs passkeys allowed at either step on a server where they work.
func TestDiscoveryACRValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		tests := []struct {
			name     string
			settings func(*store.TenantSettings)
			want     []string
		}{
			{"the defaults reach every class", func(*store.TenantSettings) {}, []string{"1", "2", "phr"}},
			{"passkeys off at both steps drop phr", func(s *store.TenantSettings) {
				s.MFA.Factors = []string{config.FactorTOTP, config.FactorEmail}
				s.Login.Methods = []string{config.MethodPassword}
			}, []string{"1", "2"}},
			{"passkeys as the first step alone keep phr (and make two factors)", func(s *store.TenantSettings) {
				s.MFA.Factors = []string{config.FactorSMS}
				s.Login.Methods = []string{config.MethodPassword, config.MethodPasskey}
			}, []string{"1", "2", "phr"}},
			{"passkeys as a second factor alone keep phr", func(s *store.TenantSettings) {
				s.MFA.Factors = []string{config.FactorWebAuthn}
				s.Login.Methods = []string{config.MethodPassword}
			}, []string{"1", "2", "phr"}},
			{"texted codes without an SMS provider reach one factor only", func(s *store.TenantSettings) {
				s.MFA.Factors = []string{config.FactorSMS}
				s.Login.Methods = []string{config.MethodPassword}
			}, []string{"1"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tn, err := db.GetTenant(context.Background(), storetest.Tenant(t, db))
				if err != nil {
					t.Fatal(err)
				}
				tt.settings(&tn.Settings)
				if err := db.UpdateTenant(context.Background(), tn); err != nil {
					t.Fatal(err)
				}
				var m struct {
					ACR []string `json:"acr_values_supported"`
				}
				if err := json.Unmarshal(f.browser().get("/t/"+tn.ID+"/.well-known/openid-configuration").Body.Bytes(), &m); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(m.ACR, tt.want) {
					t.Errorf("acr_values_supported = %v, want %v", m.ACR, tt.want)
				}
			})
		}
		t.Run("a server where passkeys cannot work drops phr", func(t *testing.T) {
			g := newFixture(t, db)
			g.identity.PublicURL = "http://192.0.2.1:8080"
			var m struct {
				ACR []string `json:"acr_values_supported"`
			}
			if err := json.Unmarshal(g.browser().get("/t/"+g.tenant.ID+"/.well-known/openid-configuration").Body.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.ACR, []string{"1", "2"}) {
				t.Errorf("acr_values_supported = %v, want [1 2]", m.ACR)
			}
		})
	})
}
