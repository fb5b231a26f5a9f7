package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/server"
)

func invitationsCreateCommand() *command {
	return &command{
		name:  "invitations create",
		short: "invite someone by email to create an account",
		summary: `Invite an email address to the tenant. The person receives an email with a single-use link
to a registration form with the address filled in and verified by the link; the account gets the roles
given here, is signed in and is sent to the client's initiate_login_uri (or the account page). Works even
when self-registration is disabled. The email is queued and sent by the running server.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("email", "", "email `address` to invite (required)")
			fs.Var(new(listFlag), "roles", "`roles` the new account gets (comma-separated or repeated; each must exist)")
			fs.String("client", "", "client `id` whose initiate_login_uri the new account is sent to (default: the account page)")
			fs.Duration("expires", admin.DefaultInvitationTTL, fmt.Sprintf("how long the link works (`duration`, %s to %s)",
				admin.MinInvitationTTL, admin.MaxInvitationTTL))
		},
		required: []string{"tenant", "email"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			ttl, err := time.ParseDuration(stringFlag(fs, "expires"))
			if err != nil || ttl <= 0 {
				return usagef("--expires must be a positive duration such as 72h")
			}
			in := admin.InvitationInput{Email: stringFlag(fs, "email"), Roles: listValue(fs, "roles"),
				ClientID: stringFlag(fs, "client"), TTL: ttl}
			return withServices(ctx, e, fs, func(s *server.Services) error {
				tenant := stringFlag(fs, "tenant")
				inv, err := s.Admin.CreateInvitation(ctx, tenant, in, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "invited %s to tenant %s (invitation %s, link valid until %s UTC)\n",
					inv.Email, tenant, inv.ID, tableTime(inv.ExpiresAt))
				fmt.Fprintln(e.stdout, "the email with the link is queued; the running server sends it")
				return nil
			})
		},
	}
}

func invitationsListCommand() *command {
	return &command{
		name:    "invitations list",
		short:   "list a tenant's invitations",
		summary: "List a tenant's invitations, newest first. A pending invitation past its expiry shows the status expired.",
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("status", "", "only invitations with this `status`: pending, accepted or revoked")
		},
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				invs, err := s.Admin.ListInvitations(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "status"))
				if err != nil {
					return err
				}
				now := time.Now()
				w := newTable(e.stdout)
				fmt.Fprintln(w, "ID\tEMAIL\tSTATUS\tEXPIRES\tROLES\tCLIENT")
				for _, inv := range invs {
					status := inv.Status
					if status == "pending" && !now.Before(inv.ExpiresAt) {
						status = "expired"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", inv.ID, inv.Email, status, tableTime(inv.ExpiresAt),
						strings.Join(inv.Roles, ","), inv.ClientID)
				}
				return w.Flush()
			})
		},
	}
}

func invitationsResendCommand() *command {
	return &command{
		name:  "invitations resend",
		short: "email a pending invitation again with a new link",
		summary: `Email a pending (or expired) invitation again with a new link, valid for 72 hours. The previous
link stops working.`,
		flags:    invitationFlags,
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				inv, err := s.Admin.ResendInvitation(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "id"), actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "resent invitation %s to %s (new link valid until %s UTC; the previous link no longer works)\n",
					inv.ID, inv.Email, tableTime(inv.ExpiresAt))
				return nil
			})
		},
	}
}

func invitationsRevokeCommand() *command {
	return &command{
		name:     "invitations revoke",
		short:    "withdraw a pending invitation",
		summary:  "Withdraw a pending invitation: its link stops working and shows that the invitation was withdrawn.",
		flags:    invitationFlags,
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				id := stringFlag(fs, "id")
				if err := s.Admin.RevokeInvitation(ctx, stringFlag(fs, "tenant"), id, actorCLI); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "revoked invitation %s\n", id)
				return nil
			})
		},
	}
}

// invitationFlags registers --tenant and --id, which name an invitation.
func invitationFlags(fs *flag.FlagSet) {
	fs.String("tenant", "", "tenant `id` (required)")
	fs.String("id", "", "invitation `id` (required; umm invitations list shows them)")
}
