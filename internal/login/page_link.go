package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/federation"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// The link page, /t/{tenant}/connections/link?flow=: an upstream identity whose address belongs to an
// existing account waits here until the person proves that account, with its password or a code sent to
// its address. Only then is the identity linked and the person signed in. Cancelling, or a flow that ends
// (expired, too many wrong codes), links nothing and creates no account. The page names the account's
// address, which the person already gave upstream, and nothing else about it.

// linkState is the Data of a link flow.
type linkState struct {
	Connection string            `json:"connection"`
	Name       string            `json:"name"` // the connection as the page names it
	Upstream   identity.Upstream `json:"upstream"`
	Methods    []string          `json:"methods"`
	CodeSent   bool              `json:"code_sent,omitempty"`
}

// linkData is the Data of link.html.
type linkData struct {
	Action     string
	Connection string
	Email      string
	Password   bool // the account has a password to prove it with
	CodeSent   bool
	// Passkey is the "Use a passkey" button when the account has one (nil otherwise).
	Passkey *passkeySignin
}

func linkPath(t store.Tenant, flowID string) string {
	return tenantPath(t) + "/connections/link?flow=" + url.QueryEscape(flowID)
}

// startLink stores the link flow of identity up for account u and shows the link page.
func (p *Pages) startLink(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, c config.Connection,
	u store.User, up identity.Upstream, methods []string) {
	ctx := r.Context()
	data, _ := json.Marshal(linkState{Connection: c.ID, Name: connectionName(c), Upstream: up, Methods: methods})
	lrID, _ := requestRef(lr)
	f, err := p.identity.StartFlow(ctx, t.ID, store.FlowLink, p.sessions.BrowserHash(w, r, t.ID), lrID, u.ID, u.Email, string(data))
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	p.log.InfoContext(ctx, "upstream identity matches an account: proof asked", "tenant", t.ID, "connection", c.ID, "user_id", u.ID)
	seeOther(w, linkPath(t, f.ID))
}

// linkFlow loads the link flow of ?flow= for this browser; on failure it answers.
func (p *Pages) linkFlow(w http.ResponseWriter, r *http.Request, t store.Tenant) (store.Flow, linkState, bool) {
	var st linkState
	f, ok := p.browserFlow(w, r, t, store.FlowLink, &st, "connections.link.ended.title", "connections.link.ended.text")
	return f, st, ok
}

// handleLinkForm is GET /t/{tenant}/connections/link?flow=.
func (p *Pages) handleLinkForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	f, st, ok := p.linkFlow(w, r, t)
	if !ok {
		return
	}
	p.renderLink(w, r, t, f, st, http.StatusOK, refusal{})
}

func (p *Pages) renderLink(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, st linkState, status int, why refusal) {
	base := p.flowPage(w, r, t, f)
	why.apply(&base)
	hasPassword, err := p.db.HasPassword(r.Context(), t.ID, f.UserID)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	d := linkData{Action: linkPath(t, f.ID), Connection: st.Name, Email: f.Email,
		Password: hasPassword && t.Settings.Login.Allows(config.MethodPassword), CodeSent: st.CodeSent}
	if p.identity.PasskeysUsable(t) {
		fs, err := p.db.ListFactors(r.Context(), t.ID, f.UserID)
		if err != nil {
			p.serverError(w, r, t, err)
			return
		}
		for _, fc := range fs {
			if fc.Kind == store.FactorWebAuthn && fc.Confirmed() {
				web.AllowConnectSelf(w)
				d.Passkey = &passkeySignin{OptionsURL: tenantPath(t) + "/login/passkey/options", Action: tenantPath(t) + "/login/passkey",
					Flow: f.ID, Button: "connections.link.passkey_button"}
				break
			}
		}
	}
	base.Title = "connections.link.title"
	base.Data = d
	p.render(w, r, t, status, "link", base)
}

