package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// maxClockSkew is how far an AuthnRequest's IssueInstant may be from our clock; requestMaxAge how old it
// may be. A request is used once (its login request is), so these only bound how long one can be held.
const (
	maxClockSkew  = 3 * time.Minute
	requestMaxAge = 10 * time.Minute
)

// authnRequest is a validated AuthnRequest: its SP, the ACS URL the answer goes to, and what the answer
// must repeat.
type authnRequest struct {
	App        config.SAMLApp
	ID         string
	ACS        string
	RelayState string
	ForceAuthn bool
	IsPassive  bool
	// RequireMFA: the SP asked for a multi-factor authentication context (RequestedAuthnContext).
	RequireMFA bool
}

// mfaClasses are the authentication context classes by which SPs ask for more than one factor.
var mfaClasses = []string{
	acREFEDSMFA,
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
	"http://schemas.microsoft.com/claims/multipleauthn",
}

// requiresMFA reports whether rac asks for a multi-factor sign-in: it names one of mfaClasses (exact or
// minimum comparison), or asks for better than a password.
func requiresMFA(rac *crewjam.RequestedAuthnContext) bool {
	if rac == nil {
		return false
	}
	for _, c := range rac.AuthnContextClassRefs {
		switch {
		case rac.Comparison == "maximum":
		case slices.Contains(mfaClasses, c):
			return true
		case rac.Comparison == "better" && c == acPasswordProtectedTransport:
			return true
		}
	}
	return false
}

// handleSSO is the SingleSignOnService, GET (HTTP-Redirect) and POST (HTTP-POST). A valid AuthnRequest
// from a registered SP becomes a login request of kind saml and the browser goes to the hosted pages.
// An unknown SP, an ACS URL not registered for it, or a bad signature is an error page (400), never a
// SAML message: nothing is sent to a URL that is not known to belong to the SP.
func (h *IdP) handleSSO(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOrPage(w, r)
	if !ok {
		return
	}
	in, msg := readMessage(r, "SAMLRequest")
	if msg != "" {
		h.errorPage(w, r, t, http.StatusBadRequest, msg, nil)
		return
	}
	ar, msg, err := h.parseAuthnRequest(r, t, in)
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	if msg != "" {
		h.errorPage(w, r, t, http.StatusBadRequest, msg, nil)
		return
	}
	if r.Method == http.MethodPost && !hasBrowserCookies(r) {
		bounceToGet(w, r, h.base(t.ID)+"/sso")
		return
	}
	h.startLogin(w, r, t, ar)
}

// handleInit is IdP-initiated sign-in: GET /t/{tenant}/saml/init?sp=ENTITY_ID[&RelayState=...]. The
// person signs in (or is signed in already) and is sent to the app's first ACS URL with an unsolicited
// Response (no InResponseTo).
func (h *IdP) handleInit(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOrPage(w, r)
	if !ok {
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q["sp"]) != 1 || len(q["RelayState"]) > 1 || len(q.Get("RelayState")) > maxRelayState {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.malformed", err)
		return
	}
	app, err := h.app(r.Context(), t.ID, q.Get("sp"))
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.unknown_sp", nil)
		return
	}
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	if len(app.ACSURLs) == 0 {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.acs", nil)
		return
	}
	h.startLogin(w, r, t, authnRequest{App: app, ACS: app.ACSURLs[0], RelayState: q.Get("RelayState")})
}

// parseAuthnRequest checks an AuthnRequest (saml-core §3.4.1, saml-profiles §4.1.4.1). A problem the
// person must see is returned as msg; err is an internal failure.
func (h *IdP) parseAuthnRequest(r *http.Request, t store.Tenant, in *inbound) (authnRequest, string, error) {
	var ar authnRequest
	if in.root.Tag != "AuthnRequest" || in.root.NamespaceURI() != "urn:oasis:names:tc:SAML:2.0:protocol" {
		return ar, "saml.error.malformed", nil
	}
	issuer := issuerOf(in.root)
	if issuer == "" {
		return ar, "saml.error.unknown_sp", nil
	}
	app, err := h.app(r.Context(), t.ID, issuer)
	if errors.Is(err, store.ErrNotFound) {
		return ar, "saml.error.unknown_sp", nil
	}
	if err != nil {
		return ar, "", err
	}
	if err := in.verify(app, app.WantAuthnRequestsSigned); err != nil {
		h.log.InfoContext(r.Context(), "AuthnRequest signature refused", "tenant", t.ID, "sp", app.EntityID, "err", err,
			"request_id", web.RequestIDFrom(r.Context()))
		return ar, "saml.error.signature", nil
	}
	// Read only the element the signature covered (verify replaced root with it).
	var req crewjam.AuthnRequest
	if err := unmarshalElement(in.root, &req); err != nil {
		return ar, "saml.error.malformed", nil
	}
	// The signed content must name the same SP as the one whose key checked it.
	if req.Issuer == nil || req.Issuer.Value != app.EntityID {
		return ar, "saml.error.unknown_sp", nil
	}
	if req.Version != "2.0" || req.ID == "" {
		return ar, "saml.error.malformed", nil
	}
	now := h.now()
	if !req.IssueInstant.IsZero() && (req.IssueInstant.After(now.Add(maxClockSkew)) || req.IssueInstant.Before(now.Add(-requestMaxAge))) {
		return ar, "saml.error.stale", nil
	}
	if req.Destination != "" && req.Destination != h.base(t.ID)+"/sso" {
		return ar, "saml.error.destination", nil
	}
	acs, ok := chooseACS(app, req)
	if !ok {
		return ar, "saml.error.acs", nil
	}
	ar = authnRequest{App: app, ID: req.ID, ACS: acs, RelayState: in.relayState}
	ar.ForceAuthn = req.ForceAuthn != nil && *req.ForceAuthn
	ar.IsPassive = req.IsPassive != nil && *req.IsPassive
	ar.RequireMFA = requiresMFA(req.RequestedAuthnContext)
	return ar, "", nil
}

