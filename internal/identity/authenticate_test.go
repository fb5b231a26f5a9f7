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

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify"
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

// throttledBy fails t unless err is a *ThrottledError, and returns it.
func throttledBy(t *testing.T, err error) *ThrottledError {
	t.Helper()
	var te *ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want *ThrottledError", err)
	}
	return te
}

func TestPerIPBackoffThenLockout(t *testing.T) {
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
		t.Run("the first four failures answer invalid credentials at once", func(t *testing.T) {
			for i := range 4 {
				if err := fail(t, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("failure %d: %v", i+1, err)
				}
			}
		})
		t.Run("from the fifth failure on that IP must wait 2^(n-5) seconds, and another IP need not", func(t *testing.T) {
			for n := 5; n <= 9; n++ {
				if err := fail(t, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("failure %d: %v", n, err)
				}
				want := time.Duration(1<<(n-5)) * time.Second
				before := s.verifies.Load()
				_, err := s.Authenticate(ctx, tid, "FRANK@example.com", goodPassword, "192.0.2.1")
				if te := throttledBy(t, err); te.RetryAfter != want || te.Budget != events.BudgetAccountIP {
					t.Fatalf("after %d failures: retry after %v (%s), want %v (account_ip)", n, te.RetryAfter, te.Budget, want)
				}
				if s.verifies.Load() != before+1 {
					t.Fatal("a refused attempt did not compute the same one hash as any other")
				}
				clk.Advance(want)
			}
		})
		t.Run("the tenth failure locks that IP out of the account with one login.throttled event", func(t *testing.T) {
			if err := fail(t, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("failure 10: %v", err)
			}
			th := eventsOf(t, db, tid, events.TypeLoginThrottled)
			if len(th) != 1 || th[0].Subject != u.ID || th[0].Data["budget"] != events.BudgetAccountIP {
				t.Fatalf("login.throttled events = %+v, want one for %s with budget account_ip", th, u.ID)
			}
			if locked := eventsOf(t, db, tid, events.TypeAccountLocked); len(locked) != 0 {
				t.Fatalf("the account itself was locked: %+v", locked)
			}
		})
		t.Run("the owner on another IP signs in while the attacker's IP is locked out", func(t *testing.T) {
			if _, err := s.Authenticate(ctx, tid, "frank@example.com", goodPassword, "198.51.100.7"); err != nil {
				t.Fatalf("another IP: %v", err)
			}
		})
		t.Run("the right password from the locked IP is refused until the lockout ends", func(t *testing.T) {
			_, err := s.Authenticate(ctx, tid, "frank@example.com", goodPassword, "192.0.2.1")
			if got := throttledBy(t, err).RetryAfter; got != 15*time.Minute {
				t.Fatalf("retry after %v, want 15m", got)
			}
			clk.Advance(15 * time.Minute)
			if _, err := s.Authenticate(ctx, tid, "frank@example.com", goodPassword, "192.0.2.1"); err != nil {
				t.Fatalf("after the lockout: %v", err)
			}
			th, err := db.GetThrottle(ctx, tid, accountIPKey(u.ID, "192.0.2.1"))
			if err != nil || th.Failures != 0 {
				t.Fatalf("per-IP counter after success = %+v, %v; want reset", th, err)
			}
		})
		t.Run("refused attempts do not count on the account-wide budget", func(t *testing.T) {
			th, err := db.GetThrottle(ctx, tid, accountKey(u.ID))
			if err != nil || th.Failures != 10 {
				t.Fatalf("account-wide failures = %d, %v; want the 10 counted failures only", th.Failures, err)
			}
		})
	})
}

