package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// logoutRequest is a validated RP-Initiated Logout request (OpenID Connect RP-Initiated Logout 1.0 §2).
type logoutRequest struct {
	Client      *store.Client // from client_id or the hint's audience; nil when neither names one
	RedirectURI string        // a registered post_logout_redirect_uri, or ""
	State       string
	Hint        *idTokenHint // nil without a (valid) id_token_hint
}

// idTokenHint is what logout reads from an ID token it issued.
type idTokenHint struct {
	Sub string
	Sid string
	Aud []string
	Azp string
	// Expired is true when the hint's exp has passed: it still names the session, but no longer proves that
	// its client asks now.
	Expired bool
}

// logoutPageData is what templates/logout.html receives.
type logoutPageData struct {
	Action      string // the form's own URL
	ClientID    string
	ClientName  string
	RedirectURI string
	State       string
}

// handleLogout is the end_session_endpoint, GET and POST. It ends the browser's session at once only when
// the request carries the session cookie and an unexpired id_token_hint issued for that very session (same
// user, same sid). In every other case it asks for confirmation with a CSRF-protected form, which posts back
// here with action=logout and then ends the session the cookie names:
//   - no session cookie: a cross-site POST arrives without it (SameSite=Lax), so a page elsewhere could
//     otherwise make the browser drop its cookie while the server-side session lives on;
//   - no hint, or a hint about another user or session (OIDC RP-Initiated Logout 1.0 §2: the OP "MUST ask
//     the End-User");
//   - an expired hint: it still identifies the session, but a stale token is weak proof that the client,
//     and not someone replaying its old token, asks now.
//
// Ending the session ends the row (not only the cookie), writes a back-channel logout message for each of
// its clients that registered one (events.EnqueueSessionLogout), and renders the front-channel logout
// iframes of its clients. It then redirects to the registered post_logout_redirect_uri with state, or shows
// a "signed out" page. A post_logout_redirect_uri that is not registered for the client is shown as an
// error page, never followed.
func (p *Provider) handleLogout(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenantOrPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v, err := requestValues(r)
	if err != nil {
		p.logoutErrorPage(w, r, t, "oidc.logout.malformed")
		return
	}
	lo, msg, err := p.parseLogout(r, t, v)
	if err != nil {
		p.logoutServerError(w, r, t, err)
		return
	}
	if msg != "" {
		p.logoutErrorPage(w, r, t, msg)
		return
	}

	confirmed := r.Method == http.MethodPost && v.Get("action") == "logout"
	if confirmed && !p.csrf.Valid(r) {
		p.logoutErrorPage(w, r, t, "oidc.logout.form_expired")
		return
	}
	sess, hasSession, err := p.sessions.Current(ctx, r, t)
	if err != nil {
		p.logoutServerError(w, r, t, err)
		return
	}
	if !confirmed {
		atOnce := hasSession && lo.Hint != nil && !lo.Hint.Expired &&
			lo.Hint.Sub == sess.UserID && lo.Hint.Sid == sess.ID
		// A GET always carries the Lax cookie, so a GET without a session has nothing to end and nothing to
		// ask: it is answered as signed out without touching any cookie.
		nothingToEnd := !hasSession && r.Method == http.MethodGet && lo.Hint != nil
		if !atOnce && !nothingToEnd {
			p.logoutConfirmPage(w, r, t, lo)
			return
		}
	}

	var frames []string
	if hasSession {
		ended, ok, err := p.sessions.End(ctx, w, r, t.ID)
		if err != nil {
			p.logoutServerError(w, r, t, err)
			return
		}
		if ok {
			if frames, err = p.sessions.FrontchannelLogoutURIs(ctx, t.ID, p.issuer(t.ID), ended.ID); err != nil {
				p.logoutServerError(w, r, t, err)
				return
			}
		}
	}
	target := ""
	if lo.RedirectURI != "" {
		q := url.Values{}
		if lo.State != "" {
			q.Set("state", lo.State)
		}
		target = lo.RedirectURI
		if len(q) > 0 {
			target = withQuery(target, q)
		}
	}
	if target != "" && len(frames) == 0 {
		web.NoStore(w)
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusFound)
		return
	}
	web.NoStore(w)
	web.AllowFrameSrc(w, frames...)
	pd := p.page(r, t, "")
	pd.Title, pd.Data = pd.T("oidc.logged_out.title"), loggedOutPageData{Frames: frames, Continue: target}
	p.pages.Render(w, r, http.StatusOK, "logged_out", pd)
}

// loggedOutPageData is what templates/logged_out.html receives.
type loggedOutPageData struct {
	Frames   []string // front-channel logout URIs with iss and sid, one iframe each
	Continue string   // where the page goes once the frames have loaded (the post_logout_redirect_uri), or ""
}

