package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Passkeys on the hosted pages. The pages work without JavaScript; /static/passkey.js adds what needs
// navigator.credentials: it asks an options endpoint (JSON) for a ceremony, hands the options to the
// browser, and posts the browser's answer through an ordinary form, so the server answers with the same
// redirects as every other sign-in.
//
//	POST /t/{tenant}/login/passkey/options     JSON: a sign-in ceremony (form field flow: second-factor mode)
//	POST /t/{tenant}/login/passkey[?lr=]       the answer: credential, ceremony[, flow, remember]
//	GET  /t/{tenant}/account/passkeys          the user's passkeys (an account section)
//	POST /t/{tenant}/account/passkeys/options  JSON: a registration ceremony
//	POST /t/{tenant}/account/passkeys          the answer: credential, ceremony, name
//	POST /t/{tenant}/account/passkeys/rename   id, name
//	POST /t/{tenant}/account/passkeys/remove   id (a recent sign-in is required)

// passkeyCeremoniesPerIP bounds the sign-in ceremonies one client IP may start per minute: each is a row
// until it expires, and asking needs no account, so a script could otherwise grow the flows table at will.
// A person's page starts two (the autofill's and the button's).
const passkeyCeremoniesPerIP = 60

// maxCredentialField bounds the credential form field (a browser's answer is a few kilobytes).
const maxCredentialField = 64 << 10

// passkeySignin is the input of the "passkey-signin" partial, read from the page's .Data.Passkey: a
// "Sign in with a passkey" button and the hidden form its answer is posted with.
type passkeySignin struct {
	OptionsURL string // where passkey.js asks for the ceremony's options
	Action     string // where the answer is posted
	Flow       string // the MFA flow of the second-factor page; empty on the sign-in page
	Button     string // message key of the button's text
	// Conditional lets passkey.js offer passkeys in the autofill of the identifier input (an input with
	// autocomplete="username webauthn" on the same page).
	Conditional bool
}

// passkeysAllowed reports whether tenant t lets passkeys sign in or serve as a second factor, that is
// whether its users have any use for adding one, and browsers can use them with its pages.
func (p *Pages) passkeysAllowed(t store.Tenant) bool {
	return (t.Settings.Login.Allows(config.MethodPasskey) || t.Settings.MFA.Allows(config.FactorWebAuthn)) &&
		p.identity.PasskeysUsable(t)
}

// passkeyLogin is the sign-in page's passkey button for lr (nil: a direct sign-in), or nil when the
// tenant does not allow passkeys as a first factor. It lets the page's script fetch the options.
func (p *Pages) passkeyLogin(w http.ResponseWriter, t store.Tenant, lr *store.LoginRequest) *passkeySignin {
	if !t.Settings.Login.Allows(config.MethodPasskey) || !p.identity.PasskeysUsable(t) {
		return nil
	}
	web.AllowConnectSelf(w)
	lrID, _ := requestRef(lr)
	return &passkeySignin{OptionsURL: tenantPath(t) + "/login/passkey/options", Action: requestPath(t, "/login/passkey", lrID),
		Button: "passkey.signin.button", Conditional: true}
}

// passkeyMFA is the second-factor page's passkey button for MFA flow flowID, or nil when the tenant does
// not allow passkeys as a second factor. The page shows it when the flow's user has a passkey, puts it in
// its Data as Passkey, includes {{template "passkey-signin" .}} and {{template "passkey-script" .}}.
func (p *Pages) passkeyMFA(w http.ResponseWriter, t store.Tenant, flowID string) *passkeySignin {
	if !t.Settings.MFA.Allows(config.FactorWebAuthn) || !p.identity.PasskeysUsable(t) {
		return nil
	}
	web.AllowConnectSelf(w)
	return &passkeySignin{OptionsURL: tenantPath(t) + "/login/passkey/options", Action: tenantPath(t) + "/login/passkey",
		Flow: flowID, Button: "passkey.mfa.button"}
}

// passkeyError answers a JSON endpoint: {"error": code, "error_description": the message in the page's
// language}.
func (p *Pages) passkeyError(w http.ResponseWriter, r *http.Request, t store.Tenant, status int, code, msgKey string) {
	pd := p.page(r, t, "")
	web.NoStore(w)
	web.WriteJSON(w, status, map[string]string{"error": code, "error_description": pd.T(msgKey)})
}

