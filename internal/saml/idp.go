package saml

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Deps is what the IdP needs; server builds it.
type Deps struct {
	DB       *store.DB
	Keys     *keys.Manager // the tenant's RSA signing key and its certificate (keys.Manager.SAMLCredentials)
	Keyring  *keys.Keyring // keys the persistent NameIDs
	Sessions *session.Manager
	// PublicURL has no trailing slash; the IdP of tenant t is PublicURL + "/t/" + t + "/saml/...".
	PublicURL string
	Log       *slog.Logger
	Now       func() time.Time // the clock; time.Now when nil
	// Security supplies the caps on the login requests anonymous requests create (security.pending_*).
	Security config.Security
}

//go:embed templates/*.html
var templateFS embed.FS

// IdP serves the SAML 2.0 Identity Provider of every tenant.
type IdP struct {
	db                          *store.DB
	keys                        *keys.Manager
	keyring                     *keys.Keyring
	sessions                    *session.Manager
	publicURL                   string
	log                         *slog.Logger
	now                         func() time.Time
	pages                       *web.Renderer
	loginPerIP, loginPerBrowser int
}

// New builds the IdP.
func New(d Deps) (*IdP, error) {
	if d.DB == nil || d.Keys == nil || d.Keyring == nil || d.Sessions == nil {
		return nil, errors.New("saml: DB, Keys, Keyring and Sessions are required")
	}
	if d.PublicURL == "" {
		return nil, errors.New("saml: PublicURL is required")
	}
	pages, err := web.NewRenderer(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("saml: templates: %w", err)
	}
	h := &IdP{db: d.DB, keys: d.Keys, keyring: d.Keyring, sessions: d.Sessions,
		publicURL: strings.TrimSuffix(d.PublicURL, "/"), log: d.Log, now: d.Now, pages: pages}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	def := config.Default().Security
	h.loginPerIP, h.loginPerBrowser = def.PendingLoginRequestsPerIP, def.PendingLoginRequestsPerBrowser
	if d.Security.PendingLoginRequestsPerIP > 0 {
		h.loginPerIP = d.Security.PendingLoginRequestsPerIP
	}
	if d.Security.PendingLoginRequestsPerBrowser > 0 {
		h.loginPerBrowser = d.Security.PendingLoginRequestsPerBrowser
	}
	return h, nil
}

// Routes registers the IdP's routes on mux.
func (h *IdP) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/saml/metadata", h.handleMetadata)
	mux.HandleFunc("GET /t/{tenant}/saml/sso", h.handleSSO)
	mux.HandleFunc("POST /t/{tenant}/saml/sso", h.handleSSO)
	mux.HandleFunc("GET /t/{tenant}/saml/init", h.handleInit)
	mux.HandleFunc("GET /t/{tenant}/saml/resume", h.handleResume)
	mux.HandleFunc("GET /t/{tenant}/saml/slo", h.handleSLO)
	mux.HandleFunc("POST /t/{tenant}/saml/slo", h.handleSLO)
	mux.HandleFunc("GET /t/{tenant}/saml/logout-frame", h.handleLogoutFrame)
}

// base is the URL prefix of tenant t's IdP endpoints.
func (h *IdP) base(tenantID string) string { return h.publicURL + "/t/" + tenantID + "/saml" }

// entityID is tenant t's IdP entity id: its metadata URL, which is where SPs find everything else.
func (h *IdP) entityID(tenantID string) string { return h.base(tenantID) + "/metadata" }

// tenantOrPage loads the tenant named in the path, answering a page itself when it cannot.
func (h *IdP) tenantOrPage(w http.ResponseWriter, r *http.Request) (store.Tenant, bool) {
	t, err := h.db.GetTenant(r.Context(), r.PathValue("tenant"))
	if errors.Is(err, store.ErrNotFound) {
		web.ErrorPage(w, r, http.StatusNotFound, "error.not_found.title", "error.not_found.text")
		return t, false
	}
	if err != nil {
		h.serverError(w, r, store.Tenant{}, fmt.Errorf("load tenant: %w", err))
		return t, false
	}
	return t, true
}

// page is the PageData of a page of tenant t in lang (or the language the request asks for).
func (h *IdP) page(r *http.Request, t store.Tenant, lang string) web.PageData {
	if t.ID == "" {
		if lang == "" {
			lang = web.Lang(r, "", "")
		}
		return web.PageData{Lang: lang}
	}
	// The IdP's pages carry a protocol message the language switcher could not bring back.
	pd := web.TenantPage(r, t.ID, t.Name, t.Settings.Look, lang)
	pd.Here = ""
	return pd
}

// errorPage answers a request that cannot be used with a page saying what is wrong. It is never a SAML
// message: until the SP and its ACS URL are known to be registered, nothing may be sent to them.
func (h *IdP) errorPage(w http.ResponseWriter, r *http.Request, t store.Tenant, status int, msg string, cause error) {
	h.log.InfoContext(r.Context(), "SAML request rejected", "tenant", t.ID, "reason", msg, "err", cause,
		"request_id", web.RequestIDFrom(r.Context()))
	web.NoStore(w)
	web.TenantErrorPage(w, r, h.page(r, t, ""), status, "saml.error.title", msg)
}

// serverError logs err with the request id and answers the generic error page.
func (h *IdP) serverError(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	h.log.ErrorContext(r.Context(), "SAML IdP", "tenant", t.ID, "err", err, "request_id", web.RequestIDFrom(r.Context()))
	web.NoStore(w)
	web.TenantErrorPage(w, r, h.page(r, t, ""), http.StatusInternalServerError, "error.server.title", "error.server.text")
}

// app loads a SAML app of tenant t by its entity id; store.ErrNotFound when there is none.
func (h *IdP) app(ctx context.Context, tenantID, entityID string) (config.SAMLApp, error) {
	row, err := h.db.GetSAMLApp(ctx, tenantID, entityID)
	if err != nil {
		return config.SAMLApp{}, err
	}
	var a config.SAMLApp
	if err := json.Unmarshal([]byte(row.Config), &a); err != nil {
		return a, fmt.Errorf("SAML app %s: %w", entityID, err)
	}
	a.EntityID, a.Name = row.EntityID, row.Name
	return a, nil
}
