package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// The second-factor page: /t/{tenant}/login/mfa?flow=ID[&method=...]. It offers the methods the user has
// (a passkey, an authenticator app, a code by SMS or email, a recovery code), one at a time with links to
// the others, and "Remember this device". Each form posts to the same URL.

// Second-factor methods as the page names them (?method=).
const (
	mfaPasskey  = "passkey"
	mfaTOTP     = "totp"
	mfaSMS      = "sms"
	mfaEmail    = "email"
	mfaRecovery = "recovery"
)

// mfaData is the Data of mfa.html.
type mfaData struct {
	Action      string // the form's URL (this page)
	SendAction  string // where "send me a code" posts
	Flow        string
	Method      string    // the method shown
	Others      []mfaLink // the other methods
	Reason      string    // message key: why a second factor is asked
	Sent        bool      // a code was sent (email, sms)
	Destination string    // the masked address or number it went to
	Remember    bool      // offer "Remember this device"
	RememberDay int
	StepUp      bool // the user is signed in; this proves more
	// Passkey is the "Sign in with a passkey" button in second-factor mode (nil when the method shown is
	// not the passkey, or passkeys cannot work on this host).
	Passkey *passkeySignin
}

// mfaLink is a link to another method.
type mfaLink struct {
	Href, Text string
}

// mfaMethods are the second-factor methods u can use to reach want ("" or "2": any; "phr": a passkey),
// in the order the page prefers them.
func (p *Pages) mfaMethods(r *http.Request, t store.Tenant, u store.User, st mfaState) ([]string, map[string]store.Factor, error) {
	ctx := r.Context()
	factors, err := p.usableFactors(ctx, t, st.Policy, u)
	if err != nil {
		return nil, nil, err
	}
	byKind := map[string]store.Factor{}
	for _, f := range factors {
		if _, ok := byKind[f.Kind]; !ok {
			byKind[f.Kind] = f
		}
	}
	var out []string
	add := func(m string, ok bool) {
		if ok {
			out = append(out, m)
		}
	}
	_, passkey := byKind[store.FactorWebAuthn]
	add(mfaPasskey, passkey && p.identity.PasskeysUsable(t)) // browsers refuse passkeys on other hosts
	if st.Want == session.ACRPhishingResistant {
		return out, byKind, nil // only a passkey reaches it
	}
	_, totp := byKind[store.FactorTOTP]
	add(mfaTOTP, totp)
	_, sms := byKind[store.FactorSMS]
	add(mfaSMS, sms && p.identity.SendSMS != nil)
	_, email := byKind[store.FactorEmail]
	add(mfaEmail, email && u.Email != "")
	if len(out) > 0 {
		left, _, err := p.db.RecoveryCodesLeft(ctx, t.ID, u.ID)
		if err != nil {
			return nil, nil, err
		}
		add(mfaRecovery, left > 0)
	}
	return out, byKind, nil
}

// mfaFlow loads the MFA flow of ?flow= for this browser, its user and its state; on failure it answers.
func (p *Pages) mfaFlow(w http.ResponseWriter, r *http.Request, t store.Tenant) (store.Flow, store.User, mfaState, bool) {
	var st mfaState
	id := r.URL.Query().Get("flow")
	if id == "" || len(id) > maxIDLen {
		p.message(w, r, t, http.StatusBadRequest, "login.bad_link.title", "login.bad_link.incomplete", startAgainLinks(t, "")...)
		return store.Flow{}, store.User{}, st, false
	}
	ctx := r.Context()
	f, err := p.identity.SignInFlow(ctx, store.FlowMFA, t.ID, id, p.sessions.BrowserHash(w, r, t.ID))
	if errors.Is(err, identity.ErrFlowInvalid) {
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "mfa.expired", startAgainLinks(t, "")...)
		return f, store.User{}, st, false
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return f, store.User{}, st, false
	}
	u, err := p.identity.GetUser(ctx, t.ID, f.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "mfa.expired", startAgainLinks(t, "")...)
		return f, u, st, false
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return f, u, st, false
	}
	_ = json.Unmarshal([]byte(f.Data), &st)
	return f, u, st, true
}

// handleMFAForm is GET /t/{tenant}/login/mfa?flow=[&method=][&sent=1].
func (p *Pages) handleMFAForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	f, u, st, ok := p.mfaFlow(w, r, t)
	if !ok {
		return
	}
	p.renderMFA(w, r, t, f, u, st, r.URL.Query().Get("method"), http.StatusOK, refusal{})
}

