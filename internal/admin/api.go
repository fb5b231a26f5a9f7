package admin

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// APIPrefix is where the management REST API is served.
const APIPrefix = "/admin/api/v1"

// APIDeps is what the management API needs; server builds it.
type APIDeps struct {
	Service *Service
	DB      *store.DB
	Keys    *keys.Manager
	// Sessions ends users' sessions (with their single-logout notices).
	Sessions *session.Manager
	// PublicURL is server.public_url: issuers are PublicURL/t/{tenant}, and management tokens carry
	// PublicURL + APIPrefix in their audience.
	PublicURL string
	Admin     config.Admin
	Log       *slog.Logger
	Now       func() time.Time
}

// API is the management REST API (/admin/api/v1): JSON over HTTP on the same services as the CLI and the
// seed, authenticated with UMM's own access tokens.
type API struct {
	svc       *Service
	db        *store.DB
	keys      *keys.Manager
	sessions  *session.Manager
	publicURL string
	operator  string // the operator tenant (admin.tenant)
	limiter   *web.Limiter
	rateBurst int
	log       *slog.Logger
	now       func() time.Time
	routes    []apiRoute
	docs      map[string]opDoc // "METHOD pattern" -> its description in the OpenAPI document
	// streamsEnd is closed by EndStreams: long-lived answers (the event stream) end.
	streamsEnd chan struct{}
	endOnce    sync.Once
}

// apiRoute is one served operation. Its pattern is a net/http pattern without the method.
type apiRoute struct {
	method  string
	pattern string
	scope   string // the scope a token needs (besides umm:admin); "" for public routes
	public  bool
	handle  func(w http.ResponseWriter, r *http.Request, c *call) error
}

// NewAPI builds the API and registers its routes (see Routes).
func NewAPI(d APIDeps) *API {
	if d.Admin.RateLimit.PerSecond <= 0 || d.Admin.RateLimit.Burst < 1 {
		d.Admin.RateLimit = config.Default().Admin.RateLimit
	}
	a := &API{
		svc: d.Service, db: d.DB, keys: d.Keys, sessions: d.Sessions, publicURL: d.PublicURL, operator: d.Admin.Tenant,
		limiter: web.NewLimiter(float64(d.Admin.RateLimit.PerSecond), d.Admin.RateLimit.Burst), log: d.Log, now: d.Now,
		rateBurst: d.Admin.RateLimit.Burst,
	}
	a.streamsEnd = make(chan struct{})
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.operator == "" {
		a.operator = config.DefaultAdminTenant
	}
	a.register()
	return a
}

// Audience is the aud every management access token carries.
func (a *API) Audience() string { return ManagementAudience(a.publicURL) }

// ManagementAudience is the audience of management tokens for a server with this public URL.
func ManagementAudience(publicURL string) string { return publicURL + APIPrefix }

// register lists every operation. Each resource adds its own in its file (api_users.go, ...).
func (a *API) register() {
	a.public("GET", "/openapi.json", a.serveOpenAPI)
	a.document("GET", "/openapi.json", opDoc{summary: "This API's OpenAPI 3.1 document", tag: "meta", public: true, answer: map[string]any{}})
	a.registerUsers()
	a.registerTenants()
	a.registerClients()
	a.registerKeys()
	a.registerEvents()
	a.registerConsents()
	a.registerConnections()
	a.registerAPIs()
	a.registerRoles()
	a.registerGroups()
	a.registerOrganizations()
	a.registerOrgInvitations()
	a.registerAuthz()
	a.registerWebhooks()
}

// EndStreams ends the event streams being served and makes new ones end at once, so that a graceful
// shutdown does not wait for clients that would otherwise listen forever (they reconnect elsewhere with
// Last-Event-ID).
func (a *API) EndStreams() { a.endOnce.Do(func() { close(a.streamsEnd) }) }

// handle adds an authenticated operation needing scope.
func (a *API) handle(method, pattern, scope string, h func(w http.ResponseWriter, r *http.Request, c *call) error) {
	a.routes = append(a.routes, apiRoute{method: method, pattern: pattern, scope: scope, handle: h})
}

// public adds an operation anyone may call.
func (a *API) public(method, pattern string, h func(w http.ResponseWriter, r *http.Request, c *call) error) {
	a.routes = append(a.routes, apiRoute{method: method, pattern: pattern, public: true, handle: h})
}

// Routes adds the API to mux. Paths under the prefix that match no operation answer a problem document
// (404, or 405 with Allow), never the HTML pages of other surfaces.
func (a *API) Routes(mux *http.ServeMux) {
	for _, rt := range a.routes {
		mux.Handle(rt.method+" "+APIPrefix+rt.pattern, a.wrap(rt))
	}
	mux.HandleFunc(APIPrefix+"/", a.notFound)
}

// call is what a handler knows about its request once it was let in.
type call struct {
	principal principal
	tenant    string // the {tenant} path value, when the route has one
	route     apiRoute
}

// actor is the event actor of a write: the calling client, named with its tenant when it acts on another.
func (c *call) actor() string {
	if c.principal.tenant != c.tenant && c.tenant != "" {
		return "client:" + c.principal.tenant + "/" + c.principal.clientID
	}
	return "client:" + c.principal.clientID
}

// wrap runs the shared phases of every operation: authentication, tenant access, scope, rate limit,
// idempotency; then the handler, whose error becomes a problem document.
func (a *API) wrap(rt apiRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.NoStore(w)
		c := &call{route: rt, tenant: r.PathValue("tenant")}
		if !rt.public {
			p, err := a.authenticate(r)
			if err != nil {
				a.writeError(w, r, err)
				return
			}
			c.principal = p
			if err := a.authorize(r.Context(), c); err != nil {
				a.writeError(w, r, err)
				return
			}
			ok, left, retry := a.limiter.Take(p.tenant + "\x00" + p.clientID)
			if !ok {
				a.rateLimited(w, r, retry)
				return
			}
			a.rateLimitHeaders(w, left)
		}
		if rt.method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" && !rt.public {
			a.idempotent(w, r, c, rt.handle)
			return
		}
		if err := rt.handle(w, r, c); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// notFound answers paths under the prefix that no operation serves.
func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, APIPrefix)
	var allow []string
	for _, rt := range a.routes {
		if rt.method != r.Method && patternMatches(rt.pattern, path) {
			allow = append(allow, rt.method)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		a.writeError(w, r, problem(http.StatusMethodNotAllowed, "method-not-allowed",
			r.Method+" is not allowed here: use "+strings.Join(allow, ", ")))
		return
	}
	a.writeError(w, r, problem(http.StatusNotFound, "no-such-route", "no operation of the management API is served at "+r.URL.Path+": see "+APIPrefix+"/openapi.json"))
}

// patternMatches reports whether path fits a route pattern whose {name} segments match any one segment.
func patternMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if ps[i] != xs[i] {
			return false
		}
	}
	return true
}

// tenantOf returns the path's tenant, or a 404 problem when it does not exist.
func (a *API) tenantOf(ctx context.Context, c *call) (store.Tenant, error) {
	return a.svc.GetTenant(ctx, c.tenant)
}
