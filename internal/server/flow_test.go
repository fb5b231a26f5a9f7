package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestAuthorizationCodeFlowThroughTheWiredServer drives one code flow through every surface the server
// wires (oidc authorize, login, consent, resume, token), using the servertest browser helpers.
func TestAuthorizationCodeFlowThroughTheWiredServer(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			srv := servertest.New(t, servertest.WithBackend(backend))
			b := srv.NewBrowser(t)
			verifier := servertest.RandomString(32)
			sum := sha256.Sum256([]byte(verifier))
			state := servertest.RandomString(16)
			q := url.Values{
				"response_type": {"code"}, "client_id": {srv.Confidential.ID}, "redirect_uri": {srv.Confidential.RedirectURI},
				"scope": {"openid email"}, "state": {state}, "nonce": {servertest.RandomString(16)},
				"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
			}
			resp, body := b.Get(srv.TenantURL("/authorize?" + q.Encode()))
			loginURL := servertest.Location(t, resp)
			if !strings.HasSuffix(loginURL.Path, "/login") {
				t.Fatalf("authorize sent the browser to %s (status %d):\n%s", loginURL, resp.StatusCode, body)
			}
			form, _, _ := b.GetForm(loginURL.String())
			resp, body = b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
			next := servertest.Location(t, resp)
			if strings.HasSuffix(next.Path, "/consent") { // a third-party client asks for consent
				form, _, _ = b.GetForm(next.String())
				resp, body = b.Submit(form, url.Values{"decision": {"allow"}})
				next = servertest.Location(t, resp)
			}
			for strings.HasPrefix(next.String(), srv.URL) { // resume, then the client
				resp, body = b.Get(next.String())
				next = servertest.Location(t, resp)
			}
			if !strings.HasPrefix(next.String(), srv.Confidential.RedirectURI) {
				t.Fatalf("the flow ended at %s:\n%s", next, body)
			}
			if next.Query().Get("state") != state || next.Query().Get("iss") != srv.Issuer || next.Query().Get("code") == "" {
				t.Fatalf("callback %s lacks code, state or iss", next)
			}

			tok := url.Values{"grant_type": {"authorization_code"}, "code": {next.Query().Get("code")},
				"redirect_uri": {srv.Confidential.RedirectURI}, "code_verifier": {verifier}}
			req, _ := http.NewRequest("POST", srv.TenantURL("/token"), strings.NewReader(tok.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(srv.Confidential.ID, srv.Confidential.Secret)
			resp, body = servertest.NewBrowser(t).Do(req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("token = %d:\n%s", resp.StatusCode, body)
			}
			var tr struct {
				AccessToken string `json:"access_token"`
				IDToken     string `json:"id_token"`
			}
			if err := json.Unmarshal([]byte(body), &tr); err != nil || tr.AccessToken == "" || tr.IDToken == "" {
				t.Fatalf("token response %s: %v", body, err)
			}
		})
	}
}
