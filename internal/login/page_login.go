package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// msgBadCredentials is the one answer to a failed sign-in, whether or not the account exists and whether
// or not too many attempts paused it.
const msgBadCredentials = "login.error.bad_credentials"

// loginData is the Data of login.html.
type loginData struct {
	Action     string
	Email      string
	ClientName string // the application the user signs in to, when known
	Device     bool   // signing in to approve a device
	// CredentialsError ties both inputs to the form-level error (aria-describedby="form-error").
	CredentialsError bool
	// Register links the registration page (with the same request) when the tenant's registration is open.
	Register string
	// Recover links the password recovery page (with the same request), shown when ShowRecover.
	Recover     string
	ShowRecover bool
	// What the page offers: the password field, the passwordless buttons. IdentifierFirst: the first step
	// asks only the address (Methods false) and the second offers what the account has (Methods true).
	Password, EmailCode, SMSCode bool
	IdentifierFirst, Methods     bool
	// Passkey is the "Sign in with a passkey" button (nil when the tenant does not allow it).
	Passkey *passkeySignin
	// Connections are the "Sign in with ..." buttons of the tenant's upstream identity providers (with an
	// organization, its own first).
	Connections []connectionButton
	// Organization is the name of the organization the request signs in to ("" for none).
	Organization string
}

// identifierFirst reports whether t's sign-in page asks for the address first (cs: the tenant's
// connections): when it offers more than a password, or no password at all, or when some addresses sign
// in at an upstream (so that the address is routed before anyone types a password into this page). With
// passkeys allowed (the default) and usable on this server, some accounts may have no password, and only
// the address tells the page whether to show a password field: a passkey-only account never gets one.
// Where passkeys cannot work (a plain-http public URL that is not localhost) no account signs in with
// one, and a tenant that also offers only the password keeps the one-step form.
func (p *Pages) identifierFirst(t store.Tenant, cs []config.Connection) bool {
	for _, c := range cs {
		if c.Redirecting() && len(c.Domains) > 0 {
			return true
		}
	}
	l := t.Settings.Login
	return (l.Allows(config.MethodPasskey) && p.identity.PasskeysUsable(t)) || l.Allows(config.MethodEmailCode) ||
		l.Allows(config.MethodSMSCode) || !l.Allows(config.MethodPassword)
}

// renderMethods is the second step of an identifier-first page: the ways the account of email can sign
// in. An unknown address gets what a typical account has (a password, and an email code when offered).
func (p *Pages) renderMethods(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, email string) {
	ctx := r.Context()
	l := t.Settings.Login
	d := loginData{IdentifierFirst: true, Methods: true, Password: l.Allows(config.MethodPassword),
		EmailCode: l.Allows(config.MethodEmailCode)}
	norm, _ := identity.NormalizeEmail(email)
	u, err := p.db.GetUserByEmail(ctx, t.ID, norm)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		p.serverError(w, r, t, err)
		return
	default:
		has, err := p.db.HasPassword(ctx, t.ID, u.ID)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		d.Password = d.Password && has // passkey-only and passwordless accounts never see a password field
		d.EmailCode = d.EmailCode && u.EmailVerified
		if l.Allows(config.MethodSMSCode) && p.identity.SendSMS != nil {
			number, err := p.smsNumberOf(r, t, u)
			if err != nil {
				p.serverError(w, r, t, err)
				return
			}
			d.SMSCode = number != ""
		}
	}
	p.renderLogin(w, r, t, lr, http.StatusOK, email, web.PageData{Data: d})
}

// handleLoginForm is GET /t/{tenant}/login[?lr=]: the sign-in form, or straight on when the browser's
// session may be reused (valid session and the request does not demand a fresh sign-in).
func (p *Pages) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}
	s, u, signedIn, err := p.signedInUser(ctx, r, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if signedIn && lr != nil && !lr.Params.RequireLogin && p.tooOld(*lr, s) && p.reauthenticate(w, r, t, lr, s, u) {
		return
	}
	if signedIn && (lr == nil || (!lr.Params.RequireLogin && !p.tooOld(*lr, s))) {
		p.continueSignedIn(w, r, t, lr, s, u)
		return
	}
	if lr != nil && lr.Params.Connection != "" && p.federation != nil {
		// connection=ID (or kc_idp_hint) goes straight upstream; an unknown or disabled one shows the page.
		c, err := p.federation.Get(ctx, t.ID, lr.Params.Connection)
		if err == nil && c.Redirecting() {
			seeOther(w, connectionStartPath(t, c.ID, lr.ID, ""))
			return
		}
		p.log.InfoContext(ctx, "requested connection not usable", "tenant", t.ID, "connection", lr.Params.Connection, "err", err)
	}
	email := ""
	if lr != nil && len(lr.Params.LoginHint) <= maxEmailLen {
		email = lr.Params.LoginHint
	}
	p.renderLogin(w, r, t, lr, http.StatusOK, email, web.PageData{})
}