// handleLinkSubmit is POST /t/{tenant}/connections/link?flow= with action password, send_code, code or
// cancel.
func (p *Pages) handleLinkSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	f, st, ok := p.linkFlow(w, r, t)
	if !ok {
		return
	}
	ctx := r.Context()
	ip := web.ClientIP(r)
	switch r.PostFormValue("action") {
	case "cancel":
		p.endLink(w, r, t, f, st, "declined")
		p.message(w, r, t, http.StatusOK, "connections.link.cancelled.title", "connections.link.cancelled.text", startAgainLinks(t, "")...)
	case "password":
		if !t.Settings.Login.Allows(config.MethodPassword) {
			// The page offers no password where the tenant does not sign in with one: neither does a post.
			p.renderLink(w, r, t, f, st, http.StatusBadRequest, refuse("", "connections.link.choose"))
			return
		}
		password := r.PostFormValue("password")
		if password == "" {
			p.renderLink(w, r, t, f, st, http.StatusUnprocessableEntity,
				refuse("password", "login.error.password_missing"))
			return
		}
		err := identity.ErrInvalidCredentials
		if len(password) <= maxPasswordLen {
			_, err = p.identity.Login(ctx, identity.LoginAttempt{TenantID: t.ID, Email: f.Email, Password: password, IP: ip,
				DeviceID: p.deviceID(r, t.ID)})
		}
		var te *identity.ThrottledError
		switch {
		case errors.As(err, &te), errors.Is(err, identity.ErrInvalidCredentials):
			p.recordRiskFailure(ctx, r, t, f.Email)
			p.renderLink(w, r, t, f, st, http.StatusUnprocessableEntity,
				refuse("password", msgBadCredentials))
			return
		case err != nil:
			p.serverError(w, r, t, err)
			return
		}
		p.linkProven(w, r, t, f, st, identity.LinkPassword, session.MethodPassword)
	case "send_code":
		lang := p.flowPage(w, r, t, f).Lang
		err := p.identity.SendSignInCode(ctx, identity.CodeSend{Tenant: t, Flow: f, Channel: identity.ChannelEmail, To: f.Email, Lang: lang})
		var te *identity.ThrottledError
		switch {
		case errors.As(err, &te), errors.Is(err, identity.ErrTooManySends):
			p.renderLink(w, r, t, f, st, http.StatusTooManyRequests, refuse("", "mfa.error.too_many_sends"))
			return
		case err != nil:
			p.serverError(w, r, t, fmt.Errorf("send link code: %w", err))
			return
		}
		st.CodeSent = true
		data, _ := json.Marshal(st)
		if err := p.db.SetFlowData(ctx, t.ID, f.ID, string(data), p.now()); err != nil {
			p.serverError(w, r, t, err)
			return
		}
		seeOther(w, linkPath(t, f.ID))
	case "code":
		code := strings.Join(strings.Fields(r.PostFormValue("code")), "")
		if code == "" {
			p.renderLink(w, r, t, f, st, http.StatusUnprocessableEntity,
				refuse("code", "mfa.error.code_missing"))
			return
		}
		err := p.identity.CheckCode(ctx, f, code, ip)
		var te *identity.ThrottledError
		switch {
		case err == nil:
		case errors.Is(err, identity.ErrTooManyCodes), errors.Is(err, identity.ErrFlowInvalid):
			p.endLink(w, r, t, f, st, "proof_failed")
			p.message(w, r, t, http.StatusBadRequest, "connections.link.ended.title", "connections.link.ended.text", startAgainLinks(t, "")...)
			return
		case errors.As(err, &te):
			w.Header().Set("Retry-After", fmt.Sprint(te.RetryAfterSeconds()))
			p.renderLink(w, r, t, f, st, http.StatusTooManyRequests,
				refuse("code", "mfa.error.code_wrong"))
			return
		case errors.Is(err, identity.ErrWrongCode):
			p.recordRiskFailure(ctx, r, t, f.Email)
			p.renderLink(w, r, t, f, st, http.StatusUnprocessableEntity,
				refuse("code", "mfa.error.code_wrong"))
			return
		default:
			p.serverError(w, r, t, err)
			return
		}
		p.linkProven(w, r, t, f, st, identity.LinkEmailCode, session.MethodEmail)
	default:
		p.renderLink(w, r, t, f, st, http.StatusBadRequest, refuse("", "connections.link.choose"))
	}
}

