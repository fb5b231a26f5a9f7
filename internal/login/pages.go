package login

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/federation"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/risk"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

//go:embed templates/*.html templates/partials/*.html
var templates embed.FS

// Authentication method and level recorded for a password sign-in (RFC 8176 "pwd"; acr "1": one factor).
var passwordAMR = []string{"pwd"}

const passwordACR = "1"

// Bounds on what the pages accept in URLs and forms; longer values are refused without a lookup.
const (
	maxIDLen       = 64 // login request ids (keys.NewID is 26 characters), session ids
	maxEmailLen    = 320
	maxPasswordLen = 1024
	maxUserCodeLen = 32
)

// Deps is what the pages need; server fills it.
type Deps struct {
	DB       *store.DB
	Identity *identity.Service
	Sessions *session.Manager
	CSRF     *web.CSRF
	Metrics  *web.Metrics // nil records nothing
	// Keyring seals the user code a device-kind login request approves. PublicURL makes the tenant's
	// issuer, which front-channel logout URIs carry as iss; every redirect and form action is a path on our
	// own origin.
	Keyring   *keys.Keyring
	PublicURL string
	Log       *slog.Logger     // nil discards
	Now       func() time.Time // nil is time.Now
	// DeviceCookieTTL is the lifetime of the umm_device cookie and its known device (security.device_cookie_ttl).
	DeviceCookieTTL time.Duration
	// Risk scores every sign-in (nil: a browser that signed in before is low risk, any other medium).
	Risk *risk.Engine
	// Federation reads the tenants' upstream identity providers (nil: no connections).
	Federation *federation.Service
	// Authz adds the members an organization's connections vouch for (nil: nobody joins just in time).
	Authz *authz.Service
}

// Pages serves the hosted pages of every tenant.
type Pages struct {
	db       *store.DB
	identity *identity.Service
	sessions *session.Manager
	csrf     *web.CSRF
	keyring  *keys.Keyring
	metrics  *web.Metrics
	log      *slog.Logger
	now      func() time.Time
	rd       *web.Renderer

	publicURL  string        // without a trailing slash
	secure     bool          // cookies are Secure (the public URL is https)
	deviceTTL  time.Duration // umm_device lifetime
	risk       *risk.Engine
	federation *federation.Service
	authz      *authz.Service
}

