package login

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/federation"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Sign-in at an upstream identity provider (a connection). The browser goes to
// /t/{tenant}/connections/{id}/start, which stores an upstream flow (state, nonce, PKCE verifier, the
// pending login request) bound to this browser and sends it upstream; the upstream sends it back to
// .../callback (or the SAML ACS), where the connector checks the answer against the flow and names the
// person. What follows is federatedSignIn: the linked account signs in, a new person gets an account, and
// an address that belongs to an account waits on the link page until the person proves that account.
//
// The flow's id is the OAuth state and the SAML RelayState: unguessable, and useless in another browser.
// Upstreams that answer with a cross-site POST (Apple's form_post, a SAML IdP's HTTP-POST binding) reach
// us without our SameSite=Lax cookies, so that POST only parks its form on the flow and redirects to the
// GET callback, where the cookies are back and the flow's browser is checked.

// upstreamState is the Data of an upstream flow.
type upstreamState struct {
	Connection string           `json:"connection"`
	Begin      federation.Begin `json:"begin"`
	// Link: started from the account page by the signed-in user (the flow's UserID) to link an identity.
	Link bool `json:"link,omitempty"`
	// Reauth: the signed-in user (the flow's UserID) signs in again upstream to confirm it is them before
	// a sensitive change; the account page to go back to.
	Reauth string `json:"reauth,omitempty"`
	// Posted is the callback's form when the upstream answered with a POST (see above).
	Posted string `json:"posted,omitempty"`
}

// connectionButton is one "Sign in with ..." button of the sign-in page.
type connectionButton struct {
	Href, Name, Logo string
}

func connectionsPath(t store.Tenant, id string) string {
	return tenantPath(t) + "/connections/" + url.PathEscape(id)
}

func connectionStartPath(t store.Tenant, id, lrID, hint string) string {
	q := url.Values{}
	if lrID != "" {
		q.Set("lr", lrID)
	}
	if hint != "" {
		q.Set("login_hint", hint)
	}
	p := connectionsPath(t, id) + "/start"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// connectionRoutes registers the upstream sign-in endpoints.
func (p *Pages) connectionRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/connections/{id}/start", p.handleConnectionStart)
	mux.HandleFunc("GET /t/{tenant}/connections/{id}/callback", p.handleConnectionCallback)
	mux.HandleFunc("POST /t/{tenant}/connections/{id}/callback", p.handleConnectionPost)
	mux.HandleFunc("POST /t/{tenant}/connections/{id}/saml/acs", p.handleConnectionPost)
	mux.HandleFunc("GET /t/{tenant}/connections/{id}/saml/metadata", p.handleConnectionMetadata)
	mux.HandleFunc("GET /t/{tenant}/connections/link", p.handleLinkForm)
	mux.HandleFunc("POST /t/{tenant}/connections/link", p.handleLinkSubmit)
}

// tenantConnections are t's enabled connections (none when the server has no federation).
func (p *Pages) tenantConnections(ctx context.Context, t store.Tenant) ([]config.Connection, error) {
	if p.federation == nil {
		return nil, nil
	}
	all, err := p.federation.List(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if !c.Disabled {
			out = append(out, c)
		}
	}
	return out, nil
}

// connectionName is what the pages call c.
func connectionName(c config.Connection) string {
	if c.DisplayName != "" {
		return c.DisplayName
	}
	if n := federation.PresetName(c.Type); n != "" {
		return n
	}
	return c.ID
}

// connectionButtons are the buttons of the redirecting connections of cs for the sign-in page of lr, with
// the page's policy widened for their logos.
func connectionButtons(w http.ResponseWriter, t store.Tenant, cs []config.Connection, lr *store.LoginRequest) []connectionButton {
	lrID, _ := requestRef(lr)
	var out []connectionButton
	for _, c := range cs {
		if c.Redirecting() {
			out = append(out, buttonFor(w, c, connectionStartPath(t, c.ID, lrID, "")))
		}
	}
	return out
}

