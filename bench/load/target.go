package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// target is one server under test: UMM or Hydra, each exposing the same operations.
type target interface {
	Name() string
	PID() int
	ClientCredentials(ctx context.Context, c *http.Client) (string, error)
	Introspect(ctx context.Context, c *http.Client, token string) error
	JWKS(ctx context.Context, c *http.Client) error
	// SignIn establishes an SSO session in c's cookie jar.
	SignIn(c *http.Client) error
	// CodeFlow runs authorize (with the session) + token exchange.
	CodeFlow(ctx context.Context, c *http.Client) error
}

func drain(resp *http.Response) { _, _ = io.Copy(io.Discard, resp.Body) }

func postForm(ctx context.Context, c *http.Client, u string, form url.Values, user, pass string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return c.Do(req)
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

func tokenFrom(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return "", fmt.Errorf("token status %d: %s", resp.StatusCode, b)
	}
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.AccessToken == "" {
		return "", fmt.Errorf("token response without access_token: %v", err)
	}
	return v.AccessToken, nil
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func randState() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// codeFrom checks a redirect to the client and returns its code.
func codeFrom(loc, state string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if q.Get("error") != "" {
		return "", fmt.Errorf("authorize error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != state || q.Get("code") == "" {
		return "", fmt.Errorf("redirect without code/state: %s", loc)
	}
	return q.Get("code"), nil
}

var csrfRe = regexp.MustCompile(`name="csrf_token"\s+value="([^"]+)"`)

func csrfFrom(body string) string {
	if m := csrfRe.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

func resolve(base, loc string) string {
	b, err := url.Parse(base)
	if err != nil {
		return loc
	}
	r, err := b.Parse(loc)
	if err != nil {
		return loc
	}
	return r.String()
}

// activeFrom checks an introspection response says the token is active.
func activeFrom(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"active":true`) {
		return fmt.Errorf("introspect %d: %.200s", resp.StatusCode, b)
	}
	return nil
}

// authorizeQuery is the query of an authorization request with PKCE for the bench client.
func authorizeQuery(clientID, state, challenge string) string {
	return url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "scope": {"openid profile"}, "redirect_uri": {redirectURI},
		"state": {state}, "nonce": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}.Encode()
}