// New checks d and parses the page templates.
func New(d Deps) (*Pages, error) {
	var missing []string
	if d.DB == nil {
		missing = append(missing, "DB")
	}
	if d.Identity == nil {
		missing = append(missing, "Identity")
	}
	if d.Sessions == nil {
		missing = append(missing, "Sessions")
	}
	if d.CSRF == nil {
		missing = append(missing, "CSRF")
	}
	if d.Keyring == nil {
		missing = append(missing, "Keyring")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("login: missing dependencies: %s", strings.Join(missing, ", "))
	}
	rd, err := web.NewRendererWithPartials(templates, "templates/partials/*.html", "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	p := &Pages{db: d.DB, identity: d.Identity, sessions: d.Sessions, csrf: d.CSRF, keyring: d.Keyring, metrics: d.Metrics,
		log: d.Log, now: d.Now, rd: rd, publicURL: strings.TrimSuffix(d.PublicURL, "/"),
		secure: strings.HasPrefix(d.PublicURL, "https://"), deviceTTL: d.DeviceCookieTTL, risk: d.Risk,
		federation: d.Federation, authz: d.Authz}
	if p.deviceTTL <= 0 {
		p.deviceTTL = defaultDeviceCookieTTL
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	rd.Log = p.log
	return p, nil
}

// Routes registers the hosted pages (docs/DESIGN.md, "URLs").
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/login", p.handleLoginForm)
	mux.HandleFunc("POST /t/{tenant}/login", p.handleLoginSubmit)
	p.mfaRoutes(mux)
	p.mfaSetupRoutes(mux)
	p.codeLoginRoutes(mux)
	p.phoneRoutes(mux)
	mux.HandleFunc("GET /t/{tenant}/account/not-me", p.handleNotMeForm)
	mux.HandleFunc("POST /t/{tenant}/account/not-me", p.handleNotMeSubmit)
	mux.HandleFunc("GET /t/{tenant}/account/reauth", p.handleReauthForm)
	mux.HandleFunc("POST /t/{tenant}/account/reauth", p.handleReauthSubmit)
	mux.HandleFunc("GET /t/{tenant}/consent", p.handleConsentForm)
	mux.HandleFunc("POST /t/{tenant}/consent", p.handleConsentSubmit)
	mux.HandleFunc("GET /t/{tenant}/organization", p.handleOrganizationForm)
	mux.HandleFunc("POST /t/{tenant}/organization", p.handleOrganizationSubmit)
	mux.HandleFunc("GET /t/{tenant}/complete-profile", p.handleCompleteProfileForm)
	mux.HandleFunc("POST /t/{tenant}/complete-profile", p.handleCompleteProfileSubmit)
	mux.HandleFunc("GET /t/{tenant}/device", p.handleDevice)
	mux.HandleFunc("POST /t/{tenant}/device", p.handleDeviceSubmit)
	mux.HandleFunc("GET /t/{tenant}/account", p.handleAccount)
	for _, sec := range accountSections {
		mux.HandleFunc("GET /t/{tenant}/account/"+sec.Name, p.handleAccountSection(sec.Name))
	}
	mux.HandleFunc("POST /t/{tenant}/account/profile", p.handleProfileSubmit)
	mux.HandleFunc("POST /t/{tenant}/account/password", p.handlePasswordSubmit)
	mux.HandleFunc("POST /t/{tenant}/account/email", p.handleEmailChangeSubmit)
	mux.HandleFunc("POST /t/{tenant}/account/email/verify", p.handleEmailCodeSubmit)
	mux.HandleFunc("GET /t/{tenant}/account/email/confirm", p.handleEmailConfirmForm)
	mux.HandleFunc("POST /t/{tenant}/account/email/confirm", p.handleEmailConfirmSubmit)
	mux.HandleFunc("POST /t/{tenant}/account/sessions/end", p.handleEndSessions)
	mux.HandleFunc("POST /t/{tenant}/account/apps/revoke", p.handleRevokeApp)
	mux.HandleFunc("POST /t/{tenant}/account/logout", p.handleLogout)
	mux.HandleFunc("GET /t/{tenant}/account/totp", p.handleTOTPForm)
	mux.HandleFunc("POST /t/{tenant}/account/totp", p.handleTOTPSubmit)
	mux.HandleFunc("GET /t/{tenant}/account/recovery-codes", p.handleRecoveryCodesForm)
	mux.HandleFunc("POST /t/{tenant}/account/recovery-codes", p.handleRecoveryCodesSubmit)
	mux.HandleFunc("POST /t/{tenant}/account/factors/remove", p.handleRemoveFactor)
	mux.HandleFunc("POST /t/{tenant}/account/devices/remove", p.handleRemoveDevice)
	mux.HandleFunc("POST /t/{tenant}/account/linked/unlink", p.handleUnlink)
	mux.HandleFunc("GET /t/{tenant}/account/signed-out", p.handleSignedOut)
	mux.HandleFunc("GET /t/{tenant}/register", p.handleRegisterForm)
	mux.HandleFunc("POST /t/{tenant}/register", p.handleRegisterSubmit)
	mux.HandleFunc("GET /t/{tenant}/register/verify", p.handleVerifyForm)
	mux.HandleFunc("POST /t/{tenant}/register/verify", p.handleVerifySubmit)
	mux.HandleFunc("GET /t/{tenant}/register/confirm", p.handleConfirmForm)
	mux.HandleFunc("POST /t/{tenant}/register/confirm", p.handleConfirmSubmit)
	mux.HandleFunc("GET /t/{tenant}/recover", p.handleRecoverForm)
	mux.HandleFunc("POST /t/{tenant}/recover", p.handleRecoverSubmit)
	mux.HandleFunc("GET /t/{tenant}/recover/code", p.handleRecoverCodeForm)
	mux.HandleFunc("POST /t/{tenant}/recover/code", p.handleRecoverCodeSubmit)
	mux.HandleFunc("GET /t/{tenant}/recover/password", p.handleRecoverLinkForm)
	mux.HandleFunc("POST /t/{tenant}/recover/password", p.handleRecoverPasswordSubmit)
	mux.HandleFunc("GET /t/{tenant}/language", p.handleLanguage)
	mux.HandleFunc("GET /t/{tenant}/invitation", p.handleInvitationForm)
	mux.HandleFunc("POST /t/{tenant}/invitation", p.handleInvitationSubmit)
	mux.HandleFunc("GET /t/{tenant}/branding.css", p.handleBrandingCSS)
	p.connectionRoutes(mux)
	p.passkeyRoutes(mux)
}

