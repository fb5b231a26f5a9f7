package login

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// The account pages that turn on codes sent by SMS (/t/{tenant}/account/phone: a number in E.164, proven
// by a texted code before it counts) and by email (/t/{tenant}/account/email-codes).

// maxPhoneLen bounds the typed phone number.
const maxPhoneLen = 40

// phoneData is the Data of account_phone.html.
type phoneData struct {
	Action string // number form, or code form when Flow is set
	Flow   string
	Phone  string
}

// handlePhoneForm is GET /t/{tenant}/account/phone[?flow=].
func (p *Pages) handlePhoneForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	_, u, ok := p.accountUser(w, r, t)
	if !ok || !p.smsAllowed(w, r, t) {
		return
	}
	d := phoneData{Action: accountPath(t) + "/phone"}
	if id := r.URL.Query().Get("flow"); id != "" {
		f, err := p.identity.PhoneFlow(r.Context(), t.ID, u.ID, id, p.sessions.BrowserHash(w, r, t.ID))
		if err != nil {
			seeOther(w, accountPath(t)+"/phone")
			return
		}
		d.Flow, d.Phone = f.ID, maskPhone(identity.PhoneOf(f.Data))
		d.Action = accountPath(t) + "/phone/verify?flow=" + url.QueryEscape(f.ID)
	}
	p.renderPhone(w, r, t, d, http.StatusOK, refusal{})
}

func (p *Pages) renderPhone(w http.ResponseWriter, r *http.Request, t store.Tenant, d phoneData, status int, why refusal) {
	base := p.page(r, t, "")
	why.apply(&base)
	base.Title = "phone.title"
	base.Data = d
	p.render(w, r, t, status, "account_phone", base)
}

// smsAllowed answers 404 when the tenant does not allow SMS codes or no SMS provider is configured.
func (p *Pages) smsAllowed(w http.ResponseWriter, r *http.Request, t store.Tenant) bool {
	if !t.Settings.MFA.Allows(config.FactorSMS) || p.identity.SendSMS == nil {
		p.message(w, r, t, http.StatusNotFound, "phone.title", "phone.not_offered", link{Href: accountPath(t), Text: "account.title"})
		return false
	}
	return true
}

// handlePhoneSubmit is POST /t/{tenant}/account/phone with the number: a code is texted to it.
func (p *Pages) handlePhoneSubmit(w http.ResponseWriter, r *http.Request) {
	t, _, u, ok := p.accountPost(w, r)
	if !ok || !p.smsAllowed(w, r, t) {
		return
	}
	typed := strings.TrimSpace(r.PostFormValue("phone"))
	phone, err := identity.NormalizePhone(typed, "")
	if len(typed) > maxPhoneLen {
		err = identity.ErrPhoneInvalid
	}
	if err != nil {
		p.renderPhone(w, r, t, phoneData{Action: accountPath(t) + "/phone", Phone: typed}, http.StatusUnprocessableEntity,
			refuse("phone", "phone.error.format"))
		return
	}
	f, err := p.identity.StartPhone(r.Context(), t, u.ID, phone, p.sessions.BrowserHash(w, r, t.ID), p.smsText(r, t, ""))
	var te *identity.ThrottledError
	switch {
	case errors.As(err, &te), errors.Is(err, identity.ErrTooManySends):
		p.renderPhone(w, r, t, phoneData{Action: accountPath(t) + "/phone", Phone: typed}, http.StatusTooManyRequests,
			refuse("", "mfa.error.too_many_sends"))
		return
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("start phone: %w", err))
		return
	}
	seeOther(w, accountPath(t)+"/phone?flow="+url.QueryEscape(f.ID))
}

// handlePhoneVerify is POST /t/{tenant}/account/phone/verify?flow= with the texted code.
func (p *Pages) handlePhoneVerify(w http.ResponseWriter, r *http.Request) {
	t, _, u, ok := p.accountPost(w, r)
	if !ok || !p.smsAllowed(w, r, t) {
		return
	}
	ctx := r.Context()
	f, err := p.identity.PhoneFlow(ctx, t.ID, u.ID, r.URL.Query().Get("flow"), p.sessions.BrowserHash(w, r, t.ID))
	if err != nil {
		seeOther(w, accountPath(t)+"/phone")
		return
	}
	d := phoneData{Action: accountPath(t) + "/phone/verify?flow=" + url.QueryEscape(f.ID), Flow: f.ID,
		Phone: maskPhone(identity.PhoneOf(f.Data))}
	codeError := func(key string, status int) { p.renderPhone(w, r, t, d, status, refuse("code", key)) }
	code := strings.Join(strings.Fields(r.PostFormValue("code")), "")
	if code == "" {
		codeError("mfa.error.code_missing", http.StatusUnprocessableEntity)
		return
	}
	err = p.identity.CheckCode(ctx, f, code, web.ClientIP(r))
	switch {
	case err == nil:
	case errors.Is(err, identity.ErrWrongCode):
		codeError("mfa.error.code_wrong", http.StatusUnprocessableEntity)
		return
	case errors.Is(err, identity.ErrTooManyCodes), errors.Is(err, identity.ErrFlowInvalid):
		seeOther(w, accountPath(t)+"/phone")
		return
	default:
		var te *identity.ThrottledError
		if errors.As(err, &te) {
			codeError("mfa.error.code_wrong", http.StatusTooManyRequests)
			return
		}
		p.serverError(w, r, t, err)
		return
	}
	if _, err := p.identity.ConfirmPhone(ctx, f); err != nil {
		if errors.Is(err, identity.ErrFlowInvalid) {
			seeOther(w, accountPath(t)+"/phone")
			return
		}
		p.serverError(w, r, t, err)
		return
	}
	seeOther(w, accountPath(t)+"/signin?done=phone_added")
}

// handleEmailCodes is POST /t/{tenant}/account/email-codes with on=1 (turn email codes on as a second
// factor) or on=0 (off, which needs a recent sign-in like removing any factor).
func (p *Pages) handleEmailCodes(w http.ResponseWriter, r *http.Request) {
	t, s, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	if !t.Settings.MFA.Allows(config.FactorEmail) {
		p.message(w, r, t, http.StatusNotFound, "account.title", "phone.not_offered", link{Href: accountPath(t), Text: "account.title"})
		return
	}
	on := r.PostFormValue("on") == "1"
	if !on && !p.requireRecent(w, r, t, s, accountPath(t)+"/signin") {
		return
	}
	err := p.identity.SetEmailCodes(r.Context(), t.ID, u, on)
	if errors.Is(err, identity.ErrEmailUnverified) {
		seeOther(w, accountPath(t)+"/signin?done=email_unverified")
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	done := "email_codes_off"
	if on {
		done = "email_codes_on"
	}
	seeOther(w, accountPath(t)+"/signin?done="+done)
}

// phoneRoutes registers the pages.
func (p *Pages) phoneRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/account/phone", p.handlePhoneForm)
	mux.HandleFunc("POST /t/{tenant}/account/phone", p.handlePhoneSubmit)
	mux.HandleFunc("POST /t/{tenant}/account/phone/verify", p.handlePhoneVerify)
	mux.HandleFunc("POST /t/{tenant}/account/email-codes", p.handleEmailCodes)
}
