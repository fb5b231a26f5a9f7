package bench

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// BenchmarkTOTPCode is the pure check of one second-factor code: the codes of the three steps a code may
// belong to (the current one and one of drift either side), each compared in constant time. It is the
// floor under BenchmarkTOTPVerifyStored.
func BenchmarkTOTPCode(b *testing.B) {
	seed := make([]byte, 20)
	_, _ = rand.Read(seed)
	now := time.Unix(1_800_000_000, 0)
	code := identity.TOTPCode(seed, now)
	for b.Loop() {
		if len(identity.MatchTOTP(seed, code, now)) != 1 {
			b.Fatal("the right code did not match")
		}
	}
}

// benchClock is a settable clock for a service whose codes must each fall on a new time step.
type benchClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *benchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *benchClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// BenchmarkTOTPVerifyStored is identity.VerifyTOTP in process on SQLite: the user's factors read, the
// seed opened with the keyring, the code checked and its step taken by the atomic replay guard (one
// UPDATE). A step is accepted once, so the service's clock moves on 30 s before every iteration.
func BenchmarkTOTPVerifyStored(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b)
	ids := identity.New(db, config.Default().Security, nil)
	clk := &benchClock{t: time.Unix(1_800_000_000, 0)}
	ids.Now = clk.Now
	ids.Keyring = keys.NewKeyring(make([]byte, 32))
	tn := store.Tenant{ID: "bench", Name: "Bench"}
	if err := db.CreateTenant(ctx, tn); err != nil {
		b.Fatal(err)
	}
	u, err := ids.CreateUser(ctx, tn.ID, identity.NewUser{Email: "ada@example.com", EmailVerified: true}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	e, err := ids.BeginTOTP(ctx, tn, u)
	if err != nil {
		b.Fatal(err)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil {
		b.Fatal(err)
	}
	if err := ids.ConfirmTOTP(ctx, tn.ID, u.ID, e.FactorID, identity.TOTPCode(seed, clk.Now()), ""); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		clk.Advance(identity.TOTPPeriod)
		if _, err := ids.VerifyTOTP(ctx, tn.ID, u.ID, identity.TOTPCode(seed, clk.Now())); err != nil {
			b.Fatal(err)
		}
	}
}
