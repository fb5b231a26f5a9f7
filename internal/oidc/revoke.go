package oidc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// handleRevoke is the revocation endpoint (RFC 7009). A client revokes only its own tokens: a refresh
// token revokes its whole grant (its family and the access tokens carrying its gid, §2.1 "SHOULD"), an
// access token is revoked by jti until it expires. Unknown tokens, and tokens of other clients (which are
// left alone), are answered 200 like success (§2.2), so the endpoint tells nothing about them.
func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := p.revoke(w, r); err != nil {
		p.writeTokenError(w, r, err)
		return
	}
	web.NoStore(w)
	w.WriteHeader(http.StatusOK)
}

func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, form, c, err := p.backChannelRequest(w, r)
	if err != nil {
		return err
	}
	token := form.Get("token")
	if token == "" {
		return errInvalidRequest("token is required")
	}
	// token_type_hint is a hint only (§2.1): the token's shape decides.
	if looksLikeJWT(token) {
		return p.revokeAccessToken(ctx, t, c, token)
	}
	return p.revokeRefreshToken(ctx, t, c, token)
}

func (p *Provider) revokeAccessToken(ctx context.Context, t store.Tenant, c store.Client, token string) error {
	claims, err := p.parseAccessToken(ctx, t, token)
	if err != nil {
		if _, ok := errors.AsType[*Error](err); ok {
			return nil // not ours: nothing to revoke
		}
		return err
	}
	exp := time.Unix(claims.ExpiresAt, 0)
	if claims.ClientID != c.ClientID || !p.now().Before(exp) {
		return nil
	}
	err = p.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeAccessToken(ctx, t.ID, claims.JTI, exp); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.AccessTokenRevoked(t.ID, c.ClientID, claims.JTI))
	})
	if err != nil {
		return err
	}
	p.noteAccessTokenRevoked(t.ID, claims.JTI, exp)
	return nil
}

func (p *Provider) revokeRefreshToken(ctx context.Context, t store.Tenant, c store.Client, token string) error {
	if len(token) > maxRefreshTokenLen {
		return nil
	}
	_, g, err := p.db.GetRefreshToken(ctx, t.ID, keys.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if g.ClientID != c.ClientID || !g.RevokedAt.IsZero() {
		return nil
	}
	return p.revokeGrant(ctx, t, g, events.ClientActor(c.ClientID), "revocation_endpoint")
}