// passkeyOptions answers a ceremony's options: the browser's {"publicKey": ...} plus the ceremony id.
func passkeyOptions(w http.ResponseWriter, opts []byte, ceremony string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(opts, &m); err != nil {
		m = map[string]json.RawMessage{}
	}
	id, _ := json.Marshal(ceremony)
	m["ceremony"] = id
	web.NoStore(w)
	web.WriteJSON(w, http.StatusOK, m)
}

// errMFAFlow says that the MFA flow named by a form cannot be used (unknown, used, expired, another
// browser's).
var errMFAFlow = errors.New("mfa flow not usable")

// pendingMFAFlow loads the pending flow id of this browser whose user proves a passkey: an MFA flow, or
// a link flow (proving the account an upstream identity would join). For the JSON endpoints, which
// answer errors their own way.
func (p *Pages) pendingMFAFlow(w http.ResponseWriter, r *http.Request, t store.Tenant, id string) (store.Flow, error) {
	if id == "" || len(id) > maxIDLen {
		return store.Flow{}, errMFAFlow
	}
	kind := store.FlowMFA
	if f, err := p.db.GetFlow(r.Context(), t.ID, id); err == nil && f.Kind == store.FlowLink {
		kind = store.FlowLink
	}
	f, err := p.identity.SignInFlow(r.Context(), kind, t.ID, id, p.sessions.BrowserHash(w, r, t.ID))
	if errors.Is(err, identity.ErrFlowInvalid) {
		return f, errMFAFlow
	}
	return f, err
}

// handlePasskeyLoginOptions is POST /t/{tenant}/login/passkey/options: the options of a sign-in ceremony,
// for any discoverable passkey, or with form field flow for the passkeys of that MFA flow's user.
func (p *Pages) handlePasskeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	if !p.csrf.Valid(r) {
		p.passkeyError(w, r, t, http.StatusForbidden, "access_denied", "login.csrf.text")
		return
	}
	if !p.identity.PasskeysUsable(t) {
		p.passkeyError(w, r, t, http.StatusForbidden, "not_allowed", "passkey.error.not_allowed")
		return
	}
	ctx := r.Context()
	if limited, err := p.passkeyLimited(w, r, t); err != nil || limited {
		if err != nil {
			p.passkeyServerError(w, r, t, err)
		}
		return
	}
	bh := p.sessions.BrowserHash(w, r, t.ID)
	userID := ""
	if flowID := r.PostFormValue("flow"); flowID != "" {
		f, err := p.pendingMFAFlow(w, r, t, flowID)
		if err == nil && f.Kind == store.FlowMFA && !t.Settings.MFA.Allows(config.FactorWebAuthn) {
			p.passkeyError(w, r, t, http.StatusForbidden, "not_allowed", "passkey.error.not_allowed")
			return
		}
		if errors.Is(err, errMFAFlow) {
			p.passkeyError(w, r, t, http.StatusBadRequest, "invalid_request", "passkey.error.expired")
			return
		}
		if err != nil {
			p.passkeyServerError(w, r, t, err)
			return
		}
		userID = f.UserID
	} else if !t.Settings.Login.Allows(config.MethodPasskey) {
		p.passkeyError(w, r, t, http.StatusForbidden, "not_allowed", "passkey.error.not_allowed")
		return
	}
	opts, ceremony, err := p.identity.BeginPasskeyLogin(ctx, t, userID, bh)
	if errors.Is(err, identity.ErrPasskeyNone) {
		p.passkeyError(w, r, t, http.StatusBadRequest, "no_passkey", "passkey.error.none")
		return
	}
	if err != nil {
		p.passkeyServerError(w, r, t, err)
		return
	}
	passkeyOptions(w, opts, ceremony)
}

// passkeyLimited counts a ceremony against the client IP's budget and, when it is used up, answers 429
// with Retry-After and reports true.
func (p *Pages) passkeyLimited(w http.ResponseWriter, r *http.Request, t store.Tenant) (bool, error) {
	now := p.now()
	th, err := p.db.AddWindowFailure(r.Context(), t.ID, "pk:ip:"+identity.IPKey(web.ClientIP(r)), now, now.Add(-time.Minute))
	if err != nil {
		return false, fmt.Errorf("count passkey ceremonies: %w", err)
	}
	if th.Failures <= passkeyCeremoniesPerIP {
		return false, nil
	}
	te := identity.ThrottledError{RetryAfter: th.WindowStart.Add(time.Minute).Sub(now), Budget: "passkey_ip"}
	p.log.InfoContext(r.Context(), "passkey ceremonies limited", "tenant", t.ID, "client_ip", web.ClientIP(r),
		"request_id", web.RequestIDFrom(r.Context()))
	w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
	p.passkeyError(w, r, t, http.StatusTooManyRequests, "too_many_requests", "passkey.error.limited")
	return true, nil
}

