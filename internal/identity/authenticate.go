package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Brute-force protection that attackers cannot turn against the people they attack. Counters live in the
// throttles table so that every node sees the same numbers, and each change is one atomic UPSERT, so
// concurrent failures on any number of nodes are all counted. Every per-IP count keys an IPv6 client on
// its /64 (IPKey). The budgets of a sign-in (events name them, events.Budget*):
//
//   - "ip": failures from one client IP across accounts, in a fixed one-minute window
//     (security.ip_limit_per_minute).
//   - "account_ip": failures on one account from one client IP (key "aip:<subject>:<ip>"). From half of
//     security.account_lockout_threshold on, each next attempt waits 2^n seconds (capped at maxBackoff);
//     at the threshold that IP is locked out of that account for security.account_lockout_duration. A
//     count whose last failure is older than the duration starts again.
//   - "device": the same on one account from a browser that completed a sign-in for it before (the signed
//     umm_device cookie names a known device), with security.device_lockout_threshold. Such a browser
//     counts only here: an attack from elsewhere cannot lock its owner out.
//   - "account": failures on one account from every unknown browser together (key "acct:<subject>").
//     At security.account_attack_threshold an attack episode starts (account.attack_detected, once, and
//     an email to the account's verified address); at security.account_hard_lock_threshold unknown
//     browsers are locked out until a completed password recovery or an operator lifts the lock (Unlock, AccountRecovered). A count with no failure for
//     security.account_failure_window starts again, which ends the episode.
//
// Whatever happens (unknown address, wrong password, disabled account, any budget used up) the answer of
// a failed sign-in is the same and costs the same: the same reads, one argon2id verification (against a
// dummy hash when there is no real one) and one transaction of the same statements. A refused attempt
// (a budget used up) is not counted on the account's budgets, so refused attempts cannot push an account
// into the hard lock; it writes no event row either (login.throttled is written once, by the failure
// that used the budget up), so a flood writes no rows. Addresses without an account are counted exactly
// like accounts, on a subject made from a hash of the address ("~<hash>"): the throttles table holds no
// addresses, and the answers never tell whether the account exists.
const (
	maxBackoff = 15 * time.Minute
	ipWindow   = time.Minute
)

// hardLockUntil marks the account-wide lock: no time lifts it. DeleteStaleThrottles keeps such rows.
var hardLockUntil = time.Unix(253402300799, 0) // 9999-12-31T23:59:59Z

// Scopes of the per-IP limit.
const (
	ScopeLogin  = "login"
	ScopeToken  = "token"
	ScopeDevice = "device"
)

// subjectOf is what an address's counters are keyed on: the account's user id, or for an address without
// an account a hash of it.
func subjectOf(u store.User, found bool, emailNorm string) string {
	if found {
		return u.ID
	}
	sum := sha256.Sum256([]byte(emailNorm))
	return "~" + hex.EncodeToString(sum[:16])
}

func accountKey(subject string) string       { return "acct:" + subject }
func accountIPKey(subject, ip string) string { return "aip:" + subject + ":" + IPKey(ip) }
func deviceKey(subject string, dh []byte) string {
	return "dev:" + subject + ":" + hex.EncodeToString(dh[:16])
}
func ipKey(scope, ip string) string { return "ip:" + scope + ":" + IPKey(ip) }

// LoginAttempt is one sign-in with a password.
type LoginAttempt struct {
	TenantID, Email, Password string
	IP                        string // the client's address ("" counts no per-IP budget)
	// DeviceID is the device id of the browser's verified umm_device cookie, "" without one. It selects the
	// device budget when it names a known device of the account.
	DeviceID string
	// External checks the password elsewhere (a directory's bind) instead of the stored hash: the
	// attempt counts on the same budgets and writes the same events, the account need not exist here, and
	// a throttled attempt never reaches the directory. It answers whether the password is right.
	External func(ctx context.Context) (bool, error)
}

