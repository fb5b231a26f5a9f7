package oidc

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// testPublicURL is the public URL of the provider under test; requests are addressed to it.
const testPublicURL = "https://id.example.test"

// stack is a real Provider and what it runs on: stores, keyring, keys manager, identity and sessions. Both
// test fixtures (fixture and tokenEnv) embed one. Its clock is real time shifted by skew, or another
// stack's clock.
type stack struct {
	db       *store.DB
	master   []byte
	kr       *keys.Keyring
	keys     *keys.Manager
	identity *identity.Service
	sessions *session.Manager
	p        *Provider
	mux      *http.ServeMux // the provider's routes, without middleware
	skew     atomic.Int64   // nanoseconds added to time.Now
	clock    *stack         // another node's stack whose clock this one shares
}

func (s *stack) now() time.Time {
	if s.clock != nil {
		return s.clock.now()
	}
	return time.Now().Add(time.Duration(s.skew.Load()))
}

type envOption func(*config.Security)

// newStack builds a provider on db whose keyring is derived from master. Only the provider reads the
// stack's clock; identity and sessions keep time.Now unless the caller sets their Now.
func newStack(t testing.TB, db *store.DB, master []byte, opts ...envOption) *stack {
	t.Helper()
	s := &stack{db: db, master: master}
	s.kr = keys.NewKeyring(master)
	s.keys = keys.NewManager(db, s.kr, config.Keys{}, nil)
	sec := config.Default().Security
	sec.Argon2MemoryKiB, sec.Argon2Iterations = 8*1024, 1 // tests: the cheapest hash identity accepts
	for _, o := range opts {
		o(&sec)
	}
	s.identity = identity.New(db, sec, nil)
	s.identity.PublicURL = testPublicURL // as the server wires it: passkeys are served for this origin
	s.sessions = session.New(db, true, nil)
	p, err := New(Deps{
		DB: db, Keys: s.keys, Keyring: s.kr, Identity: s.identity, Sessions: s.sessions,
		CSRF:      web.NewCSRF(s.kr.MAC("umm csrf", nil), true, testPublicURL),
		PublicURL: testPublicURL, Now: s.now, JWKSAllowPrivateNetworks: sec.JWKSURIAllowPrivateNetworks,
		Security: sec,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.p = p
	s.mux = http.NewServeMux()
	p.Routes(s.mux)
	return s
}