// renderMFA renders the page for method (empty or unavailable: the preferred one), with why the last
// answer was refused, if it was.
func (p *Pages) renderMFA(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, u store.User, st mfaState,
	method string, status int, why refusal) {
	methods, byKind, err := p.mfaMethods(r, t, u, st)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if len(methods) == 0 {
		// Nothing the user has can reach what is asked (an essential acr, or every factor removed meanwhile).
		if st.Essential || st.Want == session.ACRPhishingResistant {
			p.unmet(w, r, t, p.flowRequest(r, t, f))
			return
		}
		p.message(w, r, t, http.StatusForbidden, "mfa.none.title", "mfa.none.text", startAgainLinks(t, "")...)
		return
	}
	if !slices.Contains(methods, method) {
		method = methods[0]
	}
	pd := p.flowPage(w, r, t, f)
	why.apply(&pd)
	d := mfaData{Action: mfaPath(t, f.ID), SendAction: tenantPath(t) + "/login/mfa/send?flow=" + url.QueryEscape(f.ID),
		Flow: f.ID, Method: method, Reason: "mfa.reason.policy",
		// The code form is shown after a send, and again after a wrong code.
		Sent:        r.URL.Query().Get("sent") == "1" || (r.Method == http.MethodPost && r.PostFormValue("code") != ""),
		RememberDay: t.Settings.MFA.RememberDays(), StepUp: st.SessionID != ""}
	d.Remember = d.RememberDay > 0
	if st.Want != "" {
		d.Reason = "mfa.reason.acr"
	}
	switch method {
	case mfaPasskey:
		d.Passkey = p.passkeyMFA(w, t, f.ID)
	case mfaEmail:
		d.Destination = maskEmail(u.Email)
	case mfaSMS:
		d.Destination = maskPhone(smsNumber(byKind[store.FactorSMS]))
	}
	for _, m := range methods {
		if m != method {
			d.Others = append(d.Others, mfaLink{Href: d.Action + "&method=" + m, Text: "mfa.use." + m})
		}
	}
	pd.Title = "mfa.title"
	pd.Data = d
	p.render(w, r, t, status, "mfa", pd)
}

// flowRequest is the login request flow f resumes (nil when none, or when it is gone).
func (p *Pages) flowRequest(r *http.Request, t store.Tenant, f store.Flow) *store.LoginRequest {
	if f.LoginRequestID == "" {
		return nil
	}
	lr, err := p.db.GetLoginRequest(r.Context(), t.ID, f.LoginRequestID)
	if err != nil {
		return nil
	}
	return &lr
}

// flowPage is the page data of a step of flow f: in the language its login request started in, and
// allowed to post on to the request's client (the answer may end in a redirect there, and browsers
// apply a form's form-action to that redirect too).
func (p *Pages) flowPage(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow) web.PageData {
	lang := ""
	if lr := p.flowRequest(r, t, f); lr != nil {
		lang = lr.Params.Lang
		if lr.Kind == store.LoginKindAuthorize {
			web.AllowFormAction(w, lr.Params.RedirectURI)
		}
	}
	return p.page(r, t, lang)
}

// handleMFASend is POST /t/{tenant}/login/mfa/send?flow= with channel email or sms: a fresh code to the
// user's address or number.
func (p *Pages) handleMFASend(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	f, u, st, ok := p.mfaFlow(w, r, t)
	if !ok {
		return
	}
	method := r.PostFormValue("method")
	methods, byKind, err := p.mfaMethods(r, t, u, st)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if (method != mfaEmail && method != mfaSMS) || !slices.Contains(methods, method) {
		p.renderMFA(w, r, t, f, u, st, method, http.StatusBadRequest, refuse("", "mfa.error.method"))
		return
	}
	c := identity.CodeSend{Tenant: t, Flow: f, Channel: identity.ChannelEmail, To: u.Email, Lang: p.page(r, t, "").Lang}
	if lr := p.flowRequest(r, t, f); lr != nil && lr.Params.Lang != "" {
		c.Lang = lr.Params.Lang
	}
	if method == mfaSMS {
		c.Channel, c.To = identity.ChannelSMS, smsNumber(byKind[store.FactorSMS])
		c.SMSText = p.smsText(r, t, c.Lang)
	}
	err = p.identity.SendSignInCode(r.Context(), c)
	var te *identity.ThrottledError
	switch {
	case errors.As(err, &te), errors.Is(err, identity.ErrTooManySends):
		p.renderMFA(w, r, t, f, u, st, method, http.StatusTooManyRequests, refuse("", "mfa.error.too_many_sends"))
		return
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("send sign-in code: %w", err))
		return
	}
	seeOther(w, mfaPath(t, f.ID)+"&method="+method+"&sent=1")
}