// buttonFor is c's button to href, with the response's policy widened for its logo.
func buttonFor(w http.ResponseWriter, c config.Connection, href string) connectionButton {
	logo := c.Logo
	if logo == "" {
		logo = federation.PresetLogo(c.Type)
	}
	web.AllowImage(w, logo)
	return connectionButton{Href: href, Name: connectionName(c), Logo: logo}
}

// routedConnection is the connection of cs that addresses at email's domain sign in with, if any.
func routedConnection(cs []config.Connection, email string) (config.Connection, bool) {
	_, domain, ok := strings.Cut(strings.TrimSpace(email), "@")
	if !ok || domain == "" {
		return config.Connection{}, false
	}
	for _, c := range cs {
		if c.HasDomain(strings.ToLower(domain)) {
			return c, true
		}
	}
	return config.Connection{}, false
}

// continueUpstream answers a form whose address routes to redirecting connection c. Browsers check a
// form's redirects against the page's form-action, which cannot name every upstream in advance, so the
// answer is a page that continues there by itself (and has a link for the rest).
func (p *Pages) continueUpstream(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, c config.Connection, email string) {
	lrID, lang := requestRef(lr)
	pd := p.page(r, t, lang)
	pd.Title = "connections.continue.title"
	pd.Data = continueData{Href: connectionStartPath(t, c.ID, lrID, email), Name: connectionName(c)}
	p.render(w, r, t, http.StatusOK, "connection_continue", pd)
}

// continueData is the Data of connection_continue.html.
type continueData struct{ Href, Name string }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// handleConnectionStart is GET /t/{tenant}/connections/{id}/start[?lr=][&login_hint=][&link=1]: store the
// upstream flow and go upstream.
func (p *Pages) handleConnectionStart(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}
	conn, rd, ok := p.redirector(w, r, t, r.PathValue("id"))
	if !ok {
		return
	}
	st := upstreamState{Connection: conn.Config.ID}
	userID := ""
	if q := r.URL.Query(); q.Get("reauth") == "1" || q.Get("link") == "1" {
		// The signed-in user confirms it is them (reauth) or links another account to theirs (link, which
		// adds a way in: only after a recent sign-in).
		s, u, ok := p.accountUser(w, r, t)
		if !ok {
			return
		}
		userID = u.ID
		if q.Get("reauth") == "1" {
			st.Reauth = reauthNext(t, q.Get("next"))
		} else if st.Link = true; !p.requireRecent(w, r, t, s, accountPath(t)+"/linked") {
			return
		}
	}
	hint := r.URL.Query().Get("login_hint")
	if hint == "" && lr != nil {
		hint = lr.Params.LoginHint
	}
	if len(hint) > maxEmailLen {
		hint = ""
	}
	st.Begin = federation.Begin{State: "", Nonce: randomToken(), Verifier: randomToken(), LoginHint: hint}
	lrID, _ := requestRef(lr)
	f, err := p.identity.StartFlow(ctx, t.ID, store.FlowUpstream, p.sessions.BrowserHash(w, r, t.ID), lrID, userID, "", "")
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	st.Begin.State = f.ID
	to, err := rd.AuthURL(ctx, &st.Begin)
	if err != nil {
		p.upstreamFailed(w, r, t, conn.Config, err)
		return
	}
	data, _ := json.Marshal(st)
	if err := p.db.SetFlowData(ctx, t.ID, f.ID, string(data), p.now()); err != nil {
		p.serverError(w, r, t, err)
		return
	}
	p.log.InfoContext(ctx, "upstream sign-in started", "tenant", t.ID, "connection", conn.Config.ID, "request_id", web.RequestIDFrom(ctx))
	seeOther(w, to)
}

