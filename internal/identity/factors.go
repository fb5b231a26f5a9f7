package identity

import (
	"context"
	"fmt"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// Factors returns the user's confirmed factors of every kind, oldest first (pending enrolments are not
// factors yet).
func (s *Service) Factors(ctx context.Context, tenantID, userID string) ([]store.Factor, error) {
	fs, err := s.db.ListFactors(ctx, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("factors: %w", err)
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Confirmed() {
			f.Secret = nil // what reads the list has no use for a sealed seed
			out = append(out, f)
		}
	}
	return out, nil
}

// RemoveFactor removes the user's factor factorID and appends mfa.factor_removed with actor, in one
// transaction; store.ErrNotFound when the user has no such factor.
func (s *Service) RemoveFactor(ctx context.Context, tenantID, userID, factorID, actor string) error {
	now := s.now()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		f, err := tx.GetFactor(ctx, tenantID, userID, factorID)
		if err != nil {
			return err
		}
		if err := tx.DeleteFactor(ctx, tenantID, userID, factorID); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.FactorRemoved(tenantID, userID, actor, f.ID, f.Kind), now))
	})
	if err != nil {
		return fmt.Errorf("remove factor: %w", err)
	}
	return nil
}

// KnownDevices returns the user's known devices, most recently seen first.
func (s *Service) KnownDevices(ctx context.Context, tenantID, userID string) ([]store.KnownDevice, error) {
	ds, err := s.db.ListKnownDevices(ctx, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("known devices: %w", err)
	}
	return ds, nil
}

// ForgetDevice removes the user's known device deviceHash (it will count as a new device at its next
// sign-in, and no longer skips the second factor) and appends device.forgotten, in one transaction;
// store.ErrNotFound when the user has no such device.
func (s *Service) ForgetDevice(ctx context.Context, tenantID, userID string, deviceHash []byte) error {
	now := s.now()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ForgetKnownDevice(ctx, tenantID, deviceHash, userID); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.DeviceForgotten(tenantID, userID), now))
	})
	if err != nil {
		return fmt.Errorf("forget device: %w", err)
	}
	return nil
}

// ResetMFA removes every factor and recovery code of the user, forgets which devices skip the second
// factor and lifts the second-factor lock, appending mfa.reset with actor, in one transaction (an
// operator's reset for a user who lost their phone). It returns how many factors were removed.
func (s *Service) ResetMFA(ctx context.Context, tenantID, userID, actor string) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetUser(ctx, tenantID, userID); err != nil {
			return err
		}
		var err error
		if n, err = tx.ResetMFA(ctx, tenantID, userID); err != nil {
			return err
		}
		if err := tx.DeleteThrottle(ctx, tenantID, mfaKey(userID)); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.MFAReset(tenantID, userID, actor, n), s.now()))
	})
	if err != nil {
		return 0, fmt.Errorf("reset mfa: %w", err)
	}
	return n, nil
}