// Paths of the pages and of the oidc resume step, relative to the host (the browser stays on our origin).
func tenantPath(t store.Tenant) string { return "/t/" + t.ID }

// requestPath is the tenant's page path, carrying the pending login request lrID when there is one, so
// that the person ends at the application that asked.
func requestPath(t store.Tenant, path, lrID string) string {
	if lrID == "" {
		return tenantPath(t) + path
	}
	return tenantPath(t) + path + "?lr=" + url.QueryEscape(lrID)
}

// flowPath is the tenant's page path of the stored flow flowID, carrying lrID when there is one.
func flowPath(t store.Tenant, path, flowID, lrID string) string {
	p := tenantPath(t) + path + "?f=" + url.QueryEscape(flowID)
	if lrID != "" {
		p += "&lr=" + url.QueryEscape(lrID)
	}
	return p
}

func loginPath(t store.Tenant, lrID string) string { return requestPath(t, "/login", lrID) }
func consentPath(t store.Tenant, lrID string) string {
	return tenantPath(t) + "/consent?lr=" + url.QueryEscape(lrID)
}
func completeProfilePath(t store.Tenant, lrID string) string {
	return tenantPath(t) + "/complete-profile?lr=" + url.QueryEscape(lrID)
}
func devicePath(t store.Tenant, lrID string) string {
	if lrID == "" {
		return tenantPath(t) + "/device"
	}
	return tenantPath(t) + "/device?lr=" + url.QueryEscape(lrID)
}
func resumePath(t store.Tenant, lrID string) string {
	return tenantPath(t) + "/authorize/resume?lr=" + url.QueryEscape(lrID)
}
func accountPath(t store.Tenant) string { return tenantPath(t) + "/account" }

// continuePath is where a signed-in login request goes next: oidc's resume step, the device page, or the
// SAML IdP's resume step.
func continuePath(t store.Tenant, lr store.LoginRequest) string {
	switch lr.Kind {
	case store.LoginKindDevice:
		return devicePath(t, lr.ID)
	case store.LoginKindSAML:
		return samlResumePath(t, lr.ID)
	}
	return resumePath(t, lr.ID)
}

