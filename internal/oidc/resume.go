package oidc

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// maxLoginRequestIDLen bounds the lr parameter (ids from keys.NewID are 26 characters).
const maxLoginRequestIDLen = 64

// handleResume is step 3 of the LoginRequest handoff: GET /t/{tenant}/authorize/resume?lr={id}. The
// hosted pages send the browser here once the user signed in (or refused); it checks the request belongs
// to this browser, is unexpired and unused, then answers the client with a code or access_denied.
func (p *Provider) handleResume(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenantOrPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q, err := url.ParseQuery(r.URL.RawQuery)
	id := q.Get("lr")
	if err != nil || len(q["lr"]) != 1 || id == "" || len(id) > maxLoginRequestIDLen {
		p.errorPage(w, r, t, "", http.StatusBadRequest, "oidc.request.title", "oidc.resume.missing")
		return
	}
	lr, err := p.db.GetLoginRequest(ctx, t.ID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && lr.Kind != store.LoginKindAuthorize) {
		p.errorPage(w, r, t, "", http.StatusBadRequest, "oidc.request.title", "oidc.resume.unknown")
		return
	}
	if err != nil {
		p.authorizeError(w, r, t, nil, fmt.Errorf("resume: %w", err))
		return
	}
	// The request must come back to the browser that started it (login CSRF, code injection).
	if subtle.ConstantTimeCompare(p.sessions.BrowserHash(w, r, t.ID), lr.BrowserHash) != 1 || len(lr.BrowserHash) == 0 {
		p.errorPage(w, r, t, "", http.StatusBadRequest, "oidc.request.title", "oidc.resume.other_browser")
		return
	}
	if !p.now().Before(lr.ExpiresAt) {
		p.errorPage(w, r, t, lr.Params.Lang, http.StatusBadRequest, "oidc.resume.expired.title", "oidc.resume.expired.text")
		return
	}
	// The client and its redirect URI are checked again: either may have changed since the request began.
	client, err := p.db.GetClient(ctx, t.ID, lr.ClientID)
	if err != nil || !redirectURIRegistered(client, lr.Params.RedirectURI) {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			p.authorizeError(w, r, t, nil, fmt.Errorf("resume: %w", err))
			return
		}
		p.errorPage(w, r, t, lr.Params.Lang, http.StatusBadRequest, "oidc.request.title", "oidc.resume.redirect_gone")
		return
	}
	target := &redirectTarget{URI: lr.Params.RedirectURI, Mode: lr.Params.ResponseMode, State: lr.Params.State,
		Iss: p.issuer(t.ID), Page: p.page(r, t, lr.Params.Lang)}
	if target.Mode != modeFormPost {
		target.Mode = modeQuery
	}

	switch lr.Status {
	case store.LoginPending:
		// Not signed in yet (a bookmarked or replayed link): back to the sign-in pages.
		web.NoStore(w)
		w.Header().Set("Location", p.issuer(t.ID)+"/login?lr="+url.QueryEscape(lr.ID))
		w.WriteHeader(http.StatusFound)
	case store.LoginDenied:
		if err := p.db.SetLoginRequestStatus(ctx, t.ID, lr.ID, store.LoginDenied, store.LoginDone); err != nil {
			p.resumeConflict(w, r, t, err)
			return
		}
		p.authorizeError(w, r, t, target, errAccessDenied("the user denied the request"))
	case store.LoginUnmet:
		if err := p.db.SetLoginRequestStatus(ctx, t.ID, lr.ID, store.LoginUnmet, store.LoginDone); err != nil {
			p.resumeConflict(w, r, t, err)
			return
		}
		p.authorizeError(w, r, t, target, newErr("unmet_authentication_requirements", http.StatusBadRequest, nil,
			"the user cannot reach the essential authentication context class requested"))
	case store.LoginAuthenticated:
		if err := p.issueCode(w, r, t, client, lr, target, false); err != nil {
			if errors.Is(err, store.ErrConflict) {
				p.resumeConflict(w, r, t, err)
				return
			}
			p.authorizeError(w, r, t, target, err)
		}
	default: // done
		p.resumeConflict(w, r, t, store.ErrConflict)
	}
}

// resumeConflict answers a login request that was already consumed (a replayed resume link).
func (p *Provider) resumeConflict(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	if !errors.Is(err, store.ErrConflict) {
		p.authorizeError(w, r, t, nil, fmt.Errorf("resume: %w", err))
		return
	}
	p.log.InfoContext(r.Context(), "login request already used", "tenant", t.ID,
		"request_id", web.RequestIDFrom(r.Context()))
	p.errorPage(w, r, t, "", http.StatusBadRequest, "oidc.resume.used.title", "oidc.resume.used.text")
}

// issueCode mints an authorization code for a signed-in login request and sends it to the client. In one
// transaction it consumes the request (fresh: stores it already done, for the SSO path; otherwise moves it
// authenticated -> done, so a second resume gets store.ErrConflict), stores the code's hash and records
// code.issued. The client is then remembered on the session (for logout and the account page).
func (p *Provider) issueCode(w http.ResponseWriter, r *http.Request, t store.Tenant, client store.Client, lr store.LoginRequest,
	target *redirectTarget, fresh bool) error {
	ctx := r.Context()
	now := p.now()
	user, err := p.db.GetUser(ctx, t.ID, lr.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return errAccessDenied("the account is not available")
	}
	if err != nil {
		return fmt.Errorf("issue code: %w", err)
	}
	scopes := lr.GrantedScopes
	if len(scopes) == 0 {
		scopes = lr.Params.Scopes
	}
	orgID, err := p.resolveOrganization(ctx, t.ID, client, lr.UserID, lr.Params.Organization)
	if err != nil {
		return err
	}
	code := keys.NewToken()
	ac := store.AuthCode{
		TenantID: t.ID, CodeHash: keys.HashToken(code), ClientID: lr.ClientID, UserID: lr.UserID,
		SessionID: lr.SessionID, GrantID: keys.NewID(), RedirectURI: lr.Params.RedirectURI, Scopes: scopes,
		Nonce: lr.Params.Nonce, CodeChallenge: lr.Params.CodeChallenge, CodeChallengeMethod: lr.Params.CodeChallengeMethod,
		AuthTime: lr.AuthTime, AMR: lr.AMR, ACR: lr.ACR, CreatedAt: now, ExpiresAt: now.Add(t.Settings.CodeTTLD()),
		Resource: lr.Params.Resource, OrgID: orgID,
	}
	err = p.db.InTx(ctx, func(tx *store.Tx) error {
		if fresh {
			if err := tx.CreateLoginRequest(ctx, lr); err != nil {
				return err
			}
		} else if err := tx.SetLoginRequestStatus(ctx, t.ID, lr.ID, store.LoginAuthenticated, store.LoginDone); err != nil {
			return err
		}
		if err := tx.CreateAuthCode(ctx, ac); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.CodeIssued(t.ID, lr.UserID, lr.ClientID, ac.GrantID))
	})
	if err != nil {
		return fmt.Errorf("issue code: %w", err)
	}
	if lr.SessionID != "" {
		if err := p.sessions.AddClient(ctx, t.ID, lr.SessionID, lr.ClientID); err != nil {
			// The code is already valid; the session only lacks a record used by logout and the account page.
			p.log.ErrorContext(ctx, "remember client on session", "tenant", t.ID, "client_id", lr.ClientID, "err", err,
				"request_id", web.RequestIDFrom(ctx))
		}
	}
	p.respond(w, r, target, url.Values{"code": {code}})
	return nil
}
