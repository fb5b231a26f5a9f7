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

// Changing the address on the account console (docs/DESIGN.md, "Changing the email address"): the
// signed-in user asks for a new address and proves the current password; an email_change flow holds the
// new address and the hashes of a link secret and a 6-digit code, which go to the new address. The
// address changes only when the code or the link comes back; then the old address gets a notice.

// Limits of email-change requests, each in an hourly window of throttles.
const (
	EmailChangePerUser = 5  // requests per account
	EmailChangePerIP   = 20 // requests per client IP (IPv6: its /64)
	emailChangeTTL     = 15 * time.Minute
	emailChangeWindow  = time.Hour
)

// Field error codes of an email change besides required and not_email.
const (
	CodeSameEmail = "same_email" // the new address is the current one
)

// ErrEmailUnavailable: at confirmation, the new address belongs to another account of the tenant. The
// flow has ended and nothing changed. Only someone who received the code or link at that address sees it.
var ErrEmailUnavailable = errors.New("the new address cannot be used")

// EmailChange is what the console's change-email form submits.
type EmailChange struct {
	TenantID, UserID string
	NewEmail         string
	// Current is the current password, checked like a sign-in (IP and DeviceID select the budgets).
	Current, IP, DeviceID string
	Lang                  string // the language of the emails
	// LinkBase + the link secret confirms the change.
	LinkBase string
}

// EmailChangeError lists the problems of a submission (fields new_email and current_password, codes
// required, not_email, same_email, domain_not_allowed: registration.allowed_email_domains); nothing was
// counted or written.
type EmailChangeError struct{ Fields FieldErrors }

func (e *EmailChangeError) Error() string { return "email change refused: " + e.Fields.Error() }

func emailChangeUserKey(userID string) string { return "emailchange:user:" + userID }
func emailChangeIPKey(ip string) string       { return "emailchange:ip:" + IPKey(ip) }

// changeAddressKey keys the per-address limit of email-change messages on a hash of the new address.
func changeAddressKey(emailNorm string) string {
	h := sha256.Sum256([]byte("umm email change address|" + emailNorm))
	return "emailchange:mail:" + hex.EncodeToString(h[:16])
}

// StartEmailChange validates c (*EmailChangeError), counts the request per user and per IP
// (*ThrottledError beyond EmailChangePerUser or EmailChangePerIP, and beyond
// registration.limits.emails_per_address_per_hour messages to the new address), checks the current
// password as a sign-in would (ErrInvalidCredentials, counted against the sign-in budgets; a used-up budget
// is *ThrottledError), and then in one transaction ends the user's pending email_change flows, stores a new
// one (15 minutes) and queues email_change_verify to the new address. It answers the same whether or not
// another account has the new address: that is checked only at confirmation. It returns the flow id.
func (s *Service) StartEmailChange(ctx context.Context, t store.Tenant, c EmailChange) (string, error) {
	u, err := s.db.GetUser(ctx, c.TenantID, c.UserID)
	if err != nil {
		return "", fmt.Errorf("start email change: %w", err)
	}
	newEmail := strings.TrimSpace(c.NewEmail)
	var fe FieldErrors
	norm, nerr := NormalizeEmail(newEmail)
	switch {
	case newEmail == "":
		fe = append(fe, FieldError{Field: "new_email", Code: CodeRequired})
	case nerr != nil:
		fe = append(fe, FieldError{Field: "new_email", Code: CodeNotEmail})
	case norm == u.EmailNorm:
		fe = append(fe, FieldError{Field: "new_email", Code: CodeSameEmail})
	case !checkDomain(t.Settings.Registration, norm): // the allow-list binds every address an account gets
		fe = append(fe, FieldError{Field: "new_email", Code: CodeDomainNotAllowed})
	}
	if c.Current == "" {
		fe = append(fe, FieldError{Field: "current_password", Code: CodeRequired})
	}
	if len(fe) > 0 {
		return "", &EmailChangeError{Fields: fe}
	}
	now := s.now()
	floor := now.Add(-emailChangeWindow)
	limits := []struct {
		key, budget string
		max         int
	}{{emailChangeUserKey(u.ID), "email_change_user", EmailChangePerUser}}
	if c.IP != "" {
		limits = append(limits, struct {
			key, budget string
			max         int
		}{emailChangeIPKey(c.IP), "email_change_ip", EmailChangePerIP})
	}
	for _, l := range limits {
		th, err := s.db.AddWindowFailure(ctx, c.TenantID, l.key, now, floor)
		if err != nil {
			return "", fmt.Errorf("count email change: %w", err)
		}
		if th.Failures > l.max {
			return "", &ThrottledError{RetryAfter: th.WindowStart.Add(emailChangeWindow).Sub(now), Budget: l.budget}
		}
	}
	if u.Disabled {
		return "", ErrInvalidCredentials
	}
	if _, err := s.Login(ctx, LoginAttempt{TenantID: c.TenantID, Email: u.Email, Password: c.Current, IP: c.IP,
		DeviceID: c.DeviceID}); err != nil {
		return "", err
	}
	th, err := s.db.AddWindowFailure(ctx, c.TenantID, changeAddressKey(norm), now, floor)
	if err != nil {
		return "", fmt.Errorf("count email change: %w", err)
	}
	if th.Failures > t.Settings.Registration.EmailsPerAddress() {
		return "", &ThrottledError{RetryAfter: th.WindowStart.Add(emailChangeWindow).Sub(now), Budget: "email_change_address"}
	}
	link, code := keys.NewToken(), newCode()
	flow := store.Flow{TenantID: c.TenantID, ID: keys.NewID(), Kind: store.FlowEmailChange, State: store.FlowPending,
		UserID: u.ID, Email: newEmail, CreatedAt: now, ExpiresAt: now.Add(emailChangeTTL)}
	flow.LinkHash, flow.CodeHash = keys.HashToken(link), codeHash(flow.ID, code)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.EndUserFlows(ctx, c.TenantID, u.ID, store.FlowEmailChange, now); err != nil {
			return err
		}
		if err := tx.CreateFlow(ctx, flow); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, c.TenantID, u.ID, events.EmailChangeVerifyEmail(newEmail, c.Lang, c.LinkBase+link, code), now)
	})
	if err != nil {
		return "", fmt.Errorf("start email change: %w", err)
	}
	return flow.ID, nil
}

