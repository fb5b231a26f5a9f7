package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// secretMatches reports whether secret is the client's secret, or its previous secret while the grace
// period of the last rotation lasts. It hashes once and compares against both hashes every time, in
// constant time, so the answer's timing says nothing about which one matched.
func (p *Provider) secretMatches(c store.Client, secret string) bool {
	h := p.keyring.HashSecret(secret)
	cur := subtle.ConstantTimeCompare(h, c.SecretHash) & nonEmpty(c.SecretHash)
	prevLive := 0
	if p.now().Before(c.PreviousSecretExpiresAt) {
		prevLive = 1
	}
	prev := subtle.ConstantTimeCompare(h, c.PreviousSecretHash) & nonEmpty(c.PreviousSecretHash) & prevLive
	return cur|prev == 1
}

func nonEmpty(b []byte) int {
	if len(b) > 0 {
		return 1
	}
	return 0
}

// accessTokenClientGone reports whether the client an access token was issued to no longer exists, or
// is a client registered again under the same id after the token was issued (store.Client.TokensNotBefore):
// such a token is dead, although nothing about it is revoked. The client comes from the node's client
// cache, which the client's deletion or registration drops on every node (Invalidate).
func (p *Provider) accessTokenClientGone(ctx context.Context, tenantID string, c accessClaims) (bool, error) {
	cl, err := p.client(ctx, tenantID, c.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return c.IssuedAt <= cl.TokensNotBefore, nil
}

// issuedAt is the iat of an access token minted now for client c. A client registered again within the
// second its earlier namesake was deleted gets the next second, so its tokens are never taken for the
// deleted client's (accessTokenClientGone compares whole seconds).
func issuedAt(now time.Time, c store.Client) int64 {
	return max(now.Unix(), c.TokensNotBefore+1)
}