// handleMFASubmit is POST /t/{tenant}/login/mfa?flow= with method and code (and remember).
func (p *Pages) handleMFASubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	f, u, st, ok := p.mfaFlow(w, r, t)
	if !ok {
		return
	}
	ctx := r.Context()
	method := r.PostFormValue("method")
	code := strings.Join(strings.Fields(r.PostFormValue("code")), "")
	remember := r.PostFormValue("remember") == "1"
	// Each check below proves only what the user has (a confirmed app, an unused recovery code, the code
	// this flow sent); what is left to refuse is a method the tenant or the requested class rules out.
	if !mfaMethodAllowed(t, st, method) {
		p.renderMFA(w, r, t, f, u, st, method, http.StatusBadRequest, refuse("", "mfa.error.method"))
		return
	}
	if code == "" || len(code) > 64 {
		p.renderMFA(w, r, t, f, u, st, method, http.StatusUnprocessableEntity, refuse("code", "mfa.error.code_missing"))
		return
	}
	var proved string
	var err error
	var take func(tx *store.Tx) error
	ip := web.ClientIP(r)
	switch method {
	case mfaEmail, mfaSMS:
		err = p.identity.CheckCode(ctx, f, code, ip)
		proved = session.MethodEmail
		if method == mfaSMS {
			proved = session.MethodSMS
		}
	default:
		proved, take, err = p.checkFactorCode(r, t, u, method, code)
	}
	var te *identity.ThrottledError
	switch {
	case err == nil:
	case errors.Is(err, identity.ErrTooManyCodes), errors.Is(err, identity.ErrFlowInvalid):
		p.failMFA(r, t, u, method)
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "mfa.error.too_many_codes", startAgainLinks(t, "")...)
		return
	case errors.As(err, &te):
		p.failMFA(r, t, u, method)
		w.Header().Set("Retry-After", fmt.Sprint(te.RetryAfterSeconds()))
		p.renderMFA(w, r, t, f, u, st, method, http.StatusTooManyRequests,
			refuse("code", "mfa.error.throttled", waitText(p.page(r, t, ""), te.RetryAfter)))
		return
	case errors.Is(err, identity.ErrWrongCode):
		p.failMFA(r, t, u, method)
		p.renderMFA(w, r, t, f, u, st, method, http.StatusUnprocessableEntity, refuse("code", "mfa.error.code_wrong"))
		return
	default:
		p.serverError(w, r, t, err)
		return
	}
	p.secondFactorTaking(w, r, t, f, u, remember, take, proved)
}

// failMFA records a wrong second factor.
func (p *Pages) failMFA(r *http.Request, t store.Tenant, u store.User, method string) {
	ctx := r.Context()
	p.metrics.Login("mfa_failure")
	if err := p.db.AppendEvent(ctx, events.MFAFailed(t.ID, u.ID, web.ClientIP(r), method)); err != nil {
		p.log.WarnContext(ctx, "mfa failure event", "tenant", t.ID, "err", err, "request_id", web.RequestIDFrom(ctx))
	}
}

// smsNumber is the E.164 number of an SMS factor.
func smsNumber(f store.Factor) string {
	var d struct {
		Phone string `json:"phone"`
	}
	_ = json.Unmarshal([]byte(f.Data), &d)
	return d.Phone
}

// maskEmail shows enough of an address to recognise it: "a•••@example.com".
func maskEmail(s string) string {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" {
		return s
	}
	r := []rune(local)
	return string(r[0]) + "•••@" + domain
}

// maskPhone shows the last two digits of a number: "+•••••••••42".
func maskPhone(s string) string {
	if len(s) < 4 {
		return s
	}
	return "+" + strings.Repeat("•", len(s)-3) + s[len(s)-2:]
}

// mfaRoutes registers the second-factor page.
func (p *Pages) mfaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/login/mfa", p.handleMFAForm)
	mux.HandleFunc("POST /t/{tenant}/login/mfa", p.handleMFASubmit)
	mux.HandleFunc("POST /t/{tenant}/login/mfa/send", p.handleMFASend)
}

// mfaMethodAllowed reports whether a code of method may answer flow state st in tenant t: the tenant
// allows its kind, and the class asked for is not phishing-resistant (only a passkey reaches that).
// Recovery codes stand in for any factor the tenant allows.
func mfaMethodAllowed(t store.Tenant, st mfaState, method string) bool {
	if st.Want == session.ACRPhishingResistant {
		return false
	}
	switch method {
	case mfaTOTP:
		return t.Settings.MFA.Allows(config.FactorTOTP)
	case mfaEmail:
		return t.Settings.MFA.Allows(config.FactorEmail)
	case mfaSMS:
		return t.Settings.MFA.Allows(config.FactorSMS)
	case mfaRecovery:
		return true
	}
	return false
}
