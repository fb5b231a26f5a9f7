package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// Brute-force protection. Counters live in the throttles table so that every node sees the same numbers,
// and every update is one atomic UPSERT, so concurrent failures are all counted.
//
// Per account (key "acct:<user id>"): the count is kept on the user id, so every identifier that leads to
// the account shares it. From the backoffAfter-th consecutive failure on, the next attempt must wait
// 2^(n-backoffAfter) seconds (capped at maxBackoff); at AccountLockoutThreshold failures the account is
// locked for AccountLockoutDuration (event account.locked). While the account waits or is locked, attempts
// are refused before any password is hashed, so they cost no argon2id run and are not counted. A
// successful sign-in resets the count; a count whose last failure is older than AccountLockoutDuration
// starts again (this is also what happens when a lockout ends).
//
// Per client IP and scope (key "ip:<scope>:<ip>"): a fixed one-minute window that starts at the first
// failure; after IPLimitPerMinute failures every attempt is refused until the window ends.
//
// Addresses without an account: the same rules run on a counter keyed by a hash of the normalised
// address ("ident:<sha256>"), so an unknown address backs off and locks exactly like an account does and
// the answers (ErrInvalidCredentials, then *ThrottledError with the same waits) never tell whether the
// account exists. Disabled accounts count on their account key like any other. An identifier that is
// not an email address at all cannot be an account; it is counted per IP only.
const (
	backoffAfter = 5
	maxBackoff   = 15 * time.Minute
	ipWindow     = time.Minute
)

// Scopes of the per-IP limit.
const (
	ScopeLogin  = "login"
	ScopeToken  = "token"
	ScopeDevice = "device"
)

func accountKey(userID string) string { return "acct:" + userID }

// identifierKey counts failures for an address that has no account (a hash: the throttles table holds
// no addresses).
func identifierKey(emailNorm string) string {
	sum := sha256.Sum256([]byte(emailNorm))
	return "ident:" + hex.EncodeToString(sum[:16])
}

func ipKey(scope, ip string) string { return "ip:" + scope + ":" + ip }

func (s *Service) lockoutThreshold() int { return max(s.sec.AccountLockoutThreshold, 1) }

func (s *Service) lockoutDuration() time.Duration {
	if d := s.sec.AccountLockoutDuration.D(); d > 0 {
		return d
	}
	return 15 * time.Minute
}

func (s *Service) ipLimit() int { return max(s.sec.IPLimitPerMinute, 1) }

// backoff is the wait imposed after n consecutive failures (0 below backoffAfter).
func backoff(n int) time.Duration {
	if n < backoffAfter {
		return 0
	}
	shift := n - backoffAfter
	if shift > 20 {
		return maxBackoff
	}
	return min(time.Duration(1<<shift)*time.Second, maxBackoff)
}

// accountWait is how long the account behind th must wait before the next attempt (0: it may try now).
func (s *Service) accountWait(th store.Throttle, now time.Time) time.Duration {
	if th.Failures == 0 {
		return 0
	}
	if th.LockedUntil.After(now) {
		return th.LockedUntil.Sub(now)
	}
	if !th.UpdatedAt.After(now.Add(-s.lockoutDuration())) {
		return 0 // the count has decayed (or a lockout has ended)
	}
	if until := th.UpdatedAt.Add(backoff(th.Failures)); until.After(now) {
		return until.Sub(now)
	}
	return 0
}