// connector loads enabled connection id; otherwise it answers and returns false.
func (p *Pages) connector(w http.ResponseWriter, r *http.Request, t store.Tenant, id string) (federation.Connector, bool) {
	if p.federation == nil || config.CheckConnectionID(id) != nil {
		p.noConnection(w, r, t)
		return federation.Connector{}, false
	}
	conn, err := p.federation.Connector(r.Context(), t.ID, id)
	if errors.Is(err, federation.ErrNotFound) {
		p.noConnection(w, r, t)
		return conn, false
	}
	if err != nil {
		p.log.ErrorContext(r.Context(), "connection not usable", "tenant", t.ID, "connection", id, "err", err)
		p.message(w, r, t, http.StatusServiceUnavailable, "connections.unavailable.title", "connections.unavailable.text", startAgainLinks(t, "")...)
		return conn, false
	}
	return conn, true
}

// redirector loads enabled connection id that signs in by sending the browser upstream; otherwise it
// answers and returns false.
func (p *Pages) redirector(w http.ResponseWriter, r *http.Request, t store.Tenant, id string) (federation.Connector, federation.Redirector, bool) {
	conn, ok := p.connector(w, r, t, id)
	if !ok {
		return conn, nil, false
	}
	rd := conn.Redirector()
	if rd == nil {
		p.noConnection(w, r, t)
		return conn, nil, false
	}
	return conn, rd, true
}

// noConnection answers a request for a connection the tenant does not have (or has turned off), or that
// cannot serve it.
func (p *Pages) noConnection(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	p.message(w, r, t, http.StatusNotFound, "connections.unknown.title", "connections.unknown.text", startAgainLinks(t, "")...)
}

// upstreamFailed answers an upstream sign-in that did not give an identity: refused or cancelled
// upstream, the upstream unreachable, or an answer that failed a check (logged, never shown).
func (p *Pages) upstreamFailed(w http.ResponseWriter, r *http.Request, t store.Tenant, c config.Connection, err error) {
	ctx := r.Context()
	p.log.InfoContext(ctx, "upstream sign-in failed", "tenant", t.ID, "connection", c.ID, "err", err, "request_id", web.RequestIDFrom(ctx))
	p.metrics.Login("upstream_failed")
	switch {
	case errors.Is(err, federation.ErrDenied):
		p.message(w, r, t, http.StatusForbidden, "connections.denied.title", "connections.denied.text", startAgainLinks(t, "")...)
	case errors.Is(err, federation.ErrUnavailable):
		p.message(w, r, t, http.StatusBadGateway, "connections.unavailable.title", "connections.unavailable.text", startAgainLinks(t, "")...)
	default:
		p.message(w, r, t, http.StatusBadRequest, "connections.failed.title", "connections.failed.text", startAgainLinks(t, "")...)
	}
}

// handleConnectionPost is POST .../callback (form_post) and POST .../saml/acs: park the form on its flow
// and continue at the GET callback in a same-site navigation (see the file comment). It reads no cookie
// and sets none.
func (p *Pages) handleConnectionPost(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		p.message(w, r, t, http.StatusBadRequest, "connections.failed.title", "connections.failed.text", startAgainLinks(t, "")...)
		return
	}
	id := r.PathValue("id")
	state := r.PostForm.Get("state")
	if state == "" {
		state = r.PostForm.Get("RelayState")
	}
	f, err := p.db.GetFlow(ctx, t.ID, state)
	var st upstreamState
	if err == nil {
		_ = json.Unmarshal([]byte(f.Data), &st)
	}
	if state == "" || len(state) > maxIDLen || err != nil || f.Kind != store.FlowUpstream || f.State != store.FlowPending ||
		!p.now().Before(f.ExpiresAt) || st.Connection != id || st.Posted != "" {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			p.serverError(w, r, t, err)
			return
		}
		p.log.InfoContext(ctx, "upstream answer without its flow", "tenant", t.ID, "connection", id, "request_id", web.RequestIDFrom(ctx))
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "connections.expired.text", startAgainLinks(t, "")...)
		return
	}
	st.Posted = r.PostForm.Encode()
	data, _ := json.Marshal(st)
	if err := p.db.SetFlowData(ctx, t.ID, f.ID, string(data), p.now()); err != nil {
		p.serverError(w, r, t, err)
		return
	}
	seeOther(w, connectionsPath(t, id)+"/callback?state="+url.QueryEscape(f.ID))
}

