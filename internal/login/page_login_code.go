package login

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Passwordless sign-in with a code: from the sign-in page, "Email me a sign-in code" (a link and a code)
// or "Text me a sign-in code" (a code) starts a flow bound to this browser; /t/{tenant}/login/code?flow=
// takes the code, /t/{tenant}/login/link?token= the emailed link (in the same browser). Either proves the
// address or the number, a first factor, and the sign-in goes on like any other (firstFactorDone).

// codeFlowState is the Data of a passwordless flow.
type codeFlowState struct {
	Channel string `json:"channel"` // identity.ChannelEmail or identity.ChannelSMS
}

// codeLoginData is the Data of login_code.html.
type codeLoginData struct {
	Action  string
	Channel string
}

// startCodeLogin answers the sign-in form's "Email me a sign-in code" / "Text me a sign-in code": a flow
// for the address, which sends only when the account exists and has the channel (the page reads the same
// either way).
func (p *Pages) startCodeLogin(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, email, method string) {
	ctx := r.Context()
	lrID, lang := requestRef(lr)
	if lang == "" {
		lang = p.page(r, t, "").Lang
	}
	f, u, err := p.identity.StartEmailLogin(ctx, t, email, p.sessions.BrowserHash(w, r, t.ID), lrID)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	channel := identity.ChannelEmail
	c := identity.CodeSend{Tenant: t, Flow: f, Channel: channel, To: u.Email, Lang: lang,
		LinkBase: p.publicURL + tenantPath(t) + "/login/link?token="}
	if method == config.MethodSMSCode {
		channel = identity.ChannelSMS
		c.Channel, c.LinkBase, c.To = channel, "", ""
		c.SMSText = p.smsText(r, t, lang)
		if f.UserID != "" {
			c.To, err = p.smsNumberOf(r, t, u)
			if err != nil {
				p.serverError(w, r, t, err)
				return
			}
			if c.To == "" { // no verified number: nothing to send, and the page reads the same
				f.UserID = ""
			}
		}
		if p.identity.SendSMS == nil {
			f.UserID = ""
		}
	}
	c.Flow = f
	data, _ := json.Marshal(codeFlowState{Channel: channel})
	if err := p.db.SetFlowData(ctx, t.ID, f.ID, string(data), p.now()); err != nil {
		p.serverError(w, r, t, err)
		return
	}
	err = p.identity.SendSignInCode(ctx, c)
	var te *identity.ThrottledError
	switch {
	case errors.As(err, &te), errors.Is(err, identity.ErrTooManySends):
		p.renderLogin(w, r, t, lr, http.StatusTooManyRequests, email, web.PageData{Error: "mfa.error.too_many_sends"})
		return
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("send sign-in code: %w", err))
		return
	}
	seeOther(w, codeLoginPath(t, f.ID))
}

// smsNumberOf is the number of u's SMS factor ("" when u has none).
func (p *Pages) smsNumberOf(r *http.Request, t store.Tenant, u store.User) (string, error) {
	fs, err := p.db.ListFactors(r.Context(), t.ID, u.ID)
	if err != nil {
		return "", err
	}
	for _, f := range fs {
		if f.Kind == store.FactorSMS && f.Confirmed() {
			return smsNumber(f), nil
		}
	}
	return "", nil
}

func codeLoginPath(t store.Tenant, flowID string) string {
	return tenantPath(t) + "/login/code?flow=" + url.QueryEscape(flowID)
}

// codeFlow loads the passwordless flow of ?flow= for this browser; on failure it answers.
func (p *Pages) codeFlow(w http.ResponseWriter, r *http.Request, t store.Tenant) (store.Flow, codeFlowState, bool) {
	var st codeFlowState
	f, ok := p.browserFlow(w, r, t, store.FlowEmailLogin, &st, "login.expired.title", "mfa.expired")
	return f, st, ok
}

// browserFlow loads this browser's pending flow of kind named by ?flow=, its Data into st. A missing or
// malformed id, and a flow that cannot be used (unknown, ended, expired, another browser's), are
// answered with a page (the latter with endedTitle and endedText) and ok false.
func (p *Pages) browserFlow(w http.ResponseWriter, r *http.Request, t store.Tenant, kind string, st any, endedTitle, endedText string) (store.Flow, bool) {
	id := r.URL.Query().Get("flow")
	if id == "" || len(id) > maxIDLen {
		p.message(w, r, t, http.StatusBadRequest, "login.bad_link.title", "login.bad_link.incomplete", startAgainLinks(t, "")...)
		return store.Flow{}, false
	}
	f, err := p.identity.SignInFlow(r.Context(), kind, t.ID, id, p.sessions.BrowserHash(w, r, t.ID))
	if errors.Is(err, identity.ErrFlowInvalid) {
		p.message(w, r, t, http.StatusBadRequest, endedTitle, endedText, startAgainLinks(t, "")...)
		return f, false
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return f, false
	}
	_ = json.Unmarshal([]byte(f.Data), st)
	return f, true
}

