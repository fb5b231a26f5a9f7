package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store"
)

// withTenant runs fn with the services and the tenant named by --tenant, once it is known to exist.
func withTenant(ctx context.Context, e *env, fs *flag.FlagSet, fn func(s *server.Services, tenant string) error) error {
	return withServices(ctx, e, fs, func(s *server.Services) error {
		tenant := stringFlag(fs, "tenant")
		if _, err := s.Admin.GetTenant(ctx, tenant); err != nil {
			return err
		}
		return fn(s, tenant)
	})
}

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
			return withTenant(ctx, e, fs, func(s *server.Services, tenant string) error {
				if err := s.Keys.RotateBy(ctx, tenant, actorCLI); err != nil {
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
			return withTenant(ctx, e, fs, func(s *server.Services, tenant string) error {
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
			return withTenant(ctx, e, fs, func(s *server.Services, tenant string) error {
				kid := stringFlag(fs, "kid")
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

func keysRotateMasterCommand() *command {
	return &command{
		name:  "keys rotate-master",
		short: "re-seal every secret at rest under the master key (after a master key change)",
		summary: `Re-seal every secret at rest (signing keys, and the key of client secret hashes) under the configured
master key, opening them with the master key or the keys of secrets.previous_master_key_files. Servers
keep running meanwhile. Once it succeeds, remove the previous keys from the configuration. README
("Rotating the master key") describes the whole procedure.`,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				rep, err := keys.Reseal(ctx, s.DB, s.Keyring)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "re-sealed %d secrets under the master key; %d already were\n", rep.Resealed, rep.Current)
				if len(s.Config.Secrets.PreviousMasterKeys)+len(s.Config.Secrets.PreviousMasterKeyFiles) == 0 {
					fmt.Fprintln(e.stderr, "No previous master key is configured (secrets.previous_master_key_files): there was nothing to re-seal.")
				} else {
					fmt.Fprintln(e.stdout, "every secret is now sealed under the master key: remove the previous master keys from the configuration")
				}
				return nil
			})
		},
	}
}
