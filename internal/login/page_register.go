package login

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// honeypotField is the registration form's hidden input: people never see it, so a value in it comes from
// a bot filling every input. Such a submission gets the "check your email" answer and nothing else.
const honeypotField = "fax_only"

// maxCodeLen bounds an entered code before it is looked at.
const maxCodeLen = 32

// Paths of the registration pages.
func registerPath(t store.Tenant, lrID string) string { return requestPath(t, "/register", lrID) }

func verifyPath(t store.Tenant, flowID, lrID string) string {
	return flowPath(t, "/register/verify", flowID, lrID)
}

func confirmPath(t store.Tenant) string { return tenantPath(t) + "/register/confirm" }

// registerField is one input of register.html.
type registerField struct {
	Name, Label, Type, Autocomplete string
	Required, Checked               bool
	Value                           string
	Options                         []string
	Error                           string
}

// registerData is the Data of register.html.
type registerData struct {
	Action     string
	ClientName string
	Fields     []registerField
	SignIn     string // the sign-in page of the same request
}

// checkEmailData is the Data of register_check.html.
type checkEmailData struct {
	Action     string
	Unverified bool // reached from the sign-in page: the account's address is not confirmed yet
}

// confirmData is the Data of register_confirm.html.
type confirmData struct {
	Action string
	Token  string
}

// registrationOpen loads the tenant and answers 404 unless its registration is enabled.
func (p *Pages) registrationOpen(w http.ResponseWriter, r *http.Request) (store.Tenant, bool) {
	t, ok := p.tenant(w, r)
	if !ok {
		return t, false
	}
	if !t.Settings.Registration.Enabled {
		p.message(w, r, t, http.StatusNotFound, "error.not_found.title", "error.not_found.text")
		return t, false
	}
	return t, true
}

// handleRegisterForm is GET /t/{tenant}/register[?lr=].
func (p *Pages) handleRegisterForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.registrationOpen(w, r)
	if !ok {
		return
	}
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}
	p.renderRegister(w, r, t, lr, http.StatusOK, nil, nil)
}

// handleRegisterSubmit is POST /t/{tenant}/register[?lr=].
func (p *Pages) handleRegisterSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.registrationOpen(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	ctx := r.Context()
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}
	lrID, lang := requestRef(lr)
	if lang == "" {
		lang = p.page(r, t, "").Lang
	}
	ip := web.ClientIP(r)
	if r.PostFormValue(honeypotField) != "" {
		p.log.InfoContext(ctx, "registration dropped: honeypot filled", "tenant", t.ID, "client_ip", ip,
			"request_id", web.RequestIDFrom(ctx))
		seeOther(w, verifyPath(t, keys.NewID(), lrID))
		return
	}
	if err := p.identity.CheckRegistrationLimit(ctx, t, ip); err != nil {
		p.throttled(w, r, t, err)
		return
	}
	values := map[string]any{}
	for _, f := range identity.FormFields(t.Settings.Profile, identity.PurposeRegistration) {
		if f.Name == "email" || f.Name == "password" {
			continue
		}
		v := r.PostFormValue(f.Name)
		if f.InputType == "checkbox" {
			if v == "" {
				continue
			}
			v = "true"
		}
		if v != "" {
			values[f.Name] = v
		}
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	if len(email) > maxEmailLen {
		email = email[:maxEmailLen]
	}
	if len(password) > maxPasswordLen {
		password = password[:maxPasswordLen] // refused as too long by the policy, without hashing more
	}
	base := p.publicURL + tenantPath(t)
	res, err := p.identity.Register(ctx, t, identity.Registration{Email: email, Password: password,
		Profile: values, Lang: lang, IP: ip, BrowserHash: p.sessions.BrowserHash(w, r, t.ID), LoginRequestID: lrID,
		LinkBase: base + "/register/confirm?token=", SignInLink: base + "/login", ResetLink: base + "/recover"})
	var rerr *identity.RegistrationError
	switch {
	case errors.As(err, &rerr):
		p.renderRegister(w, r, t, lr, http.StatusUnprocessableEntity, r.PostForm, rerr)
		return
	case err != nil:
		p.throttled(w, r, t, err)
		return
	}
	if !res.SignIn {
		seeOther(w, verifyPath(t, res.FlowID, lrID))
		return
	}
	p.signInAfterRegistration(w, r, t, lr, res.UserID, nil)
}

