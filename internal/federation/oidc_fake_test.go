package federation

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// fakeOP is an OpenID provider in the test process that checks what real providers check: the client's
// authentication, the redirect_uri, the PKCE verifier, and that a code is redeemed once.
type fakeOP struct {
	t   *testing.T
	srv *httptest.Server
	now time.Time

	mu sync.Mutex
	// issuer is the discovery document's issuer; tokens carry it too unless claims says otherwise.
	issuer   string
	clientID string
	secret   string
	// auth is the client authentication the token endpoint takes: basic, post or none.
	auth string
	// methods are the token_endpoint_auth_methods_supported announced (none announced when empty).
	methods []string
	// checkSecret replaces the plain secret comparison (Apple's signed client secret).
	checkSecret func(secret string) error

	key, signKey *rsa.PrivateKey
	kid, signKid string

	sub    string
	claims map[string]any // added to (or, with a nil value, removed from) every ID token
	// userinfo is the userinfo answer (sub added unless present); noUserinfo leaves the endpoint out
	// of discovery; userinfoStatus makes it fail.
	userinfo       map[string]any
	noUserinfo     bool
	userinfoStatus int

	formPost       bool // authorize answers a self-posting form
	formExtra      url.Values
	deny           string // authorize answers this error
	tokenStatus    int    // token endpoint answers this status
	discoverStatus int

	grants    map[string]*fakeGrant
	jwksHits  int
	tokenHits int
	lastToken url.Values
}

type fakeGrant struct {
	redirectURI, challenge, nonce string
	used                          bool
}

func newFakeOP(t *testing.T, now time.Time) *fakeOP {
	t.Helper()
	f := &fakeOP{t: t, now: now, clientID: "umm-client", secret: "s3cret-value-x", auth: "basic", sub: "user-123",
		grants: map[string]*fakeGrant{}, kid: "k1"}
	f.key = testRSAKey(t)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL
	return f
}

var (
	rsaKeysMu sync.Mutex
	rsaKeys   []*rsa.PrivateKey
)

// testRSAKey hands out one of a few RSA keys made once, so that tests stay fast.
func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	rsaKeysMu.Lock()
	defer rsaKeysMu.Unlock()
	if len(rsaKeys) < 2 {
		for range 2 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			rsaKeys = append(rsaKeys, k)
		}
	}
	return rsaKeys[0]
}

func otherRSAKey(t *testing.T) *rsa.PrivateKey {
	testRSAKey(t)
	return rsaKeys[1]
}

// set changes the fake's behaviour between requests.
func (f *fakeOP) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		if f.discoverStatus != 0 {
			http.Error(w, "down", f.discoverStatus)
			return
		}
		doc := map[string]any{"issuer": f.issuer, "authorization_endpoint": f.srv.URL + "/authorize",
			"token_endpoint": f.srv.URL + "/token", "jwks_uri": f.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"}}
		if !f.noUserinfo {
			doc["userinfo_endpoint"] = f.srv.URL + "/userinfo"
		}
		if len(f.methods) > 0 {
			doc["token_endpoint_auth_methods_supported"] = f.methods
		}
		writeJSON(w, 200, doc)
	case r.URL.Path == "/jwks":
		f.jwksHits++
		writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: f.key.Public(), KeyID: f.kid, Algorithm: "RS256", Use: "sig"}}})
	case r.URL.Path == "/authorize":
		f.authorize(w, r)
	case r.URL.Path == "/token":
		f.token(w, r)
	case r.URL.Path == "/userinfo":
		if r.Header.Get("Authorization") != "Bearer at-"+f.sub {
			writeJSON(w, 401, map[string]any{"error": "invalid_token"})
			return
		}
		if f.userinfoStatus != 0 {
			http.Error(w, "userinfo failed", f.userinfoStatus)
			return
		}
		ui := map[string]any{"sub": f.sub}
		for k, v := range f.userinfo {
			ui[k] = v
		}
		writeJSON(w, 200, ui)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != f.clientID || redirect == "" || q.Get("response_type") != "code" {
		http.Error(w, "bad authorization request", 400)
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "PKCE S256 required", 400)
		return
	}
	out := url.Values{"state": {q.Get("state")}}
	if f.deny != "" {
		out.Set("error", f.deny)
		out.Set("error_description", "The user said no")
	} else {
		code := "code-" + rand.Text()
		f.grants[code] = &fakeGrant{redirectURI: redirect, challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
		out.Set("code", code)
	}
	if f.formPost {
		if q.Get("response_mode") != "form_post" {
			http.Error(w, "form_post required", 400)
			return
		}
		for k, v := range f.formExtra {
			out[k] = v
		}
		var b strings.Builder
		fmt.Fprintf(&b, `<html><body onload="document.forms[0].submit()"><form method="post" action="%s">`, html.EscapeString(redirect))
		for k := range out {
			fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(out.Get(k)))
		}
		b.WriteString(`</form></body></html>`)
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(b.String()))
		return
	}
	http.Redirect(w, r, redirect+"?"+out.Encode(), http.StatusFound)
}