// Authenticate checks email and password and returns the user. Whatever fails (unknown address, no
// password, wrong password, disabled account) the answer is ErrInvalidCredentials and the work is the
// same one argon2id verification (against a dummy hash when there is no real one), so neither the answer
// nor its timing tells whether the account exists. Too many failures answer *ThrottledError (see the
// comment on backoffAfter for the rules and the one disclosure they accept). A failure appends
// login.failed (and account.locked when it locks the account) in the transaction that counts it. Success
// resets the account's count and, when the stored hash uses other argon2id parameters than the
// configuration, stores a fresh hash; it writes no event itself (session.Manager.Start records
// login.succeeded with the session).
func (s *Service) Authenticate(ctx context.Context, tenantID, email, password, ip string) (store.User, error) {
	if err := s.CheckIP(ctx, tenantID, ScopeLogin, ip); err != nil {
		return store.User{}, err
	}
	var (
		u      store.User
		found  bool
		phc    string
		thKey  string // the per-account (or per-address) counter; "" when the identifier is no address
		thAcct store.Throttle
	)
	if n, err := NormalizeEmail(email); err == nil {
		thKey = identifierKey(n)
		u, err = s.db.GetUserByEmail(ctx, tenantID, n)
		switch {
		case err == nil:
			found, thKey = true, accountKey(u.ID)
		case !errors.Is(err, store.ErrNotFound):
			return store.User{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	if thKey != "" {
		var err error
		if thAcct, err = s.db.GetThrottle(ctx, tenantID, thKey); err != nil {
			return store.User{}, fmt.Errorf("authenticate: %w", err)
		}
		if wait := s.accountWait(thAcct, s.now()); wait > 0 {
			return store.User{}, &ThrottledError{RetryAfter: wait}
		}
	}
	if found {
		var err error
		phc, err = s.db.GetPasswordHash(ctx, tenantID, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.User{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	reason := ""
	switch {
	case !found:
		reason = events.ReasonUnknownUser
	case u.Disabled:
		reason = events.ReasonDisabled
	case phc == "":
		reason = events.ReasonNoPassword
	}
	target := phc
	if reason != "" {
		target = s.dummy
	}
	ok, err := s.VerifyPassword(ctx, target, password)
	if err != nil && !errors.Is(err, errMalformedHash) {
		return store.User{}, fmt.Errorf("authenticate: %w", err)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "stored password hash is unusable", "tenant", tenantID, "user_id", u.ID, "err", err)
	}
	if reason == "" && !ok {
		reason = events.ReasonBadPassword
	}
	if reason != "" {
		userID := ""
		if found {
			userID = u.ID
		}
		if err := s.recordLoginFailure(ctx, tenantID, userID, thKey, ip, reason); err != nil {
			return store.User{}, fmt.Errorf("authenticate: %w", err)
		}
		return store.User{}, ErrInvalidCredentials
	}
	if thAcct.Failures > 0 {
		if err := s.db.DeleteThrottle(ctx, tenantID, thKey); err != nil {
			return store.User{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	if NeedsRehash(phc, s.sec) {
		s.rehash(ctx, tenantID, u.ID, phc, password)
	}
	return u, nil
}

// recordLoginFailure counts a failed sign-in per IP and on thKey (the account's or the address's counter,
// when there is one), and appends login.failed (and account.locked when this failure locks an account),
// all in one transaction.
func (s *Service) recordLoginFailure(ctx context.Context, tenantID, userID, thKey, ip, reason string) error {
	now := s.now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if ip != "" {
			if _, err := tx.AddWindowFailure(ctx, tenantID, ipKey(ScopeLogin, ip), now, now.Add(-ipWindow)); err != nil {
				return err
			}
		}
		if err := tx.AppendEvent(ctx, at(events.LoginFailed(tenantID, userID, ip, reason), now)); err != nil {
			return err
		}
		if thKey == "" {
			return nil
		}
		threshold, lockFor := s.lockoutThreshold(), s.lockoutDuration()
		th, err := tx.AddAccountFailure(ctx, tenantID, thKey, now, now.Add(-lockFor), threshold, now.Add(lockFor))
		if err != nil {
			return err
		}
		if th.Failures == threshold && userID != "" {
			// Exactly one failure reaches the threshold (the counts are exact), so the event is written once.
			s.log.InfoContext(ctx, "account locked", "tenant", tenantID, "user_id", userID, "until", th.LockedUntil)
			return tx.AppendEvent(ctx, at(events.AccountLocked(tenantID, userID, ip, th.Failures, th.LockedUntil), now))
		}
		return nil
	})
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

// CheckIP returns *ThrottledError when ip has used up its failures for scope ("login", "token", "device")
// in the current one-minute window. An empty ip is never limited.
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
		return &ThrottledError{RetryAfter: end.Sub(now)}
	}
	return nil
}

// FailIP counts one failure of ip in scope. It returns *ThrottledError when this failure used up the
// window's allowance (so the caller may answer it at once). An empty ip is not counted.
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
		return &ThrottledError{RetryAfter: th.WindowStart.Add(ipWindow).Sub(now)}
	}
	return nil
}
