package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// The fuzz tests feed untrusted input to the endpoints that parse it, through the provider's routes, so
// they keep testing the parsers whatever the functions behind them are called. Each run starts from
// real requests (valid ones and the usual mistakes) and checks what must hold for any input: no panic,
// no server error for bad input, a typed OAuth error with a description of RFC 6749 §5.2 characters, no
// redirect to a URI the client did not register, and no token accepted that the server did not issue.
// The parsers are the subject, not the storage, so they run on SQLite only.

// fuzzEnv is a token environment whose per-IP failure limit cannot turn the fuzzer's requests into 429s,
// with a private_key_jwt client "svc" whose key signs the seed assertions, and a post-logout redirect URI
// for the web client.
type fuzzEnv struct {
	*tokenEnv
	svcKey     *ecdsa.PrivateKey
	postLogout string
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	ctx := context.Background()
	e := &fuzzEnv{tokenEnv: newTokenEnv(f, storetest.Open(f), func(s *config.Security) { s.IPLimitPerMinute = 1 << 30 }),
		postLogout: "https://app.example.com/bye"}
	var err error
	if e.svcKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		f.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &e.svcKey.PublicKey, KeyID: "svc-1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		f.Fatal(err)
	}
	web, err := e.db.GetClient(ctx, e.tenant.ID, "web")
	if err != nil {
		f.Fatal(err)
	}
	web.PostLogoutRedirectURIs = []string{e.postLogout}
	for _, c := range []store.Client{web, {TenantID: e.tenant.ID, ClientID: "svc", GrantTypes: []string{grantClientCredentials},
		TokenEndpointAuthMethod: authPrivateKeyJWT, JWKS: string(jwks)}} {
		if err := e.db.UpsertClient(ctx, c); err != nil {
			f.Fatal(err)
		}
	}
	return e
}

// assertion is a client assertion for svc signed with its key.
func (e *fuzzEnv) assertion(f *testing.F) string {
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: e.svcKey, KeyID: "svc-1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		f.Fatal(err)
	}
	claims, _ := json.Marshal(e.assertionClaimsFor("svc", e.tenant.ID))
	jws, err := sg.Sign(claims)
	if err != nil {
		f.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		f.Fatal(err)
	}
	return s
}

// oauthErrorCodes are the error codes UMM's endpoints may answer (RFC 6749 §4.1.2.1 and §5.2, RFC 6750
// §3.1, RFC 8628 §3.5, OIDC Core §3.1.2.6, RFC 9101 §6.2).
var oauthErrorCodes = []string{
	"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
	"invalid_scope", "access_denied", "unsupported_response_type", "invalid_token", "slow_down",
	"authorization_pending", "expired_token", "login_required", "consent_required", "interaction_required",
	"account_selection_required", "request_not_supported", "request_uri_not_supported", "invalid_request_uri",
	"invalid_request_object", "registration_not_supported", "temporarily_unavailable", "insufficient_scope",
}

// validDescription reports whether s uses only the characters RFC 6749 §5.2 allows in error_description:
// %x20-21 / %x23-5B / %x5D-7E.
func validDescription(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// checkOAuthError checks an error as the back channel or a redirect carries it.
func checkOAuthError(t *testing.T, code, desc string) {
	t.Helper()
	if !slices.Contains(oauthErrorCodes, code) {
		t.Fatalf("error %q is not an OAuth error code (server_error means bad input reached a fault)", code)
	}
	if !validDescription(desc) {
		t.Fatalf("error_description %q has characters RFC 6749 §5.2 does not allow", desc)
	}
}

// checkJSONAnswer checks a back-channel answer: JSON, never cached, a server error never, and either a
// success or a typed error.
func checkJSONAnswer(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("status %d for bad input: %s", w.Code, w.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("status %d, body is not JSON: %q", w.Code, w.Body)
	}
	if w.Code != http.StatusOK {
		code, _ := m["error"].(string)
		desc, _ := m["error_description"].(string)
		checkOAuthError(t, code, desc)
	}
	return m
}

func (e *fuzzEnv) post(endpoint, body, authorization string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/"+e.tenant.ID+"/"+endpoint, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	r.RemoteAddr = e.ip + ":4711"
	return e.serve(r)
}

// get requests endpoint with a raw query, which need not be valid (a browser sends what it is given).
func (e *fuzzEnv) get(endpoint, rawQuery string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/"+endpoint, nil)
	r.URL.RawQuery = rawQuery
	r.RequestURI = r.URL.RequestURI()
	r.RemoteAddr = e.ip + ":4711"
	return e.serve(r)
}

func basicHeader(id, secret string) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return r.Header.Get("Authorization")
}

