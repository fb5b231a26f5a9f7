package identity

import (
	"context"
	"fmt"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// PasswordChange is the input of ChangePassword: a signed-in user replacing their own password.
type PasswordChange struct {
	TenantID, UserID string
	// SessionID is the session the change is made in: it stays live, every other one ends.
	SessionID string
	// Current and New are the passwords as typed. Current is checked like a sign-in.
	Current, New string
	// IP and DeviceID select the sign-in budgets a wrong current password counts against (LoginAttempt).
	IP, DeviceID string
	// Lang is the language of the notice email ("" is English).
	Lang string
}

// ChangePassword checks c.Current as a sign-in of the user would (Login: a wrong one is
// ErrInvalidCredentials and counts against the same budgets, a used-up budget is *ThrottledError, so the
// form cannot be used to guess passwords), then c.New against the tenant's policy (*PasswordError), and
// then, in one transaction: stores the new password, appends password.changed, ends every other session
// of the user (back-channel logout messages included) and revokes every grant, so every refresh token
// stops working (reason events.ReasonPasswordChanged), and queues the password_changed email to a
// verified address. A refused change writes nothing but the failed attempt's count.
func (s *Service) ChangePassword(ctx context.Context, c PasswordChange) error {
	u, err := s.db.GetUser(ctx, c.TenantID, c.UserID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if u.Disabled {
		return ErrInvalidCredentials
	}
	if _, err := s.Login(ctx, LoginAttempt{TenantID: c.TenantID, Email: u.Email, Password: c.Current, IP: c.IP,
		DeviceID: c.DeviceID}); err != nil {
		return err
	}
	pw, err := s.PreparePassword(ctx, c.TenantID, c.UserID, u.Email, c.New)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetUser(ctx, c.TenantID, c.UserID); err != nil { // deleted meanwhile
			return err
		}
		if err := pw.Store(ctx, tx, c.TenantID, c.UserID, now); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.PasswordChanged(c.TenantID, c.UserID, c.UserID), now)); err != nil {
			return err
		}
		if err := EndOtherSessionsAndGrants(ctx, tx, c.TenantID, c.UserID, c.SessionID, c.UserID,
			events.ReasonPasswordChanged, events.ReasonPasswordChanged, now); err != nil {
			return err
		}
		if s.SealEmail == nil {
			s.log.ErrorContext(ctx, "password change notice not queued: email sealing is not wired", "tenant", c.TenantID, "user_id", c.UserID)
			return nil
		}
		return events.EnqueuePasswordChangedNotice(ctx, tx, s.SealEmail, c.TenantID, c.UserID, c.Lang, now)
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}
