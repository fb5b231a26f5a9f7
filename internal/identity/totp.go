package identity

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// TOTP parameters (RFC 6238 with the defaults every authenticator app supports): HMAC-SHA-1, 6 digits,
// 30-second steps, and one step of clock drift accepted either side.
const (
	TOTPDigits  = 6
	TOTPPeriod  = 30 * time.Second
	totpDrift   = 1
	totpSeedLen = 20 // 160 bits, the HMAC-SHA-1 block of RFC 4226 §4's recommendation
	// pendingTOTPTTL is how long an enrolment waits for its first code: a QR code left on a screen stops
	// being worth photographing.
	pendingTOTPTTL = time.Hour
	// maxFactorName bounds the name a user gives a factor.
	maxFactorName = 64
)

// Errors of the second factor.
var (
	// ErrInvalidCode: a wrong, malformed or already used code (TOTP, recovery code). Which of them is
	// not told, so a replayed code looks like any wrong one.
	ErrInvalidCode = errors.New("invalid code")
	// ErrTooManyAttempts: the account's budget of wrong second-factor codes is used up. The error also
	// wraps a *ThrottledError saying how long to wait.
	ErrTooManyAttempts = errors.New("too many attempts")
	// ErrEnrolmentUnknown: the pending enrolment does not exist (any more), is not the user's, or waited
	// too long: start again.
	ErrEnrolmentUnknown = errors.New("enrolment unknown or expired")
	// ErrTooManyFactors: the user has store.MaxFactorsPerUser factors already.
	ErrTooManyFactors = errors.New("too many factors")
	// ErrInvalidFactorName: a factor's name is too long or holds control characters.
	ErrInvalidFactorName = errors.New("invalid factor name")
	// errNoKeyring: the service was built without a keyring, so no seed can be sealed or opened.
	errNoKeyring = errors.New("identity: no keyring for TOTP seeds")
)

// TOTPEnrolment is a started TOTP enrolment: what the user scans or types into the authenticator app.
// It holds the seed: show it to its user, never log it.
type TOTPEnrolment struct {
	FactorID string
	Secret   string // the seed in base32 without padding
	Grouped  string // Secret in groups of four, for typing
	URI      string // the otpauth:// key URI of the QR code
}

// LogValue keeps the seed out of logs should an enrolment ever be logged: only its factor id shows.
func (e TOTPEnrolment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("factor_id", e.FactorID))
}

var seedEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// BeginTOTP starts a TOTP enrolment for u: the user's older pending TOTP enrolments are dropped (one QR
// code at a time), and a new pending factor holding a fresh sealed seed is stored. It counts as a factor
// only after ConfirmTOTP.
func (s *Service) BeginTOTP(ctx context.Context, t store.Tenant, u store.User) (TOTPEnrolment, error) {
	if s.Keyring == nil {
		return TOTPEnrolment{}, errNoKeyring
	}
	seed := make([]byte, totpSeedLen)
	_, _ = rand.Read(seed)
	now := s.now()
	f := store.Factor{TenantID: t.ID, ID: keys.NewID(), UserID: u.ID, Kind: store.FactorTOTP, CreatedAt: now}
	sealed, err := s.Keyring.Seal(seed, keys.TOTPSeedAAD(t.ID, u.ID, f.ID))
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("begin totp: seal: %w", err)
	}
	f.Secret = sealed
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeletePendingFactors(ctx, t.ID, u.ID, store.FactorTOTP); err != nil {
			return err
		}
		return tx.CreateFactor(ctx, f)
	})
	if errors.Is(err, store.ErrConflict) {
		return TOTPEnrolment{}, ErrTooManyFactors
	}
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("begin totp: %w", err)
	}
	secret := seedEncoding.EncodeToString(seed)
	return TOTPEnrolment{FactorID: f.ID, Secret: secret, Grouped: groupOf4(secret),
		URI: totpURI(cmp.Or(t.Name, t.ID), u.Email, secret)}, nil
}