// FuzzTokenEndpoint: the token form and the client credentials (Basic, client_secret_post, assertions).
func FuzzTokenEndpoint(f *testing.F) {
	e := newFuzzEnv(f)
	assertion := e.assertion(f)
	m2m := basicHeader("m2m", secretM2M)
	for _, s := range []struct{ body, authorization string }{
		{"grant_type=client_credentials&scope=orders%3Aread", m2m},
		{"grant_type=client_credentials", basicHeader("m2m", "wrong")},
		{"grant_type=client_credentials&client_id=m2m-noscope&client_secret=" + url.QueryEscape(secretM2M), ""},
		{"grant_type=client_credentials&client_assertion_type=" + url.QueryEscape(assertionTypeJWTBearer) + "&client_assertion=" + assertion, ""},
		{"grant_type=client_credentials&client_assertion_type=" + url.QueryEscape(assertionTypeJWTBearer) + "&client_assertion=" + assertion + "x", ""},
		{"grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier=" + pkceVerifier, basicHeader("web", secretBasic)},
		{"grant_type=refresh_token&refresh_token=abc", basicHeader("web", secretBasic)},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=abc&client_id=spa", ""},
		{"grant_type=client_credentials&grant_type=client_credentials", m2m},
		{"grant_type=password&username=a&password=b", m2m},
		{"grant_type=%zz", m2m},
		{"", "Bearer abc"},
		{"client_id=a&client_secret=b", "Basic !!!"},
	} {
		f.Add(s.body, s.authorization)
	}
	f.Fuzz(func(t *testing.T, body, authorization string) {
		w := e.post("token", body, authorization)
		m := checkJSONAnswer(t, w)
		if w.Code == http.StatusOK {
			if m["token_type"] != "Bearer" || m["access_token"] == nil {
				t.Fatalf("a 200 without a bearer access token: %s", w.Body)
			}
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control %q, want no-store", cc)
		}
	})
}

// FuzzClientAssertion: a private_key_jwt client assertion (RFC 7523) at the token endpoint. Only the
// client's key signs an assertion that authenticates it, and each assertion authenticates once (its jti
// is remembered), so no mutation of a signed assertion gets a token.
func FuzzClientAssertion(f *testing.F) {
	e := newFuzzEnv(f)
	valid := e.assertion(f)
	parts := strings.Split(valid, ".")
	for _, s := range []string{valid, parts[0] + "." + parts[1] + ".", parts[0] + ".e30." + parts[2], "eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJIUzI1NiJ9.e30.c2ln", valid + "." + parts[2], "a.b.c", ""} {
		f.Add(s)
	}
	used := false
	f.Fuzz(func(t *testing.T, assertion string) {
		body := url.Values{"grant_type": {grantClientCredentials}, "client_assertion_type": {assertionTypeJWTBearer},
			"client_assertion": {assertion}}.Encode()
		w := e.post("token", body, "")
		checkJSONAnswer(t, w)
		if w.Code == http.StatusOK {
			// Only the signed content matters: another spelling of the same signature is the same assertion.
			signed := assertion[:max(strings.LastIndexByte(assertion, '.'), 0)]
			if signed != parts[0]+"."+parts[1] || used {
				t.Fatalf("assertion %q got a token", assertion)
			}
			used = true
		}
	})
}

// FuzzAccessTokenParsing: tokens presented to introspection and UserInfo. A token is active only when the
// server issued it: mutations of a real token never introspect as another one.
func FuzzAccessTokenParsing(f *testing.F) {
	e := newFuzzEnv(f)
	w := e.post("token", "grant_type=client_credentials&scope=orders%3Aread", basicHeader("m2m", secretM2M))
	if w.Code != http.StatusOK {
		f.Fatalf("mint: %d %s", w.Code, w.Body)
	}
	issued := decodeJSON(f, w)["access_token"].(string)
	issuedJTI := jwtClaims(f, issued)["jti"].(string)
	login := e.login()
	userToken, idToken := login["access_token"].(string), login["id_token"].(string)
	userJTI := jwtClaims(f, userToken)["jti"].(string)
	for _, s := range []string{issued, userToken, idToken, issued[:len(issued)-2], "a.b.c", "e30.e30.e30", "not-a-jwt", "", strings.Repeat("A.", 3)} {
		f.Add(s)
	}
	webBasic := basicHeader("web", secretBasic)
	f.Fuzz(func(t *testing.T, token string) {
		w := e.post("introspect", url.Values{"token": {token}}.Encode(), webBasic)
		m := checkJSONAnswer(t, w)
		if w.Code == http.StatusOK && m["active"] == true {
			if jti := m["jti"]; jti != issuedJTI && jti != userJTI {
				t.Fatalf("an access token the server did not issue is active: %s", w.Body)
			}
		} else if w.Code == http.StatusOK && len(m) != 1 {
			t.Fatalf("an inactive answer says more than active=false: %s", w.Body)
		}

		r := httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/userinfo", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		u := e.serve(r)
		switch {
		case u.Code >= 500:
			t.Fatalf("userinfo: status %d for a presented token: %s", u.Code, u.Body)
		case u.Code == http.StatusOK:
			var claims map[string]any
			if err := json.Unmarshal(u.Body.Bytes(), &claims); err != nil || claims["sub"] != e.user.ID {
				t.Fatalf("userinfo answered 200 with %s", u.Body)
			}
		default:
			// RFC 6750 §3: a Bearer challenge, with error when a token was presented and refused.
			challenge := u.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(challenge, "Bearer") {
				t.Fatalf("userinfo refused (%d) without a Bearer challenge: %v", u.Code, u.Header())
			}
			if _, rest, ok := strings.Cut(challenge, `error="`); ok {
				code, _, _ := strings.Cut(rest, `"`)
				if code != "invalid_token" && code != "invalid_request" && code != "insufficient_scope" {
					t.Fatalf("userinfo answered error %q, not an RFC 6750 code", code)
				}
			}
		}
	})
}