func (p *Pages) passkeyServerError(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	p.log.ErrorContext(r.Context(), "passkey", "tenant", t.ID, "request_id", web.RequestIDFrom(r.Context()), "err", err)
	p.passkeyError(w, r, t, http.StatusInternalServerError, "server_error", "error.server.text_retry")
}

// handlePasskeyLogin is POST /t/{tenant}/login/passkey[?lr=]: the browser's answer to a sign-in
// ceremony. With form field flow it proves the second factor of that MFA flow; without, it is a
// passwordless sign-in, which needs a passkey that verified the user.
func (p *Pages) handlePasskeyLogin(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	ctx := r.Context()
	if !p.identity.PasskeysUsable(t) {
		p.message(w, r, t, http.StatusForbidden, "passkey.error.title", "passkey.error.not_allowed", startAgainLinks(t, "")...)
		return
	}
	cred, ceremony := r.PostFormValue("credential"), r.PostFormValue("ceremony")
	if flowID := r.PostFormValue("flow"); flowID != "" {
		p.passkeySecondFactor(w, r, t, flowID, ceremony, cred)
		return
	}
	lr, ok := p.optionalRequest(w, r, t)
	if !ok {
		return
	}
	if !t.Settings.Login.Allows(config.MethodPasskey) {
		p.message(w, r, t, http.StatusForbidden, "passkey.error.title", "passkey.error.not_allowed", startAgainLinks(t, "")...)
		return
	}
	if cred == "" || len(cred) > maxCredentialField || ceremony == "" {
		p.passkeyLoginFailed(w, r, t, lr, "passkey.error.invalid")
		return
	}
	u, _, methods, err := p.identity.FinishPasskeyLogin(ctx, t, ceremony, p.sessions.BrowserHash(w, r, t.ID), []byte(cred))
	switch {
	case errors.Is(err, identity.ErrPasskeyCeremony):
		p.passkeyLoginFailed(w, r, t, lr, "passkey.error.expired")
		return
	case errors.Is(err, identity.ErrPasskeyInvalid):
		p.log.InfoContext(ctx, "passkey sign-in refused", "tenant", t.ID, "client_ip", web.ClientIP(r), "err", err,
			"request_id", web.RequestIDFrom(ctx))
		p.passkeyLoginFailed(w, r, t, lr, "passkey.error.invalid")
		return
	case err != nil:
		p.metrics.Login("error")
		p.serverError(w, r, t, fmt.Errorf("passkey sign-in: %w", err))
		return
	}
	if !slices.Contains(methods, session.MethodUser) {
		// Without user verification a passkey proves only that someone holds the device: not enough to
		// sign in on its own.
		p.passkeyLoginFailed(w, r, t, lr, "passkey.error.no_uv")
		return
	}
	if needs, err := p.identity.NeedsVerification(ctx, t, u); err != nil {
		p.serverError(w, r, t, err)
		return
	} else if needs {
		p.sendVerification(w, r, t, lr, u)
		return
	}
	p.firstFactorDone(w, r, t, lr, u, methods...)
}

// passkeyLoginFailed renders the sign-in page again with the error msgKey.
func (p *Pages) passkeyLoginFailed(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, msgKey string) {
	p.metrics.Login("failure")
	p.renderLogin(w, r, t, lr, http.StatusUnprocessableEntity, "", web.PageData{Error: msgKey})
}

