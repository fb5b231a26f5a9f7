package admin

import (
	"context"
	"fmt"

	"github.com/umm-project/umm/internal/store"
)

// MFAState is what an operator sees of a user's strong authentication: the confirmed factors (without
// their secrets) and the recovery codes left.
type MFAState struct {
	Factors       []store.Factor
	RecoveryLeft  int
	RecoveryTotal int
}

// UserMFA returns the user's factors and recovery codes (`umm users mfa list`).
func (s *Service) UserMFA(ctx context.Context, tenantID, userID string) (MFAState, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return MFAState{}, err
	}
	fs, err := s.identity.Factors(ctx, tenantID, userID)
	if err != nil {
		return MFAState{}, err
	}
	left, total, err := s.identity.RecoveryCodesLeft(ctx, tenantID, userID)
	if err != nil {
		return MFAState{}, err
	}
	return MFAState{Factors: fs, RecoveryLeft: left, RecoveryTotal: total}, nil
}

// ResetMFA removes every factor and recovery code of the user and forgets which of their devices skip the
// second factor, for a user who lost them (`umm users mfa reset`). mfa.reset is appended with actor. It
// returns how many factors were removed.
func (s *Service) ResetMFA(ctx context.Context, tenantID, userID, actor string) (int64, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return 0, err
	}
	n, err := s.identity.ResetMFA(ctx, tenantID, userID, actor)
	if err != nil {
		return 0, fmt.Errorf("reset the second factors of user %s: %w", userID, err)
	}
	return n, nil
}
