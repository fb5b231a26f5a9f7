package login

import (
	"errors"
	"net/http"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// checkFactorCode checks an authenticator-app code or a recovery code of u and returns the method it
// proves (both are one-time passwords: "otp"). Wrong codes share the account's second-factor budget.
func (p *Pages) checkFactorCode(r *http.Request, t store.Tenant, u store.User, method, code string) (string, error) {
	ctx := r.Context()
	switch method {
	case mfaTOTP:
		_, err := p.identity.VerifyTOTP(ctx, t.ID, u.ID, code)
		return session.MethodOTP, codeErr(err)
	case mfaRecovery:
		_, err := p.identity.UseRecoveryCode(ctx, t, u, code, web.ClientIP(r), p.page(r, t, "").Lang)
		return session.MethodOTP, codeErr(err)
	}
	return "", identity.ErrWrongCode
}

// codeErr maps the factor checks' errors onto the page's: a wrong or replayed code is ErrWrongCode.
func codeErr(err error) error {
	if errors.Is(err, identity.ErrInvalidCode) {
		return identity.ErrWrongCode
	}
	return err
}
