package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// NewPassword is a password that passed the tenant's policy, hashed and ready to store with Store in the
// transaction that records the change (so its history entry commits with it, or not at all).
type NewPassword struct {
	hash   string
	policy store.PasswordPolicy
}

// PreparePassword checks password against the tenant's policy (CheckPassword, then, for an existing user
// when the policy keeps a history, the user's recent passwords) and hashes it. userID is empty for an
// account being created. A refused password is a *PasswordError and nothing is written.
func (s *Service) PreparePassword(ctx context.Context, tenantID, userID, email, password string) (NewPassword, error) {
	t, err := s.db.GetTenant(ctx, tenantID)
	if err != nil {
		return NewPassword{}, fmt.Errorf("password policy: %w", err)
	}
	policy := t.Settings.PasswordPolicy
	if err := CheckPassword(policy, password, email); err != nil {
		return NewPassword{}, err
	}
	if userID != "" && policy.History > 0 {
		if err := s.checkHistory(ctx, tenantID, userID, password, policy.History); err != nil {
			return NewPassword{}, err
		}
	}
	hash, err := s.HashPassword(ctx, password)
	if err != nil {
		return NewPassword{}, err
	}
	return NewPassword{hash: hash, policy: policy}, nil
}

// checkHistory refuses password when it matches the user's current password or one of its last n
// passwords. Each stored hash has its own salt, so each costs one argon2id verification.
func (s *Service) checkHistory(ctx context.Context, tenantID, userID, password string, n int) error {
	hashes, err := s.db.PasswordHistory(ctx, tenantID, userID, n)
	if err != nil {
		return err
	}
	// The current password counts even when it was set before the tenant kept a history.
	cur, err := s.db.GetPasswordHash(ctx, tenantID, userID)
	switch {
	case err == nil && (len(hashes) == 0 || hashes[0] != cur):
		hashes = append(hashes, cur)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	for _, h := range hashes {
		ok, err := s.VerifyPassword(ctx, h, password)
		if err != nil && ctx.Err() != nil {
			return err
		}
		if ok { // a malformed old hash (err) matches nothing
			return refuse(ReasonReused, "You have used this password recently. Choose one that is not among your last %d passwords.", n)
		}
	}
	return nil
}

// Store sets the prepared password as the user's and records it in the user's password history, kept to
// the tenant's history length, in tx.
func (p NewPassword) Store(ctx context.Context, tx *store.Tx, tenantID, userID string, now time.Time) error {
	if err := tx.SetPasswordHash(ctx, tenantID, userID, p.hash, now); err != nil {
		return err
	}
	return tx.AddPasswordHistory(ctx, tenantID, userID, p.hash, now, p.policy.History)
}
