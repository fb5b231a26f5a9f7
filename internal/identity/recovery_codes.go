package identity

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"unicode"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Recovery codes: RecoveryCodeCount single-use codes of recoveryCodeLen characters from
// recoveryAlphabet, shown as "xxxxx-xxxxx". 31 symbols to the power 10 is about 49 bits per code: with
// the second-factor budget (10 wrong codes per 15 minutes) guessing one is out of reach, and only a
// hash of each is stored.
const (
	RecoveryCodeCount = 10
	recoveryCodeLen   = 10
	// recoveryAlphabet has no letters or digits that read alike (0 o, 1 l i), and lower case only, which
	// reads best on paper.
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
)

// GenerateRecoveryCodes makes a new set of recovery codes for the user, replacing the old set (used or
// not), and appends mfa.recovery_codes_generated, in one transaction. The codes are returned once, for
// the user to keep: only their hashes are stored.
func (s *Service) GenerateRecoveryCodes(ctx context.Context, tenantID, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		c := newRecoveryCode()
		codes[i] = c[:recoveryCodeLen/2] + "-" + c[recoveryCodeLen/2:]
		hashes[i] = keys.HashToken(c)
	}
	now := s.now()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetUser(ctx, tenantID, userID); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, tenantID, userID, hashes, now); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.RecoveryCodesGenerated(tenantID, userID, len(codes)), now))
	})
	if err != nil {
		return nil, fmt.Errorf("generate recovery codes: %w", err)
	}
	return codes, nil
}

// newRecoveryCode returns recoveryCodeLen random characters of recoveryAlphabet, without modulo bias.
func newRecoveryCode() string {
	const n = len(recoveryAlphabet)
	limit := byte(256 - 256%n)
	out := make([]byte, 0, recoveryCodeLen)
	var buf [32]byte
	for len(out) < recoveryCodeLen {
		_, _ = rand.Read(buf[:])
		for _, c := range buf {
			if c < limit && len(out) < recoveryCodeLen {
				out = append(out, recoveryAlphabet[int(c)%n])
			}
		}
	}
	return string(out)
}

// normalizeRecoveryCode is what a user typed in the stored form: lower case, without hyphens and white
// space anywhere, or "" when that cannot be a code.
func normalizeRecoveryCode(code string) string {
	if len(code) > 64 {
		return ""
	}
	code = strings.ToLower(strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code))
	if len(code) != recoveryCodeLen || strings.Trim(code, recoveryAlphabet) != "" {
		return ""
	}
	return code
}

// UseRecoveryCode signs in with one of u's recovery codes instead of the second factor: the code is
// marked used in one statement (it works once, even on two nodes at once), mfa.recovery_code_used is
// appended and the user is told by email, with the number of codes left (a code used by someone else is
// how a stolen sheet of codes shows). A wrong or used code is ErrInvalidCode and counts on the account's
// second-factor budget (ErrTooManyAttempts once it is used up).
func (s *Service) UseRecoveryCode(ctx context.Context, t store.Tenant, u store.User, code, ip, lang string) (int, error) {
	if err := s.CheckMFAAttempts(ctx, t.ID, u.ID); err != nil {
		return 0, err
	}
	left := 0
	norm := normalizeRecoveryCode(code)
	used := false
	if norm != "" {
		now := s.now()
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			used = false // what a retried transaction did the first time did not happen
			ok, err := tx.UseRecoveryCode(ctx, t.ID, u.ID, keys.HashToken(norm), now)
			if err != nil || !ok {
				return err
			}
			used = true
			if left, _, err = tx.RecoveryCodesLeft(ctx, t.ID, u.ID); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, at(events.RecoveryCodeUsed(t.ID, u.ID, ip, left), now)); err != nil {
				return err
			}
			if s.SealEmail == nil {
				s.log.ErrorContext(ctx, "recovery code notice not queued: no email seal", "tenant", t.ID, "user_id", u.ID)
				return nil
			}
			return events.EnqueueRecoveryCodeUsedNotice(ctx, tx, s.SealEmail, t.ID, u.ID, lang, left, now)
		})
		if err != nil {
			return 0, fmt.Errorf("use recovery code: %w", err)
		}
	}
	if !used {
		if err := s.CountMFAFailure(ctx, t.ID, u.ID); err != nil {
			return 0, err
		}
		return 0, ErrInvalidCode
	}
	return left, s.mfaSucceeded(ctx, t.ID, u.ID)
}

// RecoveryCodesLeft returns how many of the user's recovery codes are unused, and how many the set had.
func (s *Service) RecoveryCodesLeft(ctx context.Context, tenantID, userID string) (left, total int, err error) {
	left, total, err = s.db.RecoveryCodesLeft(ctx, tenantID, userID)
	if err != nil {
		return 0, 0, fmt.Errorf("recovery codes left: %w", err)
	}
	return left, total, nil
}
