package identity

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Errors returned by Service. Test them with errors.Is (and errors.As for *ThrottledError, *PasswordError).
var (
	// ErrInvalidCredentials is the one answer to a failed sign-in, whatever failed: unknown account, wrong
	// password, no password, disabled account. Telling them apart would let anyone enumerate accounts.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrInvalidEmail: the address is not of the form local@domain.
	ErrInvalidEmail = errors.New("invalid email address")
	// ErrInvalidRole: a role name is empty, too long or contains spaces or control characters.
	ErrInvalidRole = errors.New("invalid role name")
	// ErrInvalidName: a given or family name is too long or contains control characters.
	ErrInvalidName = errors.New("invalid name")
)

// ThrottledError says that too many attempts failed: wait RetryAfter before trying again.
// Surfaces answer it with HTTP 429 (or a page saying so) and a Retry-After header.
type ThrottledError struct {
	RetryAfter time.Duration
	Budget     string // the budget used up (events.BudgetIP, ...): for logs and metrics, never for the answer
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts: retry after %s", e.RetryAfter.Round(time.Second))
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1 (for the Retry-After header).
func (e *ThrottledError) RetryAfterSeconds() int {
	s := int(math.Ceil(e.RetryAfter.Seconds()))
	return max(s, 1)
}

// Service is the identity store's business logic. It is safe for concurrent use.
type Service struct {
	// Now is the clock (time.Now by default); tests replace it before use.
	Now func() time.Time
	// SealEmail seals the email this service queues (keys.Keyring.Seal; server sets it). Without it no
	// email is queued, and the omission is logged.
	SealEmail events.SealFunc
	// PublicURL is server.public_url: the links in the email this service queues point there.
	PublicURL string
	// SendSMS queues a text message in the caller's transaction (server wires the outbox); nil when no SMS
	// provider is configured.
	SendSMS SMSSender
	// Keyring seals the TOTP seeds (server sets it, usually the same keyring as SealEmail's). Without it
	// no TOTP factor can be enrolled or checked.
	Keyring *keys.Keyring

	db    *store.DB
	sec   config.Security
	log   *slog.Logger
	sem   chan struct{} // bounds concurrent argon2id computations
	dummy string        // a hash verified when there is no real one, so every sign-in does the same work

	verifies atomic.Int64 // argon2id verifications done (tests check that every sign-in does one)
	hashes   atomic.Int64 // argon2id hashes computed (tests check that a taken address costs the same)
}

// New returns a Service hashing with sec's argon2id parameters.
func New(db *store.DB, sec config.Security, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := sec.MaxConcurrentHashes
	if n <= 0 {
		n = runtime.NumCPU()
	}
	s := &Service{Now: time.Now, db: db, sec: sec, log: log, sem: make(chan struct{}, n)}
	s.dummy = dummyPHC(sec)
	return s
}

func (s *Service) now() time.Time { return s.Now() }