// handleConnectionCallback is GET .../callback?state=...: the upstream's answer (or the form parked by
// handleConnectionPost), in the browser that started.
func (p *Pages) handleConnectionCallback(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	state := r.URL.Query().Get("state")
	if state == "" {
		state = r.URL.Query().Get("RelayState")
	}
	if state == "" || len(state) > maxIDLen {
		p.message(w, r, t, http.StatusBadRequest, "login.bad_link.title", "login.bad_link.incomplete", startAgainLinks(t, "")...)
		return
	}
	f, err := p.identity.SignInFlow(ctx, store.FlowUpstream, t.ID, state, p.sessions.BrowserHash(w, r, t.ID))
	var st upstreamState
	if err == nil {
		_ = json.Unmarshal([]byte(f.Data), &st)
	}
	if errors.Is(err, identity.ErrFlowInvalid) || (err == nil && st.Connection != id) {
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "connections.expired.text", startAgainLinks(t, "")...)
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	// One answer per flow: whatever happens next, the flow cannot be used again.
	if err := p.identity.UseSignInFlow(ctx, f); err != nil {
		if errors.Is(err, store.ErrConflict) {
			p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "connections.expired.text", startAgainLinks(t, "")...)
			return
		}
		p.serverError(w, r, t, err)
		return
	}
	conn, rd, ok := p.redirector(w, r, t, id)
	if !ok {
		return
	}
	cb := r
	if st.Posted != "" {
		form, err := url.ParseQuery(st.Posted)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		cb = r.Clone(ctx)
		cb.Method, cb.Form, cb.PostForm = http.MethodPost, form, form
		cb.URL.RawQuery = ""
	}
	who, err := rd.Exchange(ctx, cb, st.Begin)
	if err != nil {
		p.upstreamFailed(w, r, t, conn.Config, err)
		return
	}
	lr := p.flowRequest(r, t, f)
	if lr != nil && lr.Status != store.LoginPending {
		lr = nil
	}
	if st.Link {
		p.linkFromAccount(w, r, t, f.UserID, conn.Config, who)
		return
	}
	if st.Reauth != "" {
		p.reauthUpstream(w, r, t, f.UserID, conn.Config, who, st.Reauth)
		return
	}
	p.federatedSignIn(&leaveByPage{ResponseWriter: w, p: p, r: r, t: t, lr: lr}, r, t, lr, conn.Config, who, []string{session.MethodFederated})
}

// leaveByPage turns a redirect on the way to the application (to where the request completes, which
// redirects there with the code, or straight to another origin) into a page that continues there by
// itself. This request is still the navigation that began with the sign-in form upstream, and browsers
// check every redirect of it against that upstream page's form-action, which names our callback but not
// the application: the redirect is blocked and the person is stuck on the upstream's sign-in page. A
// page of our own ends that navigation. Redirects to our other pages (link, second factor, consent),
// whose forms allow the application themselves, stay redirects.
type leaveByPage struct {
	http.ResponseWriter
	p    *Pages
	r    *http.Request
	t    store.Tenant
	lr   *store.LoginRequest
	page bool // the redirect became a page: drop what the redirect would have written
}

func (l *leaveByPage) WriteHeader(status int) {
	if status >= 300 && status < 400 && !l.page {
		if to := l.Header().Get("Location"); l.leaves(to) {
			l.page = true
			l.Header().Del("Location")
			_, lang := requestRef(l.lr)
			pd := l.p.page(l.r, l.t, lang)
			pd.Title = "connections.return.title"
			pd.Data = continueData{Href: to}
			l.p.render(l.ResponseWriter, l.r, l.t, http.StatusOK, "connection_return", pd)
			return
		}
	}
	l.ResponseWriter.WriteHeader(status)
}

