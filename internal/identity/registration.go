package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Self-registration (docs/DESIGN.md, "Registration"): the page posts a Registration; Register validates
// it, counts it against the tenant's hourly limits, and in one transaction either creates the unverified
// account with its registration flow and queues the verify_email message, or, when the address has an
// account already, stores a decoy flow and queues the already_registered notice. Both ways hash the
// password and answer the same, so the answer never tells whether an account exists.

// MaxCodeFailures is how many wrong codes end a verification flow.
const MaxCodeFailures = 5

// ScopeVerify is the per-IP limit of wrong verification codes (security.ip_limit_per_minute).
const ScopeVerify = "verify"

// registrationWindow is the window of registration.limits.
const registrationWindow = time.Hour

// Errors of registration and verification.
var (
	// ErrFlowInvalid: the flow is unknown, ended, expired, or belongs to another browser.
	ErrFlowInvalid = errors.New("verification flow cannot be used")
	// ErrWrongCode: the code does not match; the flow goes on.
	ErrWrongCode = errors.New("wrong verification code")
	// ErrTooManyCodes: this wrong code was the last one the flow allows; it has ended.
	ErrTooManyCodes = errors.New("too many wrong verification codes")
)

// Field error codes of registration besides those of ValidateProfile.
const (
	CodeDomainNotAllowed = "domain_not_allowed" // the address's domain is not in allowed_email_domains
)

// Registration is what the registration page submits.
type Registration struct {
	Email    string
	Password string
	// Profile are the submitted values of the form's profile fields (ValidateProfile, purpose registration).
	Profile map[string]any
	Lang    string // the language of the emails
	IP      string
	// BrowserHash binds the flow to the browser that registers; LoginRequestID is the request it resumes.
	BrowserHash    []byte
	LoginRequestID string
	// Links: LinkBase + the link secret confirms the address; SignInLink and ResetLink go into the notice
	// sent to an address that has an account.
	LinkBase, SignInLink, ResetLink string
}

// RegistrationError lists every problem of a submission: the fields of ValidateProfile and email (codes
// required, not_email, domain_not_allowed), and the password's refusal.
type RegistrationError struct {
	Fields   FieldErrors
	Password *PasswordError
}

func (e *RegistrationError) Error() string {
	var s []string
	if len(e.Fields) > 0 {
		s = append(s, e.Fields.Error())
	}
	if e.Password != nil {
		s = append(s, "password: "+e.Password.Message)
	}
	return "registration refused: " + strings.Join(s, "; ")
}

// Registered is the outcome of Register: the flow the browser continues with. UserID is set only when a
// new account was created and the tenant lets it sign in before verification (SignIn).
type Registered struct {
	FlowID string
	UserID string
	SignIn bool
}

// CheckRegistrationLimit returns *ThrottledError when ip used up the tenant's registrations of the hour.
func (s *Service) CheckRegistrationLimit(ctx context.Context, t store.Tenant, ip string) error {
	if ip == "" {
		return nil
	}
	th, err := s.db.GetThrottle(ctx, t.ID, registrationIPKey(ip))
	if err != nil {
		return fmt.Errorf("registration limit: %w", err)
	}
	now := s.now()
	end := th.WindowStart.Add(registrationWindow)
	if th.Failures >= t.Settings.Registration.PerIP() && end.After(now) {
		return &ThrottledError{RetryAfter: end.Sub(now), Budget: "registration_ip"}
	}
	return nil
}

func registrationIPKey(ip string) string { return "reg:ip:" + IPKey(ip) }

// addressKey keys the per-address email limit on a hash of the normalized address: the throttles table
// holds no addresses.
func addressKey(emailNorm string) string {
	h := sha256.Sum256([]byte("umm registration address|" + emailNorm))
	return "reg:mail:" + hex.EncodeToString(h[:16])
}

// countEmail counts one email to the address and refuses it beyond registration.limits.emails_per_address_per_hour.
func (s *Service) countEmail(ctx context.Context, t store.Tenant, emailNorm string, now time.Time) error {
	th, err := s.db.AddWindowFailure(ctx, t.ID, addressKey(emailNorm), now, now.Add(-registrationWindow))
	if err != nil {
		return fmt.Errorf("count email: %w", err)
	}
	if th.Failures > t.Settings.Registration.EmailsPerAddress() {
		return &ThrottledError{RetryAfter: th.WindowStart.Add(registrationWindow).Sub(now), Budget: "registration_address"}
	}
	return nil
}

// checkDomain reports whether the normalized address may register under r's allow-list.
func checkDomain(r config.Registration, emailNorm string) bool {
	if len(r.AllowedEmailDomains) == 0 {
		return true
	}
	domain := emailNorm[strings.LastIndexByte(emailNorm, '@')+1:]
	return slices.Contains(r.AllowedEmailDomains, domain)
}