// signInAfterRegistration starts a password session for userID in this browser, runs inTx in its
// transaction, and continues the pending request lr (the complete-profile page or consent when needed), or
// goes to the account page.
func (p *Pages) signInAfterRegistration(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest,
	userID string, inTx func(tx *store.Tx) error) {
	ctx := r.Context()
	next := stepDone
	if lr != nil {
		u, err := p.identity.GetUser(ctx, t.ID, userID)
		if err != nil {
			p.serverError(w, r, t, fmt.Errorf("sign in after registration: %w", err))
			return
		}
		u.SignIns++ // this sign-in, counted with the session below
		var ok bool
		if next, ok = p.checkNext(w, r, t, *lr, u); !ok {
			return
		}
	}
	ip := web.ClientIP(r)
	device := p.setDeviceCookie(w, r, t.ID)
	now := p.now()
	_, err := p.sessions.Start(ctx, w, r, t, userID, passwordAMR, passwordACR, func(tx *store.Tx, s store.Session) error {
		if inTx != nil {
			if err := inTx(tx); err != nil {
				return err
			}
		}
		if _, err := identity.RememberDevice(ctx, tx, t.ID, userID, device, r.UserAgent(), ip, now, now.Add(p.deviceTTL)); err != nil {
			return err
		}
		if lr != nil && next == stepDone {
			return completeRequest(ctx, tx, *lr, s, grantedScopes(*lr), ip)
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		p.message(w, r, t, http.StatusBadRequest, "register.invalid.title", "register.invalid.text",
			link{Href: loginPath(t, ""), Text: "login.start_again.sign_in"})
		return
	}
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("sign in after registration: %w", err))
		return
	}
	p.metrics.Login("success")
	if lr == nil {
		seeOther(w, accountPath(t))
		return
	}
	seeOther(w, next.path(t, *lr))
}

// throttled answers a used-up limit with 429 and Retry-After, or any other error with 500.
func (p *Pages) throttled(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	var te *identity.ThrottledError
	if !errors.As(err, &te) {
		p.serverError(w, r, t, err)
		return
	}
	p.log.InfoContext(r.Context(), "registration limited", "tenant", t.ID, "budget", te.Budget,
		"client_ip", web.ClientIP(r), "request_id", web.RequestIDFrom(r.Context()))
	w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
	pd := p.page(r, t, "")
	p.message(w, r, t, http.StatusTooManyRequests, "register.limited.title",
		pd.T("register.limited.text", waitText(pd, te.RetryAfter)))
}

// renderRegister renders the registration form for lr, with the submitted values (never the password)
// and rerr's problems next to their fields.
func (p *Pages) renderRegister(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, status int,
	posted url.Values, rerr *identity.RegistrationError) {
	lang := ""
	if lr != nil {
		lang = lr.Params.Lang
	}
	pd := p.page(r, t, lang)
	d := registerData{Action: registerPath(t, ""), SignIn: loginPath(t, "")}
	if lr != nil {
		d.Action, d.SignIn = registerPath(t, lr.ID), loginPath(t, lr.ID)
		if c, err := p.requestClient(r.Context(), t, *lr); err == nil {
			d.ClientName = clientLabel(c)
		}
		if lr.Kind == store.LoginKindAuthorize {
			web.AllowFormAction(w, lr.Params.RedirectURI)
		}
	}
	fields := identity.FormFields(t.Settings.Profile, identity.PurposeRegistration)
	fe := map[string]string{}
	if rerr != nil {
		boxes := map[string]bool{}
		for _, f := range fields {
			boxes[f.Name] = f.InputType == "checkbox"
		}
		for _, e := range rerr.Fields {
			if _, dup := fe[e.Field]; dup {
				continue
			}
			if e.Code == identity.CodeRequired && boxes[e.Field] {
				fe[e.Field] = pd.T("register.error.required_box")
				continue
			}
			fe[e.Field] = fieldErrorText(pd, e)
		}
		if rerr.Password != nil {
			fe["password"] = passwordReasonText(pd, t, rerr.Password.Reason)
		}
	}
	var order []string
	for _, f := range fields {
		rf := registerField{Name: f.Name, Type: f.InputType, Autocomplete: f.Autocomplete, Required: f.Required,
			Options: f.Options, Label: fieldLabel(pd, f), Error: fe[f.Name]}
		if f.Name != "password" && posted != nil {
			rf.Value = posted.Get(f.Name)
			rf.Checked = f.InputType == "checkbox" && rf.Value != ""
		}
		d.Fields = append(d.Fields, rf)
		order = append(order, f.Name)
	}
	pd.FieldErrors = fe
	pd.Error = errorSummary(fe, order...)
	pd.Title = "register.title"
	pd.Data = d
	p.render(w, r, t, status, "register", pd)
}

