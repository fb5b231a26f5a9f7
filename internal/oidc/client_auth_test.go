package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// assertionKey is a client's signing key for private_key_jwt tests.
type assertionKey struct {
	alg  jose.SignatureAlgorithm
	kid  string
	priv any
	pub  any
}

func newAssertionKey(t *testing.T, alg jose.SignatureAlgorithm, kid string) assertionKey {
	t.Helper()
	k := assertionKey{alg: alg, kid: kid}
	switch alg {
	case jose.ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.pub = priv, &priv.PublicKey
	default:
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.pub = priv, &priv.PublicKey
	}
	return k
}

func jwksJSON(t *testing.T, ks ...assertionKey) string {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range ks {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sign makes a client assertion with claims.
func (k assertionKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := sg.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertionClaimsFor are valid assertion claims for clientID at tenant tenantID.
func (e *tokenEnv) assertionClaimsFor(clientID, tenantID string) map[string]any {
	now := e.now()
	return map[string]any{"iss": clientID, "sub": clientID, "aud": testPublicURL + "/t/" + tenantID + "/token",
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(), "jti": keys.NewID()}
}

func jwtAuth(assertion string) clientAuth {
	return clientAuth{form: url.Values{"client_assertion_type": {assertionTypeJWTBearer}, "client_assertion": {assertion}}}
}

func TestClientAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		ctx := context.Background()
		rsaKey := newAssertionKey(t, jose.RS256, "rsa-1")
		ecKey := newAssertionKey(t, jose.ES256, "ec-1")
		psKey := newAssertionKey(t, jose.PS256, "ps-1")
		strangerKey := newAssertionKey(t, jose.ES256, "ec-1") // same kid, another key

		var fetches atomic.Int32
		jwksServer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fetches.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(jwksJSON(t, psKey)))
		}))
		defer jwksServer.Close()
		// The test server is on loopback and has a test certificate.
		e.p.clientJWKS = newJWKSFetcher(e.p.now, jwksFetchTimeout, true, false)
		trustTestServer(e.p.clientJWKS, &jwksTestServer{Server: jwksServer})
		for _, c := range []store.Client{
			{TenantID: e.tenant.ID, ClientID: "svc", GrantTypes: []string{grantClientCredentials},
				TokenEndpointAuthMethod: authPrivateKeyJWT, JWKS: jwksJSON(t, rsaKey, ecKey)},
			{TenantID: e.tenant.ID, ClientID: "svc-uri", GrantTypes: []string{grantClientCredentials},
				TokenEndpointAuthMethod: authPrivateKeyJWT, JWKSURI: jwksServer.URL},
		} {
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		cc := url.Values{"grant_type": {grantClientCredentials}}
		claims := func(mod func(map[string]any)) map[string]any {
			c := e.assertionClaimsFor("svc", e.tenant.ID)
			if mod != nil {
				mod(c)
			}
			return c
		}

		tests := []struct {
			name   string
			a      func() clientAuth
			status int
			code   string
		}{
			// client_secret_basic
			{"client_secret_basic with the right secret passes", func() clientAuth { return basicAuth("m2m", secretM2M) }, 200, ""},
			// web's secret holds characters that are form-urlencoded in Basic; web may not use client_credentials,
			// so getting past authentication shows as unauthorized_client.
			{"client_secret_basic decodes form-urlencoded credentials", func() clientAuth { return webAuth }, 400, "unauthorized_client"},
			{"client_secret_basic with a wrong secret fails", func() clientAuth { return basicAuth("m2m", "wrong") }, 401, "invalid_client"},
			{"client_secret_basic for an unknown client fails the same way", func() clientAuth { return basicAuth("ghost", secretM2M) }, 401, "invalid_client"},
			{"a client_secret_basic client may not use client_secret_post", func() clientAuth { return postAuth("m2m", secretM2M) }, 401, "invalid_client"},
			{"a client_secret_basic client may not send only its id", func() clientAuth { return publicAuth("m2m") }, 401, "invalid_client"},
			// client_secret_post
			{"client_secret_post with the right secret passes", func() clientAuth { return postAuth("m2m-noscope", secretM2M) }, 200, ""},
			{"client_secret_post with a wrong secret fails", func() clientAuth { return postAuth("m2m-noscope", "wrong") }, 401, "invalid_client"},
			{"a client_secret_post client may not use Basic", func() clientAuth { return basicAuth("m2m-noscope", secretM2M) }, 401, "invalid_client"},
			// none
			{"a public client authenticates with its client_id", func() clientAuth { return publicAuth("public-cc") }, 400, "unauthorized_client"},
			{"a public client may not present a secret", func() clientAuth { return postAuth("public-cc", "anything") }, 401, "invalid_client"},
			{"an unknown public client fails", func() clientAuth { return publicAuth("ghost") }, 401, "invalid_client"},
			{"a public client may send its client_id as Basic with an empty password", func() clientAuth {
				return basicAuth("public-cc", "")
			}, 400, "unauthorized_client"},
			{"a confidential client sending Basic with an empty password fails", func() clientAuth {
				return basicAuth("m2m", "")
			}, 401, "invalid_client"},
			{"no credentials at all fail", func() clientAuth { return clientAuth{} }, 401, "invalid_client"},
			// private_key_jwt
			{"private_key_jwt signed RS256 passes", func() clientAuth { return jwtAuth(rsaKey.sign(t, claims(nil))) }, 200, ""},
			{"private_key_jwt signed ES256 passes", func() clientAuth { return jwtAuth(ecKey.sign(t, claims(nil))) }, 200, ""},
			{"private_key_jwt signed PS256 with keys from jwks_uri passes", func() clientAuth {
				c := e.assertionClaimsFor("svc-uri", e.tenant.ID)
				return jwtAuth(psKey.sign(t, c))
			}, 200, ""},
			{"private_key_jwt with aud the issuer passes", func() clientAuth {
				return jwtAuth(ecKey.sign(t, claims(func(c map[string]any) { c["aud"] = testPublicURL + "/t/" + e.tenant.ID })))
			}, 200, ""},
			{"private_key_jwt with a matching client_id passes", func() clientAuth {
				a := jwtAuth(ecKey.sign(t, claims(nil)))
				a.form.Set("client_id", "svc")
				return a
			}, 200, ""},
			{"private_key_jwt signed by another key fails", func() clientAuth { return jwtAuth(strangerKey.sign(t, claims(nil))) }, 401, "invalid_client"},
			{"private_key_jwt with an expired assertion fails", func() clientAuth {
				return jwtAuth(ecKey.sign(t, claims(func(c map[string]any) { c["exp"] = e.now().Add(-time.Minute).Unix() })))
			}, 401, "invalid_client"},
			{"private_key_jwt with an exp too far ahead fails", func() clientAuth {
				return jwtAuth(ecKey.sign(t, claims(func(c map[string]any) { c["exp"] = e.now().Add(time.Hour).Unix() })))
			}, 401, "invalid_client"},
			{"private_key_jwt without exp fails", func() clientAuth {
				return jwtAuth(ecKey.sign(t, claims(func(c map[string]any) { delete(c, "exp") })))
			}, 401, "invalid_client"},
			{"private_key_jwt without jti fails", func() clientAuth {
				return jwtAuth(ecKey.sign(t, claims(func(c map[string]any) { delete(c, "jti") })))
			}, 401, "invalid_client"},
			{"private_key_jwt for another audience fails", func() clientAuth {
				return jwtAuth(ecKey.sign(t, claims(func(c map[string]any) { c["aud"] = "https://elsewhere.example/token" })))
			}, 401, "invalid_client"},
			{"private_key_jwt for another tenant's token endpoint fails", func() clientAuth {
				return jwtAuth(ecKey.sign(t, claims(func(c map[string]any) { c["aud"] = testPublicURL + "/t/" + e.other.ID + "/token" })))
			}, 401, "invalid_client"},
			{"private_key_jwt whose iss is not the client fails", func() clientAuth {
				return jwtAuth(ecKey.sign(t, claims(func(c map[string]any) { c["iss"] = "someone" })))
			}, 401, "invalid_client"},
			{"private_key_jwt issued in the future fails", func() clientAuth {
				return jwtAuth(ecKey.sign(t, claims(func(c map[string]any) { c["nbf"] = e.now().Add(2 * time.Minute).Unix() })))
			}, 401, "invalid_client"},
			{"private_key_jwt with a client_id naming another client fails", func() clientAuth {
				a := jwtAuth(ecKey.sign(t, claims(nil)))
				a.form.Set("client_id", "m2m")
				return a
			}, 401, "invalid_client"},
			{"private_key_jwt with the wrong assertion type fails", func() clientAuth {
				a := jwtAuth(ecKey.sign(t, claims(nil)))
				a.form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
				return a
			}, 401, "invalid_client"},
			{"a malformed assertion fails", func() clientAuth { return jwtAuth("not.a.jwt") }, 401, "invalid_client"},
			{"an unsigned assertion fails", func() clientAuth {
				return jwtAuth(encodeSegment(t, map[string]any{"alg": "none"}) + "." + encodeSegment(t, claims(nil)) + ".")
			}, 401, "invalid_client"},
			{"a private_key_jwt client may not use a secret", func() clientAuth { return basicAuth("svc", "guess") }, 401, "invalid_client"},
			{"a secret client may not use an assertion", func() clientAuth {
				return jwtAuth(ecKey.sign(t, e.assertionClaimsFor("m2m", e.tenant.ID)))
			}, 401, "invalid_client"},
			// several methods at once
			{"Basic and client_secret together are invalid_request", func() clientAuth {
				a := basicAuth("m2m", secretM2M)
				a.form = url.Values{"client_secret": {secretM2M}}
				return a
			}, 400, "invalid_request"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := e.token(tt.a(), cc)
				if tt.status == 200 {
					wantTokenResponse(t, w)
					return
				}
				wantOAuthError(t, w, tt.status, tt.code)
			})
		}

		t.Run("a replayed assertion fails", func(t *testing.T) {
			a := ecKey.sign(t, claims(nil))
			wantTokenResponse(t, e.token(jwtAuth(a), cc))
			wantOAuthError(t, e.token(jwtAuth(a), cc), 401, "invalid_client")
		})
		t.Run("a jwks_uri document is fetched once and cached", func(t *testing.T) {
			before := fetches.Load()
			for range 3 {
				wantTokenResponse(t, e.token(jwtAuth(psKey.sign(t, e.assertionClaimsFor("svc-uri", e.tenant.ID))), cc))
			}
			if n := fetches.Load() - before; n != 0 {
				t.Fatalf("%d fetches, want 0 (cached by the earlier test)", n)
			}
		})
		t.Run("a failed Basic authentication asks for Basic credentials", func(t *testing.T) {
			w := e.token(basicAuth("m2m", "wrong"), cc)
			wantOAuthError(t, w, 401, "invalid_client")
			if got := w.Header().Get("WWW-Authenticate"); got != `Basic realm="`+testPublicURL+"/t/"+e.tenant.ID+`", charset="UTF-8"` {
				t.Fatalf("WWW-Authenticate = %q", got)
			}
			w = e.token(postAuth("m2m-noscope", "wrong"), cc)
			if got := w.Header().Get("WWW-Authenticate"); got != "" {
				t.Fatalf("WWW-Authenticate without Basic = %q", got)
			}
		})
		t.Run("a client that sent another Authorization scheme is asked for Basic credentials", func(t *testing.T) {
			// RFC 6749 §5.2: "If the client attempted to authenticate via the Authorization request header
			// field, the authorization server MUST respond with an HTTP 401 ... and include the WWW-Authenticate
			// response header field".
			for _, endpoint := range []string{"token", "introspect", "revoke", "device_authorization"} {
				r := e.request(e.tenant.ID, endpoint, url.Values{"grant_type": {grantClientCredentials}, "token": {"x"}})
				r.Header.Set("Authorization", "Bearer abc")
				w := e.serve(r)
				wantOAuthError(t, w, 401, "invalid_client")
				if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="`+testPublicURL+"/t/"+e.tenant.ID+`"`) {
					t.Errorf("%s: WWW-Authenticate = %q, want a Basic challenge", endpoint, got)
				}
			}
		})
		t.Run("unknown clients and wrong secrets get the same answer", func(t *testing.T) {
			a := decodeJSON(t, e.token(basicAuth("m2m", "wrong"), cc))
			b := decodeJSON(t, e.token(basicAuth("ghost", "wrong"), cc))
			if a["error_description"] != b["error_description"] {
				t.Fatalf("%v vs %v", a, b)
			}
		})
	})
}

func TestClientAuthenticationThrottling(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		limit := func(s *config.Security) { s.IPLimitPerMinute = 3 }
		e := newTokenEnv(t, db, limit)
		cc := url.Values{"grant_type": {grantClientCredentials}}
		for i := range 3 {
			wantOAuthError(t, e.token(basicAuth("m2m", "wrong-"+strconv.Itoa(i)), cc), 401, "invalid_client")
		}
		t.Run("an IP over its failure limit is answered 429 with Retry-After, even with the right secret", func(t *testing.T) {
			w := e.token(basicAuth("m2m", secretM2M), cc)
			wantOAuthError(t, w, http.StatusTooManyRequests, "slow_down")
			if ra, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
				t.Fatalf("Retry-After = %q", w.Header().Get("Retry-After"))
			}
		})
		t.Run("another node sees the limit through the database", func(t *testing.T) {
			other := newTokenEnvOn(t, e, limit)
			wantOAuthError(t, other.token(basicAuth("m2m", secretM2M), cc), http.StatusTooManyRequests, "slow_down")
		})
		t.Run("another IP is not limited", func(t *testing.T) {
			other := newTokenEnvOn(t, e, limit)
			other.ip = "203.0.113.9"
			wantTokenResponse(t, other.token(basicAuth("m2m", secretM2M), cc))
		})
	})
}