func TestIPKeyGroupsIPv6By64(t *testing.T) {
	tests := []struct{ name, ip, want string }{
		{"an IPv4 address is its own key", "192.0.2.7", "192.0.2.7"},
		{"an IPv6 address keys on its /64", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"another address of the same /64 has the same key", "2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"an IPv4-mapped address is IPv4", "::ffff:192.0.2.7", "192.0.2.7"},
		{"a zone is dropped", "fe80::1%eth0", "fe80::/64"},
		{"no address is kept as it is", "unknown", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IPKey(tt.ip); got != tt.want {
				t.Errorf("IPKey(%q) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}

func TestIPv6ClientsAreLimitedPer64(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := testSecurity()
		sec.AccountLockoutThreshold = 4
		sec.IPLimitPerMinute = 6
		s, clk := newService(t, db, sec)
		tid := storetest.Tenant(t, db)
		createUser(t, s, tid, NewUser{Email: "ipv6@example.com", Password: goodPassword})
		for i := range 4 { // a new address of the same /64 for every attempt
			_, err := s.Authenticate(ctx, tid, "ipv6@example.com", "wrong", fmt.Sprintf("2001:db8:7:7::%x", i+1))
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Fatal(err)
			}
			clk.Advance(10 * time.Second) // past the backoff
		}
		t.Run("a fifth address of the /64 is refused on the account", func(t *testing.T) {
			_, err := s.Authenticate(ctx, tid, "ipv6@example.com", goodPassword, "2001:db8:7:7:ffff::1")
			if te := throttledBy(t, err); te.Budget != events.BudgetAccountIP {
				t.Fatalf("budget %s, want account_ip", te.Budget)
			}
		})
		t.Run("another /64 signs in", func(t *testing.T) {
			if _, err := s.Authenticate(ctx, tid, "ipv6@example.com", goodPassword, "2001:db8:7:8::1"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("the per-IP window across accounts counts the /64 too", func(t *testing.T) {
			for i := range 2 {
				_, _ = s.Authenticate(ctx, tid, fmt.Sprintf("other%d@example.com", i), "wrong", fmt.Sprintf("2001:db8:7:7::a%d", i))
			}
			// 4 + 1 refused + 2 = 7 attempts from the /64 within the minute: over the limit of 6.
			err := s.CheckIP(ctx, tid, ScopeLogin, "2001:db8:7:7::dead")
			if te := throttledBy(t, err); te.Budget != events.BudgetIP {
				t.Fatalf("budget %s, want ip", te.Budget)
			}
			if err := s.FailIP(ctx, tid, ScopeToken, "2001:db8:7:7::1"); err != nil {
				t.Fatalf("another scope: %v", err)
			}
		})
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
		t.Run("the failure that uses up the window writes one login.throttled with budget ip", func(t *testing.T) {
			th := eventsOf(t, db, tid, events.TypeLoginThrottled)
			if len(th) != 1 || th[0].Data["budget"] != events.BudgetIP || th[0].IP != "203.0.113.5" {
				t.Fatalf("login.throttled = %+v", th)
			}
		})
		t.Run("after the limit even the right password is refused from that address", func(t *testing.T) {
			clk.Advance(20 * time.Second)
			_, err := s.Authenticate(ctx, tid, "hank@example.com", goodPassword, "203.0.113.5")
			if te := throttledBy(t, err); te.RetryAfter != 40*time.Second || te.Budget != events.BudgetIP {
				t.Fatalf("err = %v, want *ThrottledError retry after 40s (the end of the window)", err)
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
			if te := throttledBy(t, s.CheckIP(ctx, tid, ScopeToken, ip)); te.RetryAfter != time.Minute {
				t.Fatalf("CheckIP retry after %v, want a minute", te.RetryAfter)
			}
		})
	})
}

// rememberDevice makes deviceID a known device of userID, as a completed sign-in does.
func rememberDevice(t *testing.T, s *Service, db *store.DB, tid, userID, deviceID string) {
	t.Helper()
	now := s.now()
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		_, err := RememberDevice(context.Background(), tx, tid, userID, deviceID, "test agent", "192.0.2.99", now, now.Add(400*24*time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKnownDeviceKeepsItsOwnBudget(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := testSecurity()
		sec.AccountLockoutThreshold, sec.DeviceLockoutThreshold = 3, 6
		s, clk := newService(t, db, sec)
		tid := storetest.Tenant(t, db)
		u := createUser(t, s, tid, NewUser{Email: "dora@example.com", Password: goodPassword})
		other := createUser(t, s, tid, NewUser{Email: "otto@example.com", Password: goodPassword})
		const device = "device-of-dora"
		rememberDevice(t, s, db, tid, u.ID, device)
		login := func(pw, ip, dev string) error {
			_, err := s.Login(ctx, LoginAttempt{TenantID: tid, Email: "dora@example.com", Password: pw, IP: ip, DeviceID: dev})
			return err
		}
		for range 3 {
			_ = login("wrong", "192.0.2.50", "")
			clk.Advance(time.Minute) // past each backoff, so all three count
		}
		if err := login(goodPassword, "192.0.2.50", ""); err == nil {
			t.Fatal("the attacker's IP was not locked out, so the test proves nothing")
		}
		t.Run("the owner's browser on the attacker's IP still signs in", func(t *testing.T) {
			if err := login(goodPassword, "192.0.2.50", device); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a device id the account never saw is an unknown browser", func(t *testing.T) {
			if te := throttledBy(t, login(goodPassword, "192.0.2.50", "forged-device")); te.Budget != events.BudgetAccountIP {
				t.Fatalf("budget %s, want account_ip", te.Budget)
			}
		})
		t.Run("another user's known device gets no budget on this account", func(t *testing.T) {
			rememberDevice(t, s, db, tid, other.ID, "device-of-otto")
			if te := throttledBy(t, login(goodPassword, "192.0.2.50", "device-of-otto")); te.Budget != events.BudgetAccountIP {
				t.Fatalf("budget %s, want account_ip", te.Budget)
			}
		})
		t.Run("the device locks at its own, higher threshold with login.throttled budget device", func(t *testing.T) {
			for i := range 6 {
				err := login("wrong", "192.0.2.60", device)
				if !errors.Is(err, ErrInvalidCredentials) {
					var te *ThrottledError
					if !errors.As(err, &te) || i < 3 { // backoff from half the threshold on
						t.Fatalf("failure %d: %v", i+1, err)
					}
					clk.Advance(te.RetryAfter)
					_ = login("wrong", "192.0.2.60", device)
				}
			}
			if te := throttledBy(t, login(goodPassword, "192.0.2.60", device)); te.Budget != events.BudgetDevice {
				t.Fatalf("budget %s, want device", te.Budget)
			}
			var budgets []any
			for _, e := range eventsOf(t, db, tid, events.TypeLoginThrottled) {
				budgets = append(budgets, e.Data["budget"])
			}
			if !slices.Contains(budgets, any(events.BudgetDevice)) {
				t.Fatalf("login.throttled budgets %v, want one device", budgets)
			}
			if th, _ := db.GetThrottle(ctx, tid, accountKey(u.ID)); th.Failures != 3 {
				t.Fatalf("account-wide failures = %d; a known browser's failures must not count there", th.Failures)
			}
		})
	})
}

func TestAccountWideHardLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := testSecurity()
		sec.AccountLockoutThreshold, sec.AccountAttackThreshold, sec.AccountHardLockThreshold = 10, 4, 12
		sec.AccountFailureWindow = config.Duration(24 * time.Hour)
		s, clk := newService(t, db, sec)
		tid := storetest.Tenant(t, db)
		u := createUser(t, s, tid, NewUser{Email: "hedy@example.com", Password: goodPassword, EmailVerified: true})
		rememberDevice(t, s, db, tid, u.ID, "hedy-laptop")
		ip := 0
		distributed := func(n int) { // n failures, each from a new IP
			for range n {
				ip++
				_, _ = s.Authenticate(ctx, tid, "hedy@example.com", "wrong", fmt.Sprintf("198.51.100.%d", ip))
			}
		}
		distributed(3)
		t.Run("the attack episode starts once, at the attack threshold", func(t *testing.T) {
			if n := len(eventsOf(t, db, tid, events.TypeAccountAttackDetected)); n != 0 {
				t.Fatalf("%d account.attack_detected before the threshold", n)
			}
			distributed(5)
			got := eventsOf(t, db, tid, events.TypeAccountAttackDetected)
			if len(got) != 1 || got[0].Subject != u.ID || got[0].Data["budget"] != events.BudgetAccount {
				t.Fatalf("account.attack_detected = %+v, want exactly one for the account", got)
			}
			if n := attackNotices(t, db, tid, "hedy@example.com"); n != 1 {
				t.Fatalf("%d attack notices waiting for hedy@example.com, want 1 with the episode's event", n)
			}
		})
		t.Run("at the hard threshold every unknown browser is refused, wherever it is", func(t *testing.T) {
			distributed(4) // 12
			locked := eventsOf(t, db, tid, events.TypeAccountLocked)
			if len(locked) != 1 || locked[0].Data["budget"] != events.BudgetAccount {
				t.Fatalf("account.locked = %+v, want one with budget account", locked)
			}
			clk.Advance(30 * 24 * time.Hour) // no time lifts it
			_, err := s.Authenticate(ctx, tid, "hedy@example.com", goodPassword, "203.0.113.200")
			if te := throttledBy(t, err); te.Budget != events.BudgetAccount {
				t.Fatalf("budget %s, want account", te.Budget)
			}
			if ok, err := s.HardLocked(ctx, tid, u.ID); !ok || err != nil {
				t.Fatalf("HardLocked = %v, %v", ok, err)
			}
		})
		t.Run("the owner's known browser still signs in", func(t *testing.T) {
			_, err := s.Login(ctx, LoginAttempt{TenantID: tid, Email: "hedy@example.com", Password: goodPassword,
				IP: "203.0.113.200", DeviceID: "hedy-laptop"})
			if err != nil {
				t.Fatal(err)
			}
		})
		t.Run("an operator's unlock lifts it with account.unlocked", func(t *testing.T) {
			if err := s.Unlock(ctx, tid, u.ID, "cli"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, tid, "hedy@example.com", goodPassword, "203.0.113.200"); err != nil {
				t.Fatalf("after unlock: %v", err)
			}
			un := eventsOf(t, db, tid, events.TypeAccountUnlocked)
			if len(un) != 1 || un[0].Data["reason"] != events.UnlockOperator || un[0].Actor != "cli" {
				t.Fatalf("account.unlocked = %+v", un)
			}
		})
		t.Run("a new episode after the unlock is reported again, once", func(t *testing.T) {
			distributed(5)
			if n := len(eventsOf(t, db, tid, events.TypeAccountAttackDetected)); n != 2 {
				t.Fatalf("%d account.attack_detected, want 2 (one per episode)", n)
			}
			if n := attackNotices(t, db, tid, "hedy@example.com"); n != 2 {
				t.Fatalf("%d attack notices, want 2 (one per episode)", n)
			}
		})
		t.Run("a quiet account-wide count starts again, which starts a new episode", func(t *testing.T) {
			clk.Advance(25 * time.Hour)
			distributed(4)
			if n := len(eventsOf(t, db, tid, events.TypeAccountAttackDetected)); n != 3 {
				t.Fatalf("%d account.attack_detected, want 3", n)
			}
		})
		t.Run("a completed recovery lifts a hard lock", func(t *testing.T) {
			distributed(8) // 12 again
			if ok, _ := s.HardLocked(ctx, tid, u.ID); !ok {
				t.Fatal("not locked, so the test proves nothing")
			}
			err := db.InTx(ctx, func(tx *store.Tx) error { return AccountRecovered(ctx, tx, tid, u.ID, u.ID, s.now()) })
			if err != nil {
				t.Fatal(err)
			}
			un := eventsOf(t, db, tid, events.TypeAccountUnlocked)
			if last := un[len(un)-1]; last.Data["reason"] != events.UnlockPasswordRecovery || last.Actor != u.ID {
				t.Fatalf("account.unlocked = %+v, want reason password_recovery by the user", last)
			}
			if _, err := s.Authenticate(ctx, tid, "hedy@example.com", goodPassword, "203.0.113.201"); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
		t.Run("enabling the account lifts a hard lock", func(t *testing.T) {
			distributed(12)
			if err := s.SetDisabled(ctx, tid, u.ID, false, "cli"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, tid, "hedy@example.com", goodPassword, "203.0.113.202"); err != nil {
				t.Fatalf("after enable: %v", err)
			}
		})
	})
}

// Every failed sign-in must cost the same whatever failed, or its timing tells whether the account exists
// or is locked. Rather than time them (flaky), count what they do: argon2id verifications and statements.
func TestFailedAndRefusedSignInsDoTheSameWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := testSecurity()
		sec.AccountLockoutThreshold, sec.AccountAttackThreshold, sec.AccountHardLockThreshold = 3, 50, 60
		s, _ := newService(t, db, sec)
		tid := storetest.Tenant(t, db)
		createUser(t, s, tid, NewUser{Email: "ida@example.com", Password: goodPassword})
		locked := createUser(t, s, tid, NewUser{Email: "locked@example.com", Password: goodPassword})
		for i := range 4 { // locks 192.0.2.30 out of ida's account and of the unknown address
			_, _ = s.Authenticate(ctx, tid, "ida@example.com", "wrong", "192.0.2.30")
			_, _ = s.Authenticate(ctx, tid, "ghost@example.com", "wrong", "192.0.2.30")
			_ = i
		}
		for i := range 60 { // hard-locks the other account
			_, _ = s.Authenticate(ctx, tid, "locked@example.com", "wrong", fmt.Sprintf("198.51.100.%d", i))
		}
		if ok, _ := s.HardLocked(ctx, tid, locked.ID); !ok {
			t.Fatal("the account is not hard-locked, so the test proves nothing")
		}
		type cost struct{ hashes, statements int64 }
		measure := func(email, pw, ip string) (cost, error) {
			h, st := s.verifies.Load(), db.Statements()
			_, err := s.Authenticate(ctx, tid, email, pw, ip)
			return cost{s.verifies.Load() - h, db.Statements() - st}, err
		}
		want, err := measure("ida@example.com", "wrong", "192.0.2.31")
		if !errors.Is(err, ErrInvalidCredentials) || want.hashes != 1 {
			t.Fatalf("a wrong password: %v, %+v", err, want)
		}
		tests := []struct{ name, email, pw, ip string }{
			{"an unknown address", "nobody@example.com", "wrong", "192.0.2.32"},
			{"the right password from an IP locked out of the account", "ida@example.com", goodPassword, "192.0.2.30"},
			{"an unknown address from an IP locked out of it", "ghost@example.com", "wrong", "192.0.2.30"},
			{"the right password of a hard-locked account", "locked@example.com", goodPassword, "192.0.2.33"},
		}
		for _, tt := range tests {
			t.Run(tt.name+" costs what a wrong password costs", func(t *testing.T) {
				got, err := measure(tt.email, tt.pw, tt.ip)
				if err == nil {
					t.Fatal("signed in")
				}
				if got != want {
					t.Fatalf("cost %+v, want %+v (a wrong password's)", got, want)
				}
			})
		}
	})
}

func TestConcurrentFailuresAreCountedExactly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sec := testSecurity()
		sec.AccountHardLockThreshold, sec.AccountAttackThreshold = 1000, 500
		s, _ := newService(t, db, sec)
		tid := storetest.Tenant(t, db)
		u := createUser(t, s, tid, NewUser{Email: "ivy@example.com", Password: goodPassword})
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := s.Authenticate(ctx, tid, "ivy@example.com", "wrong password", fmt.Sprintf("192.0.2.%d", i))
				if !errors.Is(err, ErrInvalidCredentials) {
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		wg.Wait()
		th, err := db.GetThrottle(ctx, tid, accountKey(u.ID))
		if err != nil || th.Failures != n {
			t.Fatalf("account-wide failures %d (%v), want every one of %d counted", th.Failures, err, n)
		}
		if got := len(eventsOf(t, db, tid, events.TypeLoginFailed)); got != n {
			t.Fatalf("%d login.failed events, want %d", got, n)
		}
		t.Run("failures per IP from 20 goroutines are all counted", func(t *testing.T) {
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() { _ = s.FailIP(ctx, tid, ScopeDevice, "198.51.100.1") })
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
				_, err := s.Authenticate(ctx, tid, email, "wrong password", "192.0.2.77")
				var te *ThrottledError
				switch {
				case errors.Is(err, ErrInvalidCredentials):
					out = append(out, "invalid")
				case errors.As(err, &te):
					out = append(out, fmt.Sprintf("wait %v %s", te.RetryAfter, te.Budget))
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
			subject := subjectOf(store.User{}, false, "nobody-here@example.com")
			th, err := db.GetThrottle(ctx, tid, accountKey(subject))
			if err != nil || th.Failures == 0 {
				t.Fatalf("identifier counter = %+v, %v", th, err)
			}
			if strings.Contains(subject, "nobody") {
				t.Fatal("the key contains the address")
			}
		})
	})
}

// attackNotices counts the attack notices to address waiting in the outbox of tenantID.
func attackNotices(t *testing.T, db *store.DB, tenantID, address string) int {
	t.Helper()
	ms, err := db.ListOutbox(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Kind != events.KindEmail {
			continue
		}
		if strings.Contains(string(m.Payload), address) {
			t.Errorf("the outbox holds the address in clear: %s", m.Payload)
		}
		e, err := events.OpenEmail(testKeyring.Open, m)
		if err != nil {
			t.Fatal(err)
		}
		if e.To == address && e.Type == notify.TypeAccountAttack {
			n++
		}
	}
	return n
}
