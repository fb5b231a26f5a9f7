package identity

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// testKeyring seals the email the services of these tests queue.
var testKeyring = keys.NewKeyring(make([]byte, 32))

// testSecurity is cheap argon2id (8 MiB, one pass) so tests stay fast.
func testSecurity() config.Security {
	return config.Security{
		Argon2MemoryKiB: 8192, Argon2Iterations: 1, Argon2Parallelism: 1, MaxConcurrentHashes: 4,
		AccountLockoutThreshold: 10, AccountLockoutDuration: config.Duration(15 * time.Minute), IPLimitPerMinute: 1000,
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newService(t *testing.T, db *store.DB, sec config.Security) (*Service, *clock) {
	t.Helper()
	s := New(db, sec, nil)
	s.SealEmail = testKeyring.Seal
	c := newClock()
	s.Now = c.Now
	return s, c
}

// createUser creates a user in tenantID with actor "test", failing t on an error.
func createUser(t *testing.T, s *Service, tenantID string, nu NewUser) store.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), tenantID, nu, "test")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// eventTypes lists the types of the tenant's events, oldest first.
func eventTypes(t *testing.T, db *store.DB, tenantID string) []string {
	t.Helper()
	evs, err := db.ListEvents(context.Background(), tenantID, 0, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// events returns the tenant's events of one type.
func eventsOf(t *testing.T, db *store.DB, tenantID, typ string) []store.Event {
	t.Helper()
	evs, err := db.ListEvents(context.Background(), tenantID, 0, typ, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func wantTypes(t *testing.T, db *store.DB, tenantID string, want ...string) {
	t.Helper()
	if got := eventTypes(t, db, tenantID); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
}
