package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestAuthCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		now := time.Unix(time.Now().Unix(), 0)
		code := store.AuthCode{TenantID: tid, CodeHash: []byte("hash-1"), ClientID: "web", UserID: "u1", SessionID: "s1",
			GrantID: "g1", RedirectURI: "https://rp/cb", Scopes: []string{"openid", "email"}, Nonce: "n",
			CodeChallenge: "abc", CodeChallengeMethod: "S256", AuthTime: now, AMR: []string{"pwd"}, ACR: "1",
			CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := db.CreateAuthCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		t.Run("a stored code round-trips", func(t *testing.T) {
			got, err := db.GetAuthCode(ctx, tid, []byte("hash-1"))
			if err != nil {
				t.Fatal(err)
			}
			if got.GrantID != "g1" || got.Scopes[1] != "email" || !got.AuthTime.Equal(now) || got.AMR[0] != "pwd" ||
				got.CodeChallengeMethod != "S256" || !got.RedeemedAt.IsZero() || !got.ExpiresAt.Equal(now.Add(time.Minute)) {
				t.Fatalf("got %+v", got)
			}
		})
		t.Run("a code is invisible in another tenant", func(t *testing.T) {
			if _, err := db.GetAuthCode(ctx, storetest.Tenant(t, db), []byte("hash-1")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a code is redeemed exactly once under concurrency", func(t *testing.T) {
			var ok, conflict atomic.Int32
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := db.RedeemAuthCode(ctx, tid, []byte("hash-1"), now)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, store.ErrConflict):
						conflict.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if ok.Load() != 1 || conflict.Load() != 19 {
				t.Fatalf("ok = %d, conflicts = %d", ok.Load(), conflict.Load())
			}
			got, _ := db.GetAuthCode(ctx, tid, []byte("hash-1"))
			if got.RedeemedAt.IsZero() {
				t.Fatal("redeemed_at not set")
			}
		})
	})
}

func TestDeviceCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		now := time.Unix(time.Now().Unix(), 0)
		newCode := func(dev, user string) store.DeviceCode {
			d := store.DeviceCode{TenantID: tid, DeviceCodeHash: []byte(dev), UserCodeHash: []byte(user), ClientID: "tv",
				Scopes: []string{"openid"}, Interval: 5 * time.Second, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
			if err := db.CreateDeviceCode(ctx, d); err != nil {
				t.Fatal(err)
			}
			return d
		}
		newCode("dev-1", "user-1")
		t.Run("a duplicate user code is a conflict", func(t *testing.T) {
			err := db.CreateDeviceCode(ctx, store.DeviceCode{TenantID: tid, DeviceCodeHash: []byte("dev-x"),
				UserCodeHash: []byte("user-1"), ClientID: "tv", Interval: 5 * time.Second, ExpiresAt: now})
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a pending code is found by its user code", func(t *testing.T) {
			d, err := db.GetDeviceCodeByUserCode(ctx, tid, []byte("user-1"))
			if err != nil || d.Status != store.DevicePending || d.Interval != 5*time.Second || string(d.DeviceCodeHash) != "dev-1" {
				t.Fatalf("got %+v, %v", d, err)
			}
		})
		t.Run("polling faster than the interval slows the device down", func(t *testing.T) {
			if slow, err := db.PollDeviceCode(ctx, tid, []byte("dev-1"), now); err != nil || slow {
				t.Fatalf("first poll: slow = %v, %v", slow, err)
			}
			if slow, err := db.PollDeviceCode(ctx, tid, []byte("dev-1"), now.Add(2*time.Second)); err != nil || !slow {
				t.Fatalf("fast poll: slow = %v, %v", slow, err)
			}
			d, _ := db.GetDeviceCode(ctx, tid, []byte("dev-1"))
			if d.Interval != 10*time.Second || !d.LastPolledAt.Equal(now.Add(2*time.Second)) {
				t.Fatalf("got interval %v, last polled %v", d.Interval, d.LastPolledAt)
			}
			if slow, err := db.PollDeviceCode(ctx, tid, []byte("dev-1"), now.Add(12*time.Second)); err != nil || slow {
				t.Fatalf("patient poll: slow = %v, %v", slow, err)
			}
			if _, err := db.PollDeviceCode(ctx, tid, []byte("nope"), now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown code: %v", err)
			}
		})
		t.Run("an approved code cannot be approved or denied again and redeems once", func(t *testing.T) {
			if err := db.ApproveDeviceCode(ctx, tid, []byte("user-1"), "u1", "s1", now, []string{"pwd"}, "1"); err != nil {
				t.Fatal(err)
			}
			if err := db.ApproveDeviceCode(ctx, tid, []byte("user-1"), "u2", "s2", now, nil, ""); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second approve: %v", err)
			}
			if err := db.DenyDeviceCode(ctx, tid, []byte("user-1")); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("deny after approve: %v", err)
			}
			d, _ := db.GetDeviceCode(ctx, tid, []byte("dev-1"))
			if d.Status != store.DeviceApproved || d.UserID != "u1" || d.SessionID != "s1" || d.AMR[0] != "pwd" || !d.AuthTime.Equal(now) {
				t.Fatalf("got %+v", d)
			}
			if err := db.RedeemDeviceCode(ctx, tid, []byte("dev-1")); err != nil {
				t.Fatal(err)
			}
			if err := db.RedeemDeviceCode(ctx, tid, []byte("dev-1")); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second redeem: %v", err)
			}
		})
		t.Run("a denied code cannot be approved", func(t *testing.T) {
			newCode("dev-2", "user-2")
			if err := db.DenyDeviceCode(ctx, tid, []byte("user-2")); err != nil {
				t.Fatal(err)
			}
			if err := db.ApproveDeviceCode(ctx, tid, []byte("user-2"), "u1", "s1", now, nil, ""); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("approve after deny: %v", err)
			}
			if err := db.RedeemDeviceCode(ctx, tid, []byte("dev-2")); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("redeem denied: %v", err)
			}
		})
		t.Run("an unknown user code is not found", func(t *testing.T) {
			if err := db.ApproveDeviceCode(ctx, tid, []byte("nope"), "u1", "s1", now, nil, ""); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("approve: %v", err)
			}
			if err := db.DenyDeviceCode(ctx, tid, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("deny: %v", err)
			}
			if _, err := db.GetDeviceCodeByUserCode(ctx, storetest.Tenant(t, db), []byte("user-1")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("other tenant: %v", err)
			}
		})
	})
}
