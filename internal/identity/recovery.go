package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Password recovery (docs/DESIGN.md, "Password recovery"): StartRecovery counts the request against the
// per-IP and per-address limits and, in one transaction, stores a recovery flow bound to the browser and,
// only when the address has an enabled account, queues the password_reset email with its link and code.
// Without an account the flow is a decoy: it looks the same to the browser, but no code opens it.
// CompleteRecovery sets the new password and ends everything the old one gave.

// Fixed limits of password recovery.
const (
	// RecoveryTTL is how long a recovery link and code are valid.
	RecoveryTTL = 15 * time.Minute
	// RecoveryPerIP is how many recoveries one client IP may ask for per hour.
	RecoveryPerIP = 10
	// RecoveryEmailsPerAddress is how many recoveries may be asked for one address per hour (whether or
	// not it has an account).
	RecoveryEmailsPerAddress = 3
)

// recoveryWindow is the window of the recovery limits.
const recoveryWindow = time.Hour

// Recovery is what the "Forgot password?" page submits.
type Recovery struct {
	Email    string // checked by the page: NormalizeEmail accepts it
	Lang, IP string
	// BrowserHash binds the flow (its code) to the browser that asked; LoginRequestID is the request it
	// resumes.
	BrowserHash    []byte
	LoginRequestID string
	// LinkBase + the link secret is the emailed link to the choose-password page.
	LinkBase string
}

func recoveryIPKey(ip string) string { return "rec:ip:" + IPKey(ip) }

// recoveryAddressKey keys the per-address limit on a hash of the normalized address.
func recoveryAddressKey(emailNorm string) string {
	h := sha256.Sum256([]byte("umm recovery address|" + emailNorm))
	return "rec:mail:" + hex.EncodeToString(h[:16])
}

// StartRecovery starts a password recovery for in.Email in tenant t and returns the flow the browser
// continues with. The answer (and the work) is the same whether or not the address has an account; only
// the email differs. *ThrottledError when the IP's or the address's hourly limit is used up.
func (s *Service) StartRecovery(ctx context.Context, t store.Tenant, in Recovery) (string, error) {
	now := s.now()
	emailNorm, err := NormalizeEmail(in.Email)
	if err != nil {
		return "", fmt.Errorf("start recovery: %w", err)
	}
	if in.IP != "" {
		th, err := s.db.AddWindowFailure(ctx, t.ID, recoveryIPKey(in.IP), now, now.Add(-recoveryWindow))
		if err != nil {
			return "", fmt.Errorf("count recovery: %w", err)
		}
		if th.Failures > RecoveryPerIP {
			return "", &ThrottledError{RetryAfter: th.WindowStart.Add(recoveryWindow).Sub(now), Budget: "recovery_ip"}
		}
	}
	th, err := s.db.AddWindowFailure(ctx, t.ID, recoveryAddressKey(emailNorm), now, now.Add(-recoveryWindow))
	if err != nil {
		return "", fmt.Errorf("count recovery: %w", err)
	}
	if th.Failures > RecoveryEmailsPerAddress {
		return "", &ThrottledError{RetryAfter: th.WindowStart.Add(recoveryWindow).Sub(now), Budget: "recovery_address"}
	}
	u, err := s.db.GetUserByEmail(ctx, t.ID, emailNorm)
	found := err == nil && !u.Disabled
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("start recovery: %w", err)
	}
	flow := store.Flow{TenantID: t.ID, ID: keys.NewID(), Kind: store.FlowRecovery, State: store.FlowDecoy,
		Email: strings.TrimSpace(in.Email), BrowserHash: in.BrowserHash, LoginRequestID: in.LoginRequestID,
		CreatedAt: now, ExpiresAt: now.Add(RecoveryTTL)}
	link, code := keys.NewToken(), newCode() // made either way: the same work
	if found {
		flow.State, flow.UserID, flow.Email = store.FlowPending, u.ID, u.Email
		flow.LinkHash, flow.CodeHash = keys.HashToken(link), codeHash(flow.ID, code)
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		// A newer recovery replaces the older ones: only the latest email works. Without an account the
		// same statement runs for an id that matches nothing, and the sealing is done too, so that the
		// answer costs nearly the same (what remains is the event's and the email's row).
		userID := u.ID
		if !found {
			userID = keys.NewID()
		}
		if err := tx.EndUserFlows(ctx, t.ID, userID, store.FlowRecovery, now); err != nil {
			return err
		}
		if err := tx.CreateFlow(ctx, flow); err != nil {
			return err
		}
		if !found {
			if s.SealEmail != nil {
				_, err := s.SealEmail([]byte(link+code+in.Email), []byte(t.ID))
				return err
			}
			return nil
		}
		if err := tx.AppendEvent(ctx, at(events.RecoveryRequested(t.ID, u.ID, in.IP), now)); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, t.ID, u.ID, events.PasswordResetEmail(u.Email, in.Lang, in.LinkBase+link, code), now)
	})
	if err != nil {
		return "", fmt.Errorf("start recovery: %w", err)
	}
	return flow.ID, nil
}