// seeOther answers 303 with a Location on our own origin.
func seeOther(w http.ResponseWriter, location string) {
	web.NoStore(w)
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// tenant loads the tenant named in the path, answering a page itself when it cannot.
func (p *Pages) tenant(w http.ResponseWriter, r *http.Request) (store.Tenant, bool) {
	t, err := p.db.GetTenant(r.Context(), r.PathValue("tenant"))
	if errors.Is(err, store.ErrNotFound) {
		web.ErrorPage(w, r, http.StatusNotFound, "error.not_found.title", "error.not_found.text")
		return t, false
	}
	if err != nil {
		p.serverError(w, r, store.Tenant{}, fmt.Errorf("load tenant: %w", err))
		return t, false
	}
	return t, true
}

// link is a navigation link on a message page.
type link struct {
	Href, Text string
}

// messageData is the Data of message.html: a page with a heading, a message and ways to go on.
type messageData struct {
	Message string
	Links   []link
}

// render writes page with the tenant's name, branding, language and a fresh CSRF token. pd's Title, Error
// and FieldErrors may be message keys (or text already translated, which T leaves as it is); pd's
// language, when the caller did not start from p.page, is the flow's (see lang).
func (p *Pages) render(w http.ResponseWriter, r *http.Request, t store.Tenant, status int, page string, pd web.PageData) {
	if pd.Texts.Lang == "" {
		base := p.page(r, t, pd.Lang)
		base.Title, base.CSRFToken, base.Error, base.FieldErrors, base.Data = pd.Title, pd.CSRFToken, pd.Error, pd.FieldErrors, pd.Data
		pd = base
	}
	pd.Title, pd.Error = pd.T(pd.Title), pd.T(pd.Error)
	if len(pd.FieldErrors) > 0 {
		fe := make(map[string]string, len(pd.FieldErrors))
		for k, v := range pd.FieldErrors {
			fe[k] = pd.T(v)
		}
		pd.FieldErrors = fe
	}
	if pd.CSRFToken == "" {
		pd.CSRFToken = p.csrf.Token(w, r)
	}
	p.rd.Render(w, r, status, page, pd)
}

// page is the PageData a page of t starts from: the tenant's name, branding and overrides, in lang, or
// when lang is "", in the language of the flow named by ?lr= (chosen when it started), else the one the
// request asks for. A page of a flow for an organization wears the organization's branding.
func (p *Pages) page(r *http.Request, t store.Tenant, lang string) web.PageData {
	lr := p.urlRequest(r, t)
	if lang == "" && lr != nil {
		lang = lr.Params.Lang
	}
	org := p.requestOrganization(r.Context(), t, lr)
	pd := web.TenantPage(r, t.ID, t.Name, orgLook(t, org), lang)
	if org != nil {
		pd.Organization = org.ID
	}
	return pd
}

// urlRequest is the login request named by ?lr= (nil when there is none). The request is looked up
// again: pages render from what they loaded, and this only gives them the flow's language and look.
func (p *Pages) urlRequest(r *http.Request, t store.Tenant) *store.LoginRequest {
	id := r.URL.Query().Get("lr")
	if id == "" || len(id) > maxIDLen {
		return nil
	}
	lr, err := p.db.GetLoginRequest(r.Context(), t.ID, id)
	if err != nil {
		return nil
	}
	return &lr
}

// message renders a plain page: a title (the h1), a message and links, all given as message keys.
func (p *Pages) message(w http.ResponseWriter, r *http.Request, t store.Tenant, status int, title, msg string, links ...link) {
	pd := p.page(r, t, "")
	for i := range links {
		links[i].Text = pd.T(links[i].Text)
	}
	pd.Title = title
	pd.Data = messageData{Message: pd.T(msg), Links: links}
	p.render(w, r, t, status, "message", pd)
}

// serverError logs err with the request id and answers a 500 page that reveals nothing of it.
func (p *Pages) serverError(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	p.log.ErrorContext(r.Context(), "hosted page", "tenant", t.ID, "request_id", web.RequestIDFrom(r.Context()), "err", err)
	if t.ID == "" {
		web.ErrorPage(w, r, http.StatusInternalServerError, "error.server.title", "error.server.text")
		return
	}
	p.message(w, r, t, http.StatusInternalServerError, "error.server.title", "error.server.text_retry",
		link{Href: r.URL.Path, Text: "error.server.try_again"})
}

// checkCSRF answers 403 (changing nothing) when the POST lacks a valid CSRF token.
func (p *Pages) checkCSRF(w http.ResponseWriter, r *http.Request, t store.Tenant) bool {
	if p.csrf.Valid(r) {
		return true
	}
	p.log.InfoContext(r.Context(), "form refused: bad csrf token", "tenant", t.ID, "route", r.Pattern,
		"request_id", web.RequestIDFrom(r.Context()))
	again := r.URL.Path
	if q := r.URL.RawQuery; q != "" {
		again += "?" + q
	}
	p.message(w, r, t, http.StatusForbidden, "login.csrf.title", "login.csrf.text",
		link{Href: again, Text: "login.csrf.again"})
	return false
}

// startAgainLinks are the ways to begin a flow anew when its login request cannot be used.
func startAgainLinks(t store.Tenant, kind string) []link {
	if kind == store.LoginKindDevice {
		return []link{{Href: devicePath(t, ""), Text: "login.start_again.device"}}
	}
	return []link{{Href: loginPath(t, ""), Text: "login.start_again.sign_in"}}
}

// loadRequest loads the login request named by ?lr= and checks that it belongs to this browser and has not
// expired. When it cannot be used it answers a page explaining how to start again and returns false.
func (p *Pages) loadRequest(w http.ResponseWriter, r *http.Request, t store.Tenant) (store.LoginRequest, bool) {
	q := r.URL.Query()
	id := q.Get("lr")
	if len(q["lr"]) != 1 || id == "" || len(id) > maxIDLen {
		p.message(w, r, t, http.StatusBadRequest, "login.bad_link.title", "login.bad_link.incomplete",
			startAgainLinks(t, "")...)
		return store.LoginRequest{}, false
	}
	lr, err := p.db.GetLoginRequest(r.Context(), t.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		p.message(w, r, t, http.StatusBadRequest, "login.bad_link.title", "login.bad_link.unknown",
			startAgainLinks(t, "")...)
		return lr, false
	}
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("load login request: %w", err))
		return lr, false
	}
	// Bound to the browser that started it: a link forwarded to or planted in another browser is useless.
	if len(lr.BrowserHash) == 0 || subtle.ConstantTimeCompare(p.sessions.BrowserHash(w, r, t.ID), lr.BrowserHash) != 1 {
		p.message(w, r, t, http.StatusBadRequest, "login.bad_link.title", "login.bad_link.other_browser",
			startAgainLinks(t, lr.Kind)...)
		return lr, false
	}
	if !p.now().Before(lr.ExpiresAt) {
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "login.expired.text",
			startAgainLinks(t, lr.Kind)...)
		return lr, false
	}
	return lr, true
}