func (f *fakeOP) clientOK(r *http.Request) bool {
	user, pass, hasBasic := r.BasicAuth()
	_, hasPostSecret := r.PostForm["client_secret"]
	if hasBasic && hasPostSecret {
		return false
	}
	var id, secret string
	switch f.auth {
	case "basic":
		if !hasBasic {
			return false
		}
		id, _ = url.QueryUnescape(user)
		secret, _ = url.QueryUnescape(pass)
	case "post":
		if hasBasic {
			return false
		}
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	case "none":
		return !hasBasic && !hasPostSecret && r.PostForm.Get("client_id") == f.clientID
	}
	if id != f.clientID {
		return false
	}
	if f.checkSecret != nil {
		return f.checkSecret(secret) == nil
	}
	return secret == f.secret
}

func (f *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	f.tokenHits++
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		writeJSON(w, 400, map[string]any{"error": "invalid_request"})
		return
	}
	f.lastToken = r.PostForm
	if f.tokenStatus != 0 {
		http.Error(w, "token endpoint failed", f.tokenStatus)
		return
	}
	if !f.clientOK(r) {
		writeJSON(w, 401, map[string]any{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, 400, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	g, ok := f.grants[r.PostForm.Get("code")]
	if !ok || g.used {
		writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "unknown or used code"})
		return
	}
	g.used = true
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "redirect_uri differs"})
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		return
	}
	claims := map[string]any{"iss": f.issuer, "sub": f.sub, "aud": f.clientID, "iat": f.now.Unix(),
		"exp": f.now.Add(10 * time.Minute).Unix(), "email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace"}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	for k, v := range f.claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	key, kid := f.key, f.kid
	if f.signKey != nil {
		key, kid = f.signKey, f.signKid
	}
	writeJSON(w, 200, map[string]any{"access_token": "at-" + f.sub, "token_type": "Bearer", "expires_in": 3600,
		"refresh_token": "rt-" + f.sub, "id_token": signJWT(f.t, key, kid, claims)})
}

func signJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// testCallback is where test connections come back to.
const testCallback = "http://127.0.0.1/t/t/connections/x/callback"

func testEnv(now time.Time) Env {
	return Env{TenantID: "t", CallbackURL: testCallback, HTTP: http.DefaultClient, Now: func() time.Time { return now }}
}

func newBegin() Begin {
	return Begin{State: "st-" + rand.Text(), Nonce: "no-" + rand.Text(), Verifier: rand.Text() + rand.Text()}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)

// authorize plays the browser: it opens the connector's AuthURL at the upstream and answers the
// callback request the upstream sends the browser back with (a redirect, or a self-posting form).
func authorize(t *testing.T, conn Redirector, b *Begin) *http.Request {
	t.Helper()
	u, err := conn.AuthURL(context.Background(), b)
	if err != nil {
		t.Fatalf("AuthURL: %v", err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusFound:
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, testCallback+"?") {
			t.Fatalf("upstream redirected to %q, not the callback", loc)
		}
		return httptest.NewRequest(http.MethodGet, loc, nil)
	case http.StatusOK:
		var body strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			body.Write(buf[:n])
			if err != nil {
				break
			}
		}
		m := formAction.FindStringSubmatch(body.String())
		if m == nil || html.UnescapeString(m[1]) != testCallback {
			t.Fatalf("upstream form does not post to the callback: %s", body.String())
		}
		form := url.Values{}
		for _, in := range hiddenInput.FindAllStringSubmatch(body.String(), -1) {
			form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		req := httptest.NewRequest(http.MethodPost, testCallback, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	default:
		t.Fatalf("upstream authorize answered %d", resp.StatusCode)
		return nil
	}
}