// parseLogout validates the request. A problem the user must see is returned as msg (an error page);
// err is an internal failure.
func (p *Provider) parseLogout(r *http.Request, t store.Tenant, v url.Values) (lo logoutRequest, msg string, err error) {
	ctx := r.Context()
	for _, name := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
		if len(v[name]) > 1 {
			return lo, "The sign-out link names " + name + " more than once.", nil
		}
	}
	hint, clientID := v.Get("id_token_hint"), v.Get("client_id")
	lo.State = v.Get("state")
	if len(lo.State) > maxStateLen || !validText(lo.State) {
		return lo, "oidc.logout.bad_state", nil
	}
	if clientID != "" && !config.ValidClientID(clientID) {
		return lo, "oidc.logout.unknown_client", nil
	}
	if hint != "" {
		h, ok, err := p.verifyIDTokenHint(r, t, hint)
		if err != nil {
			return lo, "", err
		}
		if !ok {
			return lo, "oidc.logout.foreign_token", nil
		}
		switch {
		case clientID != "" && !slices.Contains(h.Aud, clientID):
			return lo, "oidc.logout.client_mismatch", nil
		case clientID == "" && h.Azp != "":
			clientID = h.Azp
		case clientID == "" && len(h.Aud) == 1:
			clientID = h.Aud[0]
		}
		lo.Hint = &h
	}
	if clientID != "" {
		c, err := p.db.GetClient(ctx, t.ID, clientID)
		if errors.Is(err, store.ErrNotFound) {
			return lo, "oidc.logout.unknown_client", nil
		}
		if err != nil {
			return lo, "", fmt.Errorf("logout: %w", err)
		}
		lo.Client = &c
	}
	if uri := v.Get("post_logout_redirect_uri"); uri != "" {
		switch {
		case lo.Client == nil:
			return lo, "oidc.logout.redirect_without_client", nil
		case !slices.Contains(lo.Client.PostLogoutRedirectURIs, uri):
			// Exact string comparison, as for redirect_uri: an open redirector otherwise.
			return lo, "oidc.logout.redirect_unregistered", nil
		}
		lo.RedirectURI = uri
	}
	return lo, "", nil
}

// verifyIDTokenHint checks that hint is an ID token this tenant issued: a valid signature by one of its
// published keys and iss equal to the tenant's issuer. Expired hints are accepted and marked Expired
// (OIDC RP-Initiated Logout §2: the hint is typically expired by the time the user signs out). Access
// tokens (typ at+jwt) are refused. ok is false for any token problem; err is a failure to load keys.
func (p *Provider) verifyIDTokenHint(r *http.Request, t store.Tenant, hint string) (idTokenHint, bool, error) {
	var h idTokenHint
	if len(hint) > maxIDTokenHintLen {
		return h, false, nil
	}
	payload, header, err := p.keys.Verify(r.Context(), t.ID, hint, keys.RS256, keys.ES256)
	if errors.Is(err, keys.ErrInvalidToken) {
		p.log.InfoContext(r.Context(), "id_token_hint rejected", "tenant", t.ID, "err", err,
			"request_id", web.RequestIDFrom(r.Context()))
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("verify id_token_hint: %w", err)
	}
	if typ, _ := header.ExtraHeaders[jose.HeaderType].(string); typ != "" && typ != "JWT" {
		return h, false, nil
	}
	var c struct {
		Iss string        `json:"iss"`
		Sub string        `json:"sub"`
		Aud keys.Audience `json:"aud"`
		Azp string        `json:"azp"`
		Sid string        `json:"sid"`
		Exp int64         `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss != p.issuer(t.ID) || c.Sub == "" || len(c.Aud) == 0 {
		return h, false, nil
	}
	if c.Azp != "" && !slices.Contains(c.Aud, c.Azp) {
		return h, false, nil
	}
	return idTokenHint{Sub: c.Sub, Sid: c.Sid, Aud: c.Aud, Azp: c.Azp, Expired: !p.now().Before(time.Unix(c.Exp, 0))}, true, nil
}

func (p *Provider) logoutConfirmPage(w http.ResponseWriter, r *http.Request, t store.Tenant, lo logoutRequest) {
	d := logoutPageData{Action: "/t/" + t.ID + "/logout", RedirectURI: lo.RedirectURI, State: lo.State}
	if lo.Client != nil {
		d.ClientID, d.ClientName = lo.Client.ClientID, lo.Client.Name
	}
	if lo.RedirectURI != "" {
		// Confirming ends in a redirect to the client, which browsers check against form-action too.
		web.AllowFormAction(w, lo.RedirectURI)
	}
	pd := p.page(r, t, "")
	pd.Title, pd.CSRFToken, pd.Data = pd.T("oidc.logout.title"), p.csrf.Token(w, r), d
	p.pages.Render(w, r, http.StatusOK, "logout", pd)
}

// logoutErrorPage answers a sign-out request that cannot be used; msg is the key of its message.
func (p *Provider) logoutErrorPage(w http.ResponseWriter, r *http.Request, t store.Tenant, msg string) {
	p.log.InfoContext(r.Context(), "logout request rejected", "reason", msg, "request_id", web.RequestIDFrom(r.Context()))
	p.errorPage(w, r, t, "", http.StatusBadRequest, "oidc.logout.bad.title", msg)
}

func (p *Provider) logoutServerError(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	p.log.ErrorContext(r.Context(), "logout", "tenant", t.ID, "err", err, "request_id", web.RequestIDFrom(r.Context()))
	p.errorPage(w, r, t, "", http.StatusInternalServerError, "error.server.title", "oidc.logout.server_error")
}
