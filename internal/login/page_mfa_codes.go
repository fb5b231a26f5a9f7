package login

import (
	"net/http"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
)

// checkFactorCode checks an authenticator-app code or a recovery code of u.
func (p *Pages) checkFactorCode(r *http.Request, t store.Tenant, u store.User, method, code string) (string, error) {
	return "", identity.ErrWrongCode
}
