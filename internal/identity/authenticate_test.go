package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

const goodPassword = "correct horse battery staple"

func TestAuthenticate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testSecurity())
		tid := storetest.Tenant(t, db)
		alice := createUser(t, s, tid, NewUser{Email: "Alice@Example.com", Password: goodPassword})
		nopw := createUser(t, s, tid, NewUser{Email: "nopw@example.com"})
		off := createUser(t, s, tid, NewUser{Email: "off@example.com", Password: goodPassword})
		if err := s.SetDisabled(ctx, tid, off.ID, true, "test"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, email, password string
			wantUser              string // "" when the sign-in must fail
			reason                string // login.failed reason
		}{
			{"the right password signs in", "alice@example.com", goodPassword, alice.ID, ""},
			{"the address in other case and width signs in", "ＡＬＩＣＥ@example.COM", goodPassword, alice.ID, ""},
			{"a wrong password is invalid credentials", "alice@example.com", goodPassword + "!", "", events.ReasonBadPassword},
			{"an unknown address is invalid credentials", "nobody@example.com", goodPassword, "", events.ReasonUnknownUser},
			{"an account without a password is invalid credentials", "nopw@example.com", "", "", events.ReasonNoPassword},
			{"a disabled account is invalid credentials even with its password", "off@example.com", goodPassword, "", events.ReasonDisabled},
			{"a string that is not an address is invalid credentials", "alice", goodPassword, "", events.ReasonUnknownUser},
			{"the user of another tenant cannot sign in here", "alice@example.com", goodPassword, alice.ID, ""},
		}
		other := storetest.Tenant(t, db)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tenant := tid
				if tt.name == "the user of another tenant cannot sign in here" {
					tenant, tt.wantUser, tt.reason = other, "", events.ReasonUnknownUser
				}
				before := s.verifies.Load()
				failedBefore := len(eventsOf(t, db, tenant, events.TypeLoginFailed))
				u, err := s.Authenticate(ctx, tenant, tt.email, tt.password, "192.0.2.10")
				if n := s.verifies.Load() - before; n != 1 {
					t.Errorf("%d argon2id verifications, want exactly 1 whatever the outcome", n)
				}
				if tt.wantUser != "" {
					if err != nil || u.ID != tt.wantUser {
						t.Fatalf("Authenticate = %+v, %v; want user %s", u, err, tt.wantUser)
					}
					return
				}
				if !errors.Is(err, ErrInvalidCredentials) || u.ID != "" {
					t.Fatalf("Authenticate = %+v, %v; want ErrInvalidCredentials and no user", u, err)
				}
				failed := eventsOf(t, db, tenant, events.TypeLoginFailed)
				if len(failed) != failedBefore+1 {
					t.Fatalf("%d login.failed events, want %d", len(failed), failedBefore+1)
				}
				last := failed[len(failed)-1]
				if last.Data["reason"] != tt.reason || last.IP != "192.0.2.10" {
					t.Fatalf("login.failed = %+v, want reason %s from 192.0.2.10", last, tt.reason)
				}
				for k, v := range last.Data {
					if fmt.Sprint(v) == tt.password && tt.password != "" {
						t.Fatalf("login.failed data %s carries the password", k)
					}
				}
			})
		}
		_ = nopw
	})
}

func TestAccountBackoffThenLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := testSecurity() // lockout at 10 failures for 15 minutes
		s, clk := newService(t, db, sec)
		tid := storetest.Tenant(t, db)
		u := createUser(t, s, tid, NewUser{Email: "frank@example.com", Password: goodPassword})
		fail := func(t *testing.T, ip string) error {
			t.Helper()
			_, err := s.Authenticate(ctx, tid, "frank@example.com", "wrong password", ip)
			return err
		}
		throttled := func(t *testing.T, err error) time.Duration {
			t.Helper()
			var te *ThrottledError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want *ThrottledError", err)
			}
			return te.RetryAfter
		}
		t.Run("the first four failures answer invalid credentials at once", func(t *testing.T) {
			for i := range 4 {
				if err := fail(t, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("failure %d: %v", i+1, err)
				}
			}
		})
		t.Run("from the fifth failure on the next attempt must wait 2^(n-5) seconds", func(t *testing.T) {
			for n := 5; n <= 9; n++ {
				if err := fail(t, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("failure %d: %v", n, err)
				}
				want := time.Duration(1<<(n-5)) * time.Second
				before := s.verifies.Load()
				// Another address counts on the same account: the right password is refused without hashing.
				_, err := s.Authenticate(ctx, tid, "FRANK@example.com", goodPassword, "198.51.100.7")
				if got := throttled(t, err); got != want {
					t.Fatalf("after %d failures retry after %v, want %v", n, got, want)
				}
				if s.verifies.Load() != before {
					t.Fatal("a throttled attempt computed a hash")
				}
				clk.Advance(want)
			}
		})
		t.Run("the tenth failure locks the account with one account.locked event", func(t *testing.T) {
			if err := fail(t, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("failure 10: %v", err)
			}
			locked := eventsOf(t, db, tid, events.TypeAccountLocked)
			if len(locked) != 1 || locked[0].Subject != u.ID {
				t.Fatalf("account.locked events = %+v, want one for %s", locked, u.ID)
			}
		})
		t.Run("the right password is refused until the lockout ends", func(t *testing.T) {
			_, err := s.Authenticate(ctx, tid, "frank@example.com", goodPassword, "192.0.2.1")
			if got := throttled(t, err); got != 15*time.Minute {
				t.Fatalf("retry after %v, want 15m", got)
			}
			clk.Advance(15*time.Minute - time.Second)
			_, err = s.Authenticate(ctx, tid, "frank@example.com", goodPassword, "192.0.2.1")
			if got := throttled(t, err); got != time.Second {
				t.Fatalf("one second before the end: retry after %v, want 1s", got)
			}
		})
		t.Run("after the lockout the right password signs in and resets the count", func(t *testing.T) {
			clk.Advance(time.Second)
			if _, err := s.Authenticate(ctx, tid, "frank@example.com", goodPassword, "192.0.2.1"); err != nil {
				t.Fatalf("after the lockout: %v", err)
			}
			th, err := db.GetThrottle(ctx, tid, accountKey(u.ID))
			if err != nil || th.Failures != 0 {
				t.Fatalf("account counter after success = %+v, %v; want reset", th, err)
			}
			for i := range 4 {
				if err := fail(t, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("failure %d after the reset: %v", i+1, err)
				}
			}
		})
		t.Run("failures older than the lockout duration are forgotten", func(t *testing.T) {
			for range 2 {
				_ = fail(t, "192.0.2.1")
			}
			clk.Advance(15 * time.Minute)
			if err := fail(t, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatal(err)
			}
			if th, _ := db.GetThrottle(ctx, tid, accountKey(u.ID)); th.Failures != 1 {
				t.Fatalf("failures = %d, want 1 after a quiet period", th.Failures)
			}
		})
	})
}

func TestLockoutAtALowThreshold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := testSecurity()
		sec.AccountLockoutThreshold = 3
		s, clk := newService(t, db, sec)
		tid := storetest.Tenant(t, db)
		createUser(t, s, tid, NewUser{Email: "gina@example.com", Password: goodPassword})
		for range 3 {
			if _, err := s.Authenticate(ctx, tid, "gina@example.com", "nope nope", "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatal(err)
			}
		}
		var te *ThrottledError
		if _, err := s.Authenticate(ctx, tid, "gina@example.com", goodPassword, "192.0.2.1"); !errors.As(err, &te) {
			t.Fatalf("locked account answered %v, want *ThrottledError", err)
		}
		if te.RetryAfterSeconds() != 900 {
			t.Fatalf("RetryAfterSeconds = %d, want 900", te.RetryAfterSeconds())
		}
		clk.Advance(15 * time.Minute)
		if _, err := s.Authenticate(ctx, tid, "gina@example.com", goodPassword, "192.0.2.1"); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
	})
}

func TestIPLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := testSecurity()
		sec.IPLimitPerMinute = 3
		s, clk := newService(t, db, sec)
		tid := storetest.Tenant(t, db)
		createUser(t, s, tid, NewUser{Email: "hank@example.com", Password: goodPassword})
		for i := range 3 {
			if _, err := s.Authenticate(ctx, tid, fmt.Sprintf("nobody%d@example.com", i), "x", "203.0.113.5"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatal(err)
			}
		}
		t.Run("after the limit even the right password is refused from that address", func(t *testing.T) {
			clk.Advance(20 * time.Second)
			before := s.verifies.Load()
			_, err := s.Authenticate(ctx, tid, "hank@example.com", goodPassword, "203.0.113.5")
			var te *ThrottledError
			if !errors.As(err, &te) || te.RetryAfter != 40*time.Second {
				t.Fatalf("err = %v, want *ThrottledError retry after 40s (the end of the window)", err)
			}
			if s.verifies.Load() != before {
				t.Fatal("a throttled attempt computed a hash")
			}
		})
		t.Run("another address is not limited", func(t *testing.T) {
			if _, err := s.Authenticate(ctx, tid, "hank@example.com", goodPassword, "203.0.113.6"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("another scope from the same address is not limited", func(t *testing.T) {
			if err := s.CheckIP(ctx, tid, ScopeToken, "203.0.113.5"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("the same address in another tenant is not limited", func(t *testing.T) {
			if err := s.CheckIP(ctx, storetest.Tenant(t, db), ScopeLogin, "203.0.113.5"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("when the window ends the address may sign in", func(t *testing.T) {
			clk.Advance(40 * time.Second)
			if _, err := s.Authenticate(ctx, tid, "hank@example.com", goodPassword, "203.0.113.5"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("FailIP answers throttled at the failure that uses up the window", func(t *testing.T) {
			ip := "203.0.113.9"
			for i := 1; i <= 3; i++ {
				err := s.FailIP(ctx, tid, ScopeToken, ip)
				var te *ThrottledError
				if got := errors.As(err, &te); got != (i == 3) {
					t.Fatalf("failure %d: %v", i, err)
				}
			}
			var te *ThrottledError
			if err := s.CheckIP(ctx, tid, ScopeToken, ip); !errors.As(err, &te) || te.RetryAfter != time.Minute {
				t.Fatalf("CheckIP = %v, want throttled for a minute", err)
			}
		})
	})
}

func TestConcurrentFailuresAreCountedExactly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := testSecurity()
		sec.AccountLockoutThreshold = 1000
		s, _ := newService(t, db, sec)
		tid := storetest.Tenant(t, db)
		u := createUser(t, s, tid, NewUser{Email: "ivy@example.com", Password: goodPassword})
		const n = 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		invalid, throttled := 0, 0
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Authenticate(ctx, tid, "ivy@example.com", "wrong password", fmt.Sprintf("192.0.2.%d", i))
				var te *ThrottledError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, ErrInvalidCredentials):
					invalid++
				case errors.As(err, &te):
					throttled++ // backoff can start while later goroutines are still arriving
				default:
					t.Errorf("unexpected: %v", err)
				}
			}()
		}
		wg.Wait()
		th, err := db.GetThrottle(ctx, tid, accountKey(u.ID))
		if err != nil || th.Failures != invalid || invalid+throttled != n || invalid < backoffAfter {
			t.Fatalf("stored failures %d (%v); %d answered invalid, %d throttled: want every counted failure stored",
				th.Failures, err, invalid, throttled)
		}
		if got := len(eventsOf(t, db, tid, events.TypeLoginFailed)); got != invalid {
			t.Fatalf("%d login.failed events, want %d", got, invalid)
		}
		t.Run("failures per IP from 20 goroutines are all counted", func(t *testing.T) {
			var wg sync.WaitGroup
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = s.FailIP(ctx, tid, ScopeDevice, "198.51.100.1")
				}()
			}
			wg.Wait()
			th, err := db.GetThrottle(ctx, tid, ipKey(ScopeDevice, "198.51.100.1"))
			if err != nil || th.Failures != n {
				t.Fatalf("failures = %d, %v; want %d", th.Failures, err, n)
			}
		})
	})
}

// An address without an account must answer exactly like an account under the same attack, so that the
// answers never tell whether the account exists.
func TestUnknownAddressIsThrottledLikeAnAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db, testSecurity())
		tid := storetest.Tenant(t, db)
		createUser(t, s, tid, NewUser{Email: "grace@example.com", Password: goodPassword})
		answers := func(email string) []string {
			var out []string
			for i := range 14 {
				_, err := s.Authenticate(ctx, tid, email, "wrong password", "")
				var te *ThrottledError
				switch {
				case errors.Is(err, ErrInvalidCredentials):
					out = append(out, "invalid")
				case errors.As(err, &te):
					out = append(out, fmt.Sprintf("wait %v", te.RetryAfter))
				default:
					t.Fatalf("attempt %d for %s: %v", i+1, email, err)
				}
				clk.Advance(500 * time.Millisecond)
			}
			return out
		}
		known := answers("grace@example.com")
		clk.Advance(time.Hour) // both counters start from the same state
		unknown := answers("nobody-here@example.com")
		if !slices.Equal(known, unknown) {
			t.Fatalf("answers differ:\n account:    %v\n no account: %v", known, unknown)
		}
		if !slices.ContainsFunc(known, func(a string) bool { return strings.HasPrefix(a, "wait") }) {
			t.Fatalf("the sequence never throttled, so it proves nothing: %v", known)
		}
		t.Run("the counter for an unknown address does not store the address", func(t *testing.T) {
			th, err := db.GetThrottle(ctx, tid, identifierKey("nobody-here@example.com"))
			if err != nil || th.Failures == 0 {
				t.Fatalf("identifier counter = %+v, %v", th, err)
			}
			if strings.Contains(identifierKey("nobody-here@example.com"), "nobody") {
				t.Fatal("the key contains the address")
			}
		})
	})
}
