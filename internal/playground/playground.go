package playground

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// ClientID is the built-in public client the playground signs in as.
const ClientID = "playground"

// Scopes is what the playground asks for.
const Scopes = "openid profile email"

// DocsURL is where the root page sends readers for the documentation.
const DocsURL = "https://github.com/umm-project/umm#readme"

const cookieName = "umm_playground"

// RedirectURI is the playground's callback for a tenant under publicURL: the exact redirect URI its
// client is registered with.
func RedirectURI(publicURL, tenantID string) string {
	return strings.TrimSuffix(publicURL, "/") + "/t/" + tenantID + "/playground/callback"
}

// Deps is what the pages need; server fills it.
type Deps struct {
	DB        *store.DB
	PublicURL string
	Log       *slog.Logger // nil discards
}

// Pages serves the root page, the tenant index pages and the playground.
type Pages struct {
	db        *store.DB
	publicURL string
	secure    bool
	log       *slog.Logger
	rd        *web.Renderer
	// Backend answers the playground's token and UserInfo requests: the server's whole handler, set by
	// server once its middleware chain is built and before it serves.
	Backend http.Handler
}

// New parses the templates.
func New(d Deps) (*Pages, error) {
	if d.DB == nil {
		return nil, errors.New("playground: DB is required")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rd, err := web.NewRenderer(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("playground: %w", err)
	}
	rd.Log = log
	pub := strings.TrimSuffix(d.PublicURL, "/")
	return &Pages{db: d.DB, publicURL: pub, secure: strings.HasPrefix(pub, "https://"), log: log, rd: rd}, nil
}

// Routes registers the pages on mux.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.handleRoot)
	mux.HandleFunc("GET /t/{tenant}/{$}", p.handleTenant)
	mux.HandleFunc("GET /t/{tenant}/playground", p.handlePlayground)
	mux.HandleFunc("GET /t/{tenant}/playground/start", p.handleStart)
	mux.HandleFunc("GET /t/{tenant}/playground/callback", p.handleCallback)
}

func (p *Pages) issuer(tenantID string) string { return p.publicURL + "/t/" + tenantID }

// tenant loads the tenant named in the path, answering a page itself when it cannot. An id no tenant can
// have is not found without a query (store.GetTenant checks it).
func (p *Pages) tenant(w http.ResponseWriter, r *http.Request) (store.Tenant, bool) {
	t, err := p.db.GetTenant(r.Context(), r.PathValue("tenant"))
	if errors.Is(err, store.ErrNotFound) {
		web.ErrorPage(w, r, http.StatusNotFound, "error.not_found.title", "error.not_found.text")
		return t, false
	}
	if err != nil {
		p.serverError(w, r, fmt.Errorf("load tenant: %w", err))
		return t, false
	}
	return t, true
}

func (p *Pages) serverError(w http.ResponseWriter, r *http.Request, err error) {
	p.log.ErrorContext(r.Context(), "playground", "request_id", web.RequestIDFrom(r.Context()), "err", err)
	web.ErrorPage(w, r, http.StatusInternalServerError, "error.server.title", "error.server.text")
}

// page is the PageData of a page of tenant t: its name, branding and overrides, in the language the
// request asks for.
func (p *Pages) page(r *http.Request, t store.Tenant) web.PageData {
	return web.TenantPage(r, t.ID, t.Name, t.Settings.Look, "")
}

// tenantLinks are the addresses of a tenant that a newcomer needs.
type tenantLinks struct {
	ID, Name, Issuer, Discovery, JWKS, Account, Playground string // Playground "" when off
}

func (p *Pages) links(t store.Tenant) tenantLinks {
	iss := p.issuer(t.ID)
	l := tenantLinks{ID: t.ID, Name: t.Name, Issuer: iss, Discovery: iss + "/.well-known/openid-configuration",
		JWKS: iss + "/jwks.json", Account: iss + "/account"}
	if t.Settings.Playground {
		l.Playground = iss + "/playground"
	}
	return l
}

type rootData struct {
	Default *tenantLinks // the tenant "default", when it exists
	Docs    string
}

// DefaultTenantID is the tenant the root page links: the one UMM creates on an empty database.
const DefaultTenantID = "default"

// handleRoot answers / with where to go next: the default tenant's pages and the docs. Other tenants are
// not listed: which organisations a server hosts is not for anonymous visitors to enumerate.
func (p *Pages) handleRoot(w http.ResponseWriter, r *http.Request) {
	d := rootData{Docs: DocsURL}
	t, err := p.db.GetTenant(r.Context(), DefaultTenantID)
	switch {
	case err == nil:
		l := p.links(t)
		d.Default = &l
	case !errors.Is(err, store.ErrNotFound):
		p.serverError(w, r, fmt.Errorf("load tenant: %w", err))
		return
	}
	pd := web.PageData{Lang: web.Lang(r, "", "")}
	p.rd.Render(w, r, http.StatusOK, "root", web.PageData{Lang: pd.Lang, Title: pd.T("playground.root.title"), Data: d})
}