// TOTPEnrolmentOf returns the pending TOTP enrolment factorID of the user again (a wrong first code
// shows the same QR code), or ErrEnrolmentUnknown.
func (s *Service) TOTPEnrolmentOf(ctx context.Context, t store.Tenant, u store.User, factorID string) (TOTPEnrolment, error) {
	f, seed, err := s.pendingTOTP(ctx, s.db, t.ID, u.ID, factorID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	secret := seedEncoding.EncodeToString(seed)
	return TOTPEnrolment{FactorID: f.ID, Secret: secret, Grouped: groupOf4(secret),
		URI: totpURI(cmp.Or(t.Name, t.ID), u.Email, secret)}, nil
}

// factorReader is what pendingTOTP reads: the database or a transaction.
type factorReader interface {
	GetFactor(ctx context.Context, tenantID, userID, id string) (store.Factor, error)
}

// pendingTOTP loads the user's pending TOTP factor id and opens its seed.
func (s *Service) pendingTOTP(ctx context.Context, q factorReader, tenantID, userID, id string) (store.Factor, []byte, error) {
	if s.Keyring == nil {
		return store.Factor{}, nil, errNoKeyring
	}
	f, err := q.GetFactor(ctx, tenantID, userID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (f.Kind != store.FactorTOTP || f.Confirmed() ||
		!s.now().Before(f.CreatedAt.Add(pendingTOTPTTL))) {
		return store.Factor{}, nil, ErrEnrolmentUnknown
	}
	if err != nil {
		return store.Factor{}, nil, err
	}
	seed, err := s.Keyring.Open(f.Secret, keys.TOTPSeedAAD(tenantID, userID, f.ID))
	if err != nil {
		return store.Factor{}, nil, fmt.Errorf("open totp seed of factor %s: %w", f.ID, err)
	}
	return f, seed, nil
}

// ConfirmTOTP completes the pending enrolment factorID with the first code the app shows: the factor is
// confirmed with that code's step (so the same code cannot then sign in), named name (optional), and
// mfa.factor_enrolled appended, in one transaction. A wrong code is ErrInvalidCode and leaves the
// enrolment pending.
func (s *Service) ConfirmTOTP(ctx context.Context, tenantID, userID, factorID, code, name string) error {
	name, err := checkFactorName(name)
	if err != nil {
		return err
	}
	if len(factorID) > 64 {
		return ErrEnrolmentUnknown
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		f, seed, err := s.pendingTOTP(ctx, tx, tenantID, userID, factorID)
		if err != nil {
			return err
		}
		steps := MatchTOTP(seed, code, now)
		if len(steps) == 0 {
			return ErrInvalidCode
		}
		if err := tx.ConfirmFactor(ctx, tenantID, userID, f.ID, steps[len(steps)-1], now); err != nil {
			if errors.Is(err, store.ErrNotFound) { // confirmed meanwhile by another request
				return ErrEnrolmentUnknown
			}
			return err
		}
		if name != "" {
			if err := tx.RenameFactor(ctx, tenantID, userID, f.ID, name); err != nil {
				return err
			}
		}
		return tx.AppendEvent(ctx, at(events.FactorEnrolled(tenantID, userID, f.ID, store.FactorTOTP), now))
	})
	if err != nil {
		if errors.Is(err, ErrInvalidCode) || errors.Is(err, ErrEnrolmentUnknown) {
			return err
		}
		return fmt.Errorf("confirm totp: %w", err)
	}
	return nil
}

// VerifyTOTP checks a code against the user's confirmed TOTP factors and returns the factor it belongs
// to. Each step is accepted once (store UseTOTPStep decides, atomically across nodes), so a code seen
// over a shoulder or replayed by a phishing proxy is refused. A wrong or replayed code is ErrInvalidCode
// and counts on the account's second-factor budget; once it is used up the answer is ErrTooManyAttempts
// (wrapping a *ThrottledError) until the lock ends.
func (s *Service) VerifyTOTP(ctx context.Context, tenantID, userID, code string) (store.Factor, error) {
	m, err := s.MatchTOTPCode(ctx, tenantID, userID, code)
	if err != nil {
		return store.Factor{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error { return m.Take(ctx, tx) })
	if errors.Is(err, ErrInvalidCode) { // taken meanwhile: a replay, counted like a wrong code
		if err := s.CountMFAFailure(ctx, tenantID, userID); err != nil {
			return store.Factor{}, err
		}
		return store.Factor{}, ErrInvalidCode
	}
	if err != nil {
		return store.Factor{}, err
	}
	return s.db.GetFactor(ctx, tenantID, userID, m.factorID)
}

// The second-factor budget: maxMFAFailures wrong codes of any kind (TOTP, email, SMS, recovery code) per
// account; the next one locks the account's second factor for mfaLockFor. The count starts again after
// mfaLockFor without a failure.
const (
	maxMFAFailures = 10
	mfaLockFor     = 15 * time.Minute
	// BudgetMFA names the second-factor budget in a *ThrottledError.
	BudgetMFA = "mfa"
)

// mfaKey is the throttles key of the account's second-factor budget.
func mfaKey(userID string) string { return "mfa:" + userID }

// CheckMFAAttempts answers ErrTooManyAttempts (wrapping a *ThrottledError) while the account's
// second-factor budget is used up. Every check of a second-factor code calls it first.
func (s *Service) CheckMFAAttempts(ctx context.Context, tenantID, userID string) error {
	_, err := s.checkMFAAttempts(ctx, tenantID, userID)
	return err
}

// checkMFAAttempts is CheckMFAAttempts that also says how many wrong codes are counted (a right code
// then forgets them; with none there is nothing to write).
func (s *Service) checkMFAAttempts(ctx context.Context, tenantID, userID string) (int, error) {
	th, err := s.db.GetThrottle(ctx, tenantID, mfaKey(userID))
	if err != nil {
		return 0, fmt.Errorf("mfa attempts: %w", err)
	}
	if now := s.now(); th.LockedUntil.After(now) {
		return th.Failures, mfaThrottled(th.LockedUntil.Sub(now))
	}
	return th.Failures, nil
}

// CountMFAFailure counts one wrong second-factor code of the account. It returns ErrTooManyAttempts
// (wrapping a *ThrottledError) when that failure used up the budget, else nil.
func (s *Service) CountMFAFailure(ctx context.Context, tenantID, userID string) error {
	now := s.now()
	th, err := s.db.AddAccountFailure(ctx, tenantID, mfaKey(userID), now, now.Add(-mfaLockFor), maxMFAFailures, now.Add(mfaLockFor))
	if err != nil {
		return fmt.Errorf("mfa failure: %w", err)
	}
	if th.LockedUntil.After(now) {
		s.log.InfoContext(ctx, "second factor locked: too many wrong codes", "tenant", tenantID, "user_id", userID,
			"until", th.LockedUntil)
		return mfaThrottled(th.LockedUntil.Sub(now))
	}
	return nil
}

// mfaSucceeded forgets the account's wrong second-factor codes after a right one.
func (s *Service) mfaSucceeded(ctx context.Context, tenantID, userID string) error {
	if err := s.db.DeleteThrottle(ctx, tenantID, mfaKey(userID)); err != nil {
		return fmt.Errorf("mfa success: %w", err)
	}
	return nil
}

func mfaThrottled(d time.Duration) error {
	return fmt.Errorf("%w: %w", ErrTooManyAttempts, &ThrottledError{RetryAfter: d, Budget: BudgetMFA})
}

// TOTPCode is the code of seed at time t (RFC 6238 with TOTPDigits digits and TOTPPeriod steps).
func TOTPCode(seed []byte, t time.Time) string {
	var out [TOTPDigits]byte
	hotp(hmac.New(sha1.New, seed), totpStep(t), &out)
	return string(out[:])
}

func totpStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// hotp writes RFC 4226's HOTP value of counter as TOTPDigits decimal digits, with m the seed's HMAC-SHA-1
// (reset here, so one serves every step of a check).
func hotp(m hash.Hash, counter int64, out *[TOTPDigits]byte) {
	m.Reset()
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], uint64(counter))
	m.Write(c[:])
	var sum [sha1.Size]byte
	m.Sum(sum[:0])
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	for i := TOTPDigits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
}

