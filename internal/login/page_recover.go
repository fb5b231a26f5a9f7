package login

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Password recovery pages (docs/DESIGN.md, "Password recovery"): the "Forgot password?" form, the
// "check your email" page with the code input, and the choose-password page reached by the code (in the
// browser that asked) or by the emailed link (in any browser).

func recoverPath(t store.Tenant, lrID string) string { return requestPath(t, "/recover", lrID) }

func recoverCodePath(t store.Tenant, flowID, lrID string) string {
	return flowPath(t, "/recover/code", flowID, lrID)
}

func recoverPasswordPath(t store.Tenant, lrID string) string {
	return requestPath(t, "/recover/password", lrID)
}

// recoverData is the Data of recover.html.
type recoverData struct {
	Action, Email, SignIn string
}

// recoverCheckData is the Data of recover_check.html.
type recoverCheckData struct {
	Action string
}

// recoverPasswordData is the Data of recover_password.html: the proof is either the link's Token or the
// browser's Flow and its Code, carried to the final POST.
type recoverPasswordData struct {
	Action     string
	Token      string
	Flow, Code string
}

// handleRecoverForm is GET /t/{tenant}/recover[?lr=].
func (p *Pages) handleRecoverForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}
	p.renderRecover(w, r, t, lr, http.StatusOK, "", nil)
}

func (p *Pages) renderRecover(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, status int,
	email string, fe map[string]string) {
	lang, lrID := "", ""
	if lr != nil {
		lang, lrID = lr.Params.Lang, lr.ID
	}
	pd := p.page(r, t, lang)
	pd.FieldErrors = fe
	pd.Error = fe["email"]
	pd.Title = "recover.title"
	pd.Data = recoverData{Action: recoverPath(t, lrID), Email: email, SignIn: loginPath(t, lrID)}
	p.render(w, r, t, status, "recover", pd)
}

// handleRecoverSubmit is POST /t/{tenant}/recover[?lr=]: the same "check your email" answer whether or not
// the address has an account.
func (p *Pages) handleRecoverSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	ctx := r.Context()
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}
	lrID, lang := requestRef(lr)
	pd := p.page(r, t, lang)
	email := strings.TrimSpace(r.PostFormValue("email"))
	if len(email) > maxEmailLen {
		email = email[:maxEmailLen]
	}
	if email == "" {
		p.renderRecover(w, r, t, lr, http.StatusUnprocessableEntity, email,
			map[string]string{"email": fieldErrorText(pd, identity.FieldError{Field: "email", Code: identity.CodeRequired})})
		return
	}
	if _, err := identity.NormalizeEmail(email); err != nil {
		p.renderRecover(w, r, t, lr, http.StatusUnprocessableEntity, email,
			map[string]string{"email": fieldErrorText(pd, identity.FieldError{Field: "email", Code: identity.CodeNotEmail})})
		return
	}
	id, err := p.identity.StartRecovery(ctx, t, identity.Recovery{Email: email, Lang: pd.Lang, IP: web.ClientIP(r),
		BrowserHash: p.sessions.BrowserHash(w, r, t.ID), LoginRequestID: lrID,
		LinkBase: p.publicURL + tenantPath(t) + "/recover/password?token="})
	if err != nil {
		p.recoverLimited(w, r, t, err)
		return
	}
	seeOther(w, recoverCodePath(t, id, lrID))
}

// recoverLimited answers a used-up recovery limit with 429 and Retry-After, any other error with 500.
func (p *Pages) recoverLimited(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	var te *identity.ThrottledError
	if !errors.As(err, &te) {
		p.serverError(w, r, t, err)
		return
	}
	p.log.InfoContext(r.Context(), "recovery limited", "tenant", t.ID, "budget", te.Budget,
		"client_ip", web.ClientIP(r), "request_id", web.RequestIDFrom(r.Context()))
	w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
	pd := p.page(r, t, "")
	p.message(w, r, t, http.StatusTooManyRequests, "recover.limited.title",
		pd.T("recover.limited.text", waitText(pd, te.RetryAfter)))
}

// handleRecoverCodeForm is GET /t/{tenant}/recover/code?f=[&lr=]. Like the registration's page, it reads
// the same for every flow id; the POST finds out whether the flow can be used.
func (p *Pages) handleRecoverCodeForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	id := r.URL.Query().Get("f")
	if id == "" || len(id) > maxIDLen {
		p.recoverInvalid(w, r, t)
		return
	}
	p.renderRecoverCheck(w, r, t, http.StatusOK, id, "")
}

