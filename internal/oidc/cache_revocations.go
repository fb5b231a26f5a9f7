package oidc

import (
	"context"
	"time"
)

// accessTokenRevoked reports whether the access token jti (of grant gid, "" for none) was revoked. The
// answer comes from this node's cache when it can: revocations made on this node are known at once, those
// made on another node as soon as their invalidation message arrives, and a "not revoked" answer from the
// database is believed for revokedCacheTTL at most (should a message be lost).
func (p *Provider) accessTokenRevoked(ctx context.Context, tenantID, jti, gid string) (bool, error) {
	if gid != "" {
		if _, ok := p.grantsRv.get(tenantID + "\x00" + gid); ok {
			return true, nil
		}
	}
	key := tenantID + "\x00" + jti
	if revoked, ok := p.revoked.get(key); ok {
		return revoked, nil
	}
	gen := p.invalidations.Load()
	defer p.dropIfInvalidated(gen, func() { p.revoked.del(key) })
	revoked, err := p.db.AccessTokenRevoked(ctx, tenantID, jti, gid)
	if err != nil {
		return false, err
	}
	ttl := revokedCacheTTL
	if revoked {
		ttl = revokedGrantCacheTTL // revocation is permanent
	}
	p.revoked.put(key, revoked, ttl)
	return revoked, nil
}

// noteAccessTokenRevoked records on this node that jti is revoked until exp.
func (p *Provider) noteAccessTokenRevoked(tenantID, jti string, exp time.Time) {
	p.revoked.put(tenantID+"\x00"+jti, true, max(time.Until(exp), time.Second))
}