// RecoveryFlow returns the usable recovery flow id of the browser browserHash (pending or a decoy,
// unexpired), else ErrFlowInvalid. Its code is checked with CheckCode.
func (s *Service) RecoveryFlow(ctx context.Context, tenantID, id string, browserHash []byte) (store.Flow, error) {
	return s.flowOfKind(ctx, store.FlowRecovery, tenantID, id, browserHash)
}

// RecoveryFlowByLink returns the pending recovery flow whose link secret is link, in any browser, else
// ErrFlowInvalid.
func (s *Service) RecoveryFlowByLink(ctx context.Context, tenantID, link string) (store.Flow, error) {
	return s.flowByLinkOfKind(ctx, store.FlowRecovery, tenantID, link)
}

// PrepareRecoveryPassword checks password against the tenant's policy for the account of flow f (from
// RecoveryFlow or RecoveryFlowByLink) and hashes it (*PasswordError when refused). ErrFlowInvalid when the
// account was deleted or disabled meanwhile.
func (s *Service) PrepareRecoveryPassword(ctx context.Context, f store.Flow, password string) (NewPassword, error) {
	u, err := s.db.GetUser(ctx, f.TenantID, f.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return NewPassword{}, ErrFlowInvalid
	}
	if err != nil {
		return NewPassword{}, fmt.Errorf("recovery password: %w", err)
	}
	return s.PreparePassword(ctx, f.TenantID, f.UserID, u.Email, password)
}

// CompleteRecovery finishes flow f (pending) with the new password pw, proven by method ("link" or
// "code"), in tx: the flow ends (store.ErrConflict when it was used meanwhile), the password is stored
// (with its history) with password.changed and password.reset, every session of the user ends and every
// grant is revoked (so every refresh token stops working; reason password_recovery), the account-wide lock
// and the sign-in budgets are lifted (AccountRecovered), an unverified address becomes verified (the email
// proved it), and the password_changed notice is queued in lang. The caller starts the new session in the
// same transaction, after this.
func (s *Service) CompleteRecovery(ctx context.Context, tx *store.Tx, f store.Flow, pw NewPassword, method, lang string, now time.Time) error {
	if err := tx.SetFlowState(ctx, f.TenantID, f.ID, store.FlowPending, store.FlowDone, now); err != nil {
		return err
	}
	u, err := tx.GetUser(ctx, f.TenantID, f.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return ErrFlowInvalid
	}
	if err != nil {
		return err
	}
	if err := pw.Store(ctx, tx, f.TenantID, u.ID, now); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, at(events.PasswordChanged(f.TenantID, u.ID, u.ID), now)); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, at(events.PasswordReset(f.TenantID, u.ID, method), now)); err != nil {
		return err
	}
	if err := EndSessionsAndGrants(ctx, tx, f.TenantID, u.ID, u.ID, events.ReasonPasswordRecovery,
		events.ReasonPasswordRecovery, now); err != nil {
		return err
	}
	if err := AccountRecovered(ctx, tx, f.TenantID, u.ID, u.ID, now); err != nil {
		return err
	}
	if err := tx.EndUserFlows(ctx, f.TenantID, u.ID, store.FlowRecovery, now); err != nil {
		return err
	}
	if !u.EmailVerified {
		if err := tx.SetEmailVerified(ctx, f.TenantID, u.ID, now); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.EmailVerified(f.TenantID, u.ID, "recovery"), now)); err != nil {
			return err
		}
		if err := DropUnprovenIdentities(ctx, tx, f.TenantID, u.ID, u.ID, now); err != nil {
			return err
		}
	}
	return events.EnqueuePasswordChangedNotice(ctx, tx, s.SealEmail, f.TenantID, u.ID, lang, now)
}
