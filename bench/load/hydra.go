package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// hydraTarget drives Ory Hydra: its public port serves OAuth 2.0, its admin port the login/consent API
// that a login app calls; the harness plays that login app inline.
type hydraTarget struct {
	proc     *proc
	public   string
	admin    string
	clientID string
	secret   string

	subjects sync.Map     // *http.Client -> subject: each worker signs in as its own user
	next     atomic.Int64 // numbers the subjects
}

// subject is the user the worker behind c signs in as (one per worker, as real traffic has many users).
func (h *hydraTarget) subject(c *http.Client) string {
	if v, ok := h.subjects.Load(c); ok {
		return v.(string)
	}
	v, _ := h.subjects.LoadOrStore(c, fmt.Sprintf("bench-%d", h.next.Add(1)))
	return v.(string)
}

func (h *hydraTarget) Name() string { return "Hydra" }
func (h *hydraTarget) PID() int     { return h.proc.pid() }

func (h *hydraTarget) createClient(c *http.Client) error {
	body, _ := json.Marshal(map[string]any{
		"client_secret":              benchSecret,
		"grant_types":                []string{"authorization_code", "refresh_token", "client_credentials"},
		"response_types":             []string{"code"},
		"scope":                      "openid profile email offline_access api:read",
		"redirect_uris":              []string{redirectURI},
		"token_endpoint_auth_method": "client_secret_basic",
		"skip_consent":               true,
	})
	resp, err := c.Post(h.admin+"/admin/clients", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("create hydra client: %d %s", resp.StatusCode, b)
	}
	var v struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	h.clientID, h.secret = v.ClientID, benchSecret
	return nil
}

func (h *hydraTarget) ClientCredentials(ctx context.Context, c *http.Client) (string, error) {
	return tokenFrom(postForm(ctx, c, h.public+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}}, h.clientID, h.secret))
}

func (h *hydraTarget) Introspect(ctx context.Context, c *http.Client, token string) error {
	return activeFrom(postForm(ctx, c, h.admin+"/admin/oauth2/introspect", url.Values{"token": {token}}, "", ""))
}

func (h *hydraTarget) JWKS(ctx context.Context, c *http.Client) error {
	return expect(get(ctx, c, h.public+"/.well-known/jwks.json"))(200)
}

func (h *hydraTarget) authorizeURL(state, challenge string) string {
	return h.public + "/oauth2/auth?" + authorizeQuery(h.clientID, state, challenge)
}

// adminAccept does what a login/consent app does: read the request, accept it, return redirect_to.
func (h *hydraTarget) adminAccept(ctx context.Context, c *http.Client, kind, challenge string) (string, error) {
	q := url.Values{kind + "_challenge": {challenge}}.Encode()
	resp, err := get(ctx, c, h.admin+"/admin/oauth2/auth/requests/"+kind+"?"+q)
	if err != nil {
		return "", err
	}
	var req struct {
		RequestedScope []string `json:"requested_scope"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&req)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("get %s request: %d", kind, resp.StatusCode)
	}
	var body map[string]any
	if kind == "login" {
		body = map[string]any{"subject": h.subject(c), "remember": true, "remember_for": 0}
	} else {
		body = map[string]any{"grant_scope": req.RequestedScope, "remember": true, "remember_for": 0}
	}
	b, _ := json.Marshal(body)
	r, _ := http.NewRequestWithContext(ctx, http.MethodPut, h.admin+"/admin/oauth2/auth/requests/"+kind+"/accept?"+q, bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	resp, err = c.Do(r)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct {
		RedirectTo string `json:"redirect_to"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		return "", fmt.Errorf("accept %s: status %d %v", kind, resp.StatusCode, err)
	}
	return v.RedirectTo, nil
}

// authorize follows Hydra's redirects, accepting login and consent, until the client redirect.
func (h *hydraTarget) authorize(ctx context.Context, c *http.Client, state, challenge string) (string, error) {
	next := h.authorizeURL(state, challenge)
	for range 10 {
		resp, err := get(ctx, c, next)
		if err != nil {
			return "", err
		}
		drain(resp)
		resp.Body.Close()
		if resp.StatusCode != 302 && resp.StatusCode != 303 {
			return "", fmt.Errorf("hydra authorize: status %d at %s", resp.StatusCode, next)
		}
		loc := resolve(next, resp.Header.Get("Location"))
		u, _ := url.Parse(loc)
		switch {
		case strings.HasPrefix(loc, redirectURI):
			return codeFrom(loc, state)
		case u.Query().Get("login_challenge") != "":
			if next, err = h.adminAccept(ctx, c, "login", u.Query().Get("login_challenge")); err != nil {
				return "", err
			}
		case u.Query().Get("consent_challenge") != "":
			if next, err = h.adminAccept(ctx, c, "consent", u.Query().Get("consent_challenge")); err != nil {
				return "", err
			}
		default:
			next = loc
		}
	}
	return "", fmt.Errorf("hydra authorize: too many redirects")
}

// SignIn runs one full code flow (login and consent accepted with remember) so the jar holds Hydra's
// session and the ID-token keys exist before the measured flows.
func (h *hydraTarget) SignIn(c *http.Client) error {
	return h.CodeFlow(context.Background(), c)
}

func (h *hydraTarget) CodeFlow(ctx context.Context, c *http.Client) error {
	state := randState()
	verifier, challenge := pkce()
	code, err := h.authorize(ctx, c, state, challenge)
	if err != nil {
		return err
	}
	_, err = tokenFrom(postForm(ctx, c, h.public+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}}, h.clientID, h.secret))
	return err
}
