package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestSeedPasswordPolicy(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		seed := []config.TenantSeed{{
			ID: "acme", Name: "Acme",
			PasswordPolicy: &config.PasswordPolicy{MinLength: 10, History: 5},
			Users:          []config.UserSeed{{Email: "ada@example.com", Password: "first password 1"}},
		}}
		if _, err := f.admin.ApplySeed(ctx, seed); err != nil {
			t.Fatal(err)
		}
		policy := func(t *testing.T) store.PasswordPolicy {
			t.Helper()
			tn, err := db.GetTenant(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			return tn.Settings.PasswordPolicy
		}
		ada, err := f.admin.FindUser(ctx, "acme", "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}

		t.Run("the seed's policy is stored in the tenant settings", func(t *testing.T) {
			if got := policy(t); got != (store.PasswordPolicy{MinLength: 10, History: 5}) {
				t.Fatalf("policy = %+v", got)
			}
		})
		t.Run("applying the same seed again changes nothing", func(t *testing.T) {
			res, err := f.admin.ApplySeed(ctx, seed)
			if err != nil || len(res.Applied) != 0 || res.Unchanged != 2 {
				t.Fatalf("result = %+v, %v; want nothing applied", res, err)
			}
		})
		t.Run("an operator reset to a recent password is refused and writes nothing", func(t *testing.T) {
			before := countEvents(t, db, "acme", events.TypePasswordChanged)
			err := f.admin.SetPassword(ctx, "acme", ada.ID, "first password 1", "cli")
			var pe *identity.PasswordError
			if !admin.IsInvalid(err) || !errors.As(err, &pe) || pe.Reason != identity.ReasonReused {
				t.Fatalf("reset to the current password: %v, want an invalid password (reused)", err)
			}
			if n := countEvents(t, db, "acme", events.TypePasswordChanged); n != before {
				t.Fatalf("%d password.changed events after a refused reset, want %d", n, before)
			}
		})
		t.Run("an operator reset is kept in the history", func(t *testing.T) {
			if err := f.admin.SetPassword(ctx, "acme", ada.ID, "second password 2", "cli"); err != nil {
				t.Fatal(err)
			}
			h, err := db.PasswordHistory(ctx, "acme", ada.ID, 10)
			if err != nil || len(h) != 2 {
				t.Fatalf("history has %d entries, %v; want the seeded password and the reset", len(h), err)
			}
			if err := f.admin.SetPassword(ctx, "acme", ada.ID, "first password 1", "cli"); !admin.IsInvalid(err) {
				t.Fatalf("reset to the seeded password: %v, want refused", err)
			}
		})
		t.Run("a seeded password shorter than the tenant's minimum is refused naming the password", func(t *testing.T) {
			bad := []config.TenantSeed{{ID: "acme", Name: "Acme", PasswordPolicy: seed[0].PasswordPolicy,
				Users: []config.UserSeed{{Email: "bob@example.com", Password: "k7#Vq9!mZ"}}}}
			_, err := f.admin.ApplySeed(ctx, bad)
			if !admin.IsInvalid(err) || !strings.Contains(err.Error(), "password: Use at least 10 characters") {
				t.Fatalf("seed with a 9-character password: %v", err)
			}
		})
		t.Run("a changed policy in the seed is applied", func(t *testing.T) {
			changed := []config.TenantSeed{{ID: "acme", Name: "Acme", PasswordPolicy: &config.PasswordPolicy{History: 2},
				Users: seed[0].Users}}
			res, err := f.admin.ApplySeed(ctx, changed)
			if err != nil || len(res.Applied) != 1 || res.Applied[0] != "tenant acme" {
				t.Fatalf("result = %+v, %v; want the tenant applied", res, err)
			}
			if got := policy(t); got != (store.PasswordPolicy{History: 2}) {
				t.Fatalf("policy = %+v", got)
			}
		})
		t.Run("a policy out of bounds is refused through the admin service too", func(t *testing.T) {
			_, err := f.admin.UpdateTenant(ctx, "acme", admin.TenantPatch{Settings: func(s *store.TenantSettings) {
				s.PasswordPolicy = store.PasswordPolicy{MinLength: 4, History: 99}
			}}, "cli")
			if !admin.IsInvalid(err) || !strings.Contains(err.Error(), "password_policy.min_length") ||
				!strings.Contains(err.Error(), "password_policy.history") {
				t.Fatalf("update with min_length 4 and history 99: %v", err)
			}
		})
	})
}