// passkeySecondFactor finishes MFA flow flowID with the answer to ceremony.
func (p *Pages) passkeySecondFactor(w http.ResponseWriter, r *http.Request, t store.Tenant, flowID, ceremony, cred string) {
	ctx := r.Context()
	f, err := p.pendingMFAFlow(w, r, t, flowID)
	if errors.Is(err, errMFAFlow) {
		p.message(w, r, t, http.StatusBadRequest, "login.expired.title", "login.expired.text", startAgainLinks(t, "")...)
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	back := link{Href: mfaPath(t, f.ID), Text: "passkey.error.try_again"}
	if f.Kind == store.FlowLink {
		back.Href = linkPath(t, f.ID)
	}
	if f.Kind == store.FlowMFA && !t.Settings.MFA.Allows(config.FactorWebAuthn) {
		p.message(w, r, t, http.StatusForbidden, "passkey.error.title", "passkey.error.not_allowed", back)
		return
	}
	if cred == "" || len(cred) > maxCredentialField || ceremony == "" {
		p.message(w, r, t, http.StatusUnprocessableEntity, "passkey.error.title", "passkey.error.invalid", back)
		return
	}
	u, _, methods, err := p.identity.FinishPasskeyLogin(ctx, t, ceremony, p.sessions.BrowserHash(w, r, t.ID), []byte(cred))
	switch {
	case errors.Is(err, identity.ErrPasskeyCeremony):
		p.message(w, r, t, http.StatusBadRequest, "passkey.error.title", "passkey.error.expired", back)
		return
	case err == nil && u.ID != f.UserID:
		err = identity.ErrPasskeyInvalid // the ceremony was the user's; this cannot happen, and must not pass
		fallthrough
	case errors.Is(err, identity.ErrPasskeyInvalid):
		p.metrics.Login("failure")
		p.log.InfoContext(ctx, "passkey second factor refused", "tenant", t.ID, "client_ip", web.ClientIP(r), "err", err,
			"request_id", web.RequestIDFrom(ctx))
		p.message(w, r, t, http.StatusUnprocessableEntity, "passkey.error.title", "passkey.error.invalid", back)
		return
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("passkey second factor: %w", err))
		return
	}
	if f.Kind == store.FlowLink {
		if !slices.Contains(methods, session.MethodUser) {
			// Proving an account is signing in to it: a passkey must verify the user, as for a passwordless sign-in.
			p.message(w, r, t, http.StatusUnprocessableEntity, "passkey.error.title", "passkey.error.no_uv", back)
			return
		}
		var st linkState
		_ = json.Unmarshal([]byte(f.Data), &st)
		p.linkProven(w, r, t, f, st, identity.LinkPasskey, methods...)
		return
	}
	remember := r.PostFormValue("remember")
	p.secondFactorDone(w, r, t, f, u, remember == "1" || remember == "on", methods...)
}

// passkeysView is the Data.Passkeys of the account page's passkeys section.
type passkeysView struct {
	List        []passkeyView
	OptionsPath string
	AddPath     string
	RenamePath  string
	RemovePath  string
}

type passkeyView struct {
	ID       string
	N        int // 1-based position, for element ids
	Name     string
	Added    timeView
	LastUsed timeView
}

// The passkeys section's outcomes, shown after their 303 (?done= and ?error=).
func init() {
	maps.Copy(accountNotices, map[string]string{
		"passkey_added":   "passkey.account.added_notice",
		"passkey_renamed": "passkey.account.renamed_notice",
		"passkey_removed": "passkey.account.removed_notice",
	})
	maps.Copy(accountErrors, map[string]string{
		"passkey_invalid": "passkey.error.register_invalid",
		"passkey_expired": "passkey.error.expired",
		"passkey_taken":   "passkey.error.taken",
		"passkey_unknown": "passkey.error.unknown",
		"passkey_off":     "passkey.error.not_allowed",
	})
}

// passkeysSection fills the passkeys section of the account page for u.
func (p *Pages) passkeysSection(w http.ResponseWriter, r *http.Request, t store.Tenant, u store.User, d *accountData) error {
	if !p.passkeysAllowed(t) {
		return nil
	}
	web.AllowConnectSelf(w)
	fs, err := p.identity.ListPasskeys(r.Context(), t.ID, u.ID)
	if err != nil {
		return fmt.Errorf("list passkeys: %w", err)
	}
	base := accountPath(t) + "/passkeys"
	v := &passkeysView{OptionsPath: base + "/options", AddPath: base, RenamePath: base + "/rename", RemovePath: base + "/remove"}
	for i, f := range fs {
		v.List = append(v.List, passkeyView{ID: f.ID, N: i + 1, Name: f.Name, Added: newTimeView(f.CreatedAt),
			LastUsed: newTimeView(f.LastUsedAt)})
	}
	d.Passkeys = v
	return nil
}

