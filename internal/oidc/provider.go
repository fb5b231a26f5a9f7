package oidc

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Deps is what the provider needs; server builds it.
type Deps struct {
	DB        *store.DB
	Keys      *keys.Manager
	Keyring   *keys.Keyring
	Identity  *identity.Service
	Sessions  *session.Manager
	Metrics   *web.Metrics
	CSRF      *web.CSRF
	PublicURL string // no trailing slash; the issuer of tenant t is PublicURL + "/t/" + t
	Log       *slog.Logger
	Now       func() time.Time // the clock; time.Now when nil
	// CacheTTL, when set, is how long the client and revocation caches believe an entry. Tests set it far
	// beyond what they wait, to prove that invalidation messages, not the TTLs, carry changes between nodes.
	CacheTTL time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

// Provider serves every OAuth 2.0 / OIDC endpoint of every tenant.
type Provider struct {
	db        *store.DB
	keys      *keys.Manager
	keyring   *keys.Keyring
	identity  *identity.Service
	sessions  *session.Manager
	metrics   *web.Metrics
	csrf      *web.CSRF
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	pages     *web.Renderer

	tenants      sync.Map // tenant id -> *tenantEntry
	tenantMisses atomic.Int64
	discovery    sync.Map // tenant id -> *discoveryEntry (discovery.go)

	// Per-node caches of the back channel (client_cache.go).
	clients      ttlCache[clientEntry]  // tenant \x00 client_id
	ipCheck      ttlCache[time.Time]    // tenant \x00 ip -> zero: not throttled; else throttled until then
	revoked      ttlCache[bool]         // tenant \x00 jti -> revoked
	grantsRv     ttlCache[bool]         // tenant \x00 grant id -> revoked on this node
	verified     ttlCache[accessClaims] // tenant \x00 SHA-256(access token) -> its verified claims, until exp
	clientJWKS   ttlCache[jwksEntry]    // jwks_uri -> fetched key set
	clientJWKSMu sync.Mutex             // one jwks_uri fetch at a time per node

	// invalidations counts the invalidation messages handled (invalidate.go): a cache fill that read the
	// database before one of them drops what it stored, as it may predate the change.
	invalidations atomic.Uint64
}

// tenantCacheTTL bounds how long a node serves a tenant's cached row (settings, existence).
const tenantCacheTTL = 30 * time.Second

// maxTenantMisses bounds the unknown tenant ids a node remembers.
const maxTenantMisses = 4096

type tenantEntry struct {
	t       store.Tenant
	found   bool
	expires time.Time
}

// New builds the provider.
func New(d Deps) (*Provider, error) {
	if d.DB == nil || d.Keys == nil || d.Sessions == nil || d.Identity == nil || d.CSRF == nil {
		return nil, errors.New("oidc: DB, Keys, Identity, Sessions and CSRF are required")
	}
	if d.PublicURL == "" {
		return nil, errors.New("oidc: PublicURL is required")
	}
	pages, err := web.NewRenderer(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("oidc: templates: %w", err)
	}
	p := &Provider{
		db: d.DB, keys: d.Keys, keyring: d.Keyring, identity: d.Identity, sessions: d.Sessions,
		metrics: d.Metrics, csrf: d.CSRF, publicURL: strings.TrimSuffix(d.PublicURL, "/"),
		log: d.Log, now: d.Now, pages: pages,
	}
	p.verified.limit = maxVerifiedTokens
	p.clients.ttl, p.revoked.ttl = d.CacheTTL, d.CacheTTL
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// Routes registers every OIDC route (docs/DESIGN.md "URLs") on mux.
func (p *Provider) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/.well-known/openid-configuration", p.handleDiscovery)
	mux.HandleFunc("GET /t/{tenant}/.well-known/oauth-authorization-server", p.handleMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server/t/{tenant}", p.handleMetadata)
	mux.HandleFunc("GET /t/{tenant}/jwks.json", p.handleJWKS)

	mux.HandleFunc("GET /t/{tenant}/authorize", p.handleAuthorize)
	mux.HandleFunc("POST /t/{tenant}/authorize", p.handleAuthorize)
	mux.HandleFunc("GET /t/{tenant}/authorize/resume", p.handleResume)

	mux.HandleFunc("POST /t/{tenant}/token", p.handleToken)
	mux.HandleFunc("POST /t/{tenant}/introspect", p.handleIntrospect)
	mux.HandleFunc("POST /t/{tenant}/revoke", p.handleRevoke)
	mux.HandleFunc("POST /t/{tenant}/device_authorization", p.handleDeviceAuthorization)

	mux.HandleFunc("GET /t/{tenant}/userinfo", p.handleUserInfo)
	mux.HandleFunc("POST /t/{tenant}/userinfo", p.handleUserInfo)
	mux.HandleFunc("OPTIONS /t/{tenant}/userinfo", p.handleUserInfoPreflight)

	mux.HandleFunc("GET /t/{tenant}/logout", p.handleLogout)
	mux.HandleFunc("POST /t/{tenant}/logout", p.handleLogout)
}

// issuer is the issuer identifier of a tenant (OIDC Discovery §4.3: exactly this string everywhere).
func (p *Provider) issuer(tenantID string) string { return p.publicURL + "/t/" + tenantID }

// errUnknownTenant is returned by tenant for an id that is malformed or names no tenant.
var errUnknownTenant = errors.New("unknown tenant")

// tenant loads the tenant named by the {tenant} path value, from a per-node cache of tenantCacheTTL.
// Unknown or malformed ids return an error wrapping store.ErrNotFound (and errUnknownTenant).
func (p *Provider) tenant(r *http.Request) (store.Tenant, error) {
	return p.loadTenant(r.Context(), r.PathValue("tenant"))
}

func (p *Provider) loadTenant(ctx context.Context, id string) (store.Tenant, error) {
	now := time.Now()
	if v, ok := p.tenants.Load(id); ok {
		if e := v.(*tenantEntry); now.Before(e.expires) {
			if !e.found {
				return store.Tenant{}, fmt.Errorf("%w: %w", errUnknownTenant, store.ErrNotFound)
			}
			return e.t, nil
		}
	}
	if !config.ValidTenantID(id) {
		return store.Tenant{}, fmt.Errorf("%w: %w", errUnknownTenant, store.ErrNotFound)
	}
	gen := p.invalidations.Load()
	defer p.dropIfInvalidated(gen, func() { p.tenants.Delete(id) })
	t, err := p.db.GetTenant(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Remember misses briefly too, so a flood of requests for a missing tenant costs few queries; but
		// only a bounded number of them, so requests for random ids cannot grow the cache without end.
		if p.tenantMisses.Load() < maxTenantMisses {
			if _, loaded := p.tenants.Swap(id, &tenantEntry{expires: now.Add(tenantCacheTTL / 6)}); !loaded {
				p.tenantMisses.Add(1)
			}
		}
		return store.Tenant{}, fmt.Errorf("%w: %w", errUnknownTenant, err)
	case err != nil:
		return store.Tenant{}, fmt.Errorf("load tenant: %w", err)
	}
	p.tenants.Store(id, &tenantEntry{t: t, found: true, expires: now.Add(tenantCacheTTL)})
	return t, nil
}

// tenantOrPage loads the request's tenant; when that fails it writes the answer (a 404 page for an
// unknown tenant, a 500 page otherwise) and returns false.
func (p *Provider) tenantOrPage(w http.ResponseWriter, r *http.Request) (store.Tenant, bool) {
	t, err := p.tenant(r)
	if err == nil {
		return t, true
	}
	if errors.Is(err, store.ErrNotFound) {
		p.errorPage(w, r, store.Tenant{}, http.StatusNotFound, "Unknown tenant",
			"There is no tenant at this address. Check the link you followed.")
		return t, false
	}
	p.log.ErrorContext(r.Context(), "load tenant", "tenant", r.PathValue("tenant"), "err", err,
		"request_id", web.RequestIDFrom(r.Context()))
	p.errorPage(w, r, store.Tenant{}, http.StatusInternalServerError, "Something went wrong",
		"The server could not handle this request. Please try again later.")
	return t, false
}

// tenantOrJSON is tenantOrPage for machine endpoints: a JSON OAuth error instead of a page.
func (p *Provider) tenantOrJSON(w http.ResponseWriter, r *http.Request) (store.Tenant, bool) {
	t, err := p.tenant(r)
	if err == nil {
		return t, true
	}
	web.NoStore(w)
	if errors.Is(err, store.ErrNotFound) {
		web.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "unknown tenant"})
		return t, false
	}
	p.log.ErrorContext(r.Context(), "load tenant", "tenant", r.PathValue("tenant"), "err", err,
		"request_id", web.RequestIDFrom(r.Context()))
	web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "internal error"})
	return t, false
}
