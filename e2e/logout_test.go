package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/store/storetest"
)

const sloSecret = "slo-secret-0123456789abcdef"

// sloTenant is a tenant whose client fc registers a front-channel logout URI at the RP. It is appended
// to the standard configuration (the tenants list is its last block).
func sloTenant(rpURL string) string {
	return fmt.Sprintf(`  - id: slo
    name: Single Logout
    clients:
      - client_id: fc
        client_secret: %[2]q
        name: Front-Channel App
        redirect_uris: [%[1]s/cb]
        post_logout_redirect_uris: [%[1]s/bye]
        grant_types: [authorization_code]
        token_endpoint_auth_method: client_secret_basic
        first_party: true
        frontchannel_logout_uri: %[1]s/fc
        frontchannel_logout_session_required: true
    users:
      - email: %[3]s
        password: %[4]q
        email_verified: true
`, rpURL, sloSecret, aliceEmail, alicePassword)
}

// crossSitePoster serves, on another site than UMM (localhost instead of 127.0.0.1), a page that
// auto-submits an authorization request as a form POST, as a client using form-based requests does.
func crossSitePoster(t *testing.T, action string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		fmt.Fprintf(&b, `<!doctype html><title>Client</title><form method="post" action="%s">`, html.EscapeString(action))
		for k, vs := range r.URL.Query() {
			for _, v := range vs {
				fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(v))
			}
		}
		b.WriteString(`</form><script>document.forms[0].submit()</script>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, b.String())
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// TestLogoutAndFormPostInBrowser drives headless Chromium through a cross-site POST authorization
// request that must see the SSO session, and a confirmed sign-out whose page frames the client's
// front-channel logout URI before it returns to the client.
func TestLogoutAndFormPostInBrowser(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			s := newServer(t, backend)
			f, err := os.OpenFile(s.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.WriteString(sloTenant(s.RP.URL))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.start(); err != nil {
				t.Fatal(err)
			}
			iss := s.Issuer("slo")
			conf := &oauth2.Config{ClientID: "fc", ClientSecret: sloSecret, RedirectURL: s.RP.URL + "/cb",
				Endpoint: oauth2.Endpoint{AuthURL: iss + "/authorize", TokenURL: iss + "/token", AuthStyle: oauth2.AuthStyleInHeader},
				Scopes:   []string{"openid"}}
			ctx := context.WithValue(testCtx(t, 5*time.Minute), oauth2.HTTPClient, httpClient())
			sidOf := func(t *testing.T, cb url.Values, verifier string) string {
				t.Helper()
				if cb.Get("code") == "" {
					t.Fatalf("callback %v, want a code", cb)
				}
				tok, err := conf.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := tok.Extra("id_token").(string)
				parts := strings.Split(raw, ".")
				if len(parts) != 3 {
					t.Fatalf("id_token %q", raw)
				}
				b, _ := base64.RawURLEncoding.DecodeString(parts[1])
				var c struct {
					Sid string `json:"sid"`
				}
				if err := json.Unmarshal(b, &c); err != nil || c.Sid == "" {
					t.Fatalf("no sid in %s", b)
				}
				return c.Sid
			}

			p := newBrowser(t).newUser(t)
			state, verifier := random(), oauth2.GenerateVerifier()
			p.navigate(t, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
			p.signIn(t, aliceEmail, alicePassword)
			sid := sidOf(t, p.waitRP(t, s.RP, "/cb", state), verifier)

			t.Run("a cross-site form POST to /authorize sees the SSO session", func(t *testing.T) {
				poster := crossSitePoster(t, iss+"/authorize")
				for _, prompt := range []string{"none", ""} {
					state, verifier := random(), oauth2.GenerateVerifier()
					q, _ := url.Parse(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", prompt)))
					p.navigate(t, poster+"/?"+q.RawQuery)
					cb := p.waitRP(t, s.RP, "/cb", state)
					if got := sidOf(t, cb, verifier); got != sid {
						t.Errorf("prompt=%q: the POST got a code for session %s, want the SSO session %s", prompt, got, sid)
					}
				}
			})

			t.Run("signing out frames the client's front-channel logout URI, then returns to the client", func(t *testing.T) {
				state := random()
				p.navigate(t, iss+"/logout?"+url.Values{"client_id": {"fc"}, "post_logout_redirect_uri": {s.RP.URL + "/bye"},
					"state": {state}}.Encode())
				p.waitFor(t, 15*time.Second, selLogout)
				p.click(t, selLogout)
				fc := p.waitRPNoPage(t, s.RP, "/fc", "")
				if fc.Get("iss") != iss || fc.Get("sid") != sid {
					t.Errorf("front-channel logout got iss %q sid %q, want %q and %q", fc.Get("iss"), fc.Get("sid"), iss, sid)
				}
				p.waitRP(t, s.RP, "/bye", state)

				st, verifier := random(), oauth2.GenerateVerifier()
				p.navigate(t, conf.AuthCodeURL(st, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")))
				if v := p.waitRP(t, s.RP, "/cb", st); v.Get("error") != "login_required" {
					t.Errorf("prompt=none after sign-out = %v, want login_required", v)
				}
			})
		})
	}
}

// waitRPNoPage waits for the RP to receive path with state, without waiting for the browser to show the
// RP's page (the request comes from an iframe).
func (p *tab) waitRPNoPage(t *testing.T, r *rp, path, state string) url.Values {
	t.Helper()
	v, err := r.waitErr(path, state, 20*time.Second)
	if err != nil {
		t.Fatalf("%v\nbrowser page: %s", err, p.where())
	}
	return v
}