func (s *Service) lockoutDuration() time.Duration {
	return durationOr(s.sec.AccountLockoutDuration, config.Default().Security.AccountLockoutDuration)
}

func (s *Service) failureWindow() time.Duration {
	return durationOr(s.sec.AccountFailureWindow, config.Default().Security.AccountFailureWindow)
}

func durationOr(d, def config.Duration) time.Duration {
	if d > 0 {
		return d.D()
	}
	return def.D()
}

func intOr(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

func (s *Service) ipLimit() int { return max(s.sec.IPLimitPerMinute, 1) }

// budgetLimit is the failures that lock a per-IP or per-device budget.
func (s *Service) budgetLimit(known bool) int {
	d := config.Default().Security
	if known {
		return intOr(s.sec.DeviceLockoutThreshold, d.DeviceLockoutThreshold)
	}
	return intOr(s.sec.AccountLockoutThreshold, d.AccountLockoutThreshold)
}

func (s *Service) hardLockAt() int {
	return intOr(s.sec.AccountHardLockThreshold, config.Default().Security.AccountHardLockThreshold)
}

func (s *Service) attackAt() int {
	return intOr(s.sec.AccountAttackThreshold, config.Default().Security.AccountAttackThreshold)
}

// backoff is the wait imposed after n consecutive failures of a budget locking at limit: none below half
// the limit, then 1 s, 2 s, 4 s, ... up to maxBackoff.
func backoff(n, limit int) time.Duration {
	after := max(limit/2, 1)
	if n < after {
		return 0
	}
	shift := n - after
	if shift > 20 {
		return maxBackoff
	}
	return min(time.Duration(1<<shift)*time.Second, maxBackoff)
}

// budgetWait is how long a per-IP or per-device budget th must wait before the next attempt (0: now).
func (s *Service) budgetWait(th store.Throttle, limit int, now time.Time) time.Duration {
	if th.Failures == 0 {
		return 0
	}
	if th.LockedUntil.After(now) {
		return th.LockedUntil.Sub(now)
	}
	if !th.UpdatedAt.After(now.Add(-s.lockoutDuration())) {
		return 0 // the count has decayed (or a lockout has ended)
	}
	b := backoff(th.Failures, limit)
	if b == 0 {
		return 0 // (UpdatedAt is rounded up to the second, so it may be a moment ahead of now)
	}
	if until := th.UpdatedAt.Add(b); until.After(now) {
		return until.Sub(now)
	}
	return 0
}

// Authenticate is Login without a device cookie.
func (s *Service) Authenticate(ctx context.Context, tenantID, email, password, ip string) (store.User, error) {
	return s.Login(ctx, LoginAttempt{TenantID: tenantID, Email: email, Password: password, IP: ip})
}

// Login checks an address and password and returns the user. A failure is ErrInvalidCredentials, or
// *ThrottledError when a budget is used up (see the comment on maxBackoff); surfaces that must not tell
// them apart answer both the same. Both cost the same work. A counted failure appends login.failed, and
// the events of the budgets it used up, in the transaction that counts it. Success forgets the budget it
// came through (per IP or per device; the account-wide count stays until it decays or is lifted) and,
// when the stored hash uses other argon2id parameters than the configuration, stores a fresh hash; it
// writes no event itself (session.Manager.Start records login.succeeded with the session).
func (s *Service) Login(ctx context.Context, a LoginAttempt) (store.User, error) {
	tenantID, ip := a.TenantID, a.IP
	emailNorm, err := NormalizeEmail(a.Email)
	if err != nil {
		return store.User{}, s.loginNotAnAddress(ctx, tenantID, a.Password, ip)
	}
	now := s.now()
	u, err := s.db.GetUserByEmail(ctx, tenantID, emailNorm)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("authenticate: %w", err)
	}
	if !found {
		// Finding an account also reads its roles: read them for no one, so both cost the same statements.
		if _, err := s.db.UserRoles(ctx, tenantID, ""); err != nil {
			return store.User{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	subject := subjectOf(u, found, emailNorm)
	// The same reads run whether or not the account exists (with an id no user has when it does not).
	phc, err := s.db.GetPasswordHash(ctx, tenantID, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("authenticate: %w", err)
	}
	deviceHash := keys.HashToken(a.DeviceID)
	known, err := s.db.IsKnownDevice(ctx, tenantID, deviceHash, u.ID, now)
	if err != nil {
		return store.User{}, fmt.Errorf("authenticate: %w", err)
	}
	known = known && found && a.DeviceID != ""
	k := loginKeys{ip: ipKey(ScopeLogin, ip), budget: accountIPKey(subject, ip), account: accountKey(subject)}
	if known {
		k.budget = deviceKey(subject, deviceHash)
	}
	ths, err := s.db.GetThrottles(ctx, tenantID, k.ip, k.budget, k.account)
	if err != nil {
		return store.User{}, fmt.Errorf("authenticate: %w", err)
	}
	refused := s.refusal(ths, k, known, ip != "", now)

	reason := ""
	switch {
	case !found:
		reason = events.ReasonUnknownUser
	case u.Disabled:
		reason = events.ReasonDisabled
	case phc == "":
		reason = events.ReasonNoPassword
	}
	if a.External != nil {
		reason = ""
		if found && u.Disabled {
			reason = events.ReasonDisabled
		}
		ok := false
		if refused == nil && reason == "" {
			if ok, err = a.External(ctx); err != nil {
				return store.User{}, err
			}
		}
		if reason == "" && !ok {
			reason = events.ReasonBadPassword
		}
	} else {
		target := phc
		if reason != "" {
			target = s.dummy
		}
		ok, err := s.VerifyPassword(ctx, target, a.Password)
		if err != nil && !errors.Is(err, errMalformedHash) {
			return store.User{}, fmt.Errorf("authenticate: %w", err)
		}
		if err != nil {
			s.log.ErrorContext(ctx, "stored password hash is unusable", "tenant", tenantID, "user_id", u.ID, "err", err)
		}
		if reason == "" && !ok {
			reason = events.ReasonBadPassword
		}
	}
	userID := ""
	if found {
		userID = u.ID
	}
	if refused != nil || reason != "" {
		if err := s.recordLoginAttempt(ctx, tenantID, userID, ip, reason, k, known, refused, now); err != nil {
			return store.User{}, fmt.Errorf("authenticate: %w", err)
		}
		if refused != nil {
			s.log.InfoContext(ctx, "sign-in refused", "tenant", tenantID, "user_id", userID, "budget", refused.Budget)
			return store.User{}, refused
		}
		return store.User{}, ErrInvalidCredentials
	}
	if ths[k.budget].Failures > 0 {
		if err := s.db.DeleteThrottle(ctx, tenantID, k.budget); err != nil {
			return store.User{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	if a.External == nil && NeedsRehash(phc, s.sec) {
		s.rehash(ctx, tenantID, u.ID, phc, a.Password)
	}
	return u, nil
}

// loginKeys are the counters one sign-in reads and writes.
type loginKeys struct {
	ip      string // the per-IP window across accounts
	budget  string // per (account, IP), or per (account, known device)
	account string // account-wide, unknown browsers only
}

// refusal returns the budget that refuses this attempt, or nil. A known device answers only to its own
// budget; other browsers to the IP window, the account-wide lock and their per-IP budget.
func (s *Service) refusal(ths map[string]store.Throttle, k loginKeys, known, hasIP bool, now time.Time) *ThrottledError {
	if known {
		if w := s.budgetWait(ths[k.budget], s.budgetLimit(true), now); w > 0 {
			return &ThrottledError{RetryAfter: w, Budget: events.BudgetDevice}
		}
		return nil
	}
	if hasIP {
		th := ths[k.ip]
		if end := th.WindowStart.Add(ipWindow); th.Failures >= s.ipLimit() && end.After(now) {
			return &ThrottledError{RetryAfter: end.Sub(now), Budget: events.BudgetIP}
		}
	}
	if ths[k.account].LockedUntil.After(now) {
		return &ThrottledError{RetryAfter: s.lockoutDuration(), Budget: events.BudgetAccount}
	}
	if w := s.budgetWait(ths[k.budget], s.budgetLimit(false), now); w > 0 {
		return &ThrottledError{RetryAfter: w, Budget: events.BudgetAccountIP}
	}
	return nil
}

// recordLoginAttempt writes what a failed or refused sign-in leaves behind, in one transaction of the
// same four statements either way (see the comment on maxBackoff): a counted failure adds to the IP
// window, its budget and (from unknown browsers) the account-wide count and appends login.failed (plus
// the events of any budget it used up); a refused one adds to the IP window only and runs the same
// writes as no-ops.
func (s *Service) recordLoginAttempt(ctx context.Context, tenantID, userID, ip, reason string, k loginKeys, known bool,
	refused *ThrottledError, now time.Time) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ipTh, err := s.countIP(ctx, tx, tenantID, k.ip, ip, now)
		if err != nil {
			return err
		}
		if refused != nil {
			for _, key := range []string{k.budget, k.account, k.ip} {
				if err := tx.TouchThrottle(ctx, tenantID, key); err != nil {
					return err
				}
			}
			return nil
		}
		var extra []store.Event
		if ip != "" && ipTh.Failures == s.ipLimit() && !known {
			extra = append(extra, events.LoginThrottled(tenantID, "", ip, events.BudgetIP, ipTh.Failures, ipTh.WindowStart.Add(ipWindow)))
		}
		limit, lockFor := s.budgetLimit(known), s.lockoutDuration()
		b, err := tx.AddAccountFailure(ctx, tenantID, k.budget, now, now.Add(-lockFor), limit, now.Add(lockFor))
		if err != nil {
			return err
		}
		if b.Failures == limit {
			budget := events.BudgetAccountIP
			if known {
				budget = events.BudgetDevice
			}
			extra = append(extra, events.LoginThrottled(tenantID, userID, ip, budget, b.Failures, b.LockedUntil))
		}
		if known {
			// A known browser leaves the account-wide count alone; the no-op keeps the statements the same.
			if err := tx.TouchThrottle(ctx, tenantID, k.account); err != nil {
				return err
			}
		} else {
			hard := s.hardLockAt()
			acct, err := tx.AddAccountFailure(ctx, tenantID, k.account, now, now.Add(-s.failureWindow()), hard, hardLockUntil)
			if err != nil {
				return err
			}
			if userID != "" {
				switch acct.Failures {
				case s.attackAt():
					s.log.InfoContext(ctx, "account under attack", "tenant", tenantID, "user_id", userID)
					extra = append(extra, events.AccountAttackDetected(tenantID, userID, ip, acct.Failures))
					// The owner hears of it once per episode, when the episode's event commits.
					if s.SealEmail == nil {
						s.log.ErrorContext(ctx, "attack notice not queued: email sealing is not wired", "tenant", tenantID, "user_id", userID)
					} else if err := events.EnqueueAccountAttackNotice(ctx, tx, s.SealEmail, tenantID, userID, "", now); err != nil {
						return err
					}
				}
				if acct.Failures == hard {
					s.log.InfoContext(ctx, "account locked", "tenant", tenantID, "user_id", userID)
					extra = append(extra, events.AccountHardLocked(tenantID, userID, ip, acct.Failures))
				}
			}
		}
		if err := tx.AppendEvent(ctx, at(events.LoginFailed(tenantID, userID, ip, reason), now)); err != nil {
			return err
		}
		for _, e := range extra {
			if err := tx.AppendEvent(ctx, at(e, now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// countIP adds one attempt to the IP's one-minute window (nothing without an IP).
func (s *Service) countIP(ctx context.Context, tx *store.Tx, tenantID, key, ip string, now time.Time) (store.Throttle, error) {
	if ip == "" {
		return store.Throttle{}, tx.TouchThrottle(ctx, tenantID, key)
	}
	return tx.AddWindowFailure(ctx, tenantID, key, now, now.Add(-ipWindow))
}

// loginNotAnAddress handles an identifier that is no email address: it cannot be an account, so it is
// counted per IP only, after the same one verification.
func (s *Service) loginNotAnAddress(ctx context.Context, tenantID, pw, ip string) error {
	if err := s.CheckIP(ctx, tenantID, ScopeLogin, ip); err != nil {
		return err
	}
	if _, err := s.VerifyPassword(ctx, s.dummy, pw); err != nil && !errors.Is(err, errMalformedHash) {
		return fmt.Errorf("authenticate: %w", err)
	}
	now := s.now()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if ip != "" {
			if _, err := tx.AddWindowFailure(ctx, tenantID, ipKey(ScopeLogin, ip), now, now.Add(-ipWindow)); err != nil {
				return err
			}
		}
		return tx.AppendEvent(ctx, at(events.LoginFailed(tenantID, "", ip, events.ReasonUnknownUser), now))
	})
	if err != nil {
		return fmt.Errorf("authenticate: %w", err)
	}
	return ErrInvalidCredentials
}

// rehash stores a hash with the current parameters after a successful sign-in with an old one. It is
// best effort: a failure is logged and the sign-in still succeeds.
func (s *Service) rehash(ctx context.Context, tenantID, userID, oldPHC, password string) {
	hash, err := s.HashPassword(ctx, password)
	if err == nil {
		now := s.now()
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			// Replace only the hash that was verified: a password changed meanwhile wins.
			cur, err := tx.GetPasswordHash(ctx, tenantID, userID)
			if err != nil || cur != oldPHC {
				return err
			}
			if err := tx.SetPasswordHash(ctx, tenantID, userID, hash, now); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, at(events.PasswordRehashed(tenantID, userID), now))
		})
	}
	if err != nil {
		s.log.WarnContext(ctx, "upgrade password hash", "tenant", tenantID, "user_id", userID, "err", err)
	}
}

// CheckIP returns *ThrottledError when ip (IPv6: its /64) has used up its failures for scope ("login",
// "token", "device") in the current one-minute window. An empty ip is never limited.
func (s *Service) CheckIP(ctx context.Context, tenantID, scope, ip string) error {
	if ip == "" {
		return nil
	}
	th, err := s.db.GetThrottle(ctx, tenantID, ipKey(scope, ip))
	if err != nil {
		return fmt.Errorf("check ip: %w", err)
	}
	now := s.now()
	end := th.WindowStart.Add(ipWindow)
	if th.Failures >= s.ipLimit() && end.After(now) {
		return &ThrottledError{RetryAfter: end.Sub(now), Budget: events.BudgetIP}
	}
	return nil
}

// FailIP counts one failure of ip (IPv6: its /64) in scope. It returns *ThrottledError when this failure
// used up the window's allowance (so the caller may answer it at once). An empty ip is not counted.
func (s *Service) FailIP(ctx context.Context, tenantID, scope, ip string) error {
	if ip == "" {
		return nil
	}
	now := s.now()
	th, err := s.db.AddWindowFailure(ctx, tenantID, ipKey(scope, ip), now, now.Add(-ipWindow))
	if err != nil {
		return fmt.Errorf("count ip failure: %w", err)
	}
	if th.Failures >= s.ipLimit() {
		return &ThrottledError{RetryAfter: th.WindowStart.Add(ipWindow).Sub(now), Budget: events.BudgetIP}
	}
	return nil
}
