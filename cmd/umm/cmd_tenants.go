package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/server"
)

// actorCLI is the actor recorded in the events of changes made with these commands.
const actorCLI = "cli"

func tenantsCreateCommand() *command {
	return &command{
		name:    "tenants create",
		short:   "create a tenant",
		summary: "Create a tenant: an isolated user pool with its own issuer {public_url}/t/{id}.",
		flags: func(fs *flag.FlagSet) {
			fs.String("id", "", "tenant `id`: 1-63 lower-case letters, digits or hyphens (appears in URLs)")
			fs.String("name", "", "display `name` (default: the id)")
		},
		required: []string{"id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				t, err := s.Admin.CreateTenant(ctx, admin.TenantInput{ID: stringFlag(fs, "id"), Name: stringFlag(fs, "name")}, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "created tenant %s (%s)\nissuer: %s\n", t.ID, t.Name, s.Issuer(t.ID))
				return nil
			})
		},
	}
}

func tenantsListCommand() *command {
	return &command{
		name:    "tenants list",
		short:   "list tenants and their issuers",
		summary: "List the tenants with their issuers.",
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				ts, err := s.Admin.ListTenants(ctx)
				if err != nil {
					return err
				}
				w := newTable(e.stdout)
				fmt.Fprintln(w, "ID\tNAME\tISSUER\tCREATED")
				for _, t := range ts {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.ID, t.Name, s.Issuer(t.ID), tableTime(t.CreatedAt))
				}
				return w.Flush()
			})
		},
	}
}
