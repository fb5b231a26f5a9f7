package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestSignInsAndProfileSkips(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		u := store.User{TenantID: tid, ID: "u1", Email: "ada@example.com", EmailNorm: "ada@example.com",
			CreatedAt: time.Unix(1_700_000_000, 0)}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetUser(ctx, tid, "u1")
		if err != nil || got.SignIns != 0 || got.ProfileSkips != nil {
			t.Fatalf("new user: sign-ins %d, skips %v, %v; want 0 and none", got.SignIns, got.ProfileSkips, err)
		}

		t.Run("each sign-in adds one, in a transaction too", func(t *testing.T) {
			if err := db.CountSignIn(ctx, tid, "u1"); err != nil {
				t.Fatal(err)
			}
			if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.CountSignIn(ctx, tid, "u1") }); err != nil {
				t.Fatal(err)
			}
			if got, _ := db.GetUser(ctx, tid, "u1"); got.SignIns != 2 {
				t.Fatalf("sign-ins = %d, want 2", got.SignIns)
			}
		})
		t.Run("a rolled back sign-in is not counted", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.InTx(ctx, func(tx *store.Tx) error {
				if err := tx.CountSignIn(ctx, tid, "u1"); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if got, _ := db.GetUser(ctx, tid, "u1"); got.SignIns != 2 {
				t.Fatalf("sign-ins = %d after a rollback, want 2", got.SignIns)
			}
		})
		t.Run("skips read back and can be cleared", func(t *testing.T) {
			skips := map[string]int{"phone_number": 3, "company": 5}
			if err := db.SetProfileSkips(ctx, tid, "u1", skips); err != nil {
				t.Fatal(err)
			}
			if list, _ := db.ListUsers(ctx, tid, "", 10); len(list) != 1 || !reflect.DeepEqual(list[0].ProfileSkips, skips) {
				t.Fatalf("skips = %v, want %v", list, skips)
			}
			// UpdateUser (a profile write) keeps both.
			got, _ := db.GetUser(ctx, tid, "u1")
			got.GivenName = "Ada"
			if err := db.UpdateUser(ctx, got); err != nil {
				t.Fatal(err)
			}
			if got, _ := db.GetUser(ctx, tid, "u1"); got.SignIns != 2 || !reflect.DeepEqual(got.ProfileSkips, skips) {
				t.Fatalf("after UpdateUser: sign-ins %d, skips %v", got.SignIns, got.ProfileSkips)
			}
			if err := db.SetProfileSkips(ctx, tid, "u1", nil); err != nil {
				t.Fatal(err)
			}
			if got, _ := db.GetUser(ctx, tid, "u1"); got.ProfileSkips != nil {
				t.Fatalf("cleared skips read back as %v", got.ProfileSkips)
			}
		})
		t.Run("an unknown user is not found", func(t *testing.T) {
			if err := db.CountSignIn(ctx, tid, "nobody"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("CountSignIn = %v, want ErrNotFound", err)
			}
			if err := db.SetProfileSkips(ctx, tid, "nobody", map[string]int{"x": 1}); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("SetProfileSkips = %v, want ErrNotFound", err)
			}
			if err := db.CountSignIn(ctx, "other-tenant", "u1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("CountSignIn in another tenant = %v, want ErrNotFound", err)
			}
		})
	})
}
