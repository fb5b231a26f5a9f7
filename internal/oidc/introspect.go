package oidc

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// introspection is an RFC 7662 §2.2 response. An inactive token is {"active":false} and nothing else.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	TokenType string   `json:"token_type,omitempty"` // Bearer for access tokens, refresh_token for refresh tokens
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	ACR       string   `json:"acr,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	SessionID string   `json:"sid,omitempty"`
}

// handleIntrospect is the introspection endpoint (RFC 7662). A confidential client of the tenant may
// introspect after authenticating; public clients are refused, since they have no credentials and §2.1
// requires the endpoint to be protected. A token is reported active only to the client it was issued to
// or, for an access token, to a client named in its aud; every other caller gets {"active":false}, so a
// client cannot learn about tokens that are none of its business (§4).
// Access tokens are checked for revocation (their jti and their grant) on every call, with the answer
// taken from the node's revocation cache when it knows the jti.
func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	resp, err := p.introspect(w, r)
	if err != nil {
		p.writeTokenError(w, r, err)
		return
	}
	web.NoStore(w)
	web.WriteJSON(w, http.StatusOK, resp)
}

func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) (introspection, error) {
	ctx := r.Context()
	t, form, c, err := p.backChannelRequest(w, r)
	if err != nil {
		return introspection{}, err
	}
	if c.Public() {
		return introspection{}, errInvalidClient(nil, "introspection needs a confidential client: a public client has no credentials to authenticate with")
	}
	token := form.Get("token")
	if token == "" {
		return introspection{}, errInvalidRequest("token is required")
	}
	// token_type_hint is only a hint (RFC 7662 §2.1): the token's shape decides, since a JWT can only be
	// an access token and UMM's refresh tokens are opaque.
	var res introspection
	if looksLikeJWT(token) {
		res, err = p.introspectAccessToken(ctx, t, token)
	} else {
		res, err = p.introspectRefreshToken(ctx, t, token)
	}
	if err != nil {
		return introspection{}, err
	}
	if !res.Active || !mayIntrospect(c.ClientID, res) {
		return introspection{}, nil
	}
	return res, nil
}

// mayIntrospect reports whether the client clientID may learn about the active token res: it is the
// client the token was issued to, or one the token names as its audience (RFC 7662 §4). UMM's access
// tokens name their client as aud, and refresh tokens have no audience.
func mayIntrospect(clientID string, res introspection) bool {
	return res.ClientID == clientID || slices.Contains(res.Audience, clientID)
}

// looksLikeJWT reports whether token has the shape of a compact JWS.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

func (p *Provider) introspectAccessToken(ctx context.Context, t store.Tenant, token string) (introspection, error) {
	c, err := p.verifyAccessToken(ctx, t, token)
	if err != nil {
		if _, ok := errors.AsType[*Error](err); ok {
			return introspection{}, nil // invalid, expired or revoked: inactive
		}
		return introspection{}, err
	}
	return introspection{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, Subject: c.Subject, ExpiresAt: c.ExpiresAt,
		IssuedAt: c.IssuedAt, TokenType: "Bearer", Audience: c.Audience, Issuer: c.Issuer, JTI: c.JTI,
		AuthTime: c.AuthTime, ACR: c.ACR, AMR: c.AMR, SessionID: c.SessionID,
	}, nil
}

func (p *Provider) introspectRefreshToken(ctx context.Context, t store.Tenant, token string) (introspection, error) {
	if len(token) > maxRefreshTokenLen {
		return introspection{}, nil
	}
	rt, g, err := p.db.GetRefreshToken(ctx, t.ID, keys.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return introspection{}, nil
	}
	if err != nil {
		return introspection{}, err
	}
	now := p.now()
	if !rt.UsedAt.IsZero() || !now.Before(rt.ExpiresAt) || !g.Alive(now) {
		return introspection{}, nil
	}
	if _, revoked := p.grantsRv.get(t.ID + "\x00" + g.ID); revoked {
		return introspection{}, nil
	}
	res := introspection{
		Active: true, Scope: strings.Join(g.Scopes, " "), ClientID: g.ClientID, Subject: g.UserID,
		ExpiresAt: rt.ExpiresAt.Unix(), IssuedAt: rt.CreatedAt.Unix(), TokenType: "refresh_token",
		Issuer: p.issuer(t.ID), ACR: g.ACR, AMR: g.AMR, SessionID: g.SessionID,
	}
	if !g.AuthTime.IsZero() {
		res.AuthTime = g.AuthTime.Unix()
	}
	return res, nil
}
