package oidc

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// maxRefreshTokenLen bounds the refresh_token parameter (UMM's are 43 characters).
const maxRefreshTokenLen = 256

// errRefreshRaced: another request used the refresh token between our read and our update.
var errRefreshRaced = errors.New("refresh token used concurrently")

// grantRefreshToken exchanges a refresh token (RFC 6749 §6). Refresh tokens rotate on every use; a used
// one presented again revokes its whole family, the grant (RFC 9700 §4.14.2). scope may narrow the grant's
// scopes for this access token, never widen them.
func (p *Provider) grantRefreshToken(ctx context.Context, tr *tokenRequest) (*tokenResponse, error) {
	t, c := tr.tenant, tr.client
	token := tr.form.Get("refresh_token")
	switch {
	case token == "":
		return nil, errInvalidRequest("refresh_token is required")
	case len(token) > maxRefreshTokenLen:
		return nil, errInvalidGrant(nil, "the refresh token is invalid")
	}
	hash := keys.HashToken(token)
	rt, g, err := p.db.GetRefreshToken(ctx, t.ID, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidGrant(err, "the refresh token is invalid: sign in again")
	}
	if err != nil {
		return nil, err
	}
	now := p.now()
	switch {
	case g.ClientID != c.ClientID:
		return nil, errInvalidGrant(nil, "the refresh token was issued to another client")
	case !rt.UsedAt.IsZero():
		return nil, p.refreshReused(ctx, t, g)
	case !g.RevokedAt.IsZero():
		return nil, errInvalidGrant(nil, "the grant of this refresh token was revoked: sign in again")
	case !now.Before(rt.ExpiresAt) || !now.Before(g.ExpiresAt):
		return nil, errInvalidGrant(nil, "the refresh token has expired: sign in again")
	}
	scopes := g.Scopes
	if s := tr.form.Get("scope"); s != "" {
		req, ok := parseScope(s)
		switch {
		case !ok:
			return nil, errInvalidScope("scope is malformed")
		case !scopesWithin(req, g.Scopes):
			return nil, errInvalidScope("scope may only narrow the original grant (" + strings.Join(g.Scopes, " ") + "), not widen it")
		}
		scopes = req
	}
	user, err := p.activeUser(ctx, t.ID, g.UserID)
	if err != nil {
		return nil, err
	}
	// RFC 8707 §2: a grant made for an API refreshes tokens for that API only; a grant made without one
	// may name an API for this access token.
	resource := tr.form.Get("resource")
	switch {
	case resource == "":
		resource = g.Resource
	case g.Resource != "" && resource != g.Resource:
		return nil, errInvalidTarget("resource must be the one the grant was made for")
	}
	api, err := p.lookupResource(ctx, t.ID, resource)
	if err != nil {
		return nil, err
	}
	a := &authorization{
		api: api, orgID: g.OrgID,
		grantType: grantRefreshToken, client: c, subject: g.UserID, user: user, scopes: scopes, grantID: g.ID,
		sessionID: g.SessionID, authTime: g.AuthTime, amr: g.AMR, acr: g.ACR,
		refreshExpires: g.ExpiresAt, // the family ends with its grant
		persist: func(ctx context.Context, tx *store.Tx) error {
			if err := tx.UseRefreshToken(ctx, t.ID, hash, now); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return errRefreshRaced
				}
				return err
			}
			return tx.AppendEvent(ctx, events.TokenRefreshed(t.ID, g.UserID, c.ClientID, g.ID))
		},
	}
	resp, err := p.issue(ctx, t, a)
	if errors.Is(err, errRefreshRaced) {
		return nil, p.refreshReused(ctx, t, g)
	}
	return resp, err
}

// refreshReused revokes the family of a refresh token presented after it was used, recording
// refresh.reuse_detected, and returns the answer to the request.
func (p *Provider) refreshReused(ctx context.Context, t store.Tenant, g store.Grant) error {
	err := p.revokeGrant(ctx, t, g, events.ClientActor(g.ClientID), "refresh_reuse",
		events.RefreshReuseDetected(t.ID, g.UserID, g.ClientID, g.ID))
	if err != nil {
		return err
	}
	return errInvalidGrant(nil, "the refresh token was already used; every token of this grant is revoked: sign in again")
}

// scopesWithin reports whether every scope of want is in have.
func scopesWithin(want, have []string) bool {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}
