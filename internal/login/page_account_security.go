package login

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/web"
)

// handlePasswordSubmit is POST /t/{tenant}/account/password with current_password and new_password:
// identity.Service.ChangePassword checks the current one as a sign-in would (a wrong one counts against
// the sign-in budgets), the new one against the policy, then ends every other session and every grant of
// the user, keeping this browser's session, and queues the password_changed email.
func (p *Pages) handlePasswordSubmit(w http.ResponseWriter, r *http.Request) {
	t, cur, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	pd := p.page(r, t, "")
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	fe := map[string]string{}
	if current == "" {
		fe["current_password"] = "console.password.current_required"
	}
	if next == "" {
		fe["new_password"] = "console.password.new_required"
	}
	status := http.StatusUnprocessableEntity
	var err error
	switch {
	case len(fe) > 0:
	case len(current) > maxPasswordLen: // no password of ours: not worth hashing
		fe["current_password"] = "console.password.wrong_current"
	default:
		err = p.identity.ChangePassword(ctx, identity.PasswordChange{TenantID: t.ID, UserID: u.ID, SessionID: cur.ID,
			Current: current, New: next, IP: web.ClientIP(r), DeviceID: p.deviceID(r, t.ID), Lang: pd.Lang})
	}
	var te *identity.ThrottledError
	var pe *identity.PasswordError
	switch {
	case len(fe) > 0:
	case errors.As(err, &te):
		p.log.InfoContext(ctx, "password change refused: throttled", "tenant", t.ID, "user_id", u.ID, "budget", te.Budget,
			"request_id", web.RequestIDFrom(ctx))
		w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		status = http.StatusTooManyRequests
		pd.Error = pd.T("console.password.throttled", waitText(pd, te.RetryAfter))
	case errors.Is(err, identity.ErrInvalidCredentials):
		p.log.InfoContext(ctx, "password change refused: wrong current password", "tenant", t.ID, "user_id", u.ID,
			"request_id", web.RequestIDFrom(ctx))
		fe["current_password"] = "console.password.wrong_current"
	case errors.As(err, &pe):
		fe["new_password"] = passwordReasonText(pd, t, pe.Reason)
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("change password: %w", err))
		return
	default:
		seeOther(w, accountPath(t)+"/security?done=password_changed")
		return
	}
	for k, v := range fe {
		fe[k] = pd.T(v)
	}
	if pd.Error == "" {
		pd.Error = "console.password.invalid"
	}
	p.renderSecurity(w, r, t, cur, u, pd, status, fe, "", "")
}
