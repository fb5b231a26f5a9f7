package saml

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Single logout started elsewhere (OpenID Connect logout, the account console's sign-out) reaches the
// SAML apps through the signed-out page's frames: session.FrontchannelLogoutURIs names this endpoint for
// each SAML app of the ended session, and this endpoint frames the app's signed LogoutRequest in turn
// (a page may frame only the addresses its own policy names, so the frame that knows the app's address
// is the one that frames it).

// logoutFrame is the document of GET /t/{tenant}/saml/logout-frame: nothing but the app's frame.
var logoutFrame = template.Must(template.New("logout-frame").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Signing out</title></head>
<body>{{if .}}<iframe src="{{.}}" title="Signing out" width="0" height="0" hidden></iframe>{{end}}</body></html>
`))

// handleLogoutFrame is GET /t/{tenant}/saml/logout-frame?sid=SESSION&sp=ENTITY_ID: the signed LogoutRequest
// to SAML app sp for session sid, in a frame. It answers only for a session that has ended and in which
// the app received an assertion, so it can tell an app nothing that is not already true.
func (h *IdP) handleLogoutFrame(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOrPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	sid, sp := q.Get("sid"), q.Get("sp")
	if sid == "" || sp == "" || len(sid) > 64 || len(sp) > 1024 {
		h.errorPage(w, r, t, http.StatusBadRequest, "saml.error.malformed", nil)
		return
	}
	s, err := h.db.GetSession(ctx, t.ID, sid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.EndedAt.IsZero()) {
		h.errorPage(w, r, t, http.StatusNotFound, "saml.error.malformed", nil)
		return
	}
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	times, err := h.db.SessionClientTimes(ctx, t.ID, sid)
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	got, ok := times[session.SAMLClientPrefix+sp]
	if !ok {
		h.errorPage(w, r, t, http.StatusNotFound, "saml.error.unknown_sp", nil)
		return
	}
	target := ""
	user, err := h.db.GetUser(ctx, t.ID, s.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound): // deleted since: its apps were told by the deletion's logout
	case err != nil:
		h.serverError(w, r, t, err)
		return
	default:
		if target, err = h.logoutRequestURL(r, t, s, user, sp, !got.Before(s.CreatedAt)); err != nil {
			h.serverError(w, r, t, err)
			return
		}
	}
	web.NoStore(w)
	web.AllowFramedBySelf(w)
	if target != "" {
		// The app answers its LogoutRequest at our SLO endpoint, inside this frame.
		web.AllowFrameSrc(w, target, h.base(t.ID)+"/slo")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = logoutFrame.Execute(w, target)
}
