package oidc

import (
	"strings"

	"github.com/umm-project/umm/internal/store"
)

// Invalidate handles a cache invalidation message (store.Listen; server wires it): it drops what this
// node cached about the tenant, client or revocation the message names, or everything after
// store.TopicAll. It does no I/O, so the listener never waits on it.
func (p *Provider) Invalidate(topic, payload string) {
	tenantID, rest, _ := strings.Cut(payload, ":")
	p.invalidations.Add(1) // before dropping: see dropIfInvalidated
	p.invalidateCORS(topic, tenantID)
	switch topic {
	case store.TopicAll:
		p.tenants.Clear()
		p.tenantMisses.clear()
		p.discovery.Clear()
		p.clients.clear()
		p.revoked.clear()  // grantsRv stays: a revoked grant never comes back
		p.verified.clear() // a key may have been revoked meanwhile
	case store.TopicTenant:
		p.tenants.Delete(tenantID)
		p.tenantMisses.del(tenantID) // created: no longer unknown
		p.discovery.Delete(tenantID)
		// A deleted tenant takes its clients and keys along; one created again under its id is new.
		p.clients.delPrefix(tenantID + "\x00")
		p.verified.delPrefix(tenantID + "\x00")
	case store.TopicKeys:
		// A revoked key must stop verifying at once: forget the tokens this node verified with it.
		p.verified.delPrefix(tenantID + "\x00")
	case store.TopicClient:
		p.clients.del(tenantID + "\x00" + rest)
		p.discovery.Delete(tenantID) // its scopes may have changed the document
	case store.TopicRevoke:
		kind, id, _ := strings.Cut(rest, ":")
		switch {
		case kind == store.RevokedGrant && id != "":
			// The access tokens carrying the grant's id are cached by jti: name the grant instead.
			p.grantsRv.put(tenantID+"\x00"+id, true, revokedGrantCacheTTL)
		case kind == store.RevokedToken && id != "":
			p.revoked.del(tenantID + "\x00" + id)
		default:
			p.revoked.delPrefix(tenantID + "\x00")
		}
	}
}

// dropIfInvalidated runs drop when an invalidation message was handled since gen was read. A cache fill
// reads gen before its database read and calls this after storing: either the message's handler drops
// the entry after it was stored, or the fill sees the count changed and drops it itself.
func (p *Provider) dropIfInvalidated(gen uint64, drop func()) {
	if p.invalidations.Load() != gen {
		drop()
	}
}
