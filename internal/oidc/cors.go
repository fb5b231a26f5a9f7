package oidc

import (
	"context"
	"net/http"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Browser apps (single-page apps) run on their own origin and call the token, revocation, introspection,
// userinfo, discovery and JWKS endpoints with fetch. Those endpoints answer such calls only for origins a
// client of the tenant allows: the origins of a public client's redirect URIs (that is where its code runs)
// and every client's allowed_origins. The introspection endpoint, which refuses public clients, allows
// only the allowed_origins of the clients that may call it. The endpoints authenticate by token or client
// credentials, never by cookie, so no answer allows credentials (web.CORS).

// corsOriginsTTL bounds how long a node serves a tenant's cached origin set: as long as it serves a cached
// client, so a client and its origins change together. Client changes reach every node as invalidation
// messages (invalidateCORS); the TTL matters only where a message cannot arrive.
const corsOriginsTTL = clientCacheTTL

// corsMaxAge is how long a browser may reuse an approved preflight.
const corsMaxAge = 10 * time.Minute

// corsOrigins is the origin set of one tenant.
type corsOrigins struct {
	any        map[string]bool // may call every CORS endpoint but introspection
	introspect map[string]bool // may call the introspection endpoint
}

// corsSet builds a tenant's origin set from its clients.
func corsSet(clients []store.Client) corsOrigins {
	o := corsOrigins{any: map[string]bool{}, introspect: map[string]bool{}}
	for _, c := range clients {
		if c.Public() {
			for _, u := range c.RedirectURIs {
				if origin, ok := config.OriginOf(u); ok {
					o.any[origin] = true
				}
			}
		}
		for _, origin := range c.AllowedOrigins {
			o.any[origin] = true
			if !c.Public() {
				o.introspect[origin] = true
			}
		}
	}
	return o
}

// tenantCORSOrigins returns the origin set of the tenant, from the per-node cache or the database.
func (p *Provider) tenantCORSOrigins(ctx context.Context, tenantID string) (corsOrigins, error) {
	if o, ok := p.corsOrigins.get(tenantID); ok {
		return o, nil
	}
	gen := p.invalidations.Load()
	defer p.dropIfInvalidated(gen, func() { p.corsOrigins.del(tenantID) })
	clients, err := p.db.ListClients(ctx, tenantID)
	if err != nil {
		return corsOrigins{}, err
	}
	o := corsSet(clients)
	p.corsOrigins.put(tenantID, o, corsOriginsTTL)
	return o, nil
}

// corsAllowed returns the decision for web.CORS: whether origin may call the endpoint of the request's
// tenant. forIntrospection selects the introspection endpoint's narrower set. An unknown tenant, or a
// failure to read the clients, allows nothing (the request itself still gets its usual answer).
func (p *Provider) corsAllowed(forIntrospection bool) func(r *http.Request, origin string) bool {
	return func(r *http.Request, origin string) bool {
		t, err := p.tenant(r)
		if err != nil {
			return false
		}
		o, err := p.tenantCORSOrigins(r.Context(), t.ID)
		if err != nil {
			p.log.ErrorContext(r.Context(), "cors origins", "tenant", t.ID, "err", err,
				"request_id", web.RequestIDFrom(r.Context()))
			return false
		}
		if forIntrospection {
			return o.introspect[origin]
		}
		return o.any[origin]
	}
}

// Request headers browser apps send to the CORS endpoints beyond the safelisted ones (a Bearer token or
// client_secret_basic; a JSON or form Content-Type), and the response header they read: the RFC 6750 §3
// challenge of userinfo.
var (
	corsRequestHeaders = []string{"Authorization", "Content-Type"}
	corsExposeHeaders  = []string{"WWW-Authenticate"}
)

// corsRoutes registers the CORS endpoints on mux: each route wrapped by its policy, and its preflight.
func (p *Provider) corsRoutes(mux *http.ServeMux) {
	policy := func(forIntrospection bool, methods ...string) *web.CORS {
		return &web.CORS{Allow: p.corsAllowed(forIntrospection), Methods: methods,
			Headers: corsRequestHeaders, Expose: corsExposeHeaders, MaxAge: corsMaxAge}
	}
	read, post, both := policy(false, http.MethodGet), policy(false, http.MethodPost), policy(false, http.MethodGet, http.MethodPost)
	introspect := policy(true, http.MethodPost)
	for _, rt := range []struct {
		path    string
		cors    *web.CORS
		handler http.HandlerFunc
	}{
		{"/t/{tenant}/.well-known/openid-configuration", read, p.handleDiscovery},
		{"/t/{tenant}/.well-known/oauth-authorization-server", read, p.handleMetadata},
		{"/.well-known/oauth-authorization-server/t/{tenant}", read, p.handleMetadata},
		{"/t/{tenant}/jwks.json", read, p.handleJWKS},
		{"/t/{tenant}/token", post, p.handleToken},
		{"/t/{tenant}/revoke", post, p.handleRevoke},
		{"/t/{tenant}/introspect", introspect, p.handleIntrospect},
		{"/t/{tenant}/userinfo", both, p.handleUserInfo},
	} {
		h := rt.cors.Wrap(rt.handler)
		for _, m := range rt.cors.Methods {
			mux.Handle(m+" "+rt.path, h)
		}
		mux.Handle(http.MethodOptions+" "+rt.path, rt.cors.Preflight())
	}
}

// invalidateCORS drops the cached origin sets a change may affect (Invalidate calls it): a client's
// redirect URIs or allowed origins changed, or the client or tenant is gone.
func (p *Provider) invalidateCORS(topic, tenantID string) {
	switch topic {
	case store.TopicAll:
		p.corsOrigins.clear()
	case store.TopicTenant, store.TopicClient:
		p.corsOrigins.del(tenantID)
	}
}
