package federation

import (
	"context"
	"errors"

	"github.com/umm-project/umm/internal/config"
)

func newLDAP(ctx context.Context, env Env, c config.Connection) (any, error) {
	return nil, errors.New("ldap connections are not built yet")
}