// handleLoginSubmit is POST /t/{tenant}/login[?lr=]: check the password, start (rotate) the session,
// then the complete-profile page, consent, or complete the request.
func (p *Pages) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	ctx := r.Context()
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}

	email := strings.TrimSpace(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	method := r.PostFormValue("method")
	if method != "" && method != config.MethodPassword && (!slices.Contains(config.LoginMethods, method) || !t.Settings.Login.Allows(method)) {
		p.renderLogin(w, r, t, lr, http.StatusBadRequest, email, web.PageData{Error: "login.error.method"})
		return
	}
	// The identifier step of an identifier-first page names only the address: the next step offers the
	// ways that account can sign in.
	cs, err := p.tenantConnections(ctx, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	identifierOnly := p.identifierFirst(t, cs) && !r.PostForm.Has("password") && (method == "" || method == config.MethodPassword)
	codeLogin := method == config.MethodEmailCode || method == config.MethodSMSCode
	fe := map[string]string{}
	switch {
	case email == "":
		fe["email"] = "login.error.email_missing"
	case len(email) > maxEmailLen:
		fe["email"] = "login.error.email_format"
	default:
		if _, err := identity.NormalizeEmail(email); err != nil {
			fe["email"] = "login.error.email_format"
		}
	}
	if password == "" && !codeLogin && !identifierOnly {
		fe["password"] = "login.error.password_missing"
	}
	if len(fe) == 0 && p.refuseDenied(w, r, t, lr, email) {
		return
	}
	if len(fe) == 0 && !codeLogin {
		// Home-realm discovery: an address at a domain routed to an upstream signs in there.
		if c, routed := routedConnection(cs, email); routed && c.Redirecting() {
			p.continueUpstream(w, r, t, lr, c, email)
			return
		}
		dir, ok, err := p.directoryFor(ctx, t, cs, email)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		if ok {
			if identifierOnly || password == "" {
				p.renderLogin(w, r, t, lr, http.StatusOK, email, web.PageData{Data: loginData{IdentifierFirst: true, Methods: true, Password: true}})
				return
			}
			p.directorySignIn(w, r, t, lr, dir, email, password)
			return
		}
	}
	if len(fe) == 0 && codeLogin {
		p.startCodeLogin(w, r, t, lr, email, method)
		return
	}
	if len(fe) == 0 && identifierOnly {
		p.renderMethods(w, r, t, lr, email)
		return
	}
	if len(fe) == 0 && !t.Settings.Login.Allows(config.MethodPassword) {
		p.renderLogin(w, r, t, lr, http.StatusBadRequest, email, web.PageData{Error: "login.error.method"})
		return
	}
	if len(fe) > 0 {
		lang := ""
		if lr != nil {
			lang = lr.Params.Lang
		}
		pd := p.page(r, t, lang)
		for k, v := range fe {
			fe[k] = pd.T(v)
		}
		pd.FieldErrors, pd.Error = fe, errorSummary(fe, "email", "password")
		p.renderLogin(w, r, t, lr, http.StatusUnprocessableEntity, email, pd)
		return
	}

	ip := web.ClientIP(r)
	device := p.deviceID(r, t.ID)
	var u store.User
	err = identity.ErrInvalidCredentials
	if len(password) <= maxPasswordLen { // longer is no password of ours: not worth hashing
		u, err = p.identity.Login(ctx, identity.LoginAttempt{TenantID: t.ID, Email: email, Password: password, IP: ip,
			DeviceID: device})
	}
	var te *identity.ThrottledError
	switch {
	case errors.As(err, &te), errors.Is(err, identity.ErrInvalidCredentials):
		// One answer for every failure: a wrong password, an unknown address, a disabled account and any
		// used-up budget read the same, with the same status and no Retry-After, so the answer never tells
		// whether the account exists or is under attack (identity makes them cost the same, too).
		result, budget := "failure", ""
		if te != nil {
			result, budget = "throttled", te.Budget
		}
		p.metrics.Login(result)
		p.recordRiskFailure(ctx, r, t, email)
		p.log.InfoContext(ctx, "sign-in failed", "tenant", t.ID, "client_ip", ip, "budget", budget,
			"request_id", web.RequestIDFrom(ctx))
		p.renderLogin(w, r, t, lr, http.StatusUnprocessableEntity, email,
			web.PageData{Error: msgBadCredentials, Data: loginData{CredentialsError: true}})
		return
	case err != nil:
		p.metrics.Login("error")
		p.serverError(w, r, t, fmt.Errorf("authenticate: %w", err))
		return
	}
	if needs, err := p.identity.NeedsVerification(ctx, t, u); err != nil {
		p.serverError(w, r, t, err)
		return
	} else if needs {
		p.sendVerification(w, r, t, lr, u)
		return
	}
	p.firstFactorDoneWith(w, r, t, lr, u, signals{breached: identity.Breached(password)}, session.MethodPassword)
}

// sendVerification answers a right password of an account that must confirm its address first: a fresh
// code and link go to the address (within the per-address limit), and the page asks for the code, which
// completes the sign-in and the pending request.
func (p *Pages) sendVerification(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User) {
	lrID, lang := requestRef(lr)
	if lang == "" {
		lang = p.page(r, t, "").Lang
	}
	id, err := p.identity.StartVerification(r.Context(), t, identity.Verification{User: u, Lang: lang, IP: web.ClientIP(r),
		BrowserHash: p.sessions.BrowserHash(w, r, t.ID), LoginRequestID: lrID,
		LinkBase: p.publicURL + tenantPath(t) + "/register/confirm?token="})
	if err != nil {
		p.throttled(w, r, t, err)
		return
	}
	p.metrics.Login("unverified")
	p.renderCheckEmail(w, r, t, http.StatusOK, verifyPath(t, id, lrID), true, "")
}

// optionalRequest loads the pending login request named by ?lr=, or returns nil when the URL names none
// (a direct sign-in). When the named request cannot be used it answers and returns false.
func (p *Pages) optionalRequest(w http.ResponseWriter, r *http.Request, t store.Tenant) (*store.LoginRequest, bool) {
	if !r.URL.Query().Has("lr") {
		return nil, true
	}
	lr, ok := p.loadRequest(w, r, t)
	if !ok || !p.requestPending(w, r, t, lr) {
		return nil, false
	}
	return &lr, true
}

// requestRef is the id and stored language of an optional login request ("", "" without one): what a
// page carries on to the next step and renders in.
func requestRef(lr *store.LoginRequest) (id, lang string) {
	if lr == nil {
		return "", ""
	}
	return lr.ID, lr.Params.Lang
}

// requestPending reports whether lr still waits for the user; otherwise it answers: a request signed in or
// refused already goes on to its next step (the back button), a consumed one gets a page.
func (p *Pages) requestPending(w http.ResponseWriter, r *http.Request, t store.Tenant, lr store.LoginRequest) bool {
	switch lr.Status {
	case store.LoginPending:
		return true
	case store.LoginAuthenticated, store.LoginDenied:
		seeOther(w, continuePath(t, lr))
	default:
		p.alreadyUsed(w, r, t, lr)
	}
	return false
}

// tooOld reports whether session s signed in longer ago than lr's max_age allows (OIDC Core §3.1.2.1: the
// OP must then authenticate the user again). oidc already marks a request RequireLogin when the session it
// saw was too old; this covers a session found later (signed in in another tab) that aged while the
// request waited. max_age=0 is always RequireLogin.
func (p *Pages) tooOld(lr store.LoginRequest, s store.Session) bool {
	return lr.Params.MaxAge > 0 && p.now().Sub(s.AuthTime) > time.Duration(lr.Params.MaxAge)*time.Second
}

// continueSignedIn reuses the browser's SSO session s (its auth_time, amr and acr) for lr: the
// complete-profile page or consent when needed, else complete the request and go on. Without a request it goes to the account page.
func (p *Pages) continueSignedIn(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest,
	s store.Session, u store.User) {
	if lr == nil {
		seeOther(w, accountPath(t))
		return
	}
	if stepped := p.stepUpNeeded(w, r, t, lr, s, u); stepped {
		return
	}
	next, ok := p.checkNext(w, r, t, *lr, u)
	if !ok {
		return
	}
	if next != stepDone {
		seeOther(w, next.path(t, *lr))
		return
	}
	p.complete(w, r, t, *lr, s, grantedScopes(*lr))
}

// complete marks lr authenticated by s (in one transaction with its event) and sends the browser on.
func (p *Pages) complete(w http.ResponseWriter, r *http.Request, t store.Tenant, lr store.LoginRequest, s store.Session, scopes []string) {
	ctx := r.Context()
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		return completeRequest(ctx, tx, lr, s, scopes, web.ClientIP(r))
	})
	if err != nil && !errors.Is(err, store.ErrConflict) { // conflict: completed meanwhile; go on
		p.serverError(w, r, t, err)
		return
	}
	seeOther(w, continuePath(t, lr))
}

