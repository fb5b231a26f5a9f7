package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

const (
	benchUser     = "bench@example.com"
	benchPassword = "Quiet-Lantern-Password-9"
	benchSecret   = "bench-secret-0123456789abcdef0123456789"
	redirectURI   = "http://127.0.0.1:9/cb"
)

type ummTarget struct {
	proc   *proc
	base   string // http://127.0.0.1:port
	issuer string
}

func (u *ummTarget) Name() string { return "UMM" }
func (u *ummTarget) PID() int     { return u.proc.pid() }

// ummConfig writes a config for the bench tenant.
func ummConfig(dir string, port int, dbURL string) (string, error) {
	cfg := fmt.Sprintf(`server:
  addr: 127.0.0.1:%d
  public_url: http://127.0.0.1:%d
database:
  url: %q
secrets:
  master_key_file: %s
log:
  level: error
security:
  ip_limit_per_minute: 100000000
  account_lockout_threshold: 1000000
  device_lockout_threshold: 1000000
  account_hard_lock_threshold: 100000000
tenants:
  - id: bench
    name: Bench
    # Every password login of the harness is a new browser; with this on, each would also send a "New
    # sign-in" email from the server's core, a workload the foundation's comparison never had and the
    # peer does not do. Its cost is measured on its own (bench/README.md, "Strong authentication").
    login:
      new_device_email: false
    clients:
      - client_id: bench
        client_secret: %s
        redirect_uris: [%s]
        grant_types: [authorization_code, refresh_token, client_credentials]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email, offline_access, api:read]
        first_party: true
    users:
      - email: %s
        password: %q
        given_name: Bench
        email_verified: true
`, port, port, dbURL, filepath.Join(dir, "master.key"), benchSecret, redirectURI, benchUser, benchPassword)
	path := filepath.Join(dir, "umm.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

func (u *ummTarget) ClientCredentials(ctx context.Context, c *http.Client) (string, error) {
	return tokenFrom(postForm(ctx, c, u.issuer+"/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}, "bench", benchSecret))
}

func (u *ummTarget) Introspect(ctx context.Context, c *http.Client, token string) error {
	return activeFrom(postForm(ctx, c, u.issuer+"/introspect", url.Values{"token": {token}}, "bench", benchSecret))
}

func (u *ummTarget) JWKS(ctx context.Context, c *http.Client) error {
	return expect(get(ctx, c, u.issuer+"/jwks.json"))(200)
}

func (u *ummTarget) authorizeURL(state, challenge string) string {
	return u.issuer + "/authorize?" + authorizeQuery("bench", state, challenge)
}

// SignIn runs one full code flow through the login form (authorize, sign in, token exchange) so the jar
// holds a session.
func (u *ummTarget) SignIn(c *http.Client) error {
	ctx := context.Background()
	state := randState()
	verifier, challenge := pkce()
	resp, err := get(ctx, c, u.authorizeURL(state, challenge))
	if err != nil {
		return err
	}
	drain(resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("authorize: status %d", resp.StatusCode)
	}
	loc, err := u.submitLogin(ctx, c, resolve(u.base, resp.Header.Get("Location")))
	if err != nil {
		return err
	}
	code, err := codeFrom(loc, state)
	if err != nil {
		return err
	}
	return u.exchange(ctx, c, code, verifier)
}

func (u *ummTarget) exchange(ctx context.Context, c *http.Client, code, verifier string) error {
	_, err := tokenFrom(postForm(ctx, c, u.issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}}, "bench", benchSecret))
	return err
}

// submitLogin GETs the login form at loc, posts the credentials and follows redirects to the client.
func (u *ummTarget) submitLogin(ctx context.Context, c *http.Client, loc string) (string, error) {
	resp, err := get(ctx, c, loc)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("login form: status %d", resp.StatusCode)
	}
	form := url.Values{"email": {benchUser}, "password": {benchPassword}, "csrf_token": {csrfFrom(string(body))}}
	resp, err = postForm(ctx, c, loc, form, "", "")
	if err != nil {
		return "", err
	}
	drain(resp)
	resp.Body.Close()
	for i := 0; i < 5 && (resp.StatusCode == 302 || resp.StatusCode == 303); i++ {
		next := resolve(loc, resp.Header.Get("Location"))
		if strings.HasPrefix(next, redirectURI) || !strings.HasPrefix(next, u.base) {
			return next, nil
		}
		loc = next
		if resp, err = get(ctx, c, loc); err != nil {
			return "", err
		}
		drain(resp)
		resp.Body.Close()
	}
	if resp.StatusCode >= 400 {
		return "", fmt.Errorf("login: status %d at %s", resp.StatusCode, loc)
	}
	return loc, nil
}

// PasswordLogin signs in directly (no client): GET the form, POST the credentials.
// PasswordLogin is one hosted sign-in in a new browser (a fresh cookie jar over the worker's
// connections): GET the form, POST the credentials, and the 303 that says the session was created.
func (u *ummTarget) PasswordLogin(ctx context.Context, c *http.Client) error {
	jar, _ := cookiejar.New(nil)
	fresh := *c
	fresh.Jar = jar
	loginURL := u.issuer + "/login"
	resp, err := get(ctx, &fresh, loginURL)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("login form: status %d", resp.StatusCode)
	}
	form := url.Values{"email": {benchUser}, "password": {benchPassword}, "csrf_token": {csrfFrom(string(body))}}
	return expect(postForm(ctx, &fresh, loginURL, form, "", ""))(http.StatusSeeOther)
}

func (u *ummTarget) CodeFlow(ctx context.Context, c *http.Client) error {
	state := randState()
	verifier, challenge := pkce()
	resp, err := get(ctx, c, u.authorizeURL(state, challenge))
	if err != nil {
		return err
	}
	drain(resp)
	resp.Body.Close()
	code, err := codeFrom(resp.Header.Get("Location"), state)
	if err != nil {
		return fmt.Errorf("authorize status %d: %w", resp.StatusCode, err)
	}
	return u.exchange(ctx, c, code, verifier)
}