// EmailChangeFlow returns the user's usable email_change flow id: pending, unexpired. Anything else
// (unknown, another user's, another kind, used, failed, expired) is ErrFlowInvalid.
func (s *Service) EmailChangeFlow(ctx context.Context, tenantID, userID, id string) (store.Flow, error) {
	f, err := s.db.GetFlow(ctx, tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return f, ErrFlowInvalid
	}
	if err != nil {
		return f, err
	}
	if f.Kind != store.FlowEmailChange || f.UserID != userID || f.State != store.FlowPending || !s.now().Before(f.ExpiresAt) {
		return f, ErrFlowInvalid
	}
	return f, nil
}

// EmailChangeFlowByLink returns the pending email_change flow whose link secret is link, else
// ErrFlowInvalid (a link of another kind of flow included). The caller checks that it belongs to the
// signed-in user.
func (s *Service) EmailChangeFlowByLink(ctx context.Context, tenantID, link string) (store.Flow, error) {
	return s.flowByLinkOfKind(ctx, store.FlowEmailChange, tenantID, link)
}

// ConfirmEmailChange finishes flow f (pending, email_change; from EmailChangeFlow after CheckCode, or
// from EmailChangeFlowByLink) by method ("code" or "link"). In one transaction: the flow is done, the user's email
// and email_norm become the new address with email_verified true, email.changed is appended, and
// email_change_notice is queued to the old address when it was verified. Sessions and grants stay.
// When another account of the tenant has the new address by now, the flow ends as failed instead,
// nothing else changes, and the answer is ErrEmailUnavailable. A flow used meanwhile is ErrFlowInvalid.
func (s *Service) ConfirmEmailChange(ctx context.Context, f store.Flow, method, lang string) error {
	if f.Kind != store.FlowEmailChange {
		return ErrFlowInvalid
	}
	norm, err := NormalizeEmail(f.Email)
	if err != nil {
		return fmt.Errorf("confirm email change: %w", err)
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		other, err := tx.GetUserByEmail(ctx, f.TenantID, norm)
		switch {
		case err == nil && other.ID != f.UserID:
			return ErrEmailUnavailable
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := tx.SetFlowState(ctx, f.TenantID, f.ID, store.FlowPending, store.FlowDone, now); err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, f.TenantID, f.UserID)
		if err != nil {
			return err
		}
		old, oldVerified := u.Email, u.EmailVerified
		u.Email, u.EmailNorm, u.EmailVerified, u.UpdatedAt = f.Email, norm, true, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.EmailChanged(f.TenantID, f.UserID, method), now)); err != nil {
			return err
		}
		if !oldVerified || old == "" {
			return nil // a notice to an address nobody confirmed could tell a stranger about the account
		}
		return s.enqueue(ctx, tx, f.TenantID, f.UserID, events.EmailChangeNoticeEmail(old, lang, f.Email), now)
	})
	if errors.Is(err, ErrEmailUnavailable) || (errors.Is(err, store.ErrConflict) && !flowUsed(ctx, s, f)) {
		// Taken (or taken by a parallel request): end the flow, change nothing.
		if err := s.db.SetFlowState(ctx, f.TenantID, f.ID, store.FlowPending, store.FlowFailed, now); err != nil &&
			!errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("confirm email change: %w", err)
		}
		return ErrEmailUnavailable
	}
	if errors.Is(err, store.ErrConflict) {
		return ErrFlowInvalid
	}
	if err != nil {
		return fmt.Errorf("confirm email change: %w", err)
	}
	return nil
}

// flowUsed reports whether f has left the pending state (so a conflict came from the flow, not from the
// address).
func flowUsed(ctx context.Context, s *Service, f store.Flow) bool {
	cur, err := s.db.GetFlow(ctx, f.TenantID, f.ID)
	return err != nil || cur.State != store.FlowPending
}
