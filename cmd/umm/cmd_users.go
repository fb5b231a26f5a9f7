package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store"
)

// userFlags registers --tenant and the --email/--id pair that names an existing user.
func userFlags(fs *flag.FlagSet) {
	fs.String("tenant", "", "tenant `id` (required)")
	fs.String("email", "", "the user's email `address`")
	fs.String("id", "", "the user's `id` (instead of --email)")
}

// withUser opens the services, finds the user named by --email or --id and runs fn.
func withUser(ctx context.Context, e *env, fs *flag.FlagSet, fn func(s *server.Services, u store.User) error) error {
	return withServices(ctx, e, fs, func(s *server.Services) error {
		u, err := findUser(ctx, s, fs)
		if err != nil {
			return err
		}
		return fn(s, u)
	})
}

// findUser resolves --email or --id.
func findUser(ctx context.Context, s *server.Services, fs *flag.FlagSet) (store.User, error) {
	email, id := stringFlag(fs, "email"), stringFlag(fs, "id")
	switch {
	case email != "" && id != "":
		return store.User{}, usagef("give --email or --id, not both")
	case email != "":
		return s.Admin.FindUser(ctx, stringFlag(fs, "tenant"), email)
	case id != "":
		if strings.Contains(id, "@") {
			return store.User{}, usagef("--id takes a user id; use --email for an address")
		}
		return s.Admin.FindUser(ctx, stringFlag(fs, "tenant"), id)
	}
	return store.User{}, usagef("--email or --id is required")
}

func usersCreateCommand() *command {
	return &command{
		name:  "users create",
		short: "create a user (password from a prompt or stdin)",
		summary: `Create a user. The password is asked for twice without echo, or read from the first line of
standard input when it is not a terminal; it is never taken from the command line.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("email", "", "email `address` (required)")
			fs.String("given-name", "", "given `name`")
			fs.String("family-name", "", "family `name`")
			fs.Bool("email-verified", false, "mark the email address as verified")
			fs.Var(new(listFlag), "role", "`role` to give (repeatable or comma-separated)")
			fs.Bool("no-password", false, "create the user without a password (they cannot sign in with one yet)")
			attrFlags(fs)
		},
		required: []string{"tenant", "email"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			in := admin.UserInput{
				Email: stringFlag(fs, "email"), GivenName: stringFlag(fs, "given-name"), FamilyName: stringFlag(fs, "family-name"),
				EmailVerified: stringFlag(fs, "email-verified") == "true", Roles: listValue(fs, "role"),
				Attributes: attrValues(fs),
			}
			return withServices(ctx, e, fs, func(s *server.Services) error {
				tenant := stringFlag(fs, "tenant")
				if _, err := s.Admin.GetTenant(ctx, tenant); err != nil {
					return err // before asking for a password that cannot be used
				}
				if stringFlag(fs, "no-password") != "true" {
					pw, err := readPassword(e, "Password for "+in.Email+": ", true)
					if err != nil {
						return err
					}
					in.Password = keys.Secret(pw)
				}
				u, err := s.Admin.CreateUser(ctx, tenant, in, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "created user %s (%s) in tenant %s\n", u.Email, u.ID, tenant)
				fmt.Fprintf(e.stdout, "account page: %s/account\n", s.Issuer(tenant))
				return nil
			})
		},
	}
}

func usersListCommand() *command {
	return &command{
		name:    "users list",
		short:   "list a tenant's users",
		summary: "List a tenant's users, in pages ordered by id.",
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.Int("limit", 100, "at most `n` users")
			fs.String("after", "", "start after this user `id` (the last id of the previous page)")
		},
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			limit, _ := strconv.Atoi(stringFlag(fs, "limit"))
			if limit < 1 || limit > 1000 {
				return usagef("--limit must be between 1 and 1000")
			}
			return withServices(ctx, e, fs, func(s *server.Services) error {
				us, err := s.Admin.ListUsers(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "after"), limit)
				if err != nil {
					return err
				}
				w := newTable(e.stdout)
				fmt.Fprintln(w, "ID\tEMAIL\tVERIFIED\tNAME\tROLES\tDISABLED\tCREATED")
				for _, u := range us {
					name := strings.TrimSpace(u.GivenName + " " + u.FamilyName)
					fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\t%v\t%s\n", u.ID, u.Email, u.EmailVerified, name,
						strings.Join(u.Roles, ","), u.Disabled, tableTime(u.CreatedAt))
				}
				return w.Flush()
			})
		},
	}
}

func usersSetPasswordCommand() *command {
	return &command{
		name:  "users set-password",
		short: "set a user's password, ending their sessions and grants",
		summary: `Set a user's password. It is asked for twice without echo, or read from the first line of
standard input when it is not a terminal. As after any password reset, the user's sessions end and their
grants are revoked (refresh tokens stop working), so whoever knew the old password is signed out.`,
		flags:    userFlags,
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withUser(ctx, e, fs, func(s *server.Services, u store.User) error {
				pw, err := readPassword(e, "New password for "+u.Email+": ", true)
				if err != nil {
					return err
				}
				if err := s.Admin.SetPassword(ctx, u.TenantID, u.ID, keys.Secret(pw), actorCLI); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "password set for %s; their sessions and grants have ended\n", u.Email)
				return nil
			})
		},
	}
}

func usersDisableCommand() *command {
	return userStateCommand("users disable", "disable a user, ending their sessions and grants",
		"Disable a user: they cannot sign in, and their sessions and grants end.",
		func(ctx context.Context, s *server.Services, u store.User) (string, error) {
			return "disabled", s.Admin.SetDisabled(ctx, u.TenantID, u.ID, true, actorCLI)
		})
}

func usersEnableCommand() *command {
	return userStateCommand("users enable", "enable a disabled user",
		"Enable a disabled user again.",
		func(ctx context.Context, s *server.Services, u store.User) (string, error) {
			return "enabled", s.Admin.SetDisabled(ctx, u.TenantID, u.ID, false, actorCLI)
		})
}

func usersDeleteCommand() *command {
	return userStateCommand("users delete", "delete a user",
		"Delete a user and everything attached to them (sessions, consents, credentials).",
		func(ctx context.Context, s *server.Services, u store.User) (string, error) {
			return "deleted", s.Admin.DeleteUser(ctx, u.TenantID, u.ID, actorCLI)
		})
}

func userStateCommand(name, short, summary string, do func(ctx context.Context, s *server.Services, u store.User) (string, error)) *command {
	return &command{
		name:     name,
		short:    short,
		summary:  summary,
		flags:    userFlags,
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withUser(ctx, e, fs, func(s *server.Services, u store.User) error {
				what, err := do(ctx, s, u)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s user %s (%s)\n", what, u.Email, u.ID)
				return nil
			})
		},
	}
}
