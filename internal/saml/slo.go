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
	"slices"
	"strings"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/session"
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
// The other SAML apps that received an assertion in the session get a signed LogoutRequest in a frame of
// the page that follows, as OpenID Connect clients get their front-channel logout URIs; their answers
// come back to this endpoint inside those frames. An app whose pages refuse to be framed keeps its own
// session until that expires: the person has still been signed out of UMM.
func (h *IdP) handleSLO(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOrPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if isLogoutAnswer(r) {
		// An app's LogoutResponse to a LogoutRequest UMM framed: the session is already over, and the
		// answer changes nothing, so it is only acknowledged, inside the frame of UMM's page it came from.
		web.NoStore(w)
		web.AllowFramedBySelf(w)
		pd := h.page(r, t, "")
		pd.Title, pd.Data = pd.T("saml.logged_out.title"), nil
		h.pages.Render(w, r, http.StatusOK, "logout_done", pd)
		return
	}
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
			// This page makes the other SAML apps' LogoutRequests itself (and answers the asking one).
			frames = slices.DeleteFunc(frames, func(f string) bool { return strings.HasPrefix(f, h.base(t.ID)+"/logout-frame?") })
			others, err := h.logoutRequestsTo(r, t, ended, app.EntityID)
			if err != nil {
				h.serverError(w, r, t, err)
				return
			}
			frames = append(frames, others...)
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
	// The framed apps answer their LogoutRequests at this endpoint, inside their frames.
	web.AllowFrameSrc(w, append(frames, h.base(t.ID)+"/slo")...)
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

// sessionClientID is how a SAML app is recorded among a session's clients: prefixed, so that it can never
// be taken for an OpenID Connect client id (whose logout lookups then skip it).
func sessionClientID(entityID string) string { return session.SAMLClientPrefix + entityID }

// isLogoutAnswer reports whether r carries a LogoutResponse and no LogoutRequest.
func isLogoutAnswer(r *http.Request) bool {
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		return r.PostForm.Has("SAMLResponse") && !r.PostForm.Has("SAMLRequest")
	}
	q := r.URL.Query()
	return q.Has("SAMLResponse") && !q.Has("SAMLRequest")
}

// logoutRequestsTo are the signed LogoutRequest URLs (HTTP-Redirect binding) of the SAML apps other than
// except that received an assertion in session s and registered an slo_url. Each names the person as
// the app knows them (a transient NameID cannot be repeated, so the SessionIndex is what such an app
// matches) and the session. An app that received its assertion in an earlier session that s replaced
// (the person signed in again) holds that session's SessionIndex, which is gone: its request names the
// person only, which asks the app to end all of the person's sessions (saml-core §3.7.3.2).
func (h *IdP) logoutRequestsTo(r *http.Request, t store.Tenant, s store.Session, except string) ([]string, error) {
	ctx := r.Context()
	times, err := h.db.SessionClientTimes(ctx, t.ID, s.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(times))
	for id := range times {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	user, err := h.db.GetUser(ctx, t.ID, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		entityID, ok := strings.CutPrefix(id, session.SAMLClientPrefix)
		if !ok || entityID == except {
			continue
		}
		u, err := h.logoutRequestURL(r, t, s, user, entityID, !times[id].Before(s.CreatedAt))
		if err != nil {
			return nil, err
		}
		if u != "" {
			out = append(out, u)
		}
	}
	return out, nil
}

// logoutRequestURL is the signed LogoutRequest URL (HTTP-Redirect binding) that tells SAML app entityID
// that user's session s ended; "" when the app is gone or registered no slo_url. withIndex names the
// session (the SessionIndex of the app's assertion); without it, for an app whose assertion came in a
// session s replaced, the request names only the person, so the app ends all of that person's sessions.
func (h *IdP) logoutRequestURL(r *http.Request, t store.Tenant, s store.Session, user store.User, entityID string, withIndex bool) (string, error) {
	app, err := h.app(r.Context(), t.ID, entityID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && app.SLOURL == "") {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	issuer := h.entityID(t.ID)
	req := &crewjam.LogoutRequest{
		ID: newID(), Version: "2.0", IssueInstant: h.now(), Destination: app.SLOURL,
		Issuer: &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: issuer},
		NameID: h.nameID(assertionInput{Tenant: t.ID, App: app, User: user}, issuer),
	}
	if withIndex {
		req.SessionIndex = &crewjam.SessionIndex{Value: s.ID}
	}
	return h.signedRedirectURL(r, t, app.SLOURL, "SAMLRequest", req.Element(), "")
}

// logoutResponseURL is the SP's slo_url with a LogoutResponse (status Success) in the HTTP-Redirect
// binding.
func (h *IdP) logoutResponseURL(r *http.Request, t store.Tenant, sloURL, inResponseTo, relayState string) (string, error) {
	resp := &crewjam.LogoutResponse{
		ID: newID(), InResponseTo: inResponseTo, Version: "2.0", IssueInstant: h.now(), Destination: sloURL,
		Issuer: &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: h.entityID(t.ID)},
		Status: crewjam.Status{StatusCode: crewjam.StatusCode{Value: crewjam.StatusSuccess}},
	}
	return h.signedRedirectURL(r, t, sloURL, "SAMLResponse", resp.Element(), relayState)
}

// signedRedirectURL is dest carrying the message el as param in the HTTP-Redirect binding, signed with
// RSA-SHA256 over the query (saml-bindings §3.4.4.1).
func (h *IdP) signedRedirectURL(r *http.Request, t store.Tenant, dest, param string, el *etree.Element, relayState string) (string, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	xmlBytes, err := doc.WriteToBytes()
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", param, err)
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(xmlBytes)
	fw.Close()
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
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
		return "", fmt.Errorf("sign %s: %w", param, err)
	}
	q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	sep := "?"
	if strings.Contains(dest, "?") {
		sep = "&"
	}
	return dest + sep + q, nil
}
