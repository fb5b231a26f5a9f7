package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/server/servertest"
)

// lockedBuffer is a bytes.Buffer that the server's goroutines may write while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tokenResponse is the part of a token endpoint answer the tests read.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// postClient posts form to the tenant endpoint path as client: HTTP Basic for a confidential client,
// client_id in the form for a public one.
func postClient(t *testing.T, srv *servertest.Server, path string, client servertest.Client, form url.Values) (*http.Response, string) {
	t.Helper()
	if client.Secret == "" {
		form.Set("client_id", client.ID)
	}
	req, err := http.NewRequest(http.MethodPost, srv.TenantURL(path), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client.Secret != "" {
		req.SetBasicAuth(url.QueryEscape(client.ID), url.QueryEscape(client.Secret))
	}
	return servertest.NewBrowser(t).Do(req)
}

// token posts a token request and decodes a 200 answer, failing the test on any other status.
func token(t *testing.T, srv *servertest.Server, client servertest.Client, form url.Values) tokenResponse {
	t.Helper()
	resp, body := postClient(t, srv, "/token", client, form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token (%s) = %d:\n%s", form.Get("grant_type"), resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal([]byte(body), &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token (%s) response %s: %v", form.Get("grant_type"), body, err)
	}
	return tr
}

// completeInBrowser follows b from next through UMM's hosted pages until the browser leaves the server:
// it signs in on a sign-in form and allows on a consent or device-approval page. It returns where the
// browser was sent.
func completeInBrowser(t *testing.T, srv *servertest.Server, b *servertest.Browser, next *url.URL) *url.URL {
	t.Helper()
	for range 12 {
		if !strings.HasPrefix(next.String(), srv.URL) {
			return next
		}
		resp, body := b.Get(next.String())
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			next = servertest.Location(t, resp)
			continue
		}
		var form *servertest.Form
		for _, f := range servertest.ParseForms(resp.Request.URL, body) {
			if _, ok := f.Values["password"]; ok || strings.Contains(body, `name="decision"`) {
				form = &f
				break
			}
		}
		if form == nil {
			return next // a page that is the end of the flow (the device flow's "done" page)
		}
		set := url.Values{"decision": {"allow"}}
		if _, ok := form.Values["password"]; ok {
			set = url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}}
		}
		resp, body = b.Submit(*form, set)
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			return resp.Request.URL
		}
		next = servertest.Location(t, resp)
	}
	t.Fatalf("the browser did not leave UMM's pages (at %s)", next)
	return nil
}

