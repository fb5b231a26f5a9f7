package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/umm-project/umm/internal/store/storetest"
)

// discovery is the part of the OpenID Provider Metadata the tests use beyond what go-oidc reads.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	IntrospectionEndpoint string   `json:"introspection_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	DeviceEndpoint        string   `json:"device_authorization_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	ResponseTypes         []string `json:"response_types_supported"`
	IssParameter          bool     `json:"authorization_response_iss_parameter_supported"`
}

// idClaims are the ID token claims the tests check.
type idClaims struct {
	Email    string `json:"email"`
	AuthTime int64  `json:"auth_time"`
	SID      string `json:"sid"`
}

// TestClients runs the standard flows with a relying party we did not write (golang.org/x/oauth2 and
// go-oidc) and a real browser (headless Chromium), on SQLite and PostgreSQL.
func TestClients(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) { testClients(t, backend) })
	}
}

func testClients(t *testing.T, backend string) {
	s := startServer(t, backend)
	b := newBrowser(t)
	ctx := oidc.ClientContext(testCtx(t, 10*time.Minute), httpClient())

	var (
		provider *oidc.Provider
		meta     discovery
	)
	if !t.Run("discovery through go-oidc finds every endpoint under the tenant issuer", func(t *testing.T) {
		p, err := oidc.NewProvider(ctx, s.Issuer("acme"))
		if err != nil {
			t.Fatalf("oidc.NewProvider(%s): %v", s.Issuer("acme"), err)
		}
		if err := p.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		for name, u := range map[string]string{
			"authorization_endpoint": meta.AuthorizationEndpoint, "token_endpoint": meta.TokenEndpoint,
			"userinfo_endpoint": meta.UserinfoEndpoint, "jwks_uri": meta.JWKSURI,
			"end_session_endpoint": meta.EndSessionEndpoint, "introspection_endpoint": meta.IntrospectionEndpoint,
			"revocation_endpoint": meta.RevocationEndpoint, "device_authorization_endpoint": meta.DeviceEndpoint,
		} {
			if !strings.HasPrefix(u, s.Issuer("acme")+"/") {
				t.Errorf("%s = %q, want a URL under the issuer %s", name, u, s.Issuer("acme"))
			}
		}
		if !slices.Contains(meta.CodeChallengeMethods, "S256") || slices.Contains(meta.CodeChallengeMethods, "plain") {
			t.Errorf("code_challenge_methods_supported = %q, want S256 and not plain (RFC 9700 §2.1.1)", meta.CodeChallengeMethods)
		}
		var rfc8414 discovery
		resp, err := httpClient().Get(s.URL + "/.well-known/oauth-authorization-server/t/acme")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&rfc8414)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || rfc8414.Issuer != s.Issuer("acme") || rfc8414.TokenEndpoint != meta.TokenEndpoint {
			t.Errorf("RFC 8414 metadata at /.well-known/oauth-authorization-server/t/acme: %s %v issuer %q, want issuer %q", resp.Status, err, rfc8414.Issuer, s.Issuer("acme"))
		}
		if !meta.IssParameter {
			t.Errorf("authorization_response_iss_parameter_supported is not true (RFC 9207 §3)")
		}
		provider = p
	}) {
		t.Fatal("the other flows need discovery")
	}

	rpURL := s.RP.URL
	web := &oauth2.Config{
		ClientID: "web", ClientSecret: webSecret, Endpoint: provider.Endpoint(), RedirectURL: rpURL + "/cb",
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess},
	}
	web.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	webVerifier := provider.Verifier(&oidc.Config{ClientID: "web"})

	// codeFlow starts an authorization request in tab p; signIn says whether the sign-in form must appear.
	// It returns the callback parameters and the PKCE verifier.
	type callback struct {
		vals     url.Values
		verifier string
		nonce    string
	}
	start := func(t *testing.T, p *tab, conf *oauth2.Config, opts ...oauth2.AuthCodeOption) (state string, cb callback) {
		t.Helper()
		state, cb.nonce, cb.verifier = random(), random(), oauth2.GenerateVerifier()
		opts = append([]oauth2.AuthCodeOption{oidc.Nonce(cb.nonce), oauth2.S256ChallengeOption(cb.verifier)}, opts...)
		p.navigate(t, conf.AuthCodeURL(state, opts...))
		return state, cb
	}
	exchange := func(t *testing.T, conf *oauth2.Config, v *oidc.IDTokenVerifier, cb callback) (*oauth2.Token, *oidc.IDToken, idClaims) {
		t.Helper()
		if e := cb.vals.Get("error"); e != "" {
			t.Fatalf("callback carries error %q: %s", e, cb.vals.Get("error_description"))
		}
		if got := cb.vals.Get("iss"); got != s.Issuer("acme") {
			t.Errorf("callback iss = %q, want %q (RFC 9207)", got, s.Issuer("acme"))
		}
		tok, err := conf.Exchange(ctx, cb.vals.Get("code"), oauth2.VerifierOption(cb.verifier))
		if err != nil {
			t.Fatalf("exchange the code: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			t.Fatal("the token response has no id_token")
		}
		idt, err := v.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verify the ID token: %v", err)
		}
		if idt.Nonce != cb.nonce {
			t.Errorf("ID token nonce = %q, want %q", idt.Nonce, cb.nonce)
		}
		var c idClaims
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		return tok, idt, c
	}

	alice := b.newUser(t)
	var (
		aliceTok   *oauth2.Token
		aliceSub   string
		aliceAuth  int64
		aliceRawID string
		aliceSID   string
	)
	if !t.Run("a user signs in with Chromium and the RP redeems the code with PKCE", func(t *testing.T) {
		state, cb := start(t, alice, web)
		alice.signIn(t, aliceEmail, alicePassword)
		cb.vals = alice.waitRP(t, s.RP, "/cb", state)
		tok, idt, c := exchange(t, web, webVerifier, cb)
		if c.Email != aliceEmail {
			t.Errorf("ID token email = %q, want %q", c.Email, aliceEmail)
		}
		if c.AuthTime == 0 || c.SID == "" {
			t.Errorf("ID token lacks auth_time (%d) or sid (%q)", c.AuthTime, c.SID)
		}
		if tok.RefreshToken == "" {
			t.Error("no refresh token although offline_access was granted")
		}
		if !strings.EqualFold(tok.TokenType, "Bearer") {
			t.Errorf("token_type = %q, want Bearer", tok.TokenType)
		}
		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		if ui.Subject != idt.Subject || ui.Email != aliceEmail || !ui.EmailVerified {
			t.Errorf("userinfo sub=%q email=%q verified=%v, want sub=%q email=%q verified", ui.Subject, ui.Email, ui.EmailVerified, idt.Subject, aliceEmail)
		}
		var profile struct {
			GivenName  string `json:"given_name"`
			FamilyName string `json:"family_name"`
		}
		if err := ui.Claims(&profile); err != nil || profile.GivenName != "Alice" || profile.FamilyName != "Example" {
			t.Errorf("userinfo profile claims = %+v (%v), want given_name Alice and family_name Example for scope profile", profile, err)
		}
		// RFC 9068: a JWT access token with typ at+jwt and the claims a resource server needs.
		h, at := jwtParts(t, tok.AccessToken)
		if h["typ"] != "at+jwt" {
			t.Errorf("access token typ = %v, want at+jwt (RFC 9068 §2.1)", h["typ"])
		}
		if at["iss"] != s.Issuer("acme") || at["sub"] != idt.Subject || at["client_id"] != "web" || str(at["jti"]) == "" ||
			at["exp"] == nil || at["iat"] == nil || !strings.Contains(str(at["scope"]), "openid") || !audHas(at["aud"], "web") {
			t.Errorf("access token claims = %v, want iss, sub, aud with web, client_id web, jti, exp, iat and scope (RFC 9068 §2.2)", at)
		}
		if !s.active(t, tok.AccessToken) {
			t.Error("the fresh access token is not active at introspection")
		}
		aliceTok, aliceSub, aliceAuth, aliceSID = tok, idt.Subject, c.AuthTime, c.SID
		aliceRawID, _ = tok.Extra("id_token").(string)
	}) {
		t.Fatal("the other flows need a signed-in browser")
	}

	t.Run("a refresh token rotates, and reuse of the old one revokes the whole family", func(t *testing.T) {
		old := aliceTok.RefreshToken
		first, err := web.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if first.RefreshToken == "" || first.RefreshToken == old {
			t.Fatalf("refresh returned refresh token %q, want a new one", first.RefreshToken)
		}
		second, err := web.TokenSource(ctx, &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("the rotated refresh token does not work: %v", err)
		}
		_, err = web.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token()
		wantOAuthError(t, "reusing the first refresh token", err, "invalid_grant")
		_, err = web.TokenSource(ctx, &oauth2.Token{RefreshToken: second.RefreshToken}).Token()
		wantOAuthError(t, "the newest refresh token after reuse of an old one (RFC 9700 §4.14.2)", err, "invalid_grant")
		if s.active(t, second.AccessToken) {
			t.Error("an access token of the revoked family is still active at introspection")
		}
	})

	t.Run("client credentials issue an active access token and introspection tells tokens apart", func(t *testing.T) {
		cc := clientcredentials.Config{ClientID: "web", ClientSecret: webSecret, TokenURL: meta.TokenEndpoint,
			Scopes: []string{"api:read"}, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		if tok.RefreshToken != "" {
			t.Error("client_credentials returned a refresh token (RFC 6749 §4.4.3: should not)")
		}
		active, m := s.introspect(t, "acme", "web", webSecret, tok.AccessToken)
		if !active {
			t.Fatalf("the client_credentials access token is not active: %v", m)
		}
		if m["client_id"] != "web" || !strings.Contains(str(m["scope"]), "api:read") {
			t.Errorf("introspection = %v, want client_id web and scope api:read", m)
		}
		// A resource server checks the JWT itself: signature from the JWKS, iss, exp (RFC 9068 §4).
		rs := oidc.NewVerifier(s.Issuer("acme"), oidc.NewRemoteKeySet(ctx, meta.JWKSURI),
			&oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: []string{"ES256", "RS256"}})
		if _, err := rs.Verify(ctx, tok.AccessToken); err != nil {
			t.Errorf("the access token does not verify against the JWKS: %v", err)
		}
		if s.active(t, "not-a-token") {
			t.Error("a made-up token is active at introspection")
		}
		bad := cc
		bad.ClientSecret = "wrong-secret-0123456789"
		_, err = bad.Token(ctx)
		wantOAuthError(t, "client_credentials with a wrong secret", err, "invalid_client")
	})

	t.Run("revoking a refresh token makes it and its access tokens unusable", func(t *testing.T) {
		state, cb := start(t, alice, web)
		cb.vals = alice.waitRP(t, s.RP, "/cb", state)
		tok, _, _ := exchange(t, web, webVerifier, cb)
		resp, body, err := s.postForm(strings.TrimPrefix(meta.RevocationEndpoint, s.URL), "web", webSecret,
			url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %v %s", errOrStatus(resp, err), snippet(string(body)))
		}
		_, err = web.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		wantOAuthError(t, "a revoked refresh token", err, "invalid_grant")
		if s.active(t, tok.RefreshToken) {
			t.Error("a revoked refresh token is active at introspection")
		}
		if s.active(t, tok.AccessToken) {
			t.Error("an access token of a revoked grant is active at introspection (RFC 7009 §2.1)")
		}
		resp, _, err = s.postForm(strings.TrimPrefix(meta.RevocationEndpoint, s.URL), "web", webSecret, url.Values{"token": {"unknown-token"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("revoking an unknown token: %v, want 200 (RFC 7009 §2.2)", errOrStatus(resp, err))
		}
	})

	t.Run("a second client signs in through SSO without the form", func(t *testing.T) {
		native := &oauth2.Config{ClientID: "native", Endpoint: provider.Endpoint(),
			// RFC 8252 §7.3: a loopback redirect URI matches with any port.
			RedirectURL: rpURL + "/cb", Scopes: []string{oidc.ScopeOpenID, "email"}}
		native.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		state, cb := start(t, alice, native)
		cb.vals = alice.waitRP(t, s.RP, "/cb", state)
		_, idt, c := exchange(t, native, provider.Verifier(&oidc.Config{ClientID: "native"}), cb)
		if idt.Subject != aliceSub {
			t.Errorf("sub = %q, want alice's %q", idt.Subject, aliceSub)
		}
		if c.AuthTime != aliceAuth || c.SID != aliceSID {
			t.Errorf("auth_time %d sid %q, want the session's %d %q: SSO should reuse the sign-in", c.AuthTime, c.SID, aliceAuth, aliceSID)
		}
	})

	t.Run("prompt=none with a session returns a code", func(t *testing.T) {
		state, cb := start(t, alice, web, oauth2.SetAuthURLParam("prompt", "none"))
		cb.vals = alice.waitRP(t, s.RP, "/cb", state)
		exchange(t, web, webVerifier, cb)
	})

	t.Run("response_mode=form_post delivers the code in a POST that the page's CSP allows", func(t *testing.T) {
		state, cb := start(t, alice, web, oauth2.SetAuthURLParam("response_mode", "form_post"))
		cb.vals = alice.waitRP(t, s.RP, "/cb", state)
		if cb.vals.Get("method") != http.MethodPost {
			t.Errorf("the callback came by %s, want POST", cb.vals.Get("method"))
		}
		exchange(t, web, webVerifier, cb)
	})

	t.Run("prompt=login shows the sign-in form again despite the session", func(t *testing.T) {
		state, cb := start(t, alice, web, oauth2.SetAuthURLParam("prompt", "login"))
		alice.signIn(t, aliceEmail, alicePassword)
		cb.vals = alice.waitRP(t, s.RP, "/cb", state)
		tok, _, c := exchange(t, web, webVerifier, cb)
		if c.AuthTime < aliceAuth {
			t.Errorf("auth_time %d is older than the first sign-in's %d", c.AuthTime, aliceAuth)
		}
		aliceRawID, _ = tok.Extra("id_token").(string)
	})

	var thirdTok *oauth2.Token
	third := &oauth2.Config{ClientID: "thirdparty", ClientSecret: thirdSecret, Endpoint: provider.Endpoint(),
		RedirectURL: rpURL + "/cb", Scopes: []string{oidc.ScopeOpenID, "email", oidc.ScopeOfflineAccess}}
	third.Endpoint.AuthStyle = oauth2.AuthStyleInHeader

	t.Run("a third-party client asks for consent and deny answers access_denied", func(t *testing.T) {
		state, _ := start(t, alice, third)
		alice.waitFor(t, 15*time.Second, selDeny)
		alice.click(t, selDeny)
		v := alice.waitRP(t, s.RP, "/cb", state)
		if v.Get("error") != "access_denied" || v.Get("code") != "" {
			t.Errorf("callback after deny = %v, want error=access_denied and no code", v)
		}
		if v.Get("iss") != s.Issuer("acme") {
			t.Errorf("error callback iss = %q, want %q (RFC 9207)", v.Get("iss"), s.Issuer("acme"))
		}
	})

	t.Run("a third-party client gets a code after the user allows, and the stored consent skips the page next time", func(t *testing.T) {
		state, cb := start(t, alice, third)
		alice.waitFor(t, 15*time.Second, selAllow)
		alice.click(t, selAllow)
		cb.vals = alice.waitRP(t, s.RP, "/cb", state)
		thirdTok, _, _ = exchange(t, third, provider.Verifier(&oidc.Config{ClientID: "thirdparty"}), cb)

		state, cb = start(t, alice, third)
		cb.vals = alice.waitRP(t, s.RP, "/cb", state)
		exchange(t, third, provider.Verifier(&oidc.Config{ClientID: "thirdparty"}), cb)
	})

	t.Run("removing a connected app on the account page revokes its tokens and its consent", func(t *testing.T) {
		if thirdTok == nil {
			t.Fatal("needs the third-party tokens of the previous test")
		}
		alice.navigate(t, s.Issuer("acme")+"/account/apps")
		remove := `form:has(input[name=client_id][value=thirdparty]) button[type=submit]`
		alice.waitFor(t, 15*time.Second, remove)
		alice.markDocument(t)
		alice.click(t, remove)
		alice.waitNewDocument(t)
		if alice.has(remove) {
			t.Errorf("the account page still lists the app after removing it\npage: %s", alice.where())
		}
		_, err := third.TokenSource(ctx, &oauth2.Token{RefreshToken: thirdTok.RefreshToken}).Token()
		wantOAuthError(t, "the refresh token of a removed app", err, "invalid_grant")
		if active, m := s.introspect(t, "acme", "thirdparty", thirdSecret, thirdTok.AccessToken); active {
			t.Errorf("the access token of a removed app is active: %v", m)
		}
		start(t, alice, third)
		alice.waitFor(t, 15*time.Second, selAllow) // consent is asked again
	})

	t.Run("prompt=none without a session answers login_required at the redirect URI", func(t *testing.T) {
		stranger := b.newUser(t)
		state, _ := start(t, stranger, web, oauth2.SetAuthURLParam("prompt", "none"))
		v := stranger.waitRP(t, s.RP, "/cb", state)
		if v.Get("error") != "login_required" || v.Get("code") != "" {
			t.Errorf("callback = %v, want error=login_required and no code", v)
		}
	})

	t.Run("the device flow completes after the user enters the code, signs in and allows", func(t *testing.T) {
		dctx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: 20 * time.Second,
			Transport: basicAuthAt{url: meta.DeviceEndpoint, id: "web", secret: webSecret}})
		da, err := web.DeviceAuth(dctx)
		if err != nil {
			t.Fatalf("device authorization: %v", err)
		}
		if da.VerificationURIComplete == "" || da.UserCode == "" {
			t.Fatalf("device authorization response %+v lacks user_code or verification_uri_complete", da)
		}
		pctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		type result struct {
			tok *oauth2.Token
			err error
		}
		polled := make(chan result, 1)
		go func() {
			tok, err := web.DeviceAccessToken(pctx, da)
			polled <- result{tok, err}
		}()

		phone := b.newUser(t)
		phone.navigate(t, da.VerificationURIComplete)
		allowed := false
		for step := 0; step < 8 && !allowed; step++ {
			sel := phone.waitFor(t, 15*time.Second, selAllow, selUsername, selPassword, selSubmit)
			phone.markDocument(t)
			switch sel {
			case selAllow:
				phone.click(t, selAllow)
				allowed = true
			case selUsername, selPassword:
				phone.signIn(t, aliceEmail, alicePassword)
			default: // the user-code confirmation
				phone.click(t, selSubmit)
			}
			phone.waitNewDocument(t)
		}
		if !allowed {
			t.Fatalf("never reached the allow button\npage: %s", phone.where())
		}
		select {
		case r := <-polled:
			if r.err != nil {
				t.Fatalf("DeviceAccessToken: %v", r.err)
			}
			active, m := s.introspect(t, "acme", "web", webSecret, r.tok.AccessToken)
			if !active || m["sub"] != aliceSub {
				t.Errorf("device access token introspection = %v, want active for alice (%s)", m, aliceSub)
			}
		case <-pctx.Done():
			t.Fatalf("no device token within 90s\nphone page: %s", phone.where())
		}
	})

	t.Run("logout with id_token_hint needs no confirmation and lands on post_logout_redirect_uri with state", func(t *testing.T) {
		state := random()
		q := url.Values{"id_token_hint": {aliceRawID}, "post_logout_redirect_uri": {rpURL + "/bye"}, "state": {state}}
		alice.navigate(t, meta.EndSessionEndpoint+"?"+q.Encode())
		alice.waitRP(t, s.RP, "/bye", state)
		st, _ := start(t, alice, web, oauth2.SetAuthURLParam("prompt", "none"))
		if v := alice.waitRP(t, s.RP, "/cb", st); v.Get("error") != "login_required" {
			t.Errorf("prompt=none after logout = %v, want error=login_required: the session was not ended", v)
		}
	})

	t.Run("logout without id_token_hint asks for confirmation before ending the session", func(t *testing.T) {
		laptop := b.newUser(t)
		state, cb := start(t, laptop, web)
		laptop.signIn(t, aliceEmail, alicePassword)
		cb.vals = laptop.waitRP(t, s.RP, "/cb", state)
		exchange(t, web, webVerifier, cb)

		laptop.navigate(t, meta.EndSessionEndpoint)
		laptop.waitFor(t, 15*time.Second, selLogout)
		st, _ := start(t, laptop, web, oauth2.SetAuthURLParam("prompt", "none"))
		if v := laptop.waitRP(t, s.RP, "/cb", st); v.Get("code") == "" {
			t.Fatalf("prompt=none after only showing the logout page = %v, want a code: a GET must not end the session", v)
		}
		laptop.navigate(t, meta.EndSessionEndpoint)
		laptop.waitFor(t, 15*time.Second, selLogout)
		laptop.markDocument(t)
		laptop.click(t, selLogout)
		laptop.waitNewDocument(t)
		st, _ = start(t, laptop, web, oauth2.SetAuthURLParam("prompt", "none"))
		if v := laptop.waitRP(t, s.RP, "/cb", st); v.Get("error") != "login_required" {
			t.Errorf("prompt=none after confirmed logout = %v, want error=login_required", v)
		}
	})
}