// grantedScopes are the scopes a completed request grants: all the requested scopes of an authorization
// request; none for a device request (its approval page grants the device code's scopes).
func grantedScopes(lr store.LoginRequest) []string {
	if lr.Kind != store.LoginKindAuthorize {
		return nil
	}
	return lr.Params.Scopes
}

// consentNeeded reports whether lr needs the consent page for userID: an authorization request from a
// client that is not first party, when prompt=consent asked for it or the stored consent does not cover
// the requested scopes. The client is returned; store.ErrNotFound when it was deleted.
func (p *Pages) consentNeeded(ctx context.Context, t store.Tenant, lr store.LoginRequest, userID string) (bool, store.Client, error) {
	if lr.Kind != store.LoginKindAuthorize {
		return false, store.Client{}, nil
	}
	client, err := p.requestClient(ctx, t, lr)
	if err != nil {
		return false, client, fmt.Errorf("consent: %w", err)
	}
	if client.FirstParty {
		return false, client, nil
	}
	if lr.Params.RequireConsent {
		return true, client, nil
	}
	granted, err := p.identity.Consent(ctx, t.ID, userID, client.ClientID)
	if err != nil {
		return false, client, fmt.Errorf("stored consent: %w", err)
	}
	return !covers(granted, lr.Params.Scopes), client, nil
}

