package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// OpenID Connect Back-Channel Logout 1.0 §2.4, §2.5.
const (
	typLogoutToken          = "logout+jwt"
	backchannelLogoutEvent  = "http://schemas.openid.net/event/backchannel-logout"
	logoutTokenLifetime     = 2 * time.Minute
	backchannelLogoutTimout = 5 * time.Second
)

// logoutToken is the claims set of a Logout Token (§2.4): no nonce, an events claim, sub and sid.
type logoutToken struct {
	Iss    string                     `json:"iss"`
	Aud    string                     `json:"aud"`
	Iat    int64                      `json:"iat"`
	Exp    int64                      `json:"exp"`
	Jti    string                     `json:"jti"`
	Sub    string                     `json:"sub,omitempty"`
	Sid    string                     `json:"sid,omitempty"`
	Events map[string]json.RawMessage `json:"events"`
}

// DeliverBackchannelLogout delivers one events.KindBackchannelLogout outbox message: it signs a Logout
// Token for the client with the tenant's key (the algorithm of the client's ID tokens) and POSTs it to
// the client's backchannel_logout_uri as logout_token (§2.5). Any 2xx answer is success (§2.8 allows 204
// from frameworks that substitute it). Redirects are not followed. A client deleted since, or whose URI
// was removed, is undeliverable; everything else is retried by the outbox.
func (p *Provider) DeliverBackchannelLogout(ctx context.Context, m store.OutboxMessage) error {
	var bl events.BackchannelLogout
	if err := json.Unmarshal(m.Payload, &bl); err != nil {
		return fmt.Errorf("%w: payload: %v", events.ErrUndeliverable, err)
	}
	c, err := p.db.GetClient(ctx, m.TenantID, bl.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: client %s no longer exists", events.ErrUndeliverable, bl.ClientID)
	}
	if err != nil {
		return err
	}
	if c.BackchannelLogoutURI == "" {
		return fmt.Errorf("%w: client %s has no backchannel_logout_uri any more", events.ErrUndeliverable, bl.ClientID)
	}
	now := p.now()
	alg := keys.RS256
	if c.IDTokenAlg == keys.ES256 {
		alg = keys.ES256
	}
	tok, err := p.keys.Sign(ctx, m.TenantID, alg, typLogoutToken, logoutToken{
		Iss: p.issuer(m.TenantID), Aud: c.ClientID, Iat: now.Unix(), Exp: now.Add(logoutTokenLifetime).Unix(),
		Jti: keys.NewID(), Sub: bl.Subject, Sid: bl.SessionID,
		Events: map[string]json.RawMessage{backchannelLogoutEvent: json.RawMessage(`{}`)},
	})
	if err != nil {
		return fmt.Errorf("sign logout token: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, backchannelLogoutTimout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI,
		strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return fmt.Errorf("%w: %v", events.ErrUndeliverable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.logoutHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("post logout token: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post to %s: status %d", c.BackchannelLogoutURI, resp.StatusCode)
	}
	return nil
}

// newLogoutHTTPClient returns the client that delivers logout tokens: bounded in time, never following a
// redirect (a redirect would carry the token somewhere the client did not register).
func newLogoutHTTPClient() *http.Client {
	return &http.Client{
		Timeout: backchannelLogoutTimout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