// MatchTOTP returns the steps, oldest first, among the current one and totpDrift either side, whose code
// is code (spaces allowed, as apps show "123 456"). Every candidate is computed and compared in constant
// time, so the time taken does not tell which step matched. Whether a step may still be used is the
// caller's to decide (store UseTOTPStep).
func MatchTOTP(seed []byte, code string, now time.Time) []int64 {
	code = normalizeTOTP(code)
	if code == "" {
		return nil
	}
	m := hmac.New(sha1.New, seed)
	cur := totpStep(now)
	var out []int64
	var want [TOTPDigits]byte
	for step := cur - totpDrift; step <= cur+totpDrift; step++ {
		hotp(m, step, &want)
		if subtle.ConstantTimeCompare(want[:], []byte(code)) == 1 {
			out = append(out, step)
		}
	}
	return out
}

// normalizeTOTP is code without white space, or "" when that is not TOTPDigits ASCII digits.
func normalizeTOTP(code string) string {
	if len(code) > 32 {
		return ""
	}
	code = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	if len(code) != TOTPDigits {
		return ""
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return ""
		}
	}
	return code
}

// totpURI is the key URI authenticator apps read from the QR code (the "Key Uri Format" of Google
// Authenticator, which every app follows): otpauth://totp/Issuer:account?secret=...&issuer=...
// A colon would end the issuer in the label, so the issuer has none.
func totpURI(issuer, account, secret string) string {
	issuer = strings.ReplaceAll(issuer, ":", " ")
	// Spaces as %20 in the query too: some apps show a "+" literally.
	esc := func(v string) string { return strings.ReplaceAll(url.QueryEscape(v), "+", "%20") }
	return fmt.Sprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
		url.PathEscape(issuer), url.PathEscape(account), secret, esc(issuer), TOTPDigits, int(TOTPPeriod/time.Second))
}

