package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server"
)

func samlAppsSetCommand() *command {
	return &command{
		name:  "saml-apps set",
		short: "register or change a SAML service provider from a YAML file",
		summary: `Register a service provider the tenant signs users in to as a SAML 2.0 IdP, or replace the one with
the same entity_id, from a YAML file holding one tenants[].saml_apps entry (see the README). With
metadata_url, the SP's metadata supplies the entity ID, ACS URLs, logout URL and certificate not given.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("file", "", "YAML `file` with the app (required; - reads standard input)")
		},
		required: []string{"tenant", "file"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			data, err := readFileOrStdin(e, stringFlag(fs, "file"))
			if err != nil {
				return err
			}
			var a config.SAMLApp
			if err := config.DecodeItem(data, &a); err != nil {
				return err
			}
			return withServices(ctx, e, fs, func(s *server.Services) error {
				saved, err := s.Admin.UpsertSAMLApp(ctx, stringFlag(fs, "tenant"), a, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "saved SAML app %s\n", saved.EntityID)
				return nil
			})
		},
	}
}

func samlAppsListCommand() *command {
	return &command{
		name:    "saml-apps list",
		short:   "list a tenant's SAML service providers",
		summary: "List the service providers a tenant signs users in to as a SAML 2.0 IdP, with the IdP metadata URL\nto give them.",
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
		},
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				tenant := stringFlag(fs, "tenant")
				apps, err := s.Admin.ListSAMLApps(ctx, tenant)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "IdP metadata: %s/t/%s/saml/metadata\n", strings.TrimSuffix(s.Config.Server.PublicURL, "/"), tenant)
				w := newTable(e.stdout)
				fmt.Fprintln(w, "ENTITY_ID\tNAME\tNAMEID\tACS_URLS")
				for _, a := range apps {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", a.EntityID, a.Name, a.NameIDFormatOr(), strings.Join(a.ACSURLs, " "))
				}
				return w.Flush()
			})
		},
	}
}

func samlAppsDeleteCommand() *command {
	return &command{
		name:    "saml-apps delete",
		short:   "remove a SAML service provider",
		summary: "Remove a SAML service provider: UMM answers its requests no more.",
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("entity-id", "", "the SP's entity `ID` (required)")
		},
		required: []string{"tenant", "entity-id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				if err := s.Admin.DeleteSAMLApp(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "entity-id"), actorCLI); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted SAML app %s\n", stringFlag(fs, "entity-id"))
				return nil
			})
		},
	}
}
