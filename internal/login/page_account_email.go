package login

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// emailChangeView is the change-email part of the Security section: the form, or, while a change waits
// for its code (?f=), the code input.
type emailChangeView struct {
	StartPath  string
	NewEmail   string // kept after a refused submission; the address the code went to
	FlowID     string // set while the code input is shown
	VerifyPath string
	RestartURL string
}

// emailConfirmData is the Data of account_email_confirm.html (the emailed link).
type emailConfirmData struct {
	Action, Token, Email string
}

func emailStartPath(t store.Tenant) string { return accountPath(t) + "/email" }

func emailVerifyPath(t store.Tenant, flowID string) string {
	return accountPath(t) + "/email/verify?f=" + url.QueryEscape(flowID)
}

func emailConfirmPath(t store.Tenant) string { return accountPath(t) + "/email/confirm" }

// emailChangeSection fills d's change-email part: the code input when flowID names the user's pending
// change, else the form.
func (p *Pages) emailChangeSection(r *http.Request, t store.Tenant, u store.User, d *accountData, flowID string) error {
	v := emailChangeView{StartPath: emailStartPath(t), RestartURL: accountPath(t) + "/security"}
	if flowID != "" && len(flowID) <= maxIDLen {
		f, err := p.identity.EmailChangeFlow(r.Context(), t.ID, u.ID, flowID)
		switch {
		case err == nil:
			v.FlowID, v.NewEmail, v.VerifyPath = f.ID, f.Email, emailVerifyPath(t, f.ID)
		case !errors.Is(err, identity.ErrFlowInvalid):
			return err
		}
	}
	d.EmailChange = v
	return nil
}

// handleEmailChangeSubmit is POST /t/{tenant}/account/email with new_email and password (the current
// one): identity.Service.StartEmailChange sends a code and a link to the new address, and the browser
// goes to the Security section's code input (?f=). The answer is the same whether or not another account
// has the address.
func (p *Pages) handleEmailChangeSubmit(w http.ResponseWriter, r *http.Request) {
	t, cur, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	pd := p.page(r, t, "")
	newEmail, password := strings.TrimSpace(r.PostFormValue("new_email")), r.PostFormValue("password")
	if len(newEmail) > maxEmailLen {
		newEmail = newEmail[:maxEmailLen]
	}
	fe := map[string]string{}
	status := http.StatusUnprocessableEntity
	var id string
	var err error
	if len(password) > maxPasswordLen { // no password of ours: not worth hashing
		fe["password"] = pd.T("console.password.wrong_current")
	} else {
		id, err = p.identity.StartEmailChange(ctx, t, identity.EmailChange{TenantID: t.ID, UserID: u.ID, NewEmail: newEmail,
			Current: password, IP: web.ClientIP(r), DeviceID: p.deviceID(r, t.ID), Lang: pd.Lang,
			LinkBase: p.publicURL + emailConfirmPath(t) + "?token="})
	}
	var ce *identity.EmailChangeError
	var te *identity.ThrottledError
	switch {
	case len(fe) > 0:
	case errors.As(err, &ce):
		for _, e := range ce.Fields {
			switch {
			case e.Field == "current_password":
				fe["password"] = pd.T("console.password.current_required")
			case e.Code == identity.CodeSameEmail:
				fe["new_email"] = pd.T("emailchange.error.same_email")
			case e.Code == identity.CodeDomainNotAllowed:
				fe["new_email"] = pd.T("emailchange.error.domain_not_allowed")
			default:
				fe[e.Field] = fieldErrorText(pd, e)
			}
		}
	case errors.As(err, &te):
		p.log.InfoContext(ctx, "email change refused: throttled", "tenant", t.ID, "user_id", u.ID, "budget", te.Budget,
			"request_id", web.RequestIDFrom(ctx))
		w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		status = http.StatusTooManyRequests
		pd.Error = pd.T("emailchange.throttled", waitText(pd, te.RetryAfter))
	case errors.Is(err, identity.ErrInvalidCredentials):
		p.log.InfoContext(ctx, "email change refused: wrong current password", "tenant", t.ID, "user_id", u.ID,
			"request_id", web.RequestIDFrom(ctx))
		fe["password"] = pd.T("console.password.wrong_current")
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("start email change: %w", err))
		return
	default:
		seeOther(w, accountPath(t)+"/security?f="+url.QueryEscape(id))
		return
	}
	if pd.Error == "" {
		pd.Error = errorSummary(fe, "new_email", "password")
	}
	p.renderSecurity(w, r, t, cur, u, pd, status, fe, "", newEmail)
}

