package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// loggedOutData is what templates/logged_out.html receives.
type loggedOutData struct {
	Frames   []string // front-channel logout URIs of the session's OpenID Connect clients
	Continue string   // the LogoutResponse to the SP (HTTP-Redirect binding)
}

// handleSLO is the SingleLogoutService, GET (HTTP-Redirect) and POST (HTTP-POST), for LogoutRequests
// from SPs (saml-profiles §4.4.3). A valid request from a registered SP ends this browser's UMM session
// the way OpenID Connect logout does: back-channel logout messages to the session's clients in the same
// transaction, and their front-channel logout frames on the page that follows. The SP gets a signed
// LogoutResponse at its slo_url. A request that names another session (SessionIndex) leaves this
// browser's session alone and is answered with success: that session is not here.
//
// The other SAML apps that received an assertion in the session are not sent LogoutRequests: UMM does
// not record them on the session yet, so they keep their own sessions until these expire.
func (h *IdP) handleSLO(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOrPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	in, msg := readMessage(r, "SAMLRequest")
	if msg != "" {
		h.errorPage(w, r, t, http.StatusBadRequest, msg, nil)
		return
	}
	if in.root.Tag != "LogoutRequest" || in.root.NamespaceURI() != "urn:oasis:names:tc:SAML:2.0:protocol" {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.malformed", nil)
		return
	}
	app, err := h.app(ctx, t.ID, issuerOf(in.root))
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.unknown_sp", nil)
		return
	}
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	// saml-profiles §4.4.4.1: a LogoutRequest must be authenticated; it is whenever the app has a
	// certificate to check it with.
	if err := in.verify(app, strings.TrimSpace(app.SPCertificate) != ""); err != nil {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.signature", err)
		return
	}
	var req crewjam.LogoutRequest
	if err := unmarshalElement(in.root, &req); err != nil || req.ID == "" || req.Version != "2.0" {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.malformed", err)
		return
	}
	if req.Issuer == nil || req.Issuer.Value != app.EntityID {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.unknown_sp", nil)
		return
	}
	if req.Destination != "" && req.Destination != h.base(t.ID)+"/slo" {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.destination", nil)
		return
	}
	if app.SLOURL == "" {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.slo.no_url", nil)
		return
	}
	if r.Method == http.MethodPost && !hasBrowserCookies(r) {
		bounceToGet(w, r, h.base(t.ID)+"/slo")
		return
	}

	sess, hasSession, err := h.sessions.Current(ctx, r, t)
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	var frames []string
	if hasSession && sessionNamed(req, sess.ID) {
		ended, ok, err := h.sessions.End(ctx, w, r, t.ID)
		if err != nil {
			h.serverError(w, r, t, err)
			return
		}
		if ok {
			issuer := h.publicURL + "/t/" + t.ID
			if frames, err = h.sessions.FrontchannelLogoutURIs(ctx, t.ID, issuer, ended.ID); err != nil {
				h.serverError(w, r, t, err)
				return
			}
		}
	}
	target, err := h.logoutResponseURL(r, t, app.SLOURL, req.ID, in.relayState)
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	web.NoStore(w)
	if len(frames) == 0 {
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusFound)
		return
	}
	web.AllowFrameSrc(w, frames...)
	pd := h.page(r, t, "")
	pd.Title, pd.Data = pd.T("saml.logged_out.title"), loggedOutData{Frames: frames, Continue: target}
	h.pages.Render(w, r, http.StatusOK, "logged_out", pd)
}

// sessionNamed reports whether req is about session sid: it names no session, or sid among its
// SessionIndexes (the assertion's SessionIndex is the session id).
func sessionNamed(req crewjam.LogoutRequest, sid string) bool {
	idx := req.AllSessionIndexes()
	if len(idx) == 0 {
		return true
	}
	for _, i := range idx {
		if i.Value == sid {
			return true
		}
	}
	return false
}

// logoutResponseURL is the SP's slo_url with a LogoutResponse (status Success) in the HTTP-Redirect
// binding, signed with RSA-SHA256 over the query (saml-bindings §3.4.4.1).
func (h *IdP) logoutResponseURL(r *http.Request, t store.Tenant, sloURL, inResponseTo, relayState string) (string, error) {
	resp := &crewjam.LogoutResponse{
		ID: newID(), InResponseTo: inResponseTo, Version: "2.0", IssueInstant: h.now(), Destination: sloURL,
		Issuer: &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: h.entityID(t.ID)},
		Status: crewjam.Status{StatusCode: crewjam.StatusCode{Value: crewjam.StatusSuccess}},
	}
	doc := etree.NewDocument()
	doc.SetRoot(resp.Element())
	xmlBytes, err := doc.WriteToBytes()
	if err != nil {
		return "", fmt.Errorf("logout response: %w", err)
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(xmlBytes)
	fw.Close()
	q := "SAMLResponse=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	q += "&SigAlg=" + url.QueryEscape(dsig.RSASHA256SignatureMethod)
	key, _, err := h.keys.SAMLCredentials(r.Context(), t.ID)
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256([]byte(q))
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("sign logout response: %w", err)
	}
	q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	sep := "?"
	if strings.Contains(sloURL, "?") {
		sep = "&"
	}
	return sloURL + sep + q, nil
}