// codeFlow runs an authorization code flow with PKCE for client in browser b and returns the code and
// the verifier.
func codeFlow(t *testing.T, srv *servertest.Server, b *servertest.Browser, client servertest.Client, scope string) (code, verifier string) {
	t.Helper()
	verifier = servertest.RandomString(32)
	sum := sha256.Sum256([]byte(verifier))
	state := servertest.RandomString(16)
	q := url.Values{
		"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {client.RedirectURI},
		"scope": {scope}, "state": {state}, "nonce": {servertest.RandomString(16)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	resp, _ := b.Get(srv.TenantURL("/authorize?" + q.Encode()))
	cb := completeInBrowser(t, srv, b, servertest.Location(t, resp))
	if !strings.HasPrefix(cb.String(), client.RedirectURI) || cb.Query().Get("state") != state || cb.Query().Get("code") == "" {
		t.Fatalf("the code flow ended at %s", cb)
	}
	return cb.Query().Get("code"), verifier
}

// secrets names every secret value a test saw, to look for them where they must not be.
type secrets map[string]string

// fullFlow drives, through srv, every flow that handles a secret: a failed and a successful sign-in, the
// code flow with consent, a refresh, UserInfo, introspection, client credentials, the device flow and a
// revocation. It returns every secret involved: passwords, client secrets, the code, the PKCE verifier,
// access, ID and refresh tokens, the device and user codes, every cookie and the master key.
func fullFlow(t *testing.T, srv *servertest.Server) secrets {
	t.Helper()
	s := secrets{
		"user password":                  srv.User.Password,
		"confidential client secret":     srv.Confidential.Secret,
		"first-party client secret":      srv.FirstParty.Secret,
		"wrong password of a failed try": "wrong-password-" + servertest.RandomString(8),
	}
	b := srv.NewBrowser(t)

	form, _, _ := b.GetForm(srv.TenantURL("/login"))
	if resp, body := b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {s["wrong password of a failed try"]}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong password answered %d:\n%s", resp.StatusCode, body)
	}

	code, verifier := codeFlow(t, srv, b, srv.Confidential, "openid email offline_access")
	s["authorization code"], s["PKCE verifier"] = code, verifier
	tr := token(t, srv, srv.Confidential, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {srv.Confidential.RedirectURI}, "code_verifier": {verifier}})
	if tr.RefreshToken == "" || tr.IDToken == "" {
		t.Fatalf("the code grant gave no refresh or ID token: %+v", tr)
	}
	s["access token (code)"], s["ID token (code)"], s["refresh token (code)"] = tr.AccessToken, tr.IDToken, tr.RefreshToken

	tr = token(t, srv, srv.Confidential, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
	s["access token (refresh)"], s["refresh token (refresh)"] = tr.AccessToken, tr.RefreshToken

	req, _ := http.NewRequest(http.MethodGet, srv.TenantURL("/userinfo"), nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	if resp, body := servertest.NewBrowser(t).Do(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo = %d:\n%s", resp.StatusCode, body)
	}
	for _, tok := range []string{tr.AccessToken, tr.RefreshToken} {
		if resp, body := postClient(t, srv, "/introspect", srv.Confidential, url.Values{"token": {tok}}); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"active":true`) {
			t.Fatalf("introspect = %d:\n%s", resp.StatusCode, body)
		}
	}

	cc := token(t, srv, srv.Confidential, url.Values{"grant_type": {"client_credentials"}})
	s["access token (client credentials)"] = cc.AccessToken

	resp, body := postClient(t, srv, "/device_authorization", srv.Public, url.Values{"scope": {"openid"}})
	var da struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURIComplete string `json:"verification_uri_complete"`
	}
	if err := json.Unmarshal([]byte(body), &da); resp.StatusCode != http.StatusOK || err != nil || da.DeviceCode == "" {
		t.Fatalf("device authorization = %d:\n%s", resp.StatusCode, body)
	}
	s["device code"], s["user code"], s["user code (normalised)"] = da.DeviceCode, da.UserCode, keys.NormalizeUserCode(da.UserCode)
	entry, _, _ := b.GetForm(da.VerificationURIComplete, "/device")
	resp, body = b.Submit(entry, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the user code entry answered %d:\n%s", resp.StatusCode, body)
	}
	completeInBrowser(t, srv, b, servertest.Location(t, resp))
	dt := token(t, srv, srv.Public, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}})
	s["access token (device)"], s["ID token (device)"] = dt.AccessToken, dt.IDToken

	if resp, body := postClient(t, srv, "/revoke", srv.Confidential, url.Values{"token": {tr.RefreshToken}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke = %d:\n%s", resp.StatusCode, body)
	}

	// Failures log their reasons: a wrong client secret, a used refresh token presented again, a code
	// redeemed twice and a dead access token at UserInfo must not bring the secret into the log either.
	s["wrong client secret"] = "wrong-secret-" + servertest.RandomString(16)
	wrongClient := srv.Confidential
	wrongClient.Secret = s["wrong client secret"]
	if resp, body := postClient(t, srv, "/token", wrongClient, url.Values{"grant_type": {"client_credentials"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong client secret answered %d:\n%s", resp.StatusCode, body)
	}
	for _, form := range []url.Values{
		{"grant_type": {"refresh_token"}, "refresh_token": {s["refresh token (code)"]}},
		{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {srv.Confidential.RedirectURI}, "code_verifier": {verifier}},
	} {
		if resp, body := postClient(t, srv, "/token", srv.Confidential, form); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a replayed %s answered %d:\n%s", form.Get("grant_type"), resp.StatusCode, body)
		}
	}
	req, _ = http.NewRequest(http.MethodGet, srv.TenantURL("/userinfo"), nil)
	req.Header.Set("Authorization", "Bearer "+s["access token (code)"])
	if resp, body := servertest.NewBrowser(t).Do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("userinfo with the access token of a revoked grant = %d:\n%s", resp.StatusCode, body)
	}

	jarURL, _ := url.Parse(srv.TenantURL("/account"))
	cookies := b.Jar.Cookies(jarURL)
	if len(cookies) < 2 {
		t.Fatalf("the browser holds %d cookies, want at least the session and CSRF cookies", len(cookies))
	}
	for _, c := range cookies {
		s["cookie "+c.Name] = c.Value
	}

	raw, err := os.ReadFile(srv.Config.Secrets.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := config.DecodeMasterKey(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	s["master key file"] = strings.TrimSpace(string(raw))
	s["master key (base64)"] = base64.StdEncoding.EncodeToString(key)
	s["master key (base64url)"] = base64.RawURLEncoding.EncodeToString(key)
	s["master key (hex)"] = hex.EncodeToString(key)
	s["master key (raw)"] = string(key)
	for name, v := range s {
		if len(v) < 8 {
			t.Fatalf("secret %s = %q is too short to look for", name, v)
		}
	}
	return s
}
