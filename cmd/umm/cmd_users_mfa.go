package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store"
)

func usersMFAListCommand() *command {
	return &command{
		name:  "users mfa list",
		short: "list a user's second factors and recovery codes left",
		summary: `List a user's second factors (authenticator apps, passkeys, email and SMS): id, kind, name, when
it was added and last used; and how many recovery codes are left. No secret is shown.`,
		flags:    userFlags,
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withUser(ctx, e, fs, func(s *server.Services, u store.User) error {
				st, err := s.Admin.UserMFA(ctx, u.TenantID, u.ID)
				if err != nil {
					return err
				}
				w := newTable(e.stdout)
				fmt.Fprintln(w, "ID\tKIND\tNAME\tCREATED\tLAST USED")
				for _, f := range st.Factors {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.ID, f.Kind, f.Name, tableTime(f.ConfirmedAt), optionalTime(f.LastUsedAt))
				}
				if err := w.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "recovery codes left: %d of %d\n", st.RecoveryLeft, st.RecoveryTotal)
				return nil
			})
		},
	}
}

// optionalTime is tableTime, or "-" for "never".
func optionalTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return tableTime(t)
}

func usersMFAResetCommand() *command {
	return &command{
		name:  "users mfa reset",
		short: "remove a user's second factors and recovery codes",
		summary: `Remove every second factor and recovery code of a user, and make their remembered devices ask
for a second factor again: for a user who lost their phone or security key. They sign in with their
password alone until they set up a factor again (or as the tenant's MFA policy then asks). Check who is
asking before running it: the reset is what an attacker who took over the password wants.`,
		flags:    userFlags,
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withUser(ctx, e, fs, func(s *server.Services, u store.User) error {
				n, err := s.Admin.ResetMFA(ctx, u.TenantID, u.ID, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "reset the second factors of user %s (%s); factors removed: %d\n", u.Email, u.ID, n)
				return nil
			})
		},
	}
}
