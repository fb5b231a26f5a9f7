package oidc

import (
	"net/http"
)

// jwksCacheControl lets clients cache the key set for a minute: short, so a retired key's removal is seen
// quickly (the next key is published a full rotation ahead anyway).
const jwksCacheControl = "public, max-age=60"

// handleJWKS serves /t/{tenant}/jwks.json: the tenant's public signing keys (RFC 7517 §5) as keys.Manager
// renders and caches them. It is on every relying party's hot path, so it does no work beyond two cache
// lookups.
func (p *Provider) handleJWKS(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenantOrJSON(w, r)
	if !ok {
		return
	}
	body, err := p.keys.JWKS(r.Context(), t.ID)
	if err != nil {
		p.writeJSONServerError(w, r, "jwks", t.ID, err)
		return
	}
	writePublicJSON(w, body, jwksCacheControl)
}