// handleTenant answers /t/{tenant}/ with the tenant's addresses instead of a bare 404.
func (p *Pages) handleTenant(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	pd := p.page(r, t)
	pd.Title, pd.Data = pd.TenantName, p.links(t)
	p.rd.Render(w, r, http.StatusOK, "tenant", pd)
}

// enabled loads the tenant and answers a 404 page when its playground is off.
func (p *Pages) enabled(w http.ResponseWriter, r *http.Request) (store.Tenant, bool) {
	t, ok := p.tenant(w, r)
	if !ok {
		return t, false
	}
	if !t.Settings.Playground {
		web.TenantErrorPage(w, r, p.page(r, t), http.StatusNotFound, "playground.off.title", "playground.off.text")
		return t, false
	}
	return t, true
}

type playgroundData struct {
	Links       tenantLinks
	ClientID    string
	RedirectURI string
	Scopes      string
	Start       string
}

func (p *Pages) handlePlayground(w http.ResponseWriter, r *http.Request) {
	t, ok := p.enabled(w, r)
	if !ok {
		return
	}
	pd := p.page(r, t)
	pd.Title, pd.Data = pd.T("playground.title"), playgroundData{
		Links: p.links(t), ClientID: ClientID, RedirectURI: RedirectURI(p.publicURL, t.ID), Scopes: Scopes,
		Start: "/t/" + t.ID + "/playground/start",
	}
	p.rd.Render(w, r, http.StatusOK, "playground", pd)
}

