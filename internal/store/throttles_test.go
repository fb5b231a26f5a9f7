package store_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestThrottleCountsAreExactUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		now := time.Unix(1_800_000_000, 0)
		const n = 20
		tests := []struct {
			name string
			add  func(key string) (store.Throttle, error)
		}{
			{"account failures from 20 goroutines are all counted", func(key string) (store.Throttle, error) {
				return db.AddAccountFailure(ctx, tid, key, now, now.Add(-time.Hour), 1000, now.Add(time.Hour))
			}},
			{"window failures from 20 goroutines are all counted", func(key string) (store.Throttle, error) {
				return db.AddWindowFailure(ctx, tid, key, now, now.Add(-time.Minute))
			}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := "test:" + string(rune('a'+i))
				var wg sync.WaitGroup
				var mu sync.Mutex
				var seen []int
				for range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						th, err := tt.add(key)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						seen = append(seen, th.Failures)
						mu.Unlock()
					}()
				}
				wg.Wait()
				sort.Ints(seen)
				for i, v := range seen {
					if v != i+1 {
						t.Fatalf("counts returned = %v, want each of 1..%d exactly once", seen, n)
					}
				}
				th, err := db.GetThrottle(ctx, tid, key)
				if err != nil || th.Failures != n {
					t.Fatalf("stored failures = %d, %v; want %d", th.Failures, err, n)
				}
			})
		}
	})
}

func TestThrottleWindowsAndLocks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		t0 := time.Unix(1_800_000_000, 0)
		t.Run("an unknown key has no failures and no error", func(t *testing.T) {
			th, err := db.GetThrottle(ctx, tid, "nothing")
			if err != nil || th.Failures != 0 || !th.LockedUntil.IsZero() {
				t.Fatalf("got %+v, %v", th, err)
			}
		})
		t.Run("a window restarts once it has passed", func(t *testing.T) {
			for i := range 3 {
				if _, err := db.AddWindowFailure(ctx, tid, "w", t0.Add(time.Duration(i)*time.Second), t0.Add(-time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			later := t0.Add(time.Minute)
			th, err := db.AddWindowFailure(ctx, tid, "w", later, later.Add(-time.Minute))
			if err != nil || th.Failures != 1 || !th.WindowStart.Equal(later) {
				t.Fatalf("after the window: %+v, %v; want a new window of 1 at %v", th, err, later)
			}
		})
		t.Run("the failure that reaches the threshold locks, and a quiet period restarts the count", func(t *testing.T) {
			lockUntil := t0.Add(15 * time.Minute)
			var th store.Throttle
			var err error
			for i := range 3 {
				th, err = db.AddAccountFailure(ctx, tid, "a", t0, t0.Add(-15*time.Minute), 3, lockUntil)
				if err != nil {
					t.Fatal(err)
				}
				if locked := !th.LockedUntil.IsZero(); locked != (i == 2) {
					t.Fatalf("failure %d: locked until %v", i+1, th.LockedUntil)
				}
			}
			if !th.LockedUntil.Equal(lockUntil) {
				t.Fatalf("locked until %v, want %v", th.LockedUntil, lockUntil)
			}
			after := t0.Add(15 * time.Minute)
			th, err = db.AddAccountFailure(ctx, tid, "a", after, after.Add(-15*time.Minute), 3, after.Add(15*time.Minute))
			if err != nil || th.Failures != 1 || !th.LockedUntil.IsZero() {
				t.Fatalf("after the lockout: %+v, %v; want a fresh count of 1, unlocked", th, err)
			}
			if err := db.DeleteThrottle(ctx, tid, "a"); err != nil {
				t.Fatal(err)
			}
			if th, _ := db.GetThrottle(ctx, tid, "a"); th.Failures != 0 {
				t.Fatalf("after delete: %+v", th)
			}
		})
		t.Run("a threshold of one locks at the first failure", func(t *testing.T) {
			th, err := db.AddAccountFailure(ctx, tid, "one", t0, t0.Add(-time.Minute), 1, t0.Add(time.Minute))
			if err != nil || !th.LockedUntil.Equal(t0.Add(time.Minute)) {
				t.Fatalf("got %+v, %v", th, err)
			}
		})
	})
}
