package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestPasswordHistory(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Unix(1_700_000_000, 0)
		newUser := func(t *testing.T, tid, id string) {
			t.Helper()
			if err := db.CreateUser(ctx, store.User{TenantID: tid, ID: id, Email: id + "@example.com", EmailNorm: id + "@example.com"}); err != nil {
				t.Fatal(err)
			}
		}
		add := func(t *testing.T, tid, uid string, keep int, hashes ...string) {
			t.Helper()
			for _, h := range hashes {
				err := db.InTx(ctx, func(tx *store.Tx) error { return tx.AddPasswordHistory(ctx, tid, uid, h, now, keep) })
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		history := func(t *testing.T, tid, uid string, limit int) []string {
			t.Helper()
			h, err := db.PasswordHistory(ctx, tid, uid, limit)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		t.Run("the newest entries are kept, newest first, pruned to the history length", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			newUser(t, tid, "u1")
			add(t, tid, "u1", 3, "h1", "h2", "h3", "h4", "h5") // all in the same second: the order is by insertion
			if got, want := history(t, tid, "u1", 10), []string{"h5", "h4", "h3"}; !slices.Equal(got, want) {
				t.Fatalf("history = %v, want %v", got, want)
			}
			if got, want := history(t, tid, "u1", 2), []string{"h5", "h4"}; !slices.Equal(got, want) {
				t.Fatalf("history limited to 2 = %v, want %v", got, want)
			}
		})
		t.Run("a shorter history length prunes at the next change, and zero forgets everything", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			newUser(t, tid, "u1")
			add(t, tid, "u1", 5, "h1", "h2", "h3", "h4")
			add(t, tid, "u1", 2, "h5")
			if got, want := history(t, tid, "u1", 10), []string{"h5", "h4"}; !slices.Equal(got, want) {
				t.Fatalf("history = %v, want %v", got, want)
			}
			add(t, tid, "u1", 0, "h6")
			if got := history(t, tid, "u1", 10); len(got) != 0 {
				t.Fatalf("history with length 0 = %v, want none", got)
			}
		})
		t.Run("users and tenants do not see each other's history", func(t *testing.T) {
			t1, t2 := storetest.Tenant(t, db), storetest.Tenant(t, db)
			newUser(t, t1, "u1")
			newUser(t, t1, "u2")
			newUser(t, t2, "u1")
			add(t, t1, "u1", 5, "a1")
			add(t, t1, "u2", 5, "b1")
			add(t, t2, "u1", 1, "c1", "c2")
			if got := history(t, t1, "u1", 10); !slices.Equal(got, []string{"a1"}) {
				t.Fatalf("tenant 1 user 1 history = %v", got)
			}
			if got := history(t, t1, "u2", 10); !slices.Equal(got, []string{"b1"}) {
				t.Fatalf("tenant 1 user 2 history = %v", got)
			}
			if got := history(t, t2, "u1", 10); !slices.Equal(got, []string{"c2"}) {
				t.Fatalf("tenant 2 user 1 history = %v", got)
			}
		})
		t.Run("deleting the user deletes its history", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			newUser(t, tid, "u1")
			newUser(t, tid, "u2")
			add(t, tid, "u1", 5, "h1", "h2")
			add(t, tid, "u2", 5, "k1")
			if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteUser(ctx, tid, "u1") }); err != nil {
				t.Fatal(err)
			}
			if got := history(t, tid, "u1", 10); len(got) != 0 {
				t.Fatalf("history of a deleted user = %v, want none", got)
			}
			if got := history(t, tid, "u2", 10); !slices.Equal(got, []string{"k1"}) {
				t.Fatalf("history of the other user = %v", got)
			}
		})
		t.Run("deleting the tenant deletes its history", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			newUser(t, tid, "u1")
			add(t, tid, "u1", 5, "h1")
			if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteTenant(ctx, tid) }); err != nil {
				t.Fatal(err)
			}
			if got := history(t, tid, "u1", 10); len(got) != 0 {
				t.Fatalf("history left after deleting the tenant: %v", got)
			}
		})
		t.Run("the policy is stored in the tenant settings", func(t *testing.T) {
			tid := fmt.Sprintf("pp-%d", time.Now().UnixNano())
			p := store.PasswordPolicy{MinLength: 12, History: 5}
			if err := db.CreateTenant(ctx, store.Tenant{ID: tid, Name: "P", Settings: store.TenantSettings{PasswordPolicy: p}}); err != nil {
				t.Fatal(err)
			}
			got, err := db.GetTenant(ctx, tid)
			if err != nil || got.Settings.PasswordPolicy != p {
				t.Fatalf("stored policy = %+v, %v; want %+v", got.Settings.PasswordPolicy, err, p)
			}
			if d := (store.PasswordPolicy{}).MinLengthOrDefault(); d != 8 {
				t.Fatalf("default minimum length = %d, want 8", d)
			}
		})
	})
}