// chooseACS is where the Response goes: the request's AssertionConsumerServiceURL when it is exactly one
// the app registered, the registered URL at AssertionConsumerServiceIndex (the order of acs_urls), or the
// first registered URL. UMM answers with the HTTP-POST binding only.
func chooseACS(app config.SAMLApp, req crewjam.AuthnRequest) (string, bool) {
	if req.ProtocolBinding != "" && req.ProtocolBinding != bindingPOST {
		return "", false
	}
	switch {
	case req.AssertionConsumerServiceURL != "":
		return req.AssertionConsumerServiceURL, slices.Contains(app.ACSURLs, req.AssertionConsumerServiceURL)
	case req.AssertionConsumerServiceIndex != "":
		i, err := strconv.Atoi(req.AssertionConsumerServiceIndex)
		if err != nil || i < 0 || i >= len(app.ACSURLs) {
			return "", false
		}
		return app.ACSURLs[i], true
	case len(app.ACSURLs) > 0:
		return app.ACSURLs[0], true
	}
	return "", false
}

// issuerOf is the text of el's saml:Issuer child ("" when absent).
func issuerOf(el *etree.Element) string {
	for _, c := range el.ChildElements() {
		if c.Tag == "Issuer" && c.NamespaceURI() == "urn:oasis:names:tc:SAML:2.0:assertion" {
			return c.Text()
		}
	}
	return ""
}

// unmarshalElement decodes el into v through its serialization.
func unmarshalElement(el *etree.Element, v any) error {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		return err
	}
	return xml.Unmarshal(buf.Bytes(), v)
}

// hasBrowserCookies reports whether the request carries the cookies that tell this browser's SSO session
// and identity.
func hasBrowserCookies(r *http.Request) bool {
	_, errSession := r.Cookie(session.CookieName)
	_, errBrowser := r.Cookie(session.BrowserCookieName)
	return errSession == nil && errBrowser == nil
}

// startLogin hands a validated request to the hosted pages through a stored login request bound to this
// browser, the way an OpenID Connect authorization request is handed over. A passive request
// (IsPassive) without a session is answered at once with the status NoPassive.
func (h *IdP) startLogin(w http.ResponseWriter, r *http.Request, t store.Tenant, ar authnRequest) {
	ctx := r.Context()
	now := h.now()
	if ar.IsPassive {
		_, hasSession, err := h.sessions.Current(ctx, r, t)
		if err != nil {
			h.serverError(w, r, t, err)
			return
		}
		if !hasSession {
			h.sendStatus(w, r, t, ar, crewjam.StatusNoPassive)
			return
		}
	}
	lr := store.LoginRequest{
		TenantID: t.ID, ID: keys.NewID(), Kind: store.LoginKindSAML, ClientID: ar.App.EntityID,
		Params: store.AuthorizeParams{
			RedirectURI: ar.ACS, State: ar.RelayState, SAMLRequestID: ar.ID, MaxAge: -1, RequireLogin: ar.ForceAuthn,
			Lang: web.Lang(r, "", t.Settings.Look.DefaultLocale),
		},
		CreatedAt: now, ExpiresAt: now.Add(t.Settings.LoginRequestTTLD()), IPKey: identity.IPKey(web.ClientIP(r)),
	}
	if ar.RequireMFA {
		// saml-core §3.3.2.2.1: the IdP must satisfy the requested context or answer NoAuthnContext; the
		// hosted pages step the sign-in up to two factors, or mark the request unmet.
		lr.Params.ACRValues, lr.Params.ACREssential = []string{session.ACRTwoFactors}, true
	}
	n, err := h.db.CountPendingLoginRequests(ctx, t.ID, lr.IPKey, now)
	if err != nil {
		h.serverError(w, r, t, fmt.Errorf("count login requests: %w", err))
		return
	}
	if n >= h.loginPerIP {
		h.log.InfoContext(ctx, "pending login requests capped", "tenant", t.ID, "ip_key", lr.IPKey,
			"request_id", web.RequestIDFrom(ctx))
		web.TooManyRequests(w, r, time.Minute)
		return
	}
	lr.BrowserHash = h.sessions.BrowserHash(w, r, t.ID)
	if err := h.db.CreateLoginRequest(ctx, lr); err != nil {
		h.serverError(w, r, t, fmt.Errorf("store login request: %w", err))
		return
	}
	if _, err := h.db.TrimBrowserLoginRequests(ctx, t.ID, lr.BrowserHash, lr.ID, h.loginPerBrowser); err != nil {
		h.serverError(w, r, t, fmt.Errorf("trim login requests: %w", err))
		return
	}
	web.NoStore(w)
	w.Header().Set("Location", h.publicURL+"/t/"+t.ID+"/login?lr="+url.QueryEscape(lr.ID))
	w.WriteHeader(http.StatusFound)
}