// step is where a login request goes once its user signed in.
type step int

const (
	stepDone         step = iota // complete the request and go on (resume, or the device page)
	stepProfile                  // the complete-profile page first
	stepOrganization             // the organization page first
	stepConsent                  // the consent page first
)

// path is the page of step s for lr (stepDone: where a completed request goes on).
func (s step) path(t store.Tenant, lr store.LoginRequest) string {
	switch s {
	case stepProfile:
		return completeProfilePath(t, lr.ID)
	case stepOrganization:
		return organizationPath(t, lr.ID)
	case stepConsent:
		return consentPath(t, lr.ID)
	}
	return continuePath(t, lr)
}

// nextStep decides where lr goes once u signed in (u.SignIns counting this sign-in): the complete-profile
// page while the client requires fields u lacks or a progressive field is due (identity.AskProfile), then
// the organization page when u must choose one, then consent when needed, else completion. store.ErrNotFound when lr's client was deleted.
func (p *Pages) nextStep(ctx context.Context, t store.Tenant, lr store.LoginRequest, u store.User) (step, error) {
	client, err := p.requestClient(ctx, t, lr)
	if err != nil {
		return stepDone, fmt.Errorf("client of the login request: %w", err)
	}
	required, err := p.requiredFields(ctx, t, u, client)
	if err != nil {
		return stepDone, err
	}
	if !identity.AskProfile(t.Settings.Profile, u, required).Empty() {
		return stepProfile, nil
	}
	if choose, err := p.needsOrganization(ctx, t, lr, client, u); err != nil {
		return stepDone, err
	} else if choose {
		return stepOrganization, nil
	}
	need, _, err := p.consentNeeded(ctx, t, lr, u.ID)
	if err != nil {
		return stepDone, err
	}
	if need {
		return stepConsent, nil
	}
	return stepDone, nil
}

// requiredFields are the fields u must have before client gets tokens: the client's, and for an account
// that came from an upstream identity provider the fields the registration form would have required,
// which the upstream may not have given.
func (p *Pages) requiredFields(ctx context.Context, t store.Tenant, u store.User, client store.Client) ([]string, error) {
	var fromRegistration []string
	for _, f := range t.Settings.Profile.Fields {
		if f.Required && f.Registration {
			fromRegistration = append(fromRegistration, f.Name)
		}
	}
	if len(fromRegistration) == 0 {
		return client.RequiredProfileFields, nil
	}
	ids, err := p.db.ListUserIdentities(ctx, t.ID, u.ID)
	if err != nil || len(ids) == 0 {
		return client.RequiredProfileFields, err
	}
	return append(slices.Clone(client.RequiredProfileFields), fromRegistration...), nil
}

