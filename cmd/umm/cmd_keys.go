package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store"
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

func keysListCommand() *command {
	return &command{
		name:    "keys list",
		short:   "list a tenant's signing keys",
		summary: "List a tenant's signing keys with their status: current (signs), next (published ahead) and retired.",
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
				if _, err := s.Keys.JWKS(ctx, tenant); err != nil { // creates a new tenant's keys
					return err
				}
				rows, err := s.DB.ListSigningKeys(ctx, tenant)
				if err != nil {
					return err
				}
				w := newTable(e.stdout)
				fmt.Fprintln(w, "KID\tALG\tSTATUS\tCREATED")
				for _, k := range rows {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", k.KeyID, k.Alg, k.Status, tableTime(k.CreatedAt))
				}
				return w.Flush()
			})
		},
	}
}

func keysRevokeCommand() *command {
	return &command{
		name:  "keys revoke",
		short: "remove a signing key at once (a leaked key)",
		summary: `Revoke a tenant's signing key: it leaves the JWKS at once and tokens it signed stop verifying on every
node. A revoked current key is replaced by the next key (and a new next key is published), so signing
continues; clients holding ID tokens it signed must sign in again.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("kid", "", "the key's `kid` (umm keys list shows them) (required)")
		},
		required: []string{"tenant", "kid"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				tenant, kid := stringFlag(fs, "tenant"), stringFlag(fs, "kid")
				if _, err := s.Admin.GetTenant(ctx, tenant); err != nil {
					return err
				}
				alg, err := s.Keys.Revoke(ctx, tenant, kid, actorCLI)
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("tenant %s has no signing key %q (umm keys list --tenant %s shows them)", tenant, kid, tenant)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "revoked %s key %s of tenant %s\njwks: %s/jwks.json\n", alg, kid, tenant, s.Issuer(tenant))
				return nil
			})
		},
	}
}