// allowRedirectOf widens the form-action of this response with the redirect URI of the pending
// authorization request lrID (when there is one): the answer to the page's form may end in a redirect to
// that client (through resume), and browsers apply the form's form-action to that redirect too.
func (p *Pages) allowRedirectOf(w http.ResponseWriter, r *http.Request, t store.Tenant, lrID string) {
	if lrID == "" || len(lrID) > maxIDLen {
		return
	}
	if lr, err := p.db.GetLoginRequest(r.Context(), t.ID, lrID); err == nil && lr.Kind == store.LoginKindAuthorize {
		web.AllowFormAction(w, lr.Params.RedirectURI)
	}
}

// handleVerifyForm is GET /t/{tenant}/register/verify?f=[&lr=]: the "check your email" page with the code
// input. It does not look the flow up: the page reads the same for every flow id (the honeypot's too);
// the code's POST finds out whether the flow can be used.
func (p *Pages) handleVerifyForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	id := r.URL.Query().Get("f")
	if id == "" || len(id) > maxIDLen {
		p.verifyInvalid(w, r, t)
		return
	}
	p.renderCheckEmail(w, r, t, http.StatusOK, verifyPath(t, id, r.URL.Query().Get("lr")), false, "")
}

func (p *Pages) renderCheckEmail(w http.ResponseWriter, r *http.Request, t store.Tenant, status int, action string,
	unverified bool, codeErr string) {
	pd := p.page(r, t, "")
	p.allowRedirectOf(w, r, t, r.URL.Query().Get("lr"))
	if codeErr != "" {
		pd.FieldErrors = map[string]string{"code": pd.T(codeErr)}
		pd.Error = pd.FieldErrors["code"]
	}
	pd.Title = "register.check.title"
	pd.Data = checkEmailData{Action: action, Unverified: unverified}
	p.render(w, r, t, status, "register_check", pd)
}

func (p *Pages) verifyInvalid(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	links := []link{{Href: loginPath(t, ""), Text: "login.start_again.sign_in"}}
	if t.Settings.Registration.Enabled {
		links = append(links, link{Href: registerPath(t, ""), Text: "register.link"})
	}
	p.message(w, r, t, http.StatusBadRequest, "register.invalid.title", "register.invalid.text", links...)
}