// FuzzAuthorizeParameters: the authorization request's query. Bad input gets a page (before the client
// and redirect URI are known) or a redirect carrying a typed error to a redirect URI the named client
// registered; nothing else leaves the server.
func FuzzAuthorizeParameters(f *testing.F) {
	e := newFuzzEnv(f)
	valid := url.Values{"client_id": {"web"}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"s1"}, "nonce": {"n1"}, "code_challenge": {pkceChallenge},
		"code_challenge_method": {"S256"}}
	with := func(k, v string) string {
		c := url.Values{}
		for key, vals := range valid {
			c[key] = vals
		}
		c.Set(k, v)
		return c.Encode()
	}
	for _, s := range []string{
		valid.Encode(),
		with("response_mode", "form_post"),
		with("client_id", "spa") + "&redirect_uri=https%3A%2F%2Fspa.example.com%2Fcb",
		with("redirect_uri", "https://evil.example/cb"),
		with("scope", "openid unknown"),
		with("prompt", "none login"),
		with("max_age", "-1"),
		with("code_challenge_method", "plain"),
		with("state", "a\x00b"),
		with("request", "eyJ"),
		with("id_token_hint", "a.b.c"),
		valid.Encode() + "&state=twice",
		"client_id=web&redirect_uri=%zz",
		"",
	} {
		f.Add(s)
	}
	registered := map[string][]string{}
	for _, c := range e.clients(e.tenant.ID) {
		registered[c.ClientID] = c.RedirectURIs
	}
	own := testPublicURL + "/t/" + e.tenant.ID + "/"
	f.Fuzz(func(t *testing.T, query string) {
		w := e.get("authorize", query)
		if w.Code >= 500 {
			t.Fatalf("status %d for bad input: %.300s", w.Code, w.Body)
		}
		loc := w.Header().Get("Location")
		if loc == "" || strings.HasPrefix(loc, own) || strings.HasPrefix(loc, "/t/"+e.tenant.ID+"/") {
			return // a page (error or form_post), or the hand-off to the login pages
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("redirect to an unparsable Location %q", loc)
		}
		v, _ := url.ParseQuery(query)
		base := u.Scheme + "://" + u.Host + u.Path
		if !slices.Contains(registered[v.Get("client_id")], base) {
			t.Fatalf("redirect to %q, which client %q did not register", loc, v.Get("client_id"))
		}
		q := u.Query()
		if q.Get("iss") != e.p.issuer(e.tenant.ID) {
			t.Fatalf("redirect without the issuer: %s", loc)
		}
		if code := q.Get("error"); code != "" {
			checkOAuthError(t, code, q.Get("error_description"))
		} else if q.Get("code") == "" {
			t.Fatalf("redirect to the client with neither code nor error: %s", loc)
		}
	})
}

// FuzzLogoutRequest: RP-initiated logout parameters, id_token_hint among them. The answer is a page, or
// a redirect to a post-logout URI that the client registered.
func FuzzLogoutRequest(f *testing.F) {
	e := newFuzzEnv(f)
	idToken := e.login()["id_token"].(string)
	for _, s := range []string{
		url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {e.postLogout}, "state": {"s"}}.Encode(),
		url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {e.postLogout}}.Encode(),
		url.Values{"id_token_hint": {idToken[:len(idToken)-3]}}.Encode(),
		url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode(),
		"id_token_hint=a.b.c",
		"id_token_hint=%zz",
		"",
	} {
		f.Add(s)
	}
	own := testPublicURL + "/t/" + e.tenant.ID + "/"
	f.Fuzz(func(t *testing.T, query string) {
		w := e.get("logout", query)
		if w.Code >= 500 {
			t.Fatalf("status %d for bad input: %.300s", w.Code, w.Body)
		}
		loc := w.Header().Get("Location")
		if loc == "" || strings.HasPrefix(loc, own) || strings.HasPrefix(loc, "/t/"+e.tenant.ID+"/") {
			return
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("redirect to an unparsable Location %q", loc)
		}
		u.RawQuery = ""
		if u.String() != e.postLogout {
			t.Fatalf("logout redirects to %q, which no client registered", loc)
		}
	})
}