func (p *Pages) renderRecoverCheck(w http.ResponseWriter, r *http.Request, t store.Tenant, status int, flowID, codeErr string) {
	pd := p.page(r, t, "")
	if codeErr != "" {
		pd.FieldErrors = map[string]string{"code": pd.T(codeErr)}
		pd.Error = pd.FieldErrors["code"]
	}
	pd.Title = "recover.check.title"
	pd.Data = recoverCheckData{Action: recoverCodePath(t, flowID, r.URL.Query().Get("lr"))}
	p.render(w, r, t, status, "recover_check", pd)
}

func (p *Pages) recoverInvalid(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	p.message(w, r, t, http.StatusBadRequest, "recover.invalid.title", "recover.invalid.text",
		link{Href: recoverPath(t, ""), Text: "recover.start_again"},
		link{Href: loginPath(t, ""), Text: "login.start_again.sign_in"})
}

// recoverCodeFlow checks the flow f= of this browser and the code posted with it; it answers the page
// itself (wrong code, too many, unusable flow) and returns false when they do not prove the address.
func (p *Pages) recoverCodeFlow(w http.ResponseWriter, r *http.Request, t store.Tenant, id, code string) (store.Flow, bool) {
	ctx := r.Context()
	if id == "" || len(id) > maxIDLen {
		p.recoverInvalid(w, r, t)
		return store.Flow{}, false
	}
	f, err := p.identity.RecoveryFlow(ctx, t.ID, id, p.sessions.BrowserHash(w, r, t.ID))
	if errors.Is(err, identity.ErrFlowInvalid) {
		p.recoverInvalid(w, r, t)
		return f, false
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return f, false
	}
	if strings.TrimSpace(code) == "" {
		p.renderRecoverCheck(w, r, t, http.StatusUnprocessableEntity, id, "recover.error.code_missing")
		return f, false
	}
	if len(code) > maxCodeLen {
		code = ""
	}
	err = p.identity.CheckCode(ctx, f, code, web.ClientIP(r))
	switch {
	case errors.Is(err, identity.ErrWrongCode):
		p.renderRecoverCheck(w, r, t, http.StatusUnprocessableEntity, id, "recover.error.code_wrong")
		return f, false
	case errors.Is(err, identity.ErrTooManyCodes):
		p.message(w, r, t, http.StatusBadRequest, "recover.too_many.title", "recover.too_many.text",
			link{Href: recoverPath(t, ""), Text: "recover.start_again"})
		return f, false
	case errors.Is(err, identity.ErrFlowInvalid):
		p.recoverInvalid(w, r, t)
		return f, false
	case err != nil:
		p.recoverLimited(w, r, t, err)
		return f, false
	}
	return f, true
}

// handleRecoverCodeSubmit is POST /t/{tenant}/recover/code?f=[&lr=]: the right code leads to the
// choose-password page, which carries the flow and the code to its own POST.
func (p *Pages) handleRecoverCodeSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	id, code := r.URL.Query().Get("f"), r.PostFormValue("code")
	f, ok := p.recoverCodeFlow(w, r, t, id, code)
	if !ok {
		return
	}
	p.renderRecoverPassword(w, r, t, f, http.StatusOK, recoverPasswordData{Flow: id, Code: strings.Join(strings.Fields(code), "")}, "")
}

// handleRecoverLinkForm is GET /t/{tenant}/recover/password?token=: the emailed link, in any browser. It
// only shows the form: a GET changes nothing, so mail scanners that open links do not use them up.
func (p *Pages) handleRecoverLinkForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	token := r.URL.Query().Get("token")
	f, err := p.identity.RecoveryFlowByLink(r.Context(), t.ID, token)
	if err != nil {
		if !errors.Is(err, identity.ErrFlowInvalid) {
			p.serverError(w, r, t, err)
			return
		}
		p.recoverInvalid(w, r, t)
		return
	}
	p.renderRecoverPassword(w, r, t, f, http.StatusOK, recoverPasswordData{Token: token}, "")
}