// Register runs a registration for tenant t (registration must be enabled; the page checks it). It
// returns *RegistrationError for bad input (nothing written), *ThrottledError when a limit is used up.
func (s *Service) Register(ctx context.Context, t store.Tenant, in Registration) (Registered, error) {
	reg := t.Settings.Registration
	now := s.now()
	var rerr RegistrationError
	emailNorm, err := NormalizeEmail(in.Email)
	switch {
	case strings.TrimSpace(in.Email) == "":
		rerr.Fields = append(rerr.Fields, FieldError{Field: "email", Code: CodeRequired})
	case err != nil:
		rerr.Fields = append(rerr.Fields, FieldError{Field: "email", Code: CodeNotEmail})
	case !checkDomain(reg, emailNorm):
		rerr.Fields = append(rerr.Fields, FieldError{Field: "email", Code: CodeDomainNotAllowed})
	}
	profile, ferrs := ValidateProfile(t.Settings.Profile, PurposeRegistration, in.Profile, now)
	rerr.Fields = append(rerr.Fields, ferrs...)
	var probe store.User
	ApplyProfile(&probe, profile)
	if err := checkNames(probe.GivenName, probe.FamilyName); err != nil && len(ferrs) == 0 {
		rerr.Fields = append(rerr.Fields, FieldError{Field: "given_name", Code: CodeNotText})
	}
	if in.Password == "" {
		rerr.Fields = append(rerr.Fields, FieldError{Field: "password", Code: CodeRequired})
	}
	var pw NewPassword
	if in.Password != "" {
		if len(rerr.Fields) > 0 {
			err = CheckPassword(t.Settings.PasswordPolicy, in.Password, in.Email) // no hashing for a form sent back
		} else {
			pw, err = s.PreparePassword(ctx, t.ID, "", in.Email, in.Password)
		}
		var pe *PasswordError
		switch {
		case errors.As(err, &pe):
			rerr.Password = pe
		case err != nil:
			return Registered{}, err
		}
	}
	if len(rerr.Fields) > 0 || rerr.Password != nil {
		return Registered{}, &rerr
	}
	// Count the registration from this IP, then the email to this address: both whether or not the
	// address has an account.
	if in.IP != "" {
		th, err := s.db.AddWindowFailure(ctx, t.ID, registrationIPKey(in.IP), now, now.Add(-registrationWindow))
		if err != nil {
			return Registered{}, fmt.Errorf("count registration: %w", err)
		}
		if th.Failures > reg.PerIP() {
			return Registered{}, &ThrottledError{RetryAfter: th.WindowStart.Add(registrationWindow).Sub(now), Budget: "registration_ip"}
		}
	}
	if err := s.countEmail(ctx, t, emailNorm, now); err != nil {
		return Registered{}, err
	}

	flow := store.Flow{TenantID: t.ID, ID: keys.NewID(), Kind: store.FlowRegistration, State: store.FlowPending,
		Email: strings.TrimSpace(in.Email), BrowserHash: in.BrowserHash, LoginRequestID: in.LoginRequestID,
		CreatedAt: now, ExpiresAt: now.Add(reg.VerificationTTLD())}
	existing, err := s.db.GetUserByEmail(ctx, t.ID, emailNorm)
	switch {
	case err == nil:
		return Registered{FlowID: flow.ID}, s.registerTaken(ctx, t, in, flow, existing, now)
	case !errors.Is(err, store.ErrNotFound):
		return Registered{}, fmt.Errorf("register: %w", err)
	}
	u := store.User{TenantID: t.ID, ID: keys.NewID(), Email: strings.TrimSpace(in.Email), EmailNorm: emailNorm,
		CreatedAt: now, UpdatedAt: now}
	ApplyProfile(&u, profile)
	flow.UserID = u.ID
	link, code := keys.NewToken(), newCode()
	flow.LinkHash, flow.CodeHash = keys.HashToken(link), codeHash(flow.ID, code)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.MarkSelfRegistered(ctx, t.ID, u.ID); err != nil {
			return err
		}
		if err := pw.Store(ctx, tx, t.ID, u.ID, now); err != nil {
			return err
		}
		if err := tx.CreateFlow(ctx, flow); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.UserRegistered(t.ID, u.ID, in.IP), now)); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, t.ID, u.ID, events.VerifyEmail(u.Email, in.Lang, in.LinkBase+link, code), now)
	})
	if errors.Is(err, store.ErrConflict) { // registered meanwhile by a parallel request: the address is taken
		existing, gerr := s.db.GetUserByEmail(ctx, t.ID, emailNorm)
		if gerr != nil {
			return Registered{}, fmt.Errorf("register: %w", gerr)
		}
		flow.UserID, flow.LinkHash, flow.CodeHash = "", nil, nil
		return Registered{FlowID: flow.ID}, s.registerTaken(ctx, t, in, flow, existing, now)
	}
	if err != nil {
		return Registered{}, fmt.Errorf("register: %w", err)
	}
	out := Registered{FlowID: flow.ID}
	if !reg.EmailVerificationRequired() {
		out.UserID, out.SignIn = u.ID, true
	}
	return out, nil
}

