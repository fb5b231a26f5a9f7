package federation

import (
	"context"
	"errors"

	"github.com/umm-project/umm/internal/config"
)

func newSAML(ctx context.Context, env Env, c config.Connection) (any, error) {
	return nil, errors.New("saml connections are not built yet")
}
