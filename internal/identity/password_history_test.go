package identity

import (
	"context"
	"errors"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// tenantWithPolicy creates a tenant whose settings hold policy.
func tenantWithPolicy(t *testing.T, db *store.DB, policy store.PasswordPolicy) string {
	t.Helper()
	tid := storetest.Tenant(t, db)
	ten, err := db.GetTenant(context.Background(), tid)
	if err != nil {
		t.Fatal(err)
	}
	ten.Settings.PasswordPolicy = policy
	if err := db.UpdateTenant(context.Background(), ten); err != nil {
		t.Fatal(err)
	}
	return tid
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var pe *PasswordError
	if !errors.As(err, &pe) || pe.Reason != reason {
		t.Fatalf("err = %v, want a *PasswordError with reason %q", err, reason)
	}
}

func TestPasswordHistoryRefusesRecentPasswords(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testSecurity())
		pws := []string{"first fine passphrase", "second fine passphrase", "third fine passphrase", "fourth fine passphrase"}

		t.Run("a password among the last three is refused, an older one is allowed again", func(t *testing.T) {
			tid := tenantWithPolicy(t, db, store.PasswordPolicy{History: 3})
			u := createUser(t, s, tid, NewUser{Email: "hana@example.com", Password: pws[0]})
			for _, pw := range pws[1:] {
				if err := s.SetPassword(ctx, tid, u.ID, pw, "test"); err != nil {
					t.Fatalf("set %q: %v", pw, err)
				}
			}
			for _, pw := range pws[1:] { // the current password and the two before it
				wantReason(t, s.SetPassword(ctx, tid, u.ID, pw, "test"), ReasonReused)
			}
			h, err := db.PasswordHistory(ctx, tid, u.ID, 100)
			if err != nil || len(h) != 3 {
				t.Fatalf("history has %d entries, %v; want 3 (pruned to the policy)", len(h), err)
			}
			if err := s.SetPassword(ctx, tid, u.ID, pws[0], "test"); err != nil {
				t.Fatalf("the password four changes back: %v, want it allowed", err)
			}
		})
		t.Run("a refused password writes nothing", func(t *testing.T) {
			tid := tenantWithPolicy(t, db, store.PasswordPolicy{History: 2})
			u := createUser(t, s, tid, NewUser{Email: "ines@example.com", Password: pws[0]})
			before, err := db.GetPasswordHash(ctx, tid, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantReason(t, s.SetPassword(ctx, tid, u.ID, pws[0], "test"), ReasonReused)
			wantReason(t, s.SetPassword(ctx, tid, u.ID, "Password123!", "test"), ReasonBreached)
			if after, _ := db.GetPasswordHash(ctx, tid, u.ID); after != before {
				t.Fatal("a refused password replaced the stored one")
			}
			if h, _ := db.PasswordHistory(ctx, tid, u.ID, 100); len(h) != 1 {
				t.Fatalf("history has %d entries, want only the first password", len(h))
			}
			if n := len(eventsOf(t, db, tid, events.TypePasswordChanged)); n != 0 {
				t.Fatalf("%d password.changed events after refused passwords, want 0", n)
			}
		})
		t.Run("without a history the same password may be set again and nothing is kept", func(t *testing.T) {
			tid := tenantWithPolicy(t, db, store.PasswordPolicy{})
			u := createUser(t, s, tid, NewUser{Email: "jon@example.com", Password: pws[0]})
			if err := s.SetPassword(ctx, tid, u.ID, pws[0], "test"); err != nil {
				t.Fatalf("set the same password without a history: %v", err)
			}
			if h, _ := db.PasswordHistory(ctx, tid, u.ID, 100); len(h) != 0 {
				t.Fatalf("history has %d entries, want none", len(h))
			}
			if n := len(eventsOf(t, db, tid, events.TypePasswordChanged)); n != 1 {
				t.Fatalf("%d password.changed events, want 1", n)
			}
		})
		t.Run("the current password set before the history was kept is refused too", func(t *testing.T) {
			tid := tenantWithPolicy(t, db, store.PasswordPolicy{})
			u := createUser(t, s, tid, NewUser{Email: "kim@example.com", Password: pws[0]})
			ten, _ := db.GetTenant(ctx, tid)
			ten.Settings.PasswordPolicy.History = 5
			if err := db.UpdateTenant(ctx, ten); err != nil {
				t.Fatal(err)
			}
			wantReason(t, s.SetPassword(ctx, tid, u.ID, pws[0], "test"), ReasonReused)
		})
		t.Run("another user's password history does not count", func(t *testing.T) {
			tid := tenantWithPolicy(t, db, store.PasswordPolicy{History: 5})
			createUser(t, s, tid, NewUser{Email: "lea@example.com", Password: pws[0]})
			if _, err := s.CreateUser(ctx, tid, NewUser{Email: "max@example.com", Password: pws[0]}, "test"); err != nil {
				t.Fatalf("a second user with the first user's password: %v", err)
			}
		})
		t.Run("the tenant's minimum length applies to new users", func(t *testing.T) {
			tid := tenantWithPolicy(t, db, store.PasswordPolicy{MinLength: 12})
			_, err := s.CreateUser(ctx, tid, NewUser{Email: "ned@example.com", Password: "x7#kQ!p2zR"}, "test")
			wantReason(t, err, ReasonTooShort)
			if _, err := s.FindUserByEmail(ctx, tid, "ned@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a user refused for its password was created: %v", err)
			}
		})
		t.Run("deleting the user deletes its history", func(t *testing.T) {
			tid := tenantWithPolicy(t, db, store.PasswordPolicy{History: 5})
			u := createUser(t, s, tid, NewUser{Email: "ola@example.com", Password: pws[0]})
			if err := s.DeleteUser(ctx, tid, u.ID, "test"); err != nil {
				t.Fatal(err)
			}
			if h, _ := db.PasswordHistory(ctx, tid, u.ID, 100); len(h) != 0 {
				t.Fatalf("history of a deleted user has %d entries", len(h))
			}
		})
	})
}