// registerTaken answers a registration of an address that has an account: a decoy flow for the browser
// (it looks pending and counts wrong codes, but no code opens it) and the notice to the account's owner.
func (s *Service) registerTaken(ctx context.Context, t store.Tenant, in Registration, flow store.Flow, u store.User, now time.Time) error {
	flow.State = store.FlowDecoy
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateFlow(ctx, flow); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, t.ID, u.ID, events.AlreadyRegisteredEmail(u.Email, in.Lang, in.SignInLink, in.ResetLink), now)
	})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	return nil
}

// enqueue queues e in tx, refusing when no seal is configured (an email must never be stored in clear).
func (s *Service) enqueue(ctx context.Context, tx *store.Tx, tenantID, userID string, e events.Email, now time.Time) error {
	return events.EnqueueEmail(ctx, tx, s.SealEmail, tenantID, userID, e, now)
}

// Verification is what StartVerification needs to send a fresh code to an unverified account at sign-in.
type Verification struct {
	User           store.User
	Lang, IP       string
	BrowserHash    []byte
	LoginRequestID string
	LinkBase       string
}

// NeedsVerification reports whether u may not sign in before proving its address: a self-registered
// account, unverified, in a tenant whose registration requires verification.
func (s *Service) NeedsVerification(ctx context.Context, t store.Tenant, u store.User) (bool, error) {
	if u.EmailVerified || !t.Settings.Registration.EmailVerificationRequired() {
		return false, nil
	}
	return s.db.SelfRegistered(ctx, t.ID, u.ID)
}

// StartVerification ends the account's pending verification flows and starts a new one, queuing a fresh
// link and code, within registration.limits.emails_per_address_per_hour (*ThrottledError beyond it).
func (s *Service) StartVerification(ctx context.Context, t store.Tenant, v Verification) (string, error) {
	now := s.now()
	if err := s.countEmail(ctx, t, v.User.EmailNorm, now); err != nil {
		return "", err
	}
	link, code := keys.NewToken(), newCode()
	flow := store.Flow{TenantID: t.ID, ID: keys.NewID(), Kind: store.FlowRegistration, State: store.FlowPending,
		UserID: v.User.ID, Email: v.User.Email, BrowserHash: v.BrowserHash, LoginRequestID: v.LoginRequestID,
		CreatedAt: now, ExpiresAt: now.Add(t.Settings.Registration.VerificationTTLD())}
	flow.LinkHash, flow.CodeHash = keys.HashToken(link), codeHash(flow.ID, code)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.EndUserFlows(ctx, t.ID, v.User.ID, store.FlowRegistration, now); err != nil {
			return err
		}
		if err := tx.CreateFlow(ctx, flow); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.VerificationSent(t.ID, v.User.ID, v.IP), now)); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, t.ID, v.User.ID, events.VerifyEmail(v.User.Email, v.Lang, v.LinkBase+link, code), now)
	})
	if err != nil {
		return "", fmt.Errorf("start verification: %w", err)
	}
	return flow.ID, nil
}

// Flow returns a usable registration flow of the browser browserHash: pending (or a decoy), unexpired.
// Anything else is ErrFlowInvalid.
func (s *Service) Flow(ctx context.Context, tenantID, id string, browserHash []byte) (store.Flow, error) {
	return s.flowOfKind(ctx, store.FlowRegistration, tenantID, id, browserHash)
}

// flowOfKind is Flow for flows of kind: a flow of another kind is ErrFlowInvalid, so that a code of one
// flow never completes a step of another.
func (s *Service) flowOfKind(ctx context.Context, kind, tenantID, id string, browserHash []byte) (store.Flow, error) {
	f, err := s.db.GetFlow(ctx, tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return f, ErrFlowInvalid
	}
	if err != nil {
		return f, err
	}
	if f.Kind != kind || (f.State != store.FlowPending && f.State != store.FlowDecoy) || !s.now().Before(f.ExpiresAt) ||
		len(f.BrowserHash) == 0 || subtle.ConstantTimeCompare(f.BrowserHash, browserHash) != 1 {
		return f, ErrFlowInvalid
	}
	return f, nil
}

