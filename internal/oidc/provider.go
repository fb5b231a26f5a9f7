package oidc

import (
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/umm-project/umm/internal/authz"
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
	// JWKSAllowPrivateNetworks lets clients' jwks_uri reach loopback and private addresses
	// (security.jwks_uri_allow_private_networks).
	JWKSAllowPrivateNetworks bool
	// Security supplies the caps on rows anonymous requests create (security.pending_*).
	Security config.Security
	// CacheTTL, when set, is how long the client and revocation caches believe an entry. Tests set it far
	// beyond what they wait, to prove that invalidation messages, not the TTLs, carry changes between nodes.
	CacheTTL time.Duration
	// Authz answers what a user's roles grant (tokens for an API, organization claims); nil: one on DB.
	Authz *authz.Service
}

//go:embed templates/*.html
var templateFS embed.FS

// Provider serves every OAuth 2.0 / OIDC endpoint of every tenant.
type Provider struct {
	db        *store.DB
	keys      *keys.Manager
	keyring   *keys.Keyring
	identity  *identity.Service
	authz     *authz.Service
	sessions  *session.Manager
	metrics   *web.Metrics
	csrf      *web.CSRF
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	pages     *web.Renderer

	tenants      sync.Map // tenant id -> *tenantEntry (tenants that exist)
	tenantMisses missLRU  // unknown tenant ids (tenant_misses.go)
	discovery    sync.Map // tenant id -> *discoveryEntry (discovery.go)

	// Per-node caches of the back channel: the generic cache in cache.go, its lifetimes and the client
	// lookup in client_cache.go, revocations in cache_revocations.go.
	clients    ttlCache[clientEntry] // tenant \x00 client_id
	ipCheck    ttlCache[time.Time]   // tenant \x00 ip -> zero: not throttled; else throttled until then
	revoked    ttlCache[bool]        // tenant \x00 jti -> revoked
	grantsRv   ttlCache[bool]        // tenant \x00 grant id -> revoked on this node
	verified   ttlCache[[]byte]      // tenant \x00 SHA-256(access token) -> its verified payload, until exp
	clientJWKS *jwksFetcher          // clients' jwks_uri documents (client_jwks.go)

	// invalidations counts the invalidation messages handled (invalidate.go): a cache fill that read the
	// database before one of them drops what it stored, as it may predate the change.
	invalidations atomic.Uint64

	corsOrigins ttlCache[corsOrigins] // tenant id -> origins its clients allow (cors.go)
	logoutHTTP  *http.Client          // delivers back-channel logout tokens (logout_backchannel.go)

	caps rowCaps // row_caps.go
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
		log: d.Log, now: d.Now, pages: pages, logoutHTTP: newLogoutHTTPClient(), caps: capsOf(d.Security),
		authz: d.Authz,
	}
	if p.authz == nil {
		p.authz = authz.New(authz.Deps{DB: d.DB, Now: d.Now})
	}
	p.verified.limit = maxVerifiedTokens
	p.clients.ttl, p.revoked.ttl = d.CacheTTL, d.CacheTTL
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	// Development is a server whose public URL is http (as for its cookies' Secure flag): there a client on
	// the same machine may serve its keys from an http loopback URL.
	p.clientJWKS = newJWKSFetcher(p.now, jwksFetchTimeout, d.JWKSAllowPrivateNetworks, strings.HasPrefix(p.publicURL, "http://"))
	return p, nil
}

// Routes registers every OIDC route (docs/DESIGN.md "URLs") on mux.
func (p *Provider) Routes(mux *http.ServeMux) {
	// Discovery, JWKS, token, revocation, introspection and userinfo, with their CORS preflights.
	p.corsRoutes(mux)

	mux.HandleFunc("GET /t/{tenant}/authorize", p.handleAuthorize)
	mux.HandleFunc("POST /t/{tenant}/authorize", p.handleAuthorize)
	mux.HandleFunc("GET /t/{tenant}/authorize/resume", p.handleResume)

	mux.HandleFunc("POST /t/{tenant}/device_authorization", p.handleDeviceAuthorization)

	mux.HandleFunc("GET /t/{tenant}/logout", p.handleLogout)
	mux.HandleFunc("POST /t/{tenant}/logout", p.handleLogout)
}

// issuer is the issuer identifier of a tenant (OIDC Discovery §4.3: exactly this string everywhere).
func (p *Provider) issuer(tenantID string) string { return p.publicURL + "/t/" + tenantID }

// managementAudience is the audience of tokens for the management API: every tenant's admin API lives
// under the one public URL.
func (p *Provider) managementAudience() string { return p.publicURL + "/admin/api/v1" }

// tenantOrPage loads the request's tenant; when that fails it writes the answer (a 404 page for an
// unknown tenant, a 500 page otherwise) and returns false.
func (p *Provider) tenantOrPage(w http.ResponseWriter, r *http.Request) (store.Tenant, bool) {
	t, err := p.tenant(r)
	if err == nil {
		return t, true
	}
	if errors.Is(err, store.ErrNotFound) {
		p.errorPage(w, r, store.Tenant{}, "", http.StatusNotFound, "oidc.unknown_tenant.title", "oidc.unknown_tenant.text")
		return t, false
	}
	p.log.ErrorContext(r.Context(), "load tenant", "tenant", r.PathValue("tenant"), "err", err,
		"request_id", web.RequestIDFrom(r.Context()))
	p.errorPage(w, r, store.Tenant{}, "", http.StatusInternalServerError, "error.server.title", "error.server.text")
	return t, false
}

// tenantOrJSON is tenantOrPage for machine endpoints: a JSON OAuth error instead of a page.
func (p *Provider) tenantOrJSON(w http.ResponseWriter, r *http.Request) (store.Tenant, bool) {
	t, err := p.tenant(r)
	if err == nil {
		return t, true
	}
	if errors.Is(err, store.ErrNotFound) {
		web.NoStore(w)
		web.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "unknown tenant"})
		return t, false
	}
	p.writeJSONServerError(w, r, "load tenant", r.PathValue("tenant"), err)
	return t, false
}