func (l *leaveByPage) Write(b []byte) (int, error) {
	if l.page {
		return len(b), nil
	}
	return l.ResponseWriter.Write(b)
}

// leaves reports whether a redirect to location goes on to the application.
func (l *leaveByPage) leaves(location string) bool {
	u, err := url.Parse(location)
	if err != nil {
		return false
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return !l.p.ownOrigin(u)
	}
	return l.lr != nil && l.lr.Kind == store.LoginKindAuthorize && location == resumePath(l.t, l.lr.ID)
}

// ownOrigin reports whether u is on this server's public origin.
func (p *Pages) ownOrigin(u *url.URL) bool {
	own, err := url.Parse(p.publicURL)
	return err == nil && strings.EqualFold(u.Scheme, own.Scheme) && strings.EqualFold(u.Host, own.Host)
}

// upstreamOf is what identity keeps of who signed in at c: its mapped roles, and its tokens sealed when
// c keeps them.
func (p *Pages) upstreamOf(t store.Tenant, c config.Connection, who federation.Identity) (identity.Upstream, error) {
	claims, _ := json.Marshal(who.Claims)
	up := identity.Upstream{Connection: c.ID, Subject: who.Subject, Email: who.Email, EmailVerified: who.EmailVerified,
		Profile: who.Profile, Claims: string(claims)}
	up.Roles, up.Managed = c.MapRoles(who.Groups)
	if c.StoreTokens && who.Tokens != nil {
		plain, err := json.Marshal(who.Tokens)
		if err != nil {
			return up, err
		}
		if up.Tokens, err = p.keyring.Seal(plain, identity.TokensAAD(t.ID, c.ID, who.Subject)); err != nil {
			return up, err
		}
	}
	return up, nil
}

