package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/umm-project/umm/internal/server"
)

func keysRotateCommand() *command {
	return &command{
		name:  "keys rotate",
		short: "rotate a tenant's signing keys now",
		summary: `Rotate a tenant's signing keys now: the published next key starts signing, the current one is
retired (it stays in the JWKS for keys.retain_retired so tokens it signed still verify) and a new next
key is published.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
		},
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				tenant := stringFlag(fs, "tenant")
				if _, err := s.Admin.GetTenant(ctx, tenant); err != nil {
					return err
				}
				if err := s.Keys.Rotate(ctx, tenant); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "rotated the signing keys of tenant %s\njwks: %s/jwks.json\n", tenant, s.Issuer(tenant))
				return nil
			})
		},
	}
}