func (p *Pages) renderRecoverPassword(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, status int, d recoverPasswordData, pwErr string) {
	pd := p.page(r, t, "")
	p.allowRedirectOf(w, r, t, f.LoginRequestID)
	if pwErr != "" {
		pd.FieldErrors = map[string]string{"password": pwErr}
		pd.Error = pwErr
	}
	d.Action = recoverPasswordPath(t, r.URL.Query().Get("lr"))
	pd.Title = "recover.password.title"
	pd.Data = d
	p.render(w, r, t, status, "recover_password", pd)
}

// handleRecoverPasswordSubmit is POST /t/{tenant}/recover/password[?lr=]: with the link's token or the
// browser's flow and code, set the new password (policy checked), end every session and grant of the
// account, lift its locks, sign the person in afresh here and continue the pending request.
func (p *Pages) handleRecoverPasswordSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	ctx := r.Context()
	var f store.Flow
	var d recoverPasswordData
	method := "link"
	if token := r.PostFormValue("token"); token != "" {
		var err error
		f, err = p.identity.RecoveryFlowByLink(ctx, t.ID, token)
		if errors.Is(err, identity.ErrFlowInvalid) {
			p.recoverInvalid(w, r, t)
			return
		}
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		d.Token = token
	} else {
		d.Flow, d.Code, method = r.PostFormValue("f"), r.PostFormValue("code"), "code"
		if f, ok = p.recoverCodeFlow(w, r, t, d.Flow, d.Code); !ok {
			return
		}
	}
	pd := p.page(r, t, "")
	password := r.PostFormValue("password")
	if len(password) > maxPasswordLen {
		password = password[:maxPasswordLen] // refused as too long by the policy, without hashing more
	}
	if password == "" {
		p.renderRecoverPassword(w, r, t, f, http.StatusUnprocessableEntity, d,
			fieldErrorText(pd, identity.FieldError{Field: "password", Code: identity.CodeRequired}))
		return
	}
	pw, err := p.identity.PrepareRecoveryPassword(ctx, f, password)
	var pe *identity.PasswordError
	switch {
	case errors.As(err, &pe):
		p.renderRecoverPassword(w, r, t, f, http.StatusUnprocessableEntity, d, passwordReasonText(pd, t, pe.Reason))
		return
	case errors.Is(err, identity.ErrFlowInvalid):
		p.recoverInvalid(w, r, t)
		return
	case err != nil:
		p.serverError(w, r, t, err)
		return
	}

	// The pending request resumes only in the browser it belongs to (the link may be opened elsewhere).
	var lr *store.LoginRequest
	if f.LoginRequestID != "" {
		l, err := p.db.GetLoginRequest(ctx, t.ID, f.LoginRequestID)
		if err == nil && l.Status == store.LoginPending && p.now().Before(l.ExpiresAt) &&
			subtle.ConstantTimeCompare(l.BrowserHash, p.sessions.BrowserHash(w, r, t.ID)) == 1 {
			lr = &l
		}
	}
	next := stepDone
	if lr != nil {
		u, err := p.identity.GetUser(ctx, t.ID, f.UserID)
		if err != nil {
			p.serverError(w, r, t, fmt.Errorf("sign in after recovery: %w", err))
			return
		}
		u.SignIns++ // this sign-in, counted with the session below
		if next, ok = p.checkNext(w, r, t, *lr, u); !ok {
			return
		}
	}
	ip := web.ClientIP(r)
	device := p.setDeviceCookie(w, r, t.ID)
	now := p.now()
	_, err = p.sessions.StartAfter(ctx, w, r, t, f.UserID, passwordAMR, passwordACR,
		func(tx *store.Tx) error { return p.identity.CompleteRecovery(ctx, tx, f, pw, method, pd.Lang, now) },
		func(tx *store.Tx, s store.Session) error {
			if _, err := identity.RememberDevice(ctx, tx, t.ID, f.UserID, device, r.UserAgent(), ip, now, now.Add(p.deviceTTL)); err != nil {
				return err
			}
			if lr != nil && next == stepDone {
				return completeRequest(ctx, tx, *lr, s, grantedScopes(*lr), ip)
			}
			return nil
		})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, identity.ErrFlowInvalid) {
		p.recoverInvalid(w, r, t)
		return
	}
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("complete recovery: %w", err))
		return
	}
	p.metrics.Login("success")
	if lr == nil {
		seeOther(w, accountPath(t))
		return
	}
	seeOther(w, next.path(t, *lr))
}
