package keys

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

// Supported signing algorithms.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// Algorithms returns the JWS algorithms every tenant has keys for, for discovery documents.
func Algorithms() []string { return []string{RS256, ES256} }

// Manager owns the signing keys of every tenant. It is safe for concurrent use.
type Manager struct {
	db  *store.DB
	kr  *Keyring
	cfg config.Keys
	log *slog.Logger
	now func() time.Time
}

// NewManager returns a Manager; keys are created on a tenant's first use.
func NewManager(db *store.DB, kr *Keyring, cfg config.Keys, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{db: db, kr: kr, cfg: cfg, log: log, now: time.Now}
}

var errNotImplemented = errors.New("keys: not implemented yet")

// Sign signs claims with the tenant's current key for alg.
func (m *Manager) Sign(ctx context.Context, tenantID, alg, typ string, claims any) (string, error) {
	return "", errNotImplemented
}

// Verify checks a compact JWS against the tenant's published keys.
func (m *Manager) Verify(ctx context.Context, tenantID, token string, algs ...string) (payload []byte, header jose.Header, err error) {
	return nil, jose.Header{}, errNotImplemented
}

// JWKS returns the tenant's JWK Set document.
func (m *Manager) JWKS(ctx context.Context, tenantID string) ([]byte, error) {
	return nil, errNotImplemented
}

// Rotate promotes next keys to current and retires current keys.
func (m *Manager) Rotate(ctx context.Context, tenantID string) error { return errNotImplemented }

// Run rotates keys on schedule until ctx ends.
func (m *Manager) Run(ctx context.Context) { <-ctx.Done() }
