package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Unlock lifts every sign-in lock and count of the account (the account-wide hard lock, its per-IP and
// per-device budgets) for an operator (`umm users unlock`). account.unlocked is appended when there was
// anything to lift.
func (s *Service) Unlock(ctx context.Context, tenantID, userID, actor string) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetUser(ctx, tenantID, userID); err != nil {
			return err
		}
		return UnlockInTx(ctx, tx, tenantID, userID, actor, events.UnlockOperator, s.now())
	})
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	return nil
}

// AccountRecovered is what a completed password reset calls, in the transaction that sets the new
// password: the password recovery flow (actor: the user, who proved control of the account's address) and
// an operator's password reset (actor: the operator). Whoever set the new password is let in again,
// whatever attack locked the account.
func AccountRecovered(ctx context.Context, tx *store.Tx, tenantID, userID, actor string, now time.Time) error {
	reason := events.UnlockPasswordReset
	if actor == userID {
		reason = events.UnlockPasswordRecovery
	}
	return UnlockInTx(ctx, tx, tenantID, userID, actor, reason, now)
}

// UnlockInTx lifts the account's locks and counts in tx, appending account.unlocked (with reason) when
// there was any. Operators' password resets and enabling an account call it too.
func UnlockInTx(ctx context.Context, tx *store.Tx, tenantID, userID, actor, reason string, now time.Time) error {
	ths, err := tx.GetThrottles(ctx, tenantID, accountKey(userID))
	if err != nil {
		return err
	}
	if err := tx.DeleteThrottlesOf(ctx, tenantID, accountKey(userID), "aip:"+userID+":", "dev:"+userID+":"); err != nil {
		return err
	}
	if th := ths[accountKey(userID)]; th.Failures == 0 && th.LockedUntil.IsZero() {
		return nil
	}
	return tx.AppendEvent(ctx, at(events.AccountUnlocked(tenantID, userID, actor, reason), now))
}

// HardLocked reports whether the account is under the account-wide lock (for the CLI to say so).
func (s *Service) HardLocked(ctx context.Context, tenantID, userID string) (bool, error) {
	th, err := s.db.GetThrottle(ctx, tenantID, accountKey(userID))
	if err != nil {
		return false, fmt.Errorf("lock state: %w", err)
	}
	return !th.LockedUntil.Before(hardLockUntil), nil
}

// RememberDevice records in tx that the browser with deviceID completed a sign-in for userID, until
// expires: later attempts from it count on its own budget. A device new to the account appends
// device.remembered, and RememberDevice reports it (the "New sign-in" email goes with it).
func RememberDevice(ctx context.Context, tx *store.Tx, tenantID, userID, deviceID, userAgent, ip string, now, expires time.Time) (isNew bool, err error) {
	if deviceID == "" {
		return false, nil
	}
	h := keys.HashToken(deviceID)
	known, err := tx.IsKnownDevice(ctx, tenantID, h, userID, now)
	if err != nil {
		return false, err
	}
	if len(userAgent) > 512 {
		userAgent = userAgent[:512]
	}
	err = tx.RememberDevice(ctx, store.KnownDevice{TenantID: tenantID, DeviceHash: h, UserID: userID, UserAgent: userAgent,
		IP: ip, CreatedAt: now, LastSeenAt: now, ExpiresAt: expires})
	if err != nil || known {
		return false, err
	}
	return true, tx.AppendEvent(ctx, at(events.DeviceRemembered(tenantID, userID, ip), now))
}