// handleCodeLoginForm is GET /t/{tenant}/login/code?flow=.
func (p *Pages) handleCodeLoginForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	f, st, ok := p.codeFlow(w, r, t)
	if !ok {
		return
	}
	p.renderCodeLogin(w, r, t, f, st, http.StatusOK, "")
}

func (p *Pages) renderCodeLogin(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, st codeFlowState, status int, codeErr string) {
	pd := p.flowPage(w, r, t, f)
	refuse("code", codeErr).apply(&pd)
	pd.Title = "login.code.title"
	pd.Data = codeLoginData{Action: codeLoginPath(t, f.ID), Channel: st.Channel}
	p.render(w, r, t, status, "login_code", pd)
}

// handleCodeLoginSubmit is POST /t/{tenant}/login/code?flow= with the code.
func (p *Pages) handleCodeLoginSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	f, st, ok := p.codeFlow(w, r, t)
	if !ok {
		return
	}
	code := strings.Join(strings.Fields(r.PostFormValue("code")), "")
	if code == "" {
		p.renderCodeLogin(w, r, t, f, st, http.StatusUnprocessableEntity, "mfa.error.code_missing")
		return
	}
	err := p.identity.CheckCode(r.Context(), f, code, web.ClientIP(r))
	var te *identity.ThrottledError
	switch {
	case err == nil && f.UserID != "":
	case errors.Is(err, identity.ErrTooManyCodes), errors.Is(err, identity.ErrFlowInvalid):
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "mfa.error.too_many_codes", startAgainLinks(t, "")...)
		return
	case errors.As(err, &te):
		w.Header().Set("Retry-After", fmt.Sprint(te.RetryAfterSeconds()))
		p.renderCodeLogin(w, r, t, f, st, http.StatusTooManyRequests, "mfa.error.code_wrong")
		return
	case err == nil, errors.Is(err, identity.ErrWrongCode):
		p.recordRiskFailure(r.Context(), r, t, f.Email)
		p.renderCodeLogin(w, r, t, f, st, http.StatusUnprocessableEntity, "mfa.error.code_wrong")
		return
	default:
		p.serverError(w, r, t, err)
		return
	}
	method := session.MethodEmail
	if st.Channel == identity.ChannelSMS {
		method = session.MethodSMS
	}
	p.codeLoginDone(w, r, t, f, method)
}

// handleCodeLoginLink is GET /t/{tenant}/login/link?token=: the emailed link, in the browser that asked.
func (p *Pages) handleCodeLoginLink(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	f, err := p.identity.SignInFlowByLink(r.Context(), t.ID, r.URL.Query().Get("token"))
	if errors.Is(err, identity.ErrFlowInvalid) || (err == nil && f.UserID == "") {
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "mfa.expired", startAgainLinks(t, "")...)
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	// The link signs in only the browser that asked for it: one forwarded or opened elsewhere proves the
	// mailbox but would hand a session to whoever holds it.
	if len(f.BrowserHash) == 0 || subtle.ConstantTimeCompare(f.BrowserHash, p.sessions.BrowserHash(w, r, t.ID)) != 1 {
		p.message(w, r, t, http.StatusBadRequest, "login.code.title", "login.code.other_browser", startAgainLinks(t, "")...)
		return
	}
	p.codeLoginDone(w, r, t, f, session.MethodEmail)
}

// codeLoginDone uses up passwordless flow f and signs its user in with method as the first factor.
func (p *Pages) codeLoginDone(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, method string) {
	ctx := r.Context()
	if err := p.identity.UseSignInFlow(ctx, f); err != nil {
		if errors.Is(err, store.ErrConflict) {
			p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "mfa.expired", startAgainLinks(t, "")...)
			return
		}
		p.serverError(w, r, t, err)
		return
	}
	u, err := p.identity.GetUser(ctx, t.ID, f.UserID)
	if err != nil || u.Disabled {
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "mfa.expired", startAgainLinks(t, "")...)
		return
	}
	lr := p.flowRequest(r, t, f)
	if lr != nil && lr.Status != store.LoginPending {
		lr = nil
	}
	p.firstFactorDone(w, r, t, lr, u, method)
}

// codeLoginRoutes registers the passwordless pages.
func (p *Pages) codeLoginRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /t/{tenant}/login/code", p.handleCodeLoginForm)
	mux.HandleFunc("POST /t/{tenant}/login/code", p.handleCodeLoginSubmit)
	mux.HandleFunc("GET /t/{tenant}/login/link", p.handleCodeLoginLink)
}

// smsText makes the text message of a sign-in code in lang: short, the code first (phones offer it from
// the notification), with the tenant's name.
func (p *Pages) smsText(r *http.Request, t store.Tenant, lang string) func(code string) string {
	pd := p.page(r, t, lang)
	return func(code string) string { return pd.T("sms.sign_in_code", code, t.Name) }
}
