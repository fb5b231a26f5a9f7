package login

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

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
	base.Data = reauthData{Action: accountPath(t) + "/reauth?next=" + url.QueryEscape(next), Email: u.Email, Next: next}
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
		p.recordRiskFailure(ctx, r, t)
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
