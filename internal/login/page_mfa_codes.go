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
// proves (both are one-time passwords: "otp"). An app's code is used up by take, in the transaction that
// signs the user in; a recovery code is used up here (its notice email goes with it). Wrong codes share
// the account's second-factor budget.
func (p *Pages) checkFactorCode(r *http.Request, t store.Tenant, u store.User, method, code string) (string, func(tx *store.Tx) error, error) {
	ctx := r.Context()
	switch method {
	case mfaTOTP:
		m, err := p.identity.MatchTOTPCode(ctx, t.ID, u.ID, code)
		if err != nil {
			return "", nil, codeErr(err)
		}
		return session.MethodOTP, func(tx *store.Tx) error { return m.Take(ctx, tx) }, nil
	case mfaRecovery:
		_, err := p.identity.UseRecoveryCode(ctx, t, u, code, web.ClientIP(r), p.page(r, t, "").Lang)
		return session.MethodOTP, nil, codeErr(err)
	}
	return "", nil, identity.ErrWrongCode
}

// codeErr maps the factor checks' errors onto the page's: a wrong or replayed code is ErrWrongCode.
func codeErr(err error) error {
	if errors.Is(err, identity.ErrInvalidCode) {
		return identity.ErrWrongCode
	}
	return err
}