// basicAuthAt adds HTTP Basic client authentication to requests for one URL. x/oauth2's DeviceAuth sends
// only client_id, but RFC 8628 §3.1 applies RFC 6749 §3.2.1: a confidential client authenticates there.
type basicAuthAt struct{ url, id, secret string }

func (b basicAuthAt) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.String() == b.url && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.SetBasicAuth(url.QueryEscape(b.id), url.QueryEscape(b.secret))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// wantOAuthError fails unless err is an OAuth error response with code.
func wantOAuthError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	switch {
	case err == nil:
		t.Errorf("%s succeeded, want %s", what, code)
	case !errors.As(err, &re):
		t.Errorf("%s: %v, want an OAuth error %s", what, err, code)
	case re.ErrorCode != code:
		t.Errorf("%s: error %q (%s), want %q", what, re.ErrorCode, re.ErrorDescription, code)
	}
}

// audHas reports whether a JWT aud claim (a string or a list) contains want.
func audHas(aud any, want string) bool {
	switch v := aud.(type) {
	case string:
		return v == want
	case []any:
		for _, a := range v {
			if a == want {
				return true
			}
		}
	}
	return false
}

func random() string { return oauth2.GenerateVerifier()[:22] }

func str(v any) string {
	s, _ := v.(string)
	return s
}