// handleVerifySubmit is POST /t/{tenant}/register/verify?f=[&lr=]: check the code; the right one confirms
// the address, signs the person in on this browser and continues the pending request.
func (p *Pages) handleVerifySubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	ctx := r.Context()
	id := r.URL.Query().Get("f")
	if id == "" || len(id) > maxIDLen {
		p.verifyInvalid(w, r, t)
		return
	}
	f, err := p.identity.Flow(ctx, t.ID, id, p.sessions.BrowserHash(w, r, t.ID))
	if errors.Is(err, identity.ErrFlowInvalid) {
		p.verifyInvalid(w, r, t)
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	code := r.PostFormValue("code")
	if strings.TrimSpace(code) == "" {
		p.renderCheckEmail(w, r, t, http.StatusUnprocessableEntity, verifyPath(t, id, r.URL.Query().Get("lr")), false,
			"register.error.code_missing")
		return
	}
	if len(code) > maxCodeLen {
		code = ""
	}
	err = p.identity.CheckCode(ctx, f, code, web.ClientIP(r))
	switch {
	case errors.Is(err, identity.ErrWrongCode):
		p.renderCheckEmail(w, r, t, http.StatusUnprocessableEntity, verifyPath(t, id, r.URL.Query().Get("lr")), false,
			"register.error.code_wrong")
		return
	case errors.Is(err, identity.ErrTooManyCodes):
		p.message(w, r, t, http.StatusBadRequest, "register.too_many.title", "register.too_many.text",
			link{Href: loginPath(t, ""), Text: "login.start_again.sign_in"})
		return
	case errors.Is(err, identity.ErrFlowInvalid):
		p.verifyInvalid(w, r, t)
		return
	case err != nil:
		p.throttled(w, r, t, err)
		return
	}
	p.finishVerification(w, r, t, f, "code")
}

// finishVerification confirms flow f's address in the browser that started it: the session starts in the
// same transaction, and the pending request (when still pending) continues.
func (p *Pages) finishVerification(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, method string) {
	ctx := r.Context()
	var lr *store.LoginRequest
	if f.LoginRequestID != "" {
		l, err := p.db.GetLoginRequest(ctx, t.ID, f.LoginRequestID)
		// The flow is this browser's (checked by the caller), and so must the request be that it resumes.
		if err == nil && l.Status == store.LoginPending && p.now().Before(l.ExpiresAt) &&
			subtle.ConstantTimeCompare(l.BrowserHash, f.BrowserHash) == 1 {
			lr = &l
		}
	}
	now := p.now()
	p.signInAfterRegistration(w, r, t, lr, f.UserID, func(tx *store.Tx) error {
		return identity.Verify(ctx, tx, f, method, now)
	})
}

// handleConfirmForm is GET /t/{tenant}/register/confirm?token=: the emailed link. It only shows a button:
// a GET changes nothing, so mail scanners that open links do not use them up.
func (p *Pages) handleConfirmForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	token := r.URL.Query().Get("token")
	f, err := p.identity.FlowByLink(r.Context(), t.ID, token)
	if err != nil && !errors.Is(err, identity.ErrFlowInvalid) {
		p.serverError(w, r, t, err)
		return
	}
	if err != nil || f.Kind != store.FlowRegistration { // an email change's link proves nothing here
		p.verifyInvalid(w, r, t)
		return
	}
	p.allowRedirectOf(w, r, t, f.LoginRequestID)
	pd := p.page(r, t, "")
	pd.Title = "register.confirm.title"
	pd.Data = confirmData{Action: confirmPath(t), Token: token}
	p.render(w, r, t, http.StatusOK, "register_confirm", pd)
}

// handleConfirmSubmit is POST /t/{tenant}/register/confirm: confirm the address of the link's flow. In
// the browser that registered, the person is signed in and the request continues; in another browser the
// page only says that the address is confirmed.
func (p *Pages) handleConfirmSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	ctx := r.Context()
	f, err := p.identity.FlowByLink(ctx, t.ID, r.PostFormValue("token"))
	if errors.Is(err, identity.ErrFlowInvalid) {
		p.verifyInvalid(w, r, t)
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if _, err := p.identity.Flow(ctx, t.ID, f.ID, p.sessions.BrowserHash(w, r, t.ID)); err == nil {
		p.finishVerification(w, r, t, f, "link")
		return
	}
	now := p.now()
	err = p.db.InTx(ctx, func(tx *store.Tx) error { return identity.Verify(ctx, tx, f, "link", now) })
	if errors.Is(err, store.ErrConflict) {
		p.verifyInvalid(w, r, t)
		return
	}
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("confirm address: %w", err))
		return
	}
	p.message(w, r, t, http.StatusOK, "register.confirmed.title", "register.confirmed.text",
		link{Href: loginPath(t, ""), Text: "login.start_again.sign_in"})
}
