package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server"
)

func connectionsListCommand() *command {
	return &command{
		name:  "connections list",
		short: "list a tenant's upstream identity providers",
		summary: `List a tenant's connections (social presets, OpenID Connect, OAuth 2.0, SAML and LDAP) in the order of
the sign-in page's buttons, with their callback URLs to register upstream. No secret is shown.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
		},
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				tenant := stringFlag(fs, "tenant")
				cs, err := s.Admin.ListConnections(ctx, tenant)
				if err != nil {
					return err
				}
				base := strings.TrimSuffix(s.Config.Server.PublicURL, "/") + "/t/" + tenant + "/connections/"
				w := newTable(e.stdout)
				fmt.Fprintln(w, "ID\tTYPE\tNAME\tENABLED\tDOMAINS\tREGISTER UPSTREAM")
				for _, c := range cs {
					reg := base + c.ID + "/callback"
					switch c.Type {
					case "saml":
						reg = base + c.ID + "/saml/metadata"
					case "ldap":
						reg = "-"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\t%s\n", c.ID, c.Type, c.DisplayName, !c.Disabled, strings.Join(c.Domains, ","), reg)
				}
				return w.Flush()
			})
		},
	}
}

func connectionsSyncCommand() *command {
	return &command{
		name:  "connections sync",
		short: "bring the users of an LDAP directory connection in step with the directory",
		summary: `Look up every user linked through an LDAP connection in the directory: refresh the mapped profile
fields and roles of those still there, and disable (ending their sessions) those whose entry is gone or
no longer matches user_filter. A directory that cannot be read changes nothing. A run that would disable
more than half of the users stops, since that is more often a changed base_dn or filter than people
leaving; --force runs it anyway. Connections with sync_interval are also synced on that schedule.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "connection `id` (required)")
			fs.Bool("force", false, "disable users even when most of them seem gone")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				rep, err := s.Admin.SyncDirectory(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "id"),
					admin.SyncOptions{Force: stringFlag(fs, "force") == "true"}, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "synced connection %s: %d users read, %d refreshed, %d disabled\n", stringFlag(fs, "id"),
					rep.Read, rep.Updated, rep.Disabled)
				return nil
			})
		},
	}
}

func connectionsSetCommand() *command {
	return &command{
		name:  "connections set",
		short: "create or change a connection from a YAML file",
		summary: `Create a tenant's connection, or replace the one with the same id, from a YAML file holding one entry
of tenants[].connections (see the README). A secret left out of the file keeps the stored one, so the
file of a change need not hold it. --position orders the sign-in page's buttons (0 first).`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("file", "", "YAML `file` with the connection (required; - reads standard input)")
			fs.Int("position", 0, "the button's `place` on the sign-in page")
		},
		required: []string{"tenant", "file"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			data, err := readFileOrStdin(e, stringFlag(fs, "file"))
			if err != nil {
				return err
			}
			c, err := config.DecodeConnection(data)
			if err != nil {
				return err
			}
			position, _ := strconv.Atoi(stringFlag(fs, "position"))
			return withServices(ctx, e, fs, func(s *server.Services) error {
				if _, err := s.Admin.UpsertConnection(ctx, stringFlag(fs, "tenant"), c, position, actorCLI); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "saved connection %s (%s)\n", c.ID, c.Type)
				return nil
			})
		},
	}
}

func connectionsDeleteCommand() *command {
	return &command{
		name:  "connections delete",
		short: "remove a connection",
		summary: `Remove a connection and the identities linked through it. The users stay; those who signed in only
through it need another way in (a password reset, or another connection).`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "connection `id` (required)")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				if err := s.Admin.DeleteConnection(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "id"), actorCLI); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted connection %s\n", stringFlag(fs, "id"))
				return nil
			})
		},
	}
}

// readFileOrStdin reads path, or standard input for "-".
func readFileOrStdin(e *env, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	}
	return os.ReadFile(path)
}