// alreadyUsed answers a login request that was consumed already.
func (p *Pages) alreadyUsed(w http.ResponseWriter, r *http.Request, t store.Tenant, lr store.LoginRequest) {
	p.message(w, r, t, http.StatusBadRequest, "login.used.title", "login.used.text",
		startAgainLinks(t, lr.Kind)...)
}

// signedInUser returns the browser's valid session and its user, or ok false when there is none (or its
// user is gone or disabled).
func (p *Pages) signedInUser(ctx context.Context, r *http.Request, t store.Tenant) (store.Session, store.User, bool, error) {
	s, ok, err := p.sessions.Current(ctx, r, t)
	if err != nil || !ok {
		return s, store.User{}, false, err
	}
	u, err := p.identity.GetUser(ctx, t.ID, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return s, u, false, nil
	}
	if err != nil {
		return s, u, false, fmt.Errorf("session user: %w", err)
	}
	if u.Disabled {
		return s, u, false, nil
	}
	return s, u, true, nil
}

// completeRequest marks lr authenticated by session s with scopes granted, and appends its event, in tx.
func completeRequest(ctx context.Context, tx *store.Tx, lr store.LoginRequest, s store.Session, scopes []string, ip string) error {
	lr.UserID, lr.SessionID = s.UserID, s.ID
	lr.AuthTime, lr.AMR, lr.ACR = s.AuthTime, s.AMR, s.ACR
	lr.GrantedScopes = scopes
	if err := tx.CompleteLoginRequest(ctx, lr); err != nil {
		return fmt.Errorf("complete login request: %w", err)
	}
	e := eventLoginRequestCompleted(lr, ip)
	if err := tx.AppendEvent(ctx, e); err != nil {
		return err
	}
	return nil
}

// allowOrDenyData is what templates/partials/allow_or_deny.html reads from the Data of the consent and
// device approve pages.
type allowOrDenyData struct {
	Action     string // where the decision is posted
	ClientName string
	UserName   string
	UserEmail  string
	Scopes     []scopeText // in plain words
}

// allowOrDeny asks user u whether client c may have scopes, posting the decision to action.
func allowOrDeny(action string, c store.Client, u store.User, scopes []string) allowOrDenyData {
	return allowOrDenyData{Action: action, ClientName: clientLabel(c), UserName: userLabel(u), UserEmail: u.Email,
		Scopes: describeScopes(scopes)}
}

// userLabel is how a user is named on the pages: "Given Family", else the email.
func userLabel(u store.User) string {
	if n := strings.TrimSpace(u.GivenName + " " + u.FamilyName); n != "" {
		return n
	}
	return u.Email
}

// clientLabel is how a client is named on the pages.
func clientLabel(c store.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ClientID
}

// errorSummary joins the field errors in form order for the role=alert summary at the top of a form.
func errorSummary(fields map[string]string, order ...string) string {
	var msgs []string
	for _, name := range order {
		if m := fields[name]; m != "" {
			msgs = append(msgs, m)
		}
	}
	return strings.Join(msgs, " ")
}
