package saml

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"

	crewjam "github.com/crewjam/saml"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// maxLoginRequestIDLen bounds the lr parameter (ids from keys.NewID are 26 characters).
const maxLoginRequestIDLen = 64

// postData is what templates/post.html receives: the HTTP-POST binding's form (saml-bindings §3.5.4).
type postData struct {
	Action       template.URL // a registered ACS URL of the app
	SAMLResponse string
	RelayState   string
}

// handleResume is GET /t/{tenant}/saml/resume?lr=ID, where the hosted pages send the browser once the
// person signed in. The request must be of kind saml, bound to this browser, unexpired and
// authenticated; it is consumed once, and the browser posts the signed Response to the app's ACS URL.
func (h *IdP) handleResume(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOrPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q, err := url.ParseQuery(r.URL.RawQuery)
	id := q.Get("lr")
	if err != nil || len(q["lr"]) != 1 || id == "" || len(id) > maxLoginRequestIDLen {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.resume.unknown", err)
		return
	}
	lr, err := h.db.GetLoginRequest(ctx, t.ID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && lr.Kind != store.LoginKindSAML) {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.resume.unknown", nil)
		return
	}
	if err != nil {
		h.serverError(w, r, t, fmt.Errorf("resume: %w", err))
		return
	}
	// The request must come back to the browser that started it: an assertion is a bearer credential.
	if len(lr.BrowserHash) == 0 || subtle.ConstantTimeCompare(h.sessions.BrowserHash(w, r, t.ID), lr.BrowserHash) != 1 {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.resume.other_browser", nil)
		return
	}
	if !h.now().Before(lr.ExpiresAt) {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.resume.expired", nil)
		return
	}
	// The app and its ACS URL are checked again: either may have changed since the request began.
	app, err := h.app(ctx, t.ID, lr.ClientID)
	if err != nil || !slices.Contains(app.ACSURLs, lr.Params.RedirectURI) {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.serverError(w, r, t, err)
			return
		}
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.resume.app_gone", nil)
		return
	}
	ar := authnRequest{App: app, ID: lr.Params.SAMLRequestID, ACS: lr.Params.RedirectURI, RelayState: lr.Params.State}
	switch lr.Status {
	case store.LoginPending:
		// Not signed in yet (a bookmarked or replayed link): back to the sign-in pages.
		web.NoStore(w)
		w.Header().Set("Location", h.publicURL+"/t/"+t.ID+"/login?lr="+url.QueryEscape(lr.ID))
		w.WriteHeader(http.StatusFound)
	case store.LoginDenied, store.LoginUnmet:
		if err := h.db.SetLoginRequestStatus(ctx, t.ID, lr.ID, lr.Status, store.LoginDone); err != nil {
			h.consumeFailed(w, r, t, err)
			return
		}
		code := "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
		if lr.Status == store.LoginUnmet {
			// The person cannot reach the multi-factor sign-in the SP asked for.
			code = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
		}
		h.sendStatus(w, r, t, ar, code)
	case store.LoginAuthenticated:
		h.sendAssertion(w, r, t, lr, ar)
	default: // done
		h.consumeFailed(w, r, t, store.ErrConflict)
	}
}

// consumeFailed answers a login request that was already used (a replayed resume link).
func (h *IdP) consumeFailed(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	if !errors.Is(err, store.ErrConflict) {
		h.serverError(w, r, t, fmt.Errorf("resume: %w", err))
		return
	}
	h.errorPage(w, r, t, http.StatusBadRequest, "saml.resume.used", nil)
}

// sendAssertion makes the Response for an authenticated request, consumes the request in one
// transaction with saml.response_sent, and posts the Response to the ACS URL.
func (h *IdP) sendAssertion(w http.ResponseWriter, r *http.Request, t store.Tenant, lr store.LoginRequest, ar authnRequest) {
	ctx := r.Context()
	user, err := h.db.GetUser(ctx, t.ID, lr.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.resume.account_unavailable", nil)
		return
	}
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	key, cert, err := h.keys.SAMLCredentials(ctx, t.ID)
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	resp, err := h.buildResponse(assertionInput{
		Tenant: t.ID, App: ar.App, ACS: ar.ACS, InResponseTo: ar.ID, User: user, SessionID: lr.SessionID,
		AuthTime: lr.AuthTime, AMR: lr.AMR, ACR: lr.ACR,
	}, signer{key, cert}, h.now())
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	err = h.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetLoginRequestStatus(ctx, t.ID, lr.ID, store.LoginAuthenticated, store.LoginDone); err != nil {
			return err
		}
		// Remembered on the session, so that single logout can sign the person out of this app too.
		if err := tx.AddSessionClient(ctx, t.ID, lr.SessionID, sessionClientID(ar.App.EntityID), h.now()); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.SAMLResponseSent(t.ID, user.ID, lr.SessionID, ar.App.EntityID,
			web.ClientIP(r), ar.ID == ""))
	})
	if err != nil {
		h.consumeFailed(w, r, t, err)
		return
	}
	h.post(w, r, t, lr.Params.Lang, ar.ACS, resp, ar.RelayState)
}

// sendStatus answers ar with a Response that carries no assertion, only a status: top-level Responder
// and second-level code (NoPassive, AuthnFailed). It is used only once the SP and its ACS URL are known.
func (h *IdP) sendStatus(w http.ResponseWriter, r *http.Request, t store.Tenant, ar authnRequest, code string) {
	key, cert, err := h.keys.SAMLCredentials(r.Context(), t.ID)
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	resp := &crewjam.Response{
		ID: newID(), InResponseTo: ar.ID, Version: "2.0", IssueInstant: h.now(), Destination: ar.ACS,
		Issuer: &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: h.entityID(t.ID)},
		Status: crewjam.Status{StatusCode: crewjam.StatusCode{Value: crewjam.StatusResponder,
			StatusCode: &crewjam.StatusCode{Value: code}}},
	}
	enc, err := h.finishResponse(resp, signer{key, cert}, boolOr(ar.App.SignResponse, true))
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	h.post(w, r, t, "", ar.ACS, enc, ar.RelayState)
}

// post answers the page whose form posts SAMLResponse and RelayState to acs. The shared form_post.js
// submits it on load; a visible button does the same without JavaScript. The page's
// Content-Security-Policy allows that form action only.
func (h *IdP) post(w http.ResponseWriter, r *http.Request, t store.Tenant, lang, acs, samlResponse, relayState string) {
	u, err := url.Parse(acs)
	if err != nil || u.Scheme == "" || config.ScriptScheme(u.Scheme) {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.acs", err)
		return
	}
	web.NoStore(w)
	web.AllowFormAction(w, acs)
	pd := h.page(r, t, lang)
	pd.Title, pd.Data = pd.T("saml.post.title"), postData{Action: template.URL(acs), SAMLResponse: samlResponse, RelayState: relayState}
	h.pages.Render(w, r, http.StatusOK, "post", pd)
}
