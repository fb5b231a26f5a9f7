package login

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/federation"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// The re-authentication page, /t/{tenant}/account/reauth?next=PATH: what requireRecent sends a signed-in
// user to before a sensitive change (removing a factor, new recovery codes). The password (or a passkey,
// through the passkey script) proves the user is still at the keyboard; the session's auth_time moves on
// and the browser goes back to next, a path of this tenant's account pages.

// reauthData is the Data of reauth.html.
type reauthData struct {
	Action string
	Email  string
	Next   string
	// Password: the account has a password to confirm with. Connections: the upstreams it is linked
	// at, each a button to sign in there again.
	Password    bool
	Connections []connectionButton
}

// reauthNext is the page to go back to: a path under this tenant's account pages, else the account page.
func reauthNext(t store.Tenant, next string) string {
	if strings.HasPrefix(next, accountPath(t)+"/") && !strings.Contains(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return accountPath(t)
}

// handleReauthForm is GET /t/{tenant}/account/reauth?next=.
func (p *Pages) handleReauthForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	_, u, ok := p.accountUser(w, r, t)
	if !ok {
		return
	}
	p.renderReauth(w, r, t, u, http.StatusOK, refusal{})
}

func (p *Pages) renderReauth(w http.ResponseWriter, r *http.Request, t store.Tenant, u store.User, status int, why refusal) {
	next := reauthNext(t, r.URL.Query().Get("next"))
	base := p.page(r, t, "")
	why.apply(&base)
	base.Title = "reauth.title"
	d := reauthData{Action: accountPath(t) + "/reauth?next=" + url.QueryEscape(next), Email: u.Email, Next: next}
	ctx := r.Context()
	var err error
	if d.Password, err = p.db.HasPassword(ctx, t.ID, u.ID); err != nil {
		p.serverError(w, r, t, err)
		return
	}
	ids, err := p.db.ListUserIdentities(ctx, t.ID, u.ID)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	linked := map[string]bool{}
	for _, ui := range ids {
		linked[ui.ConnectionID] = true
	}
	cs, err := p.tenantConnections(ctx, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	for _, c := range cs {
		if linked[c.ID] && c.Redirecting() {
			d.Connections = append(d.Connections, buttonFor(w, c,
				connectionsPath(t, c.ID)+"/start?reauth=1&next="+url.QueryEscape(next)))
		}
	}
	base.Data = d
	p.render(w, r, t, status, "reauth", base)
}

// handleReauthSubmit is POST /t/{tenant}/account/reauth?next= with the password.
func (p *Pages) handleReauthSubmit(w http.ResponseWriter, r *http.Request) {
	t, s, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	password := r.PostFormValue("password")
	wrong := refuse("password", "reauth.error.password")
	if password == "" || len(password) > maxPasswordLen {
		p.renderReauth(w, r, t, u, http.StatusUnprocessableEntity, wrong)
		return
	}
	_, err := p.identity.Login(ctx, identity.LoginAttempt{TenantID: t.ID, Email: u.Email, Password: password,
		IP: web.ClientIP(r), DeviceID: p.deviceID(r, t.ID)})
	var te *identity.ThrottledError
	switch {
	case errors.As(err, &te), errors.Is(err, identity.ErrInvalidCredentials):
		p.recordRiskFailure(ctx, r, t, u.Email)
		p.renderReauth(w, r, t, u, http.StatusUnprocessableEntity, wrong)
		return
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("re-authenticate: %w", err))
		return
	}
	if _, err := p.sessions.StepUp(ctx, t, s, session.Factors(p.now(), session.MethodPassword), nil); err != nil {
		p.serverError(w, r, t, err)
		return
	}
	seeOther(w, reauthNext(t, r.URL.Query().Get("next")))
}

// reauthUpstream confirms the signed-in user userID by a new sign-in at connection c: the identity who
// must be linked to that user. The session's auth_time moves on (a step-up with "fed") and the browser
// goes back to next.
func (p *Pages) reauthUpstream(w http.ResponseWriter, r *http.Request, t store.Tenant, userID string, c config.Connection,
	who federation.Identity, next string) {
	ctx := r.Context()
	s, u, signedIn, err := p.signedInUser(ctx, r, t)
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if !signedIn || u.ID != userID {
		seeOther(w, loginPath(t, ""))
		return
	}
	linked, err := p.identity.LinkedUser(ctx, t.ID, c.ID, who.Subject)
	if errors.Is(err, store.ErrNotFound) || (err == nil && linked.ID != u.ID) {
		p.log.InfoContext(ctx, "re-authentication upstream as another account", "tenant", t.ID, "connection", c.ID, "user_id", u.ID)
		p.renderReauth(w, r, t, u, http.StatusForbidden, refuse("", "reauth.error.other_account"))
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if _, err := p.sessions.StepUp(ctx, t, s, session.Factors(p.now(), session.MethodFederated), nil); err != nil {
		p.serverError(w, r, t, err)
		return
	}
	seeOther(w, next)
}