// renderSecurity renders the Security section after a refused change-email step: the form (with
// newEmail kept) or, with flowID, the code input.
func (p *Pages) renderSecurity(w http.ResponseWriter, r *http.Request, t store.Tenant, cur store.Session, u store.User,
	pd web.PageData, status int, fe map[string]string, flowID, newEmail string) {
	d, err := p.accountView(r.Context(), pd, t, cur, u, "security")
	if err == nil {
		err = p.emailChangeSection(r, t, u, &d, flowID)
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if d.EmailChange.FlowID == "" {
		d.EmailChange.NewEmail = newEmail
	}
	pd.Title, pd.FieldErrors, pd.Data = sectionTitle("security"), fe, d
	p.render(w, r, t, status, "account", pd)
}

// handleEmailCodeSubmit is POST /t/{tenant}/account/email/verify?f= with code: the right code changes
// the address (identity.Service.ConfirmEmailChange); a wrong one is counted on the flow (the fifth ends
// it) and on the client IP.
func (p *Pages) handleEmailCodeSubmit(w http.ResponseWriter, r *http.Request) {
	t, cur, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.URL.Query().Get("f")
	if id == "" || len(id) > maxIDLen {
		seeOther(w, accountPath(t)+"/security?error=email_change_ended")
		return
	}
	f, err := p.identity.EmailChangeFlow(ctx, t.ID, u.ID, id)
	if errors.Is(err, identity.ErrFlowInvalid) {
		seeOther(w, accountPath(t)+"/security?error=email_change_ended")
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	pd := p.page(r, t, "")
	code := r.PostFormValue("code")
	if strings.TrimSpace(code) == "" {
		fe := map[string]string{"code": pd.T("emailchange.error.code_missing")}
		pd.Error = fe["code"]
		p.renderSecurity(w, r, t, cur, u, pd, http.StatusUnprocessableEntity, fe, id, "")
		return
	}
	if len(code) > maxCodeLen {
		code = ""
	}
	err = p.identity.CheckCode(ctx, f, code, web.ClientIP(r))
	var te *identity.ThrottledError
	switch {
	case errors.Is(err, identity.ErrWrongCode):
		fe := map[string]string{"code": pd.T("emailchange.error.code_wrong")}
		pd.Error = fe["code"]
		p.renderSecurity(w, r, t, cur, u, pd, http.StatusUnprocessableEntity, fe, id, "")
		return
	case errors.Is(err, identity.ErrTooManyCodes), errors.Is(err, identity.ErrFlowInvalid):
		seeOther(w, accountPath(t)+"/security?error=email_change_ended")
		return
	case errors.As(err, &te):
		w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		pd.Error = pd.T("emailchange.throttled", waitText(pd, te.RetryAfter))
		p.renderSecurity(w, r, t, cur, u, pd, http.StatusTooManyRequests, nil, id, "")
		return
	case err != nil:
		p.serverError(w, r, t, err)
		return
	}
	p.confirmEmailChange(w, r, t, f, "code", pd.Lang)
}

// confirmEmailChange runs ConfirmEmailChange and sends the browser back to the Security section with its
// outcome.
func (p *Pages) confirmEmailChange(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, method, lang string) {
	err := p.identity.ConfirmEmailChange(r.Context(), f, method, lang)
	switch {
	case errors.Is(err, identity.ErrEmailUnavailable):
		p.log.InfoContext(r.Context(), "email change refused: address unavailable", "tenant", t.ID, "user_id", f.UserID,
			"request_id", web.RequestIDFrom(r.Context()))
		seeOther(w, accountPath(t)+"/security?error=email_unavailable")
	case errors.Is(err, identity.ErrFlowInvalid):
		seeOther(w, accountPath(t)+"/security?error=email_change_ended")
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("confirm email change: %w", err))
	default:
		seeOther(w, accountPath(t)+"/security?done=email_changed")
	}
}

// emailLinkFlow is the email_change flow of the link token for the signed-in user u, or false after
// answering: a link that cannot be used, or one of another account.
func (p *Pages) emailLinkFlow(w http.ResponseWriter, r *http.Request, t store.Tenant, u store.User, token string) (store.Flow, bool) {
	f, err := p.identity.EmailChangeFlowByLink(r.Context(), t.ID, token)
	if err != nil && !errors.Is(err, identity.ErrFlowInvalid) {
		p.serverError(w, r, t, err)
		return f, false
	}
	if err != nil || f.Kind != store.FlowEmailChange || f.UserID != u.ID {
		p.message(w, r, t, http.StatusBadRequest, "emailchange.invalid.title", "emailchange.invalid.text",
			link{Href: accountPath(t) + "/security", Text: "emailchange.to_security"})
		return f, false
	}
	return f, true
}

// handleEmailConfirmForm is GET /t/{tenant}/account/email/confirm?token=: the emailed link. It needs the
// account's session in this browser (without one it asks to sign in and open the link again) and only
// shows a button: a GET changes nothing, so mail scanners that open links do not use them up.
func (p *Pages) handleEmailConfirmForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	_, u, signedIn, err := p.signedInUser(r.Context(), r, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if !signedIn {
		p.message(w, r, t, http.StatusUnauthorized, "emailchange.sign_in.title", "emailchange.sign_in.text",
			link{Href: loginPath(t, ""), Text: "login.start_again.sign_in"})
		return
	}
	token := r.URL.Query().Get("token")
	f, ok := p.emailLinkFlow(w, r, t, u, token)
	if !ok {
		return
	}
	pd := p.page(r, t, "")
	pd.Title = "emailchange.confirm.title"
	pd.Data = emailConfirmData{Action: emailConfirmPath(t), Token: token, Email: f.Email}
	p.render(w, r, t, http.StatusOK, "account_email_confirm", pd)
}

// handleEmailConfirmSubmit is POST /t/{tenant}/account/email/confirm with token: the link's button,
// for the signed-in owner of the change.
func (p *Pages) handleEmailConfirmSubmit(w http.ResponseWriter, r *http.Request) {
	t, _, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	f, ok := p.emailLinkFlow(w, r, t, u, r.PostFormValue("token"))
	if !ok {
		return
	}
	p.confirmEmailChange(w, r, t, f, "link", p.page(r, t, "").Lang)
}