// handlePasskeyRegisterOptions is POST /t/{tenant}/account/passkeys/options: the options of a ceremony
// adding a passkey for the signed-in user.
func (p *Pages) handlePasskeyRegisterOptions(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	if !p.csrf.Valid(r) {
		p.passkeyError(w, r, t, http.StatusForbidden, "access_denied", "login.csrf.text")
		return
	}
	ctx := r.Context()
	_, u, signedIn, err := p.signedInUser(ctx, r, t)
	if err != nil {
		p.passkeyServerError(w, r, t, err)
		return
	}
	if !signedIn {
		p.passkeyError(w, r, t, http.StatusUnauthorized, "login_required", "passkey.error.signed_out")
		return
	}
	if !p.passkeysAllowed(t) {
		p.passkeyError(w, r, t, http.StatusForbidden, "not_allowed", "passkey.error.not_allowed")
		return
	}
	opts, ceremony, err := p.identity.BeginPasskeyRegistration(ctx, t, u, p.sessions.BrowserHash(w, r, t.ID))
	if err != nil {
		p.passkeyServerError(w, r, t, err)
		return
	}
	passkeyOptions(w, opts, ceremony)
}

// handlePasskeyRegister is POST /t/{tenant}/account/passkeys: the browser's answer to a registration
// ceremony (credential, ceremony) and the name the user gave.
func (p *Pages) handlePasskeyRegister(w http.ResponseWriter, r *http.Request) {
	t, _, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	back := accountPath(t) + "/passkeys"
	if !p.passkeysAllowed(t) {
		seeOther(w, back+"?error=passkey_off")
		return
	}
	cred, ceremony := r.PostFormValue("credential"), r.PostFormValue("ceremony")
	if cred == "" || len(cred) > maxCredentialField || ceremony == "" {
		seeOther(w, back+"?error=passkey_invalid")
		return
	}
	_, err := p.identity.FinishPasskeyRegistration(r.Context(), t, u, ceremony, p.sessions.BrowserHash(w, r, t.ID),
		[]byte(cred), r.PostFormValue("name"))
	switch {
	case errors.Is(err, identity.ErrPasskeyCeremony):
		seeOther(w, back+"?error=passkey_expired")
	case errors.Is(err, identity.ErrPasskeyTaken):
		seeOther(w, back+"?error=passkey_taken")
	case errors.Is(err, identity.ErrPasskeyInvalid):
		p.log.InfoContext(r.Context(), "passkey registration refused", "tenant", t.ID, "err", err,
			"request_id", web.RequestIDFrom(r.Context()))
		seeOther(w, back+"?error=passkey_invalid")
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("add passkey: %w", err))
	default:
		seeOther(w, back+"?done=passkey_added")
	}
}

// handlePasskeyRename is POST /t/{tenant}/account/passkeys/rename with id and name.
func (p *Pages) handlePasskeyRename(w http.ResponseWriter, r *http.Request) {
	t, _, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	back := accountPath(t) + "/passkeys"
	id := r.PostFormValue("id")
	if id == "" || len(id) > maxIDLen {
		seeOther(w, back+"?error=passkey_unknown")
		return
	}
	err := p.identity.RenamePasskey(r.Context(), t.ID, u.ID, id, r.PostFormValue("name"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		seeOther(w, back+"?error=passkey_unknown")
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("rename passkey: %w", err))
	default:
		seeOther(w, back+"?done=passkey_renamed")
	}
}

// handlePasskeyRemove is POST /t/{tenant}/account/passkeys/remove with id. Removing a way to sign in asks
// for a recent sign-in first, so that a browser left signed in cannot be used to do it.
func (p *Pages) handlePasskeyRemove(w http.ResponseWriter, r *http.Request) {
	t, s, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	back := accountPath(t) + "/passkeys"
	if !p.requireRecent(w, r, t, s, back) {
		return
	}
	id := r.PostFormValue("id")
	if id == "" || len(id) > maxIDLen {
		seeOther(w, back+"?error=passkey_unknown")
		return
	}
	err := p.identity.RemovePasskey(r.Context(), t.ID, u.ID, id, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		seeOther(w, back+"?error=passkey_unknown")
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("remove passkey: %w", err))
	default:
		seeOther(w, back+"?done=passkey_removed")
	}
}

// passkeyRoutes registers the passkey routes (the GET of the account section is an account section).
func (p *Pages) passkeyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /t/{tenant}/login/passkey/options", p.handlePasskeyLoginOptions)
	mux.HandleFunc("POST /t/{tenant}/login/passkey", p.handlePasskeyLogin)
	mux.HandleFunc("POST /t/{tenant}/account/passkeys/options", p.handlePasskeyRegisterOptions)
	mux.HandleFunc("POST /t/{tenant}/account/passkeys", p.handlePasskeyRegister)
	mux.HandleFunc("POST /t/{tenant}/account/passkeys/rename", p.handlePasskeyRename)
	mux.HandleFunc("POST /t/{tenant}/account/passkeys/remove", p.handlePasskeyRemove)
}
