package federation

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/umm-project/umm/internal/config"
)

// fakeOAuth2 is an OAuth 2.0 server with a profile API, in the manner of GitHub: errors from the token
// endpoint come as 200 with an error member, and the answer is form-encoded unless JSON is asked for.
type fakeOAuth2 struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	clientID string
	secret   string
	auth     string // post, basic or either
	// alwaysForm answers form-encoded whatever the Accept header says.
	alwaysForm bool
	// profile and emails are the JSON of /user (and /userinfo, /me) and /user/emails.
	profile, emails string
	emailsStatus    int
	// checkProfile checks the profile request beyond its token (Facebook's appsecret_proof).
	checkProfile func(r *http.Request) bool
	grants       map[string]*oauthGrant
	tokenHits    int
}

type oauthGrant struct {
	redirectURI, challenge, scope string
	used                          bool
}

func newFakeOAuth2(t *testing.T) *fakeOAuth2 {
	f := &fakeOAuth2{t: t, clientID: "gh-client", secret: "gh-secret-123", auth: "post", grants: map[string]*oauthGrant{},
		profile: `{"id":1234567,"login":"ada","name":"Ada Lovelace","avatar_url":"https://avatars.example/u/1234567","email":"ada@public.example"}`,
		emails:  `[{"email":"ada@old.example","primary":false,"verified":true},{"email":"ada@example.com","primary":true,"verified":true}]`}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOAuth2) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *fakeOAuth2) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/login/oauth/authorize":
		q := r.URL.Query()
		if q.Get("client_id") != f.clientID || q.Get("redirect_uri") == "" {
			http.Error(w, "bad request", 400)
			return
		}
		out := url.Values{"state": {q.Get("state")}}
		if q.Get("login_hint") == "refuse@example.com" {
			out.Set("error", "access_denied")
		} else {
			code := rand.Text()
			f.grants[code] = &oauthGrant{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), scope: q.Get("scope")}
			out.Set("code", code)
		}
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+out.Encode(), http.StatusFound)
	case "/login/oauth/access_token":
		f.tokenHits++
		r.ParseForm()
		answer := func(v url.Values) {
			if !f.alwaysForm && strings.Contains(r.Header.Get("Accept"), "application/json") {
				m := map[string]any{}
				for k := range v {
					m[k] = v.Get(k)
				}
				writeJSON(w, 200, m)
				return
			}
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			w.Write([]byte(v.Encode()))
		}
		user, pass, basic := r.BasicAuth()
		id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		switch {
		case basic && f.auth == "post":
			writeJSON(w, 401, map[string]any{"error": "invalid_client"})
			return
		case basic:
			id, _ = url.QueryUnescape(user)
			secret, _ = url.QueryUnescape(pass)
		case f.auth == "basic":
			writeJSON(w, 401, map[string]any{"error": "invalid_client"})
			return
		}
		if id != f.clientID || secret != f.secret {
			answer(url.Values{"error": {"incorrect_client_credentials"}})
			return
		}
		g, ok := f.grants[r.PostForm.Get("code")]
		if !ok || g.used || g.redirectURI != r.PostForm.Get("redirect_uri") {
			answer(url.Values{"error": {"bad_verification_code"}, "error_description": {"The code passed is incorrect or expired."}})
			return
		}
		g.used = true
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if g.challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			answer(url.Values{"error": {"invalid_grant"}, "error_description": {"PKCE verification failed"}})
			return
		}
		answer(url.Values{"access_token": {"gho_" + g.scope}, "token_type": {"bearer"}, "scope": {g.scope}})
	case "/user", "/me":
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer gho_")
		if !ok || (f.checkProfile != nil && !f.checkProfile(r)) {
			writeJSON(w, 401, map[string]any{"message": "Bad credentials"})
			return
		}
		_ = tok
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(f.profile))
	case "/user/emails":
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer gho_")
		if !ok {
			writeJSON(w, 401, map[string]any{"message": "Bad credentials"})
			return
		}
		if !slices.Contains(strings.Fields(tok), "user:email") {
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		if f.emailsStatus != 0 {
			http.Error(w, "failed", f.emailsStatus)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(f.emails))
	default:
		http.NotFound(w, r)
	}
}

func githubFor(t *testing.T, f *fakeOAuth2, mod func(*config.Connection)) Redirector {
	t.Helper()
	c := config.Connection{ID: "x", Type: config.ConnGitHub, ClientID: f.clientID, ClientSecret: f.secret,
		AuthorizationURL: f.srv.URL + "/login/oauth/authorize", TokenURL: f.srv.URL + "/login/oauth/access_token",
		UserinfoURL: f.srv.URL + "/user"}
	if mod != nil {
		mod(&c)
	}
	impl, err := builders[c.Type](context.Background(), testEnv(testNow), c)
	if err != nil {
		t.Fatal(err)
	}
	return impl.(Redirector)
}

