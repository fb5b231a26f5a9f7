package login

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// consentData is the Data of consent.html.
type consentData struct {
	allowOrDenyData
	Account string // where access can be removed later
}

// consentState is what both consent handlers load and check first.
type consentState struct {
	lr     store.LoginRequest
	s      store.Session
	u      store.User
	client store.Client
}

// requestSession is the browser's session and user, and the client, for a step after sign-in of lr (what
// names the step in errors). Without a session, or with one older than a request that demands a fresh
// sign-in or than its max_age, the browser is sent to sign in first; a client deleted meanwhile gets its
// page. It has answered when it returns false.
func (p *Pages) requestSession(w http.ResponseWriter, r *http.Request, t store.Tenant, lr store.LoginRequest,
	what string) (store.Session, store.User, store.Client, bool) {
	s, u, signedIn, err := p.signedInUser(r.Context(), r, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return s, u, store.Client{}, false
	}
	if !signedIn || (lr.Params.RequireLogin && s.AuthTime.Before(lr.CreatedAt)) || p.tooOld(lr, s) {
		seeOther(w, loginPath(t, lr.ID))
		return s, u, store.Client{}, false
	}
	client, err := p.requestClient(r.Context(), t, lr)
	if errors.Is(err, store.ErrNotFound) {
		p.clientGone(w, r, t, lr)
		return s, u, client, false
	}
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("%s: %w", what, err))
		return s, u, client, false
	}
	return s, u, client, true
}

// loadConsent loads the pending authorization request of this browser and the session user who is asked
// (see the package documentation, "Who consents"). It answers the request itself and returns false when
// the consent page does not apply.
func (p *Pages) loadConsent(w http.ResponseWriter, r *http.Request, t store.Tenant) (consentState, bool) {
	var cs consentState
	lr, ok := p.loadRequest(w, r, t)
	if !ok || !p.requestPending(w, r, t, lr) {
		return cs, false
	}
	if lr.Kind != store.LoginKindAuthorize {
		seeOther(w, continuePath(t, lr))
		return cs, false
	}
	s, u, client, ok := p.requestSession(w, r, t, lr, "consent")
	if !ok {
		return cs, false
	}
	// The profile comes first: a request is never completed while the complete-profile page has fields to ask.
	if !p.askProfile(r.Context(), t, u, client).Empty() {
		seeOther(w, completeProfilePath(t, lr.ID))
		return cs, false
	}
	return consentState{lr: lr, s: s, u: u, client: client}, true
}

// handleConsentForm is GET /t/{tenant}/consent?lr=: ask the signed-in user to allow the client.
func (p *Pages) handleConsentForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	cs, ok := p.loadConsent(w, r, t)
	if !ok {
		return
	}
	need, _, err := p.consentNeeded(r.Context(), t, cs.lr, cs.u.ID)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if !need { // first party, or consented meanwhile (another tab)
		p.complete(w, r, t, cs.lr, cs.s, grantedScopes(cs.lr))
		return
	}
	p.renderConsent(w, r, t, cs, http.StatusOK, web.PageData{})
}

// handleConsentSubmit is POST /t/{tenant}/consent?lr=, decision=allow|deny. Allow stores the consent and
// completes the request in one transaction; deny marks it denied. Both go on to oidc's resume step,
// which answers the client (a code, or access_denied).
func (p *Pages) handleConsentSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	cs, ok := p.loadConsent(w, r, t)
	if !ok {
		return
	}
	ctx := r.Context()
	ip := web.ClientIP(r)
	var err error
	switch r.PostFormValue("decision") {
	case "allow":
		scopes := cs.lr.Params.Scopes
		err = p.db.InTx(ctx, func(tx *store.Tx) error {
			if err := p.identity.GrantConsent(ctx, tx, t.ID, cs.u.ID, cs.client.ClientID, scopes); err != nil {
				return fmt.Errorf("grant consent: %w", err)
			}
			return completeRequest(ctx, tx, cs.lr, cs.s, scopes, ip)
		})
	case "deny":
		err = p.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.SetLoginRequestStatus(ctx, t.ID, cs.lr.ID, store.LoginPending, store.LoginDenied); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, eventLoginRequestDenied(cs.lr, cs.u.ID, ip))
		})
	default:
		p.renderConsent(w, r, t, cs, http.StatusBadRequest, web.PageData{Error: "consent.error.choose"})
		return
	}
	if err != nil && !errors.Is(err, store.ErrConflict) { // conflict: decided meanwhile; resume tells
		p.serverError(w, r, t, err)
		return
	}
	seeOther(w, resumePath(t, cs.lr.ID))
}

func (p *Pages) renderConsent(w http.ResponseWriter, r *http.Request, t store.Tenant, cs consentState, status int, pd web.PageData) {
	// Both answers end in a redirect to the client (through resume), which form-action also governs.
	web.AllowFormAction(w, cs.lr.Params.RedirectURI)
	pd.Lang = cs.lr.Params.Lang
	pd.Title = p.page(r, t, pd.Lang).T("consent.title", clientLabel(cs.client))
	pd.Data = consentData{
		allowOrDenyData: allowOrDeny(consentPath(t, cs.lr.ID), cs.client, cs.u, cs.lr.Params.Scopes),
		Account:         accountPath(t),
	}
	p.render(w, r, t, status, "consent", pd)
}