// askProfile is identity.AskProfile with requiredFields (a failed read asks only the client's fields).
func (p *Pages) askProfile(ctx context.Context, t store.Tenant, u store.User, client store.Client) identity.ProfileAsk {
	required, err := p.requiredFields(ctx, t, u, client)
	if err != nil {
		p.log.ErrorContext(ctx, "required profile fields", "tenant", t.ID, "err", err)
	}
	return identity.AskProfile(t.Settings.Profile, u, required)
}

// checkNext is nextStep for the sign-in steps: when lr's client was deleted meanwhile or the check fails,
// it answers and returns ok false.
func (p *Pages) checkNext(w http.ResponseWriter, r *http.Request, t store.Tenant, lr store.LoginRequest, u store.User) (step, bool) {
	next, err := p.nextStep(r.Context(), t, lr, u)
	if errors.Is(err, store.ErrNotFound) {
		p.clientGone(w, r, t, lr)
		return stepDone, false
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return stepDone, false
	}
	return next, true
}

// clientGone answers a request whose client was deleted meanwhile.
func (p *Pages) clientGone(w http.ResponseWriter, r *http.Request, t store.Tenant, lr store.LoginRequest) {
	p.message(w, r, t, http.StatusBadRequest, "login.client_gone.title", "login.client_gone.text", startAgainLinks(t, lr.Kind)...)
}

// renderLogin renders the sign-in form for lr (nil: a direct sign-in) with email prefilled.
func (p *Pages) renderLogin(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, status int,
	email string, pd web.PageData) {
	d, _ := pd.Data.(loginData)
	d.Email = email
	cs, err := p.tenantConnections(r.Context(), t)
	if err != nil {
		p.log.ErrorContext(r.Context(), "connections not listed", "tenant", t.ID, "err", err)
	}
	if !d.Methods {
		l := t.Settings.Login
		d.IdentifierFirst = p.identifierFirst(t, cs)
		d.Password = !d.IdentifierFirst && l.Allows(config.MethodPassword)
		d.EmailCode = !d.IdentifierFirst && l.Allows(config.MethodEmailCode)
		if d.IdentifierFirst && r.Method == http.MethodPost && r.PostForm.Has("password") {
			// A wrong password on the second step: show that step again.
			d.Methods, d.Password, d.EmailCode = true, true, l.Allows(config.MethodEmailCode)
		}
	}
	// "Forgot your password?" beside a password field, and on the identifier step of a tenant that has
	// passwords (the step after it may not show the field, for an account without a password).
	d.ShowRecover = d.Password || (d.IdentifierFirst && !d.Methods && t.Settings.Login.Allows(config.MethodPassword))
	d.Action, d.Recover = loginPath(t, ""), recoverPath(t, "")
	if t.Settings.Registration.Enabled {
		d.Register = registerPath(t, "")
	}
	if lr != nil {
		d.Action, d.Recover = loginPath(t, lr.ID), recoverPath(t, lr.ID)
		if t.Settings.Registration.Enabled {
			d.Register = registerPath(t, lr.ID)
		}
		d.Device = lr.Kind == store.LoginKindDevice
		if c, err := p.requestClient(r.Context(), t, *lr); err == nil {
			d.ClientName = clientLabel(c)
		}
		if lr.Kind == store.LoginKindAuthorize {
			// The answer to this form ends in a redirect to the client (through resume); browsers apply
			// the form's form-action to that redirect too.
			web.AllowFormAction(w, lr.Params.RedirectURI)
		}
	}
	d.Passkey = p.passkeyLogin(w, t, lr)
	if lr != nil {
		pd.Lang = lr.Params.Lang
	}
	pd.Title = "login.title"
	org := p.requestOrganization(r.Context(), t, lr)
	if org != nil {
		d.Organization = orgName(*org)
		texts := pd
		if texts.Texts.Lang == "" {
			texts = p.page(r, t, pd.Lang)
		}
		pd.Title = texts.T("org.login.title", d.Organization)
	}
	shown, err := p.signInConnections(r.Context(), t, cs, org)
	if err != nil {
		p.log.ErrorContext(r.Context(), "organization connections not listed", "tenant", t.ID, "err", err)
	}
	d.Connections = connectionButtons(w, t, shown, lr)
	pd.Data = d
	p.render(w, r, t, status, "login", pd)
}

// waitText says how long to wait in words, in the page's language: "30 seconds", "1 minute", "15 minutes".
func waitText(pd web.PageData, d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	if s < 60 {
		if s == 1 {
			return pd.T("wait.one_second")
		}
		return pd.T("wait.seconds", s)
	}
	m := (s + 59) / 60
	if m == 1 {
		return pd.T("wait.one_minute")
	}
	return pd.T("wait.minutes", m)
}