// groupOf4 writes s in groups of four characters separated by spaces.
func groupOf4(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// checkFactorName trims name and refuses one that is too long or holds control characters.
func checkFactorName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxFactorName || !utf8.ValidString(name) ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", ErrInvalidFactorName
	}
	return name, nil
}

// TOTPMatch is a code that matched one of a user's authenticator apps, not yet taken: Take, run in the
// transaction that signs the user in, takes its step, so the code is used exactly when the sign-in
// commits.
type TOTPMatch struct {
	tenantID, userID, factorID string
	steps                      []int64
	failures                   int // wrong codes counted before this one (a right one forgets them)
	at                         time.Time
}

// MatchTOTPCode checks code against u's confirmed authenticator apps like VerifyTOTP, but leaves the
// step to Take. A code that matches nothing is ErrInvalidCode and counts on the second-factor budget.
func (s *Service) MatchTOTPCode(ctx context.Context, tenantID, userID, code string) (TOTPMatch, error) {
	if s.Keyring == nil {
		return TOTPMatch{}, errNoKeyring
	}
	failures, err := s.checkMFAAttempts(ctx, tenantID, userID)
	if err != nil {
		return TOTPMatch{}, err
	}
	now := s.now()
	if normalizeTOTP(code) != "" {
		fs, err := s.db.ListFactors(ctx, tenantID, userID)
		if err != nil {
			return TOTPMatch{}, fmt.Errorf("match totp: %w", err)
		}
		for _, f := range fs {
			if f.Kind != store.FactorTOTP || !f.Confirmed() {
				continue
			}
			seed, err := s.Keyring.Open(f.Secret, keys.TOTPSeedAAD(tenantID, userID, f.ID))
			if err != nil {
				return TOTPMatch{}, fmt.Errorf("open totp seed of factor %s: %w", f.ID, err)
			}
			if steps := MatchTOTP(seed, code, now); len(steps) > 0 && steps[len(steps)-1] > f.LastStep {
				return TOTPMatch{tenantID: tenantID, userID: userID, factorID: f.ID, steps: steps, failures: failures, at: now}, nil
			}
		}
	}
	if err := s.CountMFAFailure(ctx, tenantID, userID); err != nil {
		return TOTPMatch{}, err
	}
	return TOTPMatch{}, ErrInvalidCode
}

// Take takes the matched code's step in tx (ErrInvalidCode when another sign-in took it meanwhile: the
// code was replayed) and forgets the account's wrong codes.
func (m TOTPMatch) Take(ctx context.Context, tx *store.Tx) error {
	for _, step := range m.steps {
		took, err := tx.UseTOTPStep(ctx, m.tenantID, m.factorID, step, m.at)
		if err != nil {
			return fmt.Errorf("take totp step: %w", err)
		}
		if took {
			if m.failures > 0 {
				return tx.DeleteThrottle(ctx, m.tenantID, mfaKey(m.userID))
			}
			return nil
		}
	}
	return ErrInvalidCode
}