// upstreamMethods are the session methods of a sign-in through c: methods, plus what the upstream
// reported when c trusts it.
func upstreamMethods(c config.Connection, who federation.Identity, methods []string) []string {
	out := slices.Clone(methods)
	if c.TrustAMR {
		for _, m := range who.AMR {
			if slices.Contains(session.UpstreamMethods, m) && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// federatedSignIn signs in the person who proved identity who at connection c (with methods):
//   - an identity linked to an account signs that account in (refreshing what the upstream says);
//   - an address of an existing account links only when c trusts the upstream's verified address and
//     the account's address is verified too; otherwise the link page asks the person to prove the account;
//   - anyone else gets a new account, just in time, linked to the identity.
//
// Every way ends in firstFactorDone, so the MFA policy, the risk engine and step-up apply as to any
// other sign-in.
func (p *Pages) federatedSignIn(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest,
	c config.Connection, who federation.Identity, methods []string) {
	ctx := r.Context()
	up, err := p.upstreamOf(t, c, who)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	methods = upstreamMethods(c, who, methods)
	u, err := p.identity.LinkedUser(ctx, t.ID, c.ID, who.Subject)
	switch {
	case err == nil:
		if u.Disabled {
			p.federatedRefused(w, r, t, c, u.ID)
			return
		}
		// A directory is the source of truth of the profile it maps; other upstreams fill only a new account.
		u, err = p.identity.RefreshFederated(ctx, t, u.ID, up, c.Type == config.ConnLDAP)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		p.federatedDone(w, r, t, lr, c, u, methods)
		return
	case !errors.Is(err, store.ErrNotFound):
		p.serverError(w, r, t, err)
		return
	}
	if strings.TrimSpace(who.Email) == "" {
		p.message(w, r, t, http.StatusBadRequest, "connections.no_email.title", "connections.no_email.text", startAgainLinks(t, "")...)
		return
	}
	existing, err := p.identity.FindUserByEmail(ctx, t.ID, who.Email)
	switch {
	case err == nil:
		if existing.Disabled {
			p.federatedRefused(w, r, t, c, existing.ID)
			return
		}
		if c.TrustEmail && who.EmailVerified && existing.EmailVerified {
			if err := p.identity.LinkFederated(ctx, t, existing.ID, up, identity.LinkTrustedEmail, existing.ID); err != nil {
				p.linkError(w, r, t, err)
				return
			}
			p.federatedDone(w, r, t, lr, c, existing, methods)
			return
		}
		p.startLink(w, r, t, lr, c, existing, up, methods)
		return
	case !errors.Is(err, store.ErrNotFound):
		p.serverError(w, r, t, err)
		return
	}
	u, err = p.identity.ProvisionFederated(ctx, t, up)
	switch {
	case errors.Is(err, store.ErrConflict), errors.Is(err, identity.ErrIdentityTaken):
		// Created meanwhile by another tab or node: sign in as that account if it is this identity's.
		if u, err = p.identity.LinkedUser(ctx, t.ID, c.ID, who.Subject); err == nil {
			p.federatedDone(w, r, t, lr, c, u, methods)
			return
		}
		p.message(w, r, t, http.StatusConflict, "connections.failed.title", "connections.failed.text", startAgainLinks(t, "")...)
		return
	case errors.Is(err, identity.ErrInvalidEmail):
		p.message(w, r, t, http.StatusBadRequest, "connections.no_email.title", "connections.no_email.text", startAgainLinks(t, "")...)
		return
	case err != nil:
		p.serverError(w, r, t, err)
		return
	}
	p.federatedDone(w, r, t, lr, c, u, methods)
}

// federatedRefused answers an upstream identity whose account is disabled, like a refused password.
func (p *Pages) federatedRefused(w http.ResponseWriter, r *http.Request, t store.Tenant, c config.Connection, userID string) {
	p.metrics.Login("failure")
	p.log.InfoContext(r.Context(), "upstream sign-in of a disabled account", "tenant", t.ID, "connection", c.ID, "user_id", userID)
	p.message(w, r, t, http.StatusForbidden, "connections.denied.title", "connections.disabled.text", startAgainLinks(t, "")...)
}

// federatedDone goes on after u signed in through c: address verification when the tenant requires it
// and the upstream did not vouch for it, then the common decision.
func (p *Pages) federatedDone(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, c config.Connection,
	u store.User, methods []string) {
	if needs, err := p.identity.NeedsVerification(r.Context(), t, u); err != nil {
		p.serverError(w, r, t, err)
		return
	} else if needs {
		p.sendVerification(w, r, t, lr, u)
		return
	}
	if err := p.joinOrganization(r.Context(), t, lr, c, u); err != nil {
		p.serverError(w, r, t, err)
		return
	}
	p.firstFactorDoneVia(w, r, t, lr, u, c.ID, methods...)
}

// linkError answers a link that could not be made.
func (p *Pages) linkError(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	if errors.Is(err, identity.ErrIdentityTaken) {
		p.message(w, r, t, http.StatusConflict, "connections.taken.title", "connections.taken.text", startAgainLinks(t, "")...)
		return
	}
	p.serverError(w, r, t, err)
}

// handleConnectionMetadata is GET .../saml/metadata: the SP metadata a SAML connection registers upstream.
func (p *Pages) handleConnectionMetadata(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	conn, ok := p.connector(w, r, t, r.PathValue("id"))
	if !ok {
		return
	}
	md, ok := conn.Impl.(federation.Metadata)
	if !ok {
		p.noConnection(w, r, t)
		return
	}
	doc, err := md.Metadata(r.Context())
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("connection metadata: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(doc)
}

// sameBrowser reports whether flow f was started by this browser.
func (p *Pages) sameBrowser(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow) bool {
	return len(f.BrowserHash) > 0 && subtle.ConstantTimeCompare(f.BrowserHash, p.sessions.BrowserHash(w, r, t.ID)) == 1
}