// CheckCode checks a code entered for flow f (from Flow). A wrong one is counted on the flow (the fifth
// ends it: ErrTooManyCodes) and on the client IP (ScopeVerify; *ThrottledError once used up). A right one
// returns nil; Verify then confirms the address.
func (s *Service) CheckCode(ctx context.Context, f store.Flow, code, ip string) error {
	if err := s.CheckIP(ctx, f.TenantID, ScopeVerify, ip); err != nil {
		return err
	}
	code = strings.Join(strings.Fields(code), "")
	if f.State == store.FlowPending && len(f.CodeHash) > 0 && len(code) == codeDigits &&
		subtle.ConstantTimeCompare(codeHash(f.ID, code), f.CodeHash) == 1 {
		return nil
	}
	nf, err := s.db.AddFlowFailure(ctx, f.TenantID, f.ID, f.State, MaxCodeFailures, s.now())
	if errors.Is(err, store.ErrConflict) {
		return ErrFlowInvalid
	}
	if err != nil {
		return err
	}
	if err := s.FailIP(ctx, f.TenantID, ScopeVerify, ip); err != nil {
		var te *ThrottledError
		if !errors.As(err, &te) {
			return err
		}
	}
	if nf.State == store.FlowFailed {
		return ErrTooManyCodes
	}
	return ErrWrongCode
}

// FlowByLink returns the pending registration flow whose link secret is link, or ErrFlowInvalid.
func (s *Service) FlowByLink(ctx context.Context, tenantID, link string) (store.Flow, error) {
	return s.flowByLinkOfKind(ctx, store.FlowRegistration, tenantID, link)
}

// flowByLinkOfKind is FlowByLink for flows of kind.
func (s *Service) flowByLinkOfKind(ctx context.Context, kind, tenantID, link string) (store.Flow, error) {
	if link == "" || len(link) > 128 {
		return store.Flow{}, ErrFlowInvalid
	}
	f, err := s.db.GetFlowByLink(ctx, tenantID, keys.HashToken(link))
	if errors.Is(err, store.ErrNotFound) {
		return f, ErrFlowInvalid
	}
	if err != nil {
		return f, err
	}
	if f.Kind != kind || f.State != store.FlowPending || !s.now().Before(f.ExpiresAt) {
		return f, ErrFlowInvalid
	}
	return f, nil
}

// Verify ends flow f (pending) and marks its account's address verified with email.verified, in tx
// (the caller's, so a session may start in the same transaction). store.ErrConflict when the flow was
// used meanwhile, or is not a registration flow (an email change's link proves another address).
func Verify(ctx context.Context, tx *store.Tx, f store.Flow, method string, now time.Time) error {
	if f.Kind != store.FlowRegistration {
		return fmt.Errorf("verify a %s flow: %w", f.Kind, store.ErrConflict)
	}
	if err := tx.SetFlowState(ctx, f.TenantID, f.ID, store.FlowPending, store.FlowDone, now); err != nil {
		return err
	}
	if err := tx.SetEmailVerified(ctx, f.TenantID, f.UserID, now); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, at(events.EmailVerified(f.TenantID, f.UserID, method), now))
}

// DeleteUnverified deletes the tenant's self-registered accounts that did not verify their address
// within registration.unverified_retention, each with user.deleted (reason unverified). It returns how
// many it deleted.
func (s *Service) DeleteUnverified(ctx context.Context, t store.Tenant, now time.Time, limit int) (int64, error) {
	ids, err := s.db.UnverifiedRegistrations(ctx, t.ID, now.Add(-t.Settings.Registration.UnverifiedRetentionD()), limit)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, id := range ids {
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			if err := EndSessionsAndGrants(ctx, tx, t.ID, id, events.ActorSystem, events.ReasonRevoked, "user_deleted", now); err != nil {
				return err
			}
			if err := tx.DeleteUser(ctx, t.ID, id); err != nil {
				return err
			}
			if err := tx.DeleteThrottlesOf(ctx, t.ID, accountKey(id), "aip:"+id+":", "dev:"+id+":"); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, at(events.UnverifiedUserDeleted(t.ID, id), now))
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, fmt.Errorf("delete unverified account: %w", err)
		}
		if err == nil {
			n++
		}
	}
	return n, nil
}

// codeDigits is the length of an emailed code.
const codeDigits = 6

// newCode returns a uniformly random code of codeDigits decimal digits.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// codeHash is what a flow stores of its code: bound to the flow, so equal codes of two flows differ.
func codeHash(flowID, code string) []byte {
	return keys.HashToken("umm flow code|" + flowID + "|" + code)
}
