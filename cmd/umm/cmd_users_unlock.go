package main

import (
	"context"

	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store"
)

func usersUnlockCommand() *command {
	return userStateCommand("users unlock", "lift a user's sign-in locks",
		`Lift every sign-in lock of a user: the account-wide lock that many failed sign-ins from unknown
browsers set (only this, a completed password recovery or a new password lifts it), and the shorter
per-IP and per-browser waits. users enable and users set-password lift them too.`,
		func(ctx context.Context, s *server.Services, u store.User) (string, error) {
			return "unlocked", s.Admin.Unlock(ctx, u.TenantID, u.ID, actorCLI)
		})
}