// flow is what the browser keeps between start and callback, as a real public client would keep it: the
// state that binds the callback to this browser, the nonce the ID token must carry and the PKCE verifier.
type flow struct{ State, Nonce, Verifier string }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setFlowCookie keeps value for maxAge seconds on the tenant's playground paths (maxAge -1 removes it).
func (p *Pages) setFlowCookie(w http.ResponseWriter, tenantID, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/t/" + tenantID + "/playground",
		MaxAge: maxAge, HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

// handleStart begins a flow: it stores state, nonce and verifier in a cookie and sends the browser to the
// authorization endpoint with the S256 challenge.
func (p *Pages) handleStart(w http.ResponseWriter, r *http.Request) {
	t, ok := p.enabled(w, r)
	if !ok {
		return
	}
	f := flow{State: randomToken(), Nonce: randomToken(), Verifier: randomToken()}
	p.setFlowCookie(w, t.ID, f.State+"."+f.Nonce+"."+f.Verifier, 600)
	sum := sha256.Sum256([]byte(f.Verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {ClientID}, "redirect_uri": {RedirectURI(p.publicURL, t.ID)},
		"scope": {Scopes}, "state": {f.State}, "nonce": {f.Nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	web.NoStore(w)
	http.Redirect(w, r, "/t/"+t.ID+"/authorize?"+q.Encode(), http.StatusSeeOther)
}

func readFlow(r *http.Request) (flow, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return flow{}, false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return flow{}, false
	}
	return flow{State: parts[0], Nonce: parts[1], Verifier: parts[2]}, true
}

// check is one verification the callback made, shown with its outcome.
type check struct {
	Text string
	OK   bool
}

type resultData struct {
	Links        tenantLinks
	Error        string // the authorization or token error, when the flow failed
	ErrorDetail  string
	Checks       []check
	TokenType    string
	ExpiresIn    string
	Scope        string
	IDClaims     string // pretty JSON
	AccessHeader string
	AccessClaims string
	UserInfo     string
	Again        string
}

// handleCallback finishes the flow as the client: it checks state and iss, redeems the code with the
// verifier, verifies the ID token's signature, issuer, audience and nonce, calls UserInfo with the access
// token and shows all of it.
func (p *Pages) handleCallback(w http.ResponseWriter, r *http.Request) {
	t, ok := p.enabled(w, r)
	if !ok {
		return
	}
	// The flow is used once: the cookie goes whatever the outcome.
	p.setFlowCookie(w, t.ID, "", -1)
	d := resultData{Links: p.links(t), Again: "/t/" + t.ID + "/playground/start"}
	pd := p.page(r, t)
	pd.Here = "" // the callback cannot be opened again: the switcher would end on an error
	render := func(status int) {
		pd.Title, pd.Data = pd.T("playground.result.title"), d
		p.rd.Render(w, r, status, "result", pd)
	}
	q := r.URL.Query()
	f, ok := readFlow(r)
	if !ok {
		d.Error = pd.T("playground.error.no_flow")
		d.ErrorDetail = pd.T("playground.error.no_flow_detail")
		render(http.StatusBadRequest)
		return
	}
	stateOK := subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) == 1
	d.Checks = append(d.Checks, check{pd.T("playground.check.state"), stateOK})
	if !stateOK {
		d.Error = pd.T("playground.error.state")
		d.ErrorDetail = pd.T("playground.error.state_detail")
		render(http.StatusBadRequest)
		return
	}
	// UMM sends iss with every answer (RFC 9207), so a client that knows it requires it.
	iss := p.issuer(t.ID)
	issOK := q.Get("iss") == iss
	d.Checks = append(d.Checks, check{pd.T("playground.check.iss"), issOK})
	if !issOK {
		d.Error = pd.T("playground.error.issuer")
		render(http.StatusBadRequest)
		return
	}
	if e := q.Get("error"); e != "" {
		d.Error = pd.T("playground.error.authorize", e)
		d.ErrorDetail = q.Get("error_description")
		render(http.StatusOK)
		return
	}
	code := q.Get("code")
	if code == "" {
		d.Error = pd.T("playground.error.no_code")
		render(http.StatusBadRequest)
		return
	}

	var tok struct {
		AccessToken      string          `json:"access_token"`
		IDToken          string          `json:"id_token"`
		TokenType        string          `json:"token_type"`
		ExpiresIn        json.RawMessage `json:"expires_in"`
		Scope            string          `json:"scope"`
		Error            string          `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {ClientID},
		"redirect_uri": {RedirectURI(p.publicURL, t.ID)}, "code_verifier": {f.Verifier}}
	status, body, err := p.call(r, http.MethodPost, "/t/"+t.ID+"/token", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	if err == nil {
		err = json.Unmarshal(body, &tok)
	}
	if err != nil {
		p.serverError(w, r, fmt.Errorf("token request: %w", err))
		return
	}
	if status != http.StatusOK || tok.Error != "" {
		d.Error = pd.T("playground.error.token", tok.Error)
		d.ErrorDetail = tok.ErrorDescription
		render(http.StatusOK)
		return
	}
	d.Checks = append(d.Checks, check{pd.T("playground.check.pkce"), true})
	d.TokenType, d.ExpiresIn, d.Scope = tok.TokenType, string(tok.ExpiresIn), tok.Scope

	jwks, err := p.jwks(r, t.ID)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	idClaims, idKid, idErr := verifyJWT(tok.IDToken, jwks)
	d.Checks = append(d.Checks, check{pd.T("playground.check.signature", idKid), idErr == nil})
	if idErr == nil {
		d.Checks = append(d.Checks,
			check{pd.T("playground.check.id_iss", iss), idClaims["iss"] == iss},
			check{pd.T("playground.check.id_aud", ClientID), audienceHas(idClaims["aud"], ClientID)},
			check{pd.T("playground.check.nonce"), idClaims["nonce"] == f.Nonce},
		)
	}
	if idErr != nil {
		_, idClaims, _ = decodeJWT(tok.IDToken) // shown all the same, marked unverified by the failed check
	}
	d.IDClaims = pretty(idClaims)
	if h, c, err := decodeJWT(tok.AccessToken); err == nil {
		d.AccessHeader, d.AccessClaims = pretty(h), pretty(c)
	} else {
		d.AccessClaims = pd.T("playground.opaque_token")
	}
	ustatus, ubody, err := p.call(r, http.MethodGet, "/t/"+t.ID+"/userinfo", nil, "Authorization", "Bearer "+tok.AccessToken)
	if err != nil {
		p.serverError(w, r, fmt.Errorf("userinfo request: %w", err))
		return
	}
	var ui map[string]any
	if json.Unmarshal(ubody, &ui) == nil {
		d.UserInfo = pretty(ui)
	} else {
		d.UserInfo = string(ubody)
	}
	d.Checks = append(d.Checks, check{pd.T("playground.check.userinfo"), ustatus == http.StatusOK})
	if ustatus == http.StatusOK {
		d.Checks = append(d.Checks, check{pd.T("playground.check.userinfo_sub"), ui["sub"] != nil && ui["sub"] == idClaims["sub"]})
	}
	render(http.StatusOK)
}

// audienceHas reports whether a decoded aud claim names clientID, read by the one parser of that claim.
func audienceHas(aud any, clientID string) bool {
	b, err := json.Marshal(aud)
	var a keys.Audience
	return err == nil && json.Unmarshal(b, &a) == nil && slices.Contains(a, clientID)
}

func pretty(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// call sends a request to the server's own handler, in-process, on behalf of the browser's request r: the
// same client address and forwarding headers, so rate limits and logs see the person, not the server.
func (p *Pages) call(r *http.Request, method, path string, body io.Reader, header ...string) (int, []byte, error) {
	if p.Backend == nil {
		return 0, nil, errors.New("playground: no backend handler")
	}
	req, err := http.NewRequestWithContext(r.Context(), method, p.publicURL+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.RequestURI = req.URL.RequestURI()
	req.RemoteAddr = r.RemoteAddr
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		req.Header["X-Forwarded-For"] = xff
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := &recorder{header: http.Header{}}
	p.Backend.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.status, rec.body.Bytes(), nil
}

// recorder collects an in-process response; bodies are small JSON documents, bounded all the same.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

const maxBody = 1 << 20

func (rc *recorder) Header() http.Header { return rc.header }

func (rc *recorder) WriteHeader(status int) {
	if rc.status == 0 {
		rc.status = status
	}
}

func (rc *recorder) Write(b []byte) (int, error) {
	rc.WriteHeader(http.StatusOK)
	if rc.body.Len()+len(b) > maxBody {
		return 0, errors.New("playground: response too large")
	}
	return rc.body.Write(b)
}