func TestGitHubSignIn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		setup      func(f *fakeOAuth2)
		scopes     []string
		email      string
		verified   bool
		storeToken bool
	}{
		{name: "verified primary address, JSON answer", email: "ada@example.com", verified: true, storeToken: true},
		{name: "form-encoded answer", setup: func(f *fakeOAuth2) { f.alwaysForm = true }, email: "ada@example.com", verified: true},
		{name: "primary address unverified", setup: func(f *fakeOAuth2) {
			f.emails = `[{"email":"ada@example.com","primary":true,"verified":false},{"email":"ada@old.example","primary":false,"verified":true}]`
		}, email: "ada@public.example", verified: false},
		{name: "address list not granted", scopes: []string{"read:user"}, email: "ada@public.example", verified: false},
		{name: "address list fails", setup: func(f *fakeOAuth2) { f.emailsStatus = 500 }, email: "ada@public.example", verified: false},
		{name: "no public address and none verified", setup: func(f *fakeOAuth2) {
			f.profile = `{"id":1234567,"login":"ada","name":null,"avatar_url":"https://avatars.example/u/1234567","email":null}`
			f.emails = `[]`
		}, email: "", verified: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOAuth2(t)
			if tc.setup != nil {
				f.set(func() { tc.setup(f) })
			}
			conn := githubFor(t, f, func(c *config.Connection) { c.Scopes = tc.scopes; c.StoreTokens = tc.storeToken })
			b := newBegin()
			id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if id.Subject != "1234567" || id.Email != tc.email || id.EmailVerified != tc.verified {
				t.Errorf("identity = %q %q %v, want 1234567 %q %v", id.Subject, id.Email, id.EmailVerified, tc.email, tc.verified)
			}
			if id.Profile["preferred_username"] != "ada" || id.Profile["picture"] != "https://avatars.example/u/1234567" {
				t.Errorf("profile = %v", id.Profile)
			}
			if tc.storeToken != (id.Tokens != nil) || (id.Tokens != nil && id.Tokens.AccessToken != "gho_read:user user:email") {
				t.Errorf("tokens = %+v", id.Tokens)
			}
		})
	}
}

func TestGitHubRefusals(t *testing.T) {
	t.Parallel()
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		f := newFakeOAuth2(t)
		conn := githubFor(t, f, func(c *config.Connection) { c.ClientSecret = "wrong-secret-1" })
		b := newBegin()
		_, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
		if !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), "incorrect_client_credentials") ||
			strings.Contains(err.Error(), "wrong-secret-1") {
			t.Fatalf("Exchange err = %v", err)
		}
	})
	t.Run("PKCE verifier differs", func(t *testing.T) {
		t.Parallel()
		f := newFakeOAuth2(t)
		conn := githubFor(t, f, nil)
		b := newBegin()
		cb := authorize(t, conn, &b)
		b.Verifier = newBegin().Verifier
		if _, err := conn.Exchange(context.Background(), cb, b); !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("Exchange err = %v", err)
		}
	})
	t.Run("code reused", func(t *testing.T) {
		t.Parallel()
		f := newFakeOAuth2(t)
		conn := githubFor(t, f, nil)
		b := newBegin()
		cb := authorize(t, conn, &b)
		if _, err := conn.Exchange(context.Background(), cb, b); err != nil {
			t.Fatal(err)
		}
		again := httptest.NewRequest(http.MethodGet, cb.URL.String(), nil)
		if _, err := conn.Exchange(context.Background(), again, b); !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), "bad_verification_code") {
			t.Fatalf("second Exchange err = %v", err)
		}
	})
	t.Run("wrong state", func(t *testing.T) {
		t.Parallel()
		f := newFakeOAuth2(t)
		conn := githubFor(t, f, nil)
		b := newBegin()
		cb := authorize(t, conn, &b)
		b.State = "st-forged"
		if _, err := conn.Exchange(context.Background(), cb, b); !errors.Is(err, ErrInvalidResponse) {
			t.Fatalf("Exchange err = %v", err)
		}
		f.set(func() {
			if f.tokenHits != 0 {
				t.Error("a forged callback reached the token endpoint")
			}
		})
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		f := newFakeOAuth2(t)
		conn := githubFor(t, f, nil)
		b := newBegin()
		b.LoginHint = "refuse@example.com"
		if _, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b); !errors.Is(err, ErrDenied) {
			t.Fatalf("Exchange err = %v, want ErrDenied", err)
		}
	})
	t.Run("server down", func(t *testing.T) {
		t.Parallel()
		f := newFakeOAuth2(t)
		conn := githubFor(t, f, nil)
		b := newBegin()
		cb := authorize(t, conn, &b)
		f.srv.Close()
		if _, err := conn.Exchange(context.Background(), cb, b); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Exchange err = %v, want ErrUnavailable", err)
		}
	})
}

