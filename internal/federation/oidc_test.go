package federation

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
)

var testNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func oidcConnFor(t *testing.T, f *fakeOP, mod func(*config.Connection)) (Redirector, config.Connection) {
	t.Helper()
	c := config.Connection{ID: "x", Type: config.ConnOIDC, Issuer: f.srv.URL, ClientID: f.clientID, ClientSecret: f.secret}
	if mod != nil {
		mod(&c)
	}
	impl, err := builders[c.Type](context.Background(), testEnv(f.now), c)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return impl.(Redirector), c
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	f.set(func() {
		f.claims = map[string]any{"groups": []string{"devs", "admins"}, "roles": "ops", "amr": []string{"pwd", "mfa"},
			"locale": "en-GB"}
		f.userinfo = map[string]any{"name": "Someone Else", "phone_number": "+44 20 7946 0000", "picture": "https://example.com/a.png"}
	})
	conn, _ := oidcConnFor(t, f, nil)
	b := newBegin()
	b.LoginHint = "ada@example.com"
	u, err := conn.AuthURL(context.Background(), &b)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	q := pu.Query()
	want := map[string]string{"response_type": "code", "client_id": f.clientID, "redirect_uri": testCallback,
		"scope": "openid email profile", "state": b.State, "nonce": b.Nonce, "code_challenge": pkceChallenge(b.Verifier),
		"code_challenge_method": "S256", "login_hint": "ada@example.com"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("authorize %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if pu.Scheme+"://"+pu.Host+pu.Path != f.srv.URL+"/authorize" {
		t.Errorf("authorize endpoint %q", u)
	}

	id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if id.Connection != "x" || id.Subject != "user-123" || id.Email != "ada@example.com" || !id.EmailVerified {
		t.Errorf("identity = %+v", id)
	}
	wantProfile := map[string]string{"name": "Ada Lovelace", "locale": "en-GB", "phone_number": "+44 20 7946 0000",
		"picture": "https://example.com/a.png"}
	if len(id.Profile) != len(wantProfile) {
		t.Errorf("profile = %v, want %v", id.Profile, wantProfile)
	}
	for k, v := range wantProfile {
		if id.Profile[k] != v {
			t.Errorf("profile %s = %q, want %q", k, id.Profile[k], v)
		}
	}
	if !slices.Equal(id.Groups, []string{"admins", "devs", "ops"}) {
		t.Errorf("groups = %v", id.Groups)
	}
	if !slices.Equal(id.AMR, []string{"pwd", "mfa"}) {
		t.Errorf("amr = %v", id.AMR)
	}
	if id.Claims["phone_number"] != "+44 20 7946 0000" || id.Claims["iss"] != f.srv.URL {
		t.Errorf("claims = %v", id.Claims)
	}
	if id.Tokens != nil {
		t.Errorf("tokens kept without store_tokens")
	}
	f.set(func() {
		if f.lastToken.Get("client_secret") != "" || f.lastToken.Get("code_verifier") != b.Verifier ||
			f.lastToken.Get("redirect_uri") != testCallback || f.lastToken.Get("grant_type") != "authorization_code" {
			t.Errorf("token request = %v", f.lastToken)
		}
	})
}

func TestOIDCMappingAndTokens(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	f.set(func() {
		f.claims = map[string]any{"email": nil, "mail": "ada@corp.example", "email_verified": "true",
			"teams": []string{"blue"}, "dept": "R&D", "org": map[string]any{"cost_center": 4200}}
	})
	conn, _ := oidcConnFor(t, f, func(c *config.Connection) {
		c.StoreTokens = true
		c.Scopes = []string{"openid", "email"}
		c.Claims = map[string]string{"email": "mail", "groups": "teams", "department": "dept", "cost_center": "/org/cost_center"}
	})
	b := newBegin()
	id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "ada@corp.example" || !id.EmailVerified {
		t.Errorf("email = %q verified %v", id.Email, id.EmailVerified)
	}
	if id.Profile["department"] != "R&D" || id.Profile["cost_center"] != "4200" || id.Profile["email"] != "" {
		t.Errorf("profile = %v", id.Profile)
	}
	if !slices.Equal(id.Groups, []string{"blue"}) {
		t.Errorf("groups = %v", id.Groups)
	}
	if id.Tokens == nil || id.Tokens.AccessToken != "at-user-123" || id.Tokens.RefreshToken != "rt-user-123" ||
		id.Tokens.IDToken == "" || !id.Tokens.Expiry.Equal(testNow.Add(time.Hour)) {
		t.Errorf("tokens = %+v", id.Tokens)
	}
}

func TestOIDCClientAuthentication(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		announced []string
		takes     string
		secret    string
		ok        bool
	}{
		{"basic by default", nil, "basic", "s3cret-value-x", true},
		{"post when only post is announced", []string{"client_secret_post"}, "post", "s3cret-value-x", true},
		{"basic preferred when both are announced", []string{"client_secret_basic", "client_secret_post"}, "basic", "s3cret-value-x", true},
		{"server wanting post refuses basic", []string{"client_secret_basic"}, "post", "s3cret-value-x", false},
		{"wrong secret", nil, "basic", "not-the-secret", false},
		{"public client", nil, "none", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOP(t, testNow)
			f.set(func() { f.methods, f.auth = tc.announced, tc.takes })
			conn, _ := oidcConnFor(t, f, func(c *config.Connection) { c.ClientSecret = tc.secret })
			b := newBegin()
			id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
			if tc.ok {
				if err != nil || id.Subject != "user-123" {
					t.Fatalf("Exchange = %+v, %v", id, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), "invalid_client") {
				t.Fatalf("Exchange err = %v, want invalid_client", err)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(f *fakeOP)
		// exchange changes what is handed to Exchange; nil hands the callback and Begin as they are.
		exchange func(t *testing.T, f *fakeOP, conn Redirector, cb *http.Request, b Begin) error
		want     string
	}{
		{name: "wrong state", want: "state", exchange: func(t *testing.T, _ *fakeOP, conn Redirector, cb *http.Request, b Begin) error {
			b.State = "st-other"
			_, err := conn.Exchange(context.Background(), cb, b)
			return err
		}},
		{name: "wrong nonce", want: "nonce does not match", exchange: func(t *testing.T, _ *fakeOP, conn Redirector, cb *http.Request, b Begin) error {
			b.Nonce = "no-other"
			_, err := conn.Exchange(context.Background(), cb, b)
			return err
		}},
		{name: "no nonce", want: "no nonce", setup: func(f *fakeOP) { f.claims = map[string]any{"nonce": nil} }},
		{name: "expired", want: "expired", setup: func(f *fakeOP) { f.claims = map[string]any{"exp": testNow.Add(-2 * time.Minute).Unix()} }},
		{name: "issued in the future", want: "future", setup: func(f *fakeOP) { f.claims = map[string]any{"iat": testNow.Add(5 * time.Minute).Unix()} }},
		{name: "wrong audience", want: "audience", setup: func(f *fakeOP) { f.claims = map[string]any{"aud": "another-client"} }},
		{name: "several audiences without azp", want: "azp", setup: func(f *fakeOP) {
			f.claims = map[string]any{"aud": []string{"umm-client", "another-client"}}
		}},
		{name: "azp of another client", want: "azp", setup: func(f *fakeOP) {
			f.claims = map[string]any{"aud": []string{"umm-client", "another-client"}, "azp": "another-client"}
		}},
		{name: "wrong issuer", want: "issuer", setup: func(f *fakeOP) { f.claims = map[string]any{"iss": "https://evil.example"} }},
		{name: "signed by another key under a published kid", want: "signature does not verify", setup: func(f *fakeOP) {
			f.signKey, f.signKid = otherRSAKey(f.t), f.kid
		}},
		{name: "signed by an unpublished key", want: "does not publish", setup: func(f *fakeOP) {
			f.signKey, f.signKid = otherRSAKey(f.t), "k-unknown"
		}},
		{name: "userinfo of another account", want: "userinfo sub", setup: func(f *fakeOP) {
			f.userinfo = map[string]any{"sub": "user-999"}
		}},
		{name: "PKCE verifier differs", want: "invalid_grant", exchange: func(t *testing.T, _ *fakeOP, conn Redirector, cb *http.Request, b Begin) error {
			b.Verifier = newBegin().Verifier
			_, err := conn.Exchange(context.Background(), cb, b)
			return err
		}},
		{name: "redirect_uri differs", want: "invalid_grant", exchange: func(t *testing.T, f *fakeOP, _ Redirector, cb *http.Request, b Begin) error {
			env := testEnv(testNow)
			env.CallbackURL = "http://127.0.0.1/t/t/connections/other/callback"
			impl, err := newOIDC(context.Background(), env, config.Connection{ID: "other", Type: config.ConnOIDC,
				Issuer: f.srv.URL, ClientID: f.clientID, ClientSecret: f.secret})
			if err != nil {
				t.Fatal(err)
			}
			_, err = impl.(Redirector).Exchange(context.Background(), cb, b)
			return err
		}},
		{name: "code used twice", want: "invalid_grant", exchange: func(t *testing.T, _ *fakeOP, conn Redirector, cb *http.Request, b Begin) error {
			if _, err := conn.Exchange(context.Background(), cb, b); err != nil {
				t.Fatalf("first exchange: %v", err)
			}
			again := httptest.NewRequest(http.MethodGet, cb.URL.String(), nil)
			_, err := conn.Exchange(context.Background(), again, b)
			return err
		}},
		{name: "iss parameter of another provider", want: "callback iss", exchange: func(t *testing.T, _ *fakeOP, conn Redirector, cb *http.Request, b Begin) error {
			q := cb.URL.Query()
			q.Set("iss", "https://evil.example")
			_, err := conn.Exchange(context.Background(), httptest.NewRequest(http.MethodGet, testCallback+"?"+q.Encode(), nil), b)
			return err
		}},
		{name: "upstream error other than a refusal", want: "invalid_scope", setup: func(f *fakeOP) { f.deny = "invalid_scope" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOP(t, testNow)
			if tc.setup != nil {
				f.set(func() { tc.setup(f) })
			}
			conn, _ := oidcConnFor(t, f, nil)
			b := newBegin()
			cb := authorize(t, conn, &b)
			var err error
			if tc.exchange != nil {
				err = tc.exchange(t, f, conn, cb, b)
			} else {
				_, err = conn.Exchange(context.Background(), cb, b)
			}
			if !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Exchange err = %v, want ErrInvalidResponse about %q", err, tc.want)
			}
			for _, secret := range []string{f.secret, "at-user-123", "rt-user-123", b.Verifier} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestOIDCLeeway(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	// Expired 30 s ago and issued 30 s ahead: within a minute of clock difference.
	f.set(func() {
		f.claims = map[string]any{"exp": testNow.Add(-30 * time.Second).Unix(), "iat": testNow.Add(30 * time.Second).Unix()}
	})
	conn, _ := oidcConnFor(t, f, nil)
	b := newBegin()
	if _, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
}

func TestOIDCDenied(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	f.set(func() { f.deny = "access_denied" })
	conn, _ := oidcConnFor(t, f, nil)
	b := newBegin()
	_, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "The user said no") {
		t.Fatalf("Exchange err = %v, want ErrDenied with the upstream's description", err)
	}
	f.set(func() {
		if f.tokenHits != 0 {
			t.Errorf("a refused sign-in reached the token endpoint")
		}
	})
	// A "refused" answer that is not for this sign-in is not taken as the person's refusal.
	forged := httptest.NewRequest(http.MethodGet, testCallback+"?error=access_denied&state=st-forged", nil)
	if _, err := conn.Exchange(context.Background(), forged, b); !errors.Is(err, ErrInvalidResponse) {
		t.Fatalf("forged refusal err = %v, want ErrInvalidResponse", err)
	}
}

func TestOIDCUnavailable(t *testing.T) {
	t.Parallel()
	t.Run("token endpoint fails", func(t *testing.T) {
		t.Parallel()
		f := newFakeOP(t, testNow)
		f.set(func() { f.tokenStatus = http.StatusBadGateway })
		conn, _ := oidcConnFor(t, f, nil)
		b := newBegin()
		_, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "502") {
			t.Fatalf("Exchange err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("discovery fails and is not cached", func(t *testing.T) {
		t.Parallel()
		f := newFakeOP(t, testNow)
		f.set(func() { f.discoverStatus = http.StatusInternalServerError })
		conn, _ := oidcConnFor(t, f, nil)
		b := newBegin()
		if _, err := conn.AuthURL(context.Background(), &b); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("AuthURL err = %v, want ErrUnavailable", err)
		}
		f.set(func() { f.discoverStatus = 0 })
		if _, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	})
	t.Run("provider unreachable", func(t *testing.T) {
		t.Parallel()
		f := newFakeOP(t, testNow)
		conn, _ := oidcConnFor(t, f, nil)
		f.srv.Close()
		b := newBegin()
		if _, err := conn.AuthURL(context.Background(), &b); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("AuthURL err = %v, want ErrUnavailable", err)
		}
	})
}

func TestOIDCUserinfoFailureTolerated(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	f.set(func() { f.userinfoStatus = http.StatusInternalServerError })
	conn, _ := oidcConnFor(t, f, nil)
	b := newBegin()
	id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
	if err != nil || id.Subject != "user-123" || id.Profile["name"] != "Ada Lovelace" {
		t.Fatalf("Exchange = %+v, %v", id, err)
	}
}

func TestOIDCKeyRollover(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	conn, _ := oidcConnFor(t, f, nil)
	signIn := func() {
		t.Helper()
		b := newBegin()
		if _, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b); err != nil {
			t.Fatalf("Exchange: %v", err)
		}
	}
	signIn()
	f.set(func() { f.key, f.kid = otherRSAKey(t), "k2" })
	signIn() // a new kid: the keys are fetched again
	signIn() // and then reused
	f.set(func() {
		if f.jwksHits != 2 {
			t.Errorf("keys fetched %d times, want 2", f.jwksHits)
		}
	})
}

func TestOIDCDiscoveryIssuerMismatch(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	f.set(func() { f.issuer = "https://elsewhere.example" })
	conn, _ := oidcConnFor(t, f, nil)
	b := newBegin()
	if _, err := conn.AuthURL(context.Background(), &b); !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), "elsewhere") {
		t.Fatalf("AuthURL err = %v, want ErrInvalidResponse", err)
	}
}

func TestOIDCBeginRequired(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	conn, _ := oidcConnFor(t, f, nil)
	b := newBegin()
	b.Nonce = ""
	if _, err := conn.AuthURL(context.Background(), &b); err == nil {
		t.Fatal("AuthURL without a nonce succeeded")
	}
}

func TestResolveAndStringOf(t *testing.T) {
	t.Parallel()
	doc, err := decodeObject([]byte(`{"data":{"a/b":{"m~n":"x"},"list":[{"id":12345678901234567890}],"f":1.5e3,"t":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{"/data/a~1b/m~0n": "x", "/data/list/0/id": "12345678901234567890", "/data/f": "1500", "/data/t": "true"}
	for ref, want := range cases {
		v, ok := resolve(doc, ref)
		if !ok || stringOf(v) != want {
			t.Errorf("resolve(%q) = %v %v, want %q", ref, v, ok, want)
		}
	}
	for _, ref := range []string{"/data/list/1", "/data/list/01", "/nope", "/data/t/x", ""} {
		if v, ok := resolve(doc, ref); ok {
			t.Errorf("resolve(%q) = %v, want nothing", ref, v)
		}
	}
}

func TestOIDCIssuerTrailingSlash(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	// The provider spells its issuer with a slash; the connection without. Tokens must carry the
	// provider's spelling exactly.
	f.set(func() { f.issuer = f.srv.URL + "/" })
	conn, _ := oidcConnFor(t, f, nil)
	b := newBegin()
	if _, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	f.set(func() { f.claims = map[string]any{"iss": f.srv.URL} })
	b = newBegin()
	if _, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b); !errors.Is(err, ErrInvalidResponse) {
		t.Fatalf("Exchange with iss spelled otherwise: %v", err)
	}
}

func TestParseTokenBody(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"access_token":"a1","expires_in":3600}`:              "a1",
		" \n{\"access_token\":\"a2\"}":                         "a2",
		"access_token=a3&scope=user%3Aemail&token_type=bearer": "a3",
	} {
		doc, err := parseTokenBody([]byte(body))
		if err != nil || doc["access_token"] != want {
			t.Errorf("parseTokenBody(%q) = %v, %v", body, doc, err)
		}
	}
	if _, err := parseTokenBody([]byte(`{"access_token":`)); err == nil {
		t.Error("broken JSON accepted")
	}
}

func TestDiscoveryNotFoundIsUnavailableOnly(t *testing.T) {
	t.Parallel()
	f := newFakeOP(t, testNow)
	f.set(func() { f.discoverStatus = http.StatusNotFound })
	conn, _ := oidcConnFor(t, f, nil)
	b := newBegin()
	_, err := conn.AuthURL(context.Background(), &b)
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidResponse) {
		t.Fatalf("AuthURL err = %v, want only ErrUnavailable", err)
	}
}
