package login

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// The setup asked for at sign-in, /t/{tenant}/login/mfa/setup[?lr=]: under a required (or adaptive) MFA
// policy a user with no second factor signs in with the first one, and before the request completes
// sets one up here: an authenticator app on this page, or a passkey or phone number on their own pages.
// Proving the new factor steps the session up and the request goes on.

// mfaSetupData is the Data of mfa_setup.html.
type mfaSetupData struct {
	Enrol        totpView
	OfferTOTP    bool
	PasskeysPath string // empty: not offered
	PhonePath    string // empty: not offered
}

func mfaSetupPath(t store.Tenant, lrID string) string {
	p := tenantPath(t) + "/login/mfa/setup"
	if lrID != "" {
		p += "?lr=" + url.QueryEscape(lrID)
	}
	return p
}

// handleMFASetupForm is GET /t/{tenant}/login/mfa/setup[?lr=].
func (p *Pages) handleMFASetupForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}
	_, u, ok := p.accountUser(w, r, t)
	if !ok {
		return
	}
	p.renderMFASetup(w, r, t, lr, u, http.StatusOK, refusal{}, "")
}

func (p *Pages) renderMFASetup(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, u store.User,
	status int, why refusal, factorID string) {
	ctx := r.Context()
	lrID, lang := requestRef(lr)
	base := p.page(r, t, lang)
	why.apply(&base)
	mfa := t.Settings.MFA
	d := mfaSetupData{OfferTOTP: mfa.Allows(config.FactorTOTP)}
	if mfa.Allows(config.FactorWebAuthn) {
		d.PasskeysPath = accountPath(t) + "/passkeys"
	}
	if mfa.Allows(config.FactorSMS) && p.identity.SendSMS != nil {
		d.PhonePath = accountPath(t) + "/phone"
	}
	if d.OfferTOTP {
		var e identity.TOTPEnrolment
		var err error
		if factorID != "" {
			e, err = p.identity.TOTPEnrolmentOf(ctx, t, u, factorID)
		}
		if factorID == "" || errors.Is(err, identity.ErrEnrolmentUnknown) {
			e, err = p.identity.BeginTOTP(ctx, t, u)
		}
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		if d.Enrol, err = newTOTPView(base, e, mfaSetupPath(t, lrID)); err != nil {
			p.serverError(w, r, t, err)
			return
		}
	}
	if lr != nil && lr.Kind == store.LoginKindAuthorize {
		web.AllowFormAction(w, lr.Params.RedirectURI)
	}
	web.NoStore(w) // the page holds the seed
	base.Title, base.Data = "mfa.setup.title", d
	p.render(w, r, t, status, "mfa_setup", base)
}

// handleMFASetupSubmit is POST /t/{tenant}/login/mfa/setup[?lr=] with factor_id and code: the new
// authenticator app's first code confirms it and steps the session up.
func (p *Pages) handleMFASetupSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}
	s, u, ok := p.accountUser(w, r, t)
	if !ok {
		return
	}
	ctx := r.Context()
	id, code := r.PostFormValue("factor_id"), strings.TrimSpace(r.PostFormValue("code"))
	codeErr := func(key string) {
		p.renderMFASetup(w, r, t, lr, u, http.StatusUnprocessableEntity, refuse("code", key), id)
	}
	if code == "" || id == "" || len(id) > maxIDLen {
		codeErr("mfa.totp.code_required")
		return
	}
	err := p.identity.ConfirmTOTP(ctx, t.ID, u.ID, id, code, "")
	switch {
	case err == nil:
	case errors.Is(err, identity.ErrInvalidCode):
		codeErr("mfa.totp.wrong_code")
		return
	case errors.Is(err, identity.ErrEnrolmentUnknown):
		seeOther(w, mfaSetupPath(t, r.URL.Query().Get("lr")))
		return
	default:
		p.serverError(w, r, t, err)
		return
	}
	p.stepUpDone(w, r, t, lr, s, false, session.Factors(p.now(), session.MethodOTP))
}

// mfaSetupRoutes registers the setup page.
func (p *Pages) mfaSetupRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/login/mfa/setup", p.handleMFASetupForm)
	mux.HandleFunc("POST /t/{tenant}/login/mfa/setup", p.handleMFASetupSubmit)
}