func TestOAuth2Generic(t *testing.T) {
	t.Parallel()
	f := newFakeOAuth2(t)
	f.set(func() {
		f.auth = "post" // refuses Basic with 401: the connector tries again with the secret in the form
		f.profile = `{"data":{"uid":98765432109876543210,"mail":"bob@example.com","mail_ok":"true","full_name":"Bob","teams":"ops"}}`
	})
	c := config.Connection{ID: "x", Type: config.ConnOAuth2, ClientID: f.clientID, ClientSecret: f.secret,
		AuthorizationURL: f.srv.URL + "/login/oauth/authorize", TokenURL: f.srv.URL + "/login/oauth/access_token",
		UserinfoURL: f.srv.URL + "/user", Scopes: []string{"profile"}, SubjectClaim: "/data/uid",
		Claims: map[string]string{"email": "/data/mail", "email_verified": "/data/mail_ok", "name": "/data/full_name", "groups": "/data/teams"}}
	impl, err := newOAuth2(context.Background(), testEnv(testNow), c)
	if err != nil {
		t.Fatal(err)
	}
	conn := impl.(Redirector)
	for i := range 2 {
		b := newBegin()
		cb := authorize(t, conn, &b)
		id, err := conn.Exchange(context.Background(), cb, b)
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		if id.Subject != "98765432109876543210" || id.Email != "bob@example.com" || !id.EmailVerified ||
			id.Profile["name"] != "Bob" || !slices.Equal(id.Groups, []string{"ops"}) {
			t.Errorf("identity = %+v", id)
		}
	}
	f.set(func() {
		// Basic then form for the first sign-in; the form straight away for the second.
		if f.tokenHits != 3 {
			t.Errorf("token requests = %d, want 3", f.tokenHits)
		}
	})

	// Without subject_claim the account's id is /sub, then /id.
	f.set(func() { f.profile = `{"id":42,"email":"x@example.com","email_verified":false}` })
	c.SubjectClaim, c.Claims = "", nil
	impl, _ = newOAuth2(context.Background(), testEnv(testNow), c)
	conn = impl.(Redirector)
	b := newBegin()
	id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
	if err != nil || id.Subject != "42" || id.Email != "x@example.com" || id.EmailVerified {
		t.Fatalf("Exchange = %+v, %v", id, err)
	}
	f.set(func() { f.profile = `{"email":"x@example.com"}` })
	b = newBegin()
	if _, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b); !errors.Is(err, ErrInvalidResponse) {
		t.Fatalf("Exchange without a subject: %v", err)
	}
}

func TestFacebook(t *testing.T) {
	t.Parallel()
	f := newFakeOAuth2(t)
	f.set(func() {
		f.profile = `{"id":"10150000000000001","name":"Ada Lovelace","first_name":"Ada","last_name":"Lovelace",` +
			`"email":"ada@example.com","email_verified":true,"picture":{"data":{"url":"https://fb.example/p.jpg"}}}`
		f.checkProfile = func(r *http.Request) bool {
			m := hmac.New(sha256.New, []byte(f.secret))
			m.Write([]byte(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
			return r.URL.Query().Get("appsecret_proof") == hex.EncodeToString(m.Sum(nil)) &&
				r.URL.Query().Get("fields") == "id,name,email"
		}
	})
	impl, err := newPreset(context.Background(), testEnv(testNow), config.Connection{ID: "x", Type: config.ConnFacebook,
		ClientID: f.clientID, ClientSecret: f.secret, AuthorizationURL: f.srv.URL + "/login/oauth/authorize",
		TokenURL: f.srv.URL + "/login/oauth/access_token", UserinfoURL: f.srv.URL + "/me?fields=id,name,email"})
	if err != nil {
		t.Fatal(err)
	}
	conn := impl.(Redirector)
	b := newBegin()
	u, _ := conn.AuthURL(context.Background(), &b)
	if pu, _ := url.Parse(u); pu.Query().Get("scope") != "email public_profile" {
		t.Errorf("authorize URL %q", u)
	}
	id, err := conn.Exchange(context.Background(), authorize(t, conn, &b), b)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if id.Subject != "10150000000000001" || id.Email != "ada@example.com" || id.EmailVerified {
		t.Errorf("identity = %+v", id)
	}
	if id.Profile["given_name"] != "Ada" || id.Profile["family_name"] != "Lovelace" || id.Profile["picture"] != "https://fb.example/p.jpg" {
		t.Errorf("profile = %v", id.Profile)
	}
}
