package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestFlows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		now := time.Unix(1_800_000_000, 0)
		if err := db.CreateUser(ctx, store.User{TenantID: tid, ID: "u1", Email: "u@example.com", EmailNorm: "u@example.com",
			CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		newFlow := func(id string, exp time.Time) store.Flow {
			f := store.Flow{TenantID: tid, ID: id, Kind: store.FlowRegistration, State: store.FlowPending, UserID: "u1",
				Email: "u@example.com", LinkHash: []byte("link-" + id), CodeHash: []byte("code-" + id),
				BrowserHash: []byte("browser"), LoginRequestID: "lr1", CreatedAt: now, ExpiresAt: exp}
			if err := db.CreateFlow(ctx, f); err != nil {
				t.Fatal(err)
			}
			return f
		}

		t.Run("a stored flow reads back by id and by its link, expiry rounded up", func(t *testing.T) {
			want := newFlow("f1", now.Add(15*time.Minute+time.Millisecond))
			got, err := db.GetFlow(ctx, tid, "f1")
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != want.Kind || got.State != want.State || got.UserID != "u1" || got.Email != want.Email ||
				string(got.LinkHash) != "link-f1" || string(got.CodeHash) != "code-f1" || string(got.BrowserHash) != "browser" ||
				got.LoginRequestID != "lr1" || !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(15*time.Minute+time.Second)) {
				t.Errorf("GetFlow = %+v", got)
			}
			byLink, err := db.GetFlowByLink(ctx, tid, []byte("link-f1"))
			if err != nil || byLink.ID != "f1" {
				t.Errorf("GetFlowByLink = %+v, %v", byLink, err)
			}
			if _, err := db.GetFlowByLink(ctx, "other", []byte("link-f1")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("another tenant's link lookup = %v, want ErrNotFound", err)
			}
			if _, err := db.GetFlowByLink(ctx, tid, nil); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("an empty link lookup = %v, want ErrNotFound", err)
			}
		})

		t.Run("wrong codes are counted and the fifth ends the flow", func(t *testing.T) {
			newFlow("f2", now.Add(time.Hour))
			for i := 1; i <= 5; i++ {
				f, err := db.AddFlowFailure(ctx, tid, "f2", store.FlowPending, 5, now)
				if err != nil {
					t.Fatalf("failure %d: %v", i, err)
				}
				wantState := store.FlowPending
				if i == 5 {
					wantState = store.FlowFailed
				}
				if f.FailedAttempts != i || f.State != wantState {
					t.Fatalf("after %d failures: %d, %s; want %s", i, f.FailedAttempts, f.State, wantState)
				}
			}
			if _, err := db.AddFlowFailure(ctx, tid, "f2", store.FlowPending, 5, now); !errors.Is(err, store.ErrConflict) {
				t.Errorf("a failure on an ended flow = %v, want ErrConflict", err)
			}
		})

		t.Run("a state change happens once and clears the secrets", func(t *testing.T) {
			newFlow("f3", now.Add(time.Hour))
			if err := db.SetFlowState(ctx, tid, "f3", store.FlowPending, store.FlowDone, now); err != nil {
				t.Fatal(err)
			}
			if err := db.SetFlowState(ctx, tid, "f3", store.FlowPending, store.FlowDone, now); !errors.Is(err, store.ErrConflict) {
				t.Errorf("second change = %v, want ErrConflict", err)
			}
			f, _ := db.GetFlow(ctx, tid, "f3")
			if f.State != store.FlowDone || f.LinkHash != nil || f.CodeHash != nil {
				t.Errorf("after it is done: %+v", f)
			}
			if _, err := db.GetFlowByLink(ctx, tid, []byte("link-f3")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a used link still finds the flow: %v", err)
			}
		})

		t.Run("a newer flow ends the user's pending ones", func(t *testing.T) {
			newFlow("f4", now.Add(time.Hour))
			if err := db.EndUserFlows(ctx, tid, "u1", store.FlowRegistration, now); err != nil {
				t.Fatal(err)
			}
			if f, _ := db.GetFlow(ctx, tid, "f4"); f.State != store.FlowDone || f.CodeHash != nil {
				t.Errorf("after EndUserFlows: %+v", f)
			}
		})

		t.Run("garbage collection deletes expired flows only", func(t *testing.T) {
			newFlow("old", now.Add(-time.Second))
			n, err := db.DeleteExpiredFlows(ctx, now)
			if err != nil || n != 1 {
				t.Fatalf("DeleteExpiredFlows = %d, %v; want 1", n, err)
			}
			if _, err := db.GetFlow(ctx, tid, "old"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("expired flow still there: %v", err)
			}
			if _, err := db.GetFlow(ctx, tid, "f1"); err != nil {
				t.Errorf("live flow gone: %v", err)
			}
		})

		t.Run("self-registered unverified accounts are listed for deletion, others not", func(t *testing.T) {
			for _, id := range []string{"reg-old", "reg-new", "reg-verified"} {
				created := now.Add(-8 * 24 * time.Hour)
				if id == "reg-new" {
					created = now
				}
				if err := db.CreateUser(ctx, store.User{TenantID: tid, ID: id, Email: id + "@example.com", EmailNorm: id + "@example.com",
					CreatedAt: created, UpdatedAt: created}); err != nil {
					t.Fatal(err)
				}
				if err := db.MarkSelfRegistered(ctx, tid, id); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.SetEmailVerified(ctx, tid, "reg-verified", now); err != nil {
				t.Fatal(err)
			}
			if ok, err := db.SelfRegistered(ctx, tid, "reg-old"); !ok || err != nil {
				t.Errorf("SelfRegistered(reg-old) = %v, %v", ok, err)
			}
			if ok, err := db.SelfRegistered(ctx, tid, "u1"); ok || err != nil {
				t.Errorf("SelfRegistered(u1) = %v, %v", ok, err)
			}
			mine, err := db.UnverifiedRegistrations(ctx, tid, now.Add(-7*24*time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(mine) != 1 || mine[0] != "reg-old" {
				t.Errorf("UnverifiedRegistrations = %v, want [reg-old]", mine)
			}
		})

		t.Run("deleting the user deletes its flows", func(t *testing.T) {
			newFlow("f5", now.Add(time.Hour))
			if err := db.DeleteUser(ctx, tid, "u1"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetFlow(ctx, tid, "f5"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("flow of a deleted user: %v", err)
			}
		})
	})
}