// endLink ends a link flow that links nothing, with identity.link_refused saying why.
func (p *Pages) endLink(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, st linkState, reason string) {
	ctx := r.Context()
	err := p.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetFlowState(ctx, t.ID, f.ID, f.State, store.FlowFailed, p.now()); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
		return tx.AppendEvent(ctx, events.LinkRefused(t.ID, f.UserID, web.ClientIP(r), st.Connection, reason))
	})
	if err != nil {
		p.log.ErrorContext(ctx, "link flow not ended", "tenant", t.ID, "err", err)
	}
}

// linkProven links the flow's identity once the person proved the account with method (how says which
// proof), then signs in with the upstream and that proof.
func (p *Pages) linkProven(w http.ResponseWriter, r *http.Request, t store.Tenant, f store.Flow, st linkState, how string, methods ...string) {
	ctx := r.Context()
	if err := p.identity.UseSignInFlow(ctx, f); err != nil {
		if errors.Is(err, store.ErrConflict) {
			p.message(w, r, t, http.StatusBadRequest, "connections.link.ended.title", "connections.link.ended.text", startAgainLinks(t, "")...)
			return
		}
		p.serverError(w, r, t, err)
		return
	}
	u, err := p.identity.GetUser(ctx, t.ID, f.UserID)
	if err != nil || u.Disabled {
		p.message(w, r, t, http.StatusBadRequest, "connections.link.ended.title", "connections.link.ended.text", startAgainLinks(t, "")...)
		return
	}
	if how == identity.LinkPassword || how == identity.LinkPasskey {
		// A password or a passkey does not prove the address: an account that must verify it before signing in does
		// so first, as at the sign-in form, and links nothing until it has.
		if needs, err := p.identity.NeedsVerification(ctx, t, u); err != nil {
			p.serverError(w, r, t, err)
			return
		} else if needs {
			lr := p.flowRequest(r, t, f)
			if lr != nil && lr.Status != store.LoginPending {
				lr = nil
			}
			p.sendVerification(w, r, t, lr, u)
			return
		}
	}
	if how == identity.LinkEmailCode && !u.EmailVerified {
		// The code proved the mailbox: the address is the person's now, and a password set before anyone
		// proved it may belong to someone who registered the address in the owner's name.
		if u, err = p.identity.ClaimUnverifiedAccount(ctx, t, u); err != nil {
			p.serverError(w, r, t, err)
			return
		}
	}
	if err := p.identity.LinkFederated(ctx, t, u.ID, st.Upstream, how, u.ID); err != nil {
		p.linkError(w, r, t, err)
		return
	}
	lr := p.flowRequest(r, t, f)
	if lr != nil && lr.Status != store.LoginPending {
		lr = nil
	}
	p.firstFactorDoneVia(w, r, t, lr, u, st.Connection, append(st.Methods, methods...)...)
}

// linkFromAccount links who at c to the signed-in user userID (the account page's "Link" buttons).
func (p *Pages) linkFromAccount(w http.ResponseWriter, r *http.Request, t store.Tenant, userID string, c config.Connection, who federation.Identity) {
	ctx := r.Context()
	s, u, signedIn, err := p.signedInUser(ctx, r, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if !signedIn || u.ID != userID || !p.requireRecent(w, r, t, s, accountPath(t)+"/linked") {
		if !signedIn || u.ID != userID {
			p.message(w, r, t, http.StatusBadRequest, "connections.link.ended.title", "connections.link.ended.text", startAgainLinks(t, "")...)
		}
		return
	}
	up, err := p.upstreamOf(t, c, who)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	err = p.identity.LinkFederated(ctx, t, u.ID, up, identity.LinkAccount, u.ID)
	if errors.Is(err, identity.ErrIdentityTaken) {
		seeOther(w, accountPath(t)+"/linked?error=identity_taken")
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	seeOther(w, accountPath(t)+"/linked?done=identity_linked")
}
