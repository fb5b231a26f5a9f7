package federation

import (
	"context"
	"errors"

	"github.com/umm-project/umm/internal/config"
)

func newOIDC(ctx context.Context, env Env, c config.Connection) (any, error) {
	return nil, errors.New("oidc connections are not built yet")
}

func newOAuth2(ctx context.Context, env Env, c config.Connection) (any, error) {
	return nil, errors.New("oauth2 connections are not built yet")
}

func newPreset(ctx context.Context, env Env, c config.Connection) (any, error) {
	return nil, errors.New("preset connections are not built yet")
}
