package management

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// TokenSource gives the access token the management API is called with.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a TokenSource giving always the same token (one obtained elsewhere).
type StaticToken string

// Token returns t.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// ClientCredentials is a TokenSource running the client credentials grant (RFC 6749 §4.4) at the
// tenant's token endpoint, {public_url}/t/{tenant}/token, and reusing the token until shortly before
// it expires. It is safe for concurrent use; concurrent callers share one token request.
type ClientCredentials struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scopes are requested; empty: the client's registered scopes.
	Scopes []string
	// Resource is the resource indicator (RFC 8707) naming the API the token is for; the management
	// API's is {public_url}/admin/api/v1. Empty: none is sent.
	Resource string
	// HTTPClient sends the token requests; default http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// TokenError is an OAuth error answer of the token endpoint (RFC 6749 §5.2).
type TokenError struct {
	Status      int
	Code        string // invalid_client, invalid_scope, invalid_target, ...
	Description string
}

func (e *TokenError) Error() string {
	s := fmt.Sprintf("token endpoint answered %d %s", e.Status, e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Token returns a cached token, or a new one when it is missing or about to expire.
func (cc *ClientCredentials) Token(ctx context.Context) (string, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	now := cc.now()
	if cc.token != "" && now.Before(cc.renewAt) {
		return cc.token, nil
	}
	token, lifetime, err := cc.request(ctx)
	if err != nil {
		return "", err
	}
	// Renew before expiry by a tenth of the lifetime, at most a minute: enough for a request in flight
	// and clock skew, without renewing short-lived tokens all the time.
	cc.token, cc.renewAt = token, now.Add(lifetime-min(lifetime/10, time.Minute))
	return token, nil
}

// invalidate drops token if it is still the cached one.
func (cc *ClientCredentials) invalidate(token string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.token == token {
		cc.token = ""
	}
}

func (cc *ClientCredentials) now() time.Time {
	if cc.Now != nil {
		return cc.Now()
	}
	return time.Now()
}

func (cc *ClientCredentials) request(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(cc.Scopes) > 0 {
		form.Set("scope", strings.Join(cc.Scopes, " "))
	}
	if cc.Resource != "" {
		form.Set("resource", cc.Resource)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cc.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the client id and secret are form-encoded before they are put in Basic.
	req.SetBasicAuth(url.QueryEscape(cc.ClientID), url.QueryEscape(cc.ClientSecret))
	hc := cc.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{Status: resp.StatusCode}
		var oe struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal(body, &oe) == nil {
			te.Code, te.Description = oe.Error, oe.ErrorDescription
		}
		return "", 0, te
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", 0, fmt.Errorf("token response: %w", err)
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "Bearer") {
		return "", 0, fmt.Errorf("token response: no bearer access_token (token_type %q)", tr.TokenType)
	}
	lifetime := time.Duration(tr.ExpiresIn) * time.Second
	if tr.ExpiresIn <= 0 {
		lifetime = time.Minute // RFC 6749 §5.1 makes expires_in optional: assume a short life
	}
	return tr.AccessToken, lifetime, nil
}
