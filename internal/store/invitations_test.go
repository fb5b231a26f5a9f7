package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestInvitations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Unix(1_700_000_000, 0)
		create := func(t *testing.T, tid, id, email string, token string) store.Invitation {
			t.Helper()
			inv := store.Invitation{TenantID: tid, ID: id, Email: email, EmailNorm: email, Roles: []string{"editor"},
				ClientID: "app", ExpiresAt: now.Add(72 * time.Hour), CreatedAt: now, InvitedBy: "cli"}
			if err := db.CreateInvitation(ctx, inv, []byte(token)); err != nil {
				t.Fatal(err)
			}
			return inv
		}
		t.Run("a created invitation reads back pending, by id and by token", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			create(t, tid, "i1", "bob@example.com", tid+"tok1")
			got, err := db.GetInvitationByToken(ctx, tid, []byte(tid+"tok1"))
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != "i1" || got.Status != store.InvitationPending || got.Email != "bob@example.com" ||
				!slices.Equal(got.Roles, []string{"editor"}) || got.ClientID != "app" || got.InvitedBy != "cli" ||
				!got.ExpiresAt.Equal(now.Add(72*time.Hour)) || got.UserID != "" {
				t.Fatalf("invitation = %+v", got)
			}
			if _, err := db.GetInvitation(ctx, tid, "i1"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("another tenant does not see the invitation", func(t *testing.T) {
			tid, other := storetest.Tenant(t, db), storetest.Tenant(t, db)
			create(t, tid, "i1", "bob@example.com", tid+"tok1")
			if _, err := db.GetInvitationByToken(ctx, other, []byte(tid+"tok1")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("by token in another tenant: err = %v, want ErrNotFound", err)
			}
			if _, err := db.GetInvitation(ctx, other, "i1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("by id in another tenant: err = %v, want ErrNotFound", err)
			}
		})
		t.Run("renewing replaces the token: the old one is unknown", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			create(t, tid, "i1", "bob@example.com", tid+"old")
			if err := db.RenewInvitation(ctx, tid, "i1", []byte(tid+"new"), now.Add(time.Hour), now); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetInvitationByToken(ctx, tid, []byte(tid+"old")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("old token: err = %v, want ErrNotFound", err)
			}
			got, err := db.GetInvitationByToken(ctx, tid, []byte(tid+"new"))
			if err != nil || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
				t.Fatalf("new token: %+v, %v", got, err)
			}
		})
		t.Run("accepting is single use and records the user", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			create(t, tid, "i1", "bob@example.com", tid+"tok")
			if err := db.AcceptInvitation(ctx, tid, "i1", "u1", now); err != nil {
				t.Fatal(err)
			}
			if err := db.AcceptInvitation(ctx, tid, "i1", "u2", now); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second accept: err = %v, want ErrConflict", err)
			}
			got, _ := db.GetInvitation(ctx, tid, "i1")
			if got.Status != store.InvitationAccepted || got.UserID != "u1" {
				t.Fatalf("after accept: %+v", got)
			}
			if err := db.RevokeInvitation(ctx, tid, "i1", now); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("revoke accepted: err = %v, want ErrConflict", err)
			}
			if err := db.RenewInvitation(ctx, tid, "i1", []byte(tid+"x"), now, now); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("renew accepted: err = %v, want ErrConflict", err)
			}
		})
		t.Run("an expired or revoked invitation cannot be accepted", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			create(t, tid, "i1", "bob@example.com", tid+"a")
			create(t, tid, "i2", "carol@example.com", tid+"b")
			if err := db.AcceptInvitation(ctx, tid, "i1", "u1", now.Add(72*time.Hour)); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("accept at expiry: err = %v, want ErrConflict", err)
			}
			if err := db.RevokeInvitation(ctx, tid, "i2", now); err != nil {
				t.Fatal(err)
			}
			if err := db.AcceptInvitation(ctx, tid, "i2", "u1", now); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("accept revoked: err = %v, want ErrConflict", err)
			}
		})
		t.Run("an unknown invitation is not found", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			if err := db.RevokeInvitation(ctx, tid, "nope", now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("revoke: err = %v, want ErrNotFound", err)
			}
			if err := db.RenewInvitation(ctx, tid, "nope", []byte("x"), now, now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("renew: err = %v, want ErrNotFound", err)
			}
		})
		t.Run("lists filter by status, newest first, and find the pending ones of an address", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			create(t, tid, "i1", "bob@example.com", tid+"a")
			create(t, tid, "i2", "carol@example.com", tid+"b")
			create(t, tid, "i3", "bob@example.com", tid+"c")
			if err := db.RevokeInvitation(ctx, tid, "i1", now); err != nil {
				t.Fatal(err)
			}
			ids := func(invs []store.Invitation) []string {
				var out []string
				for _, i := range invs {
					out = append(out, i.ID)
				}
				return out
			}
			all, err := db.ListInvitations(ctx, tid, "", 0)
			if err != nil || !slices.Equal(ids(all), []string{"i3", "i2", "i1"}) {
				t.Fatalf("all = %v, %v", ids(all), err)
			}
			pending, err := db.ListInvitations(ctx, tid, store.InvitationPending, 0)
			if err != nil || !slices.Equal(ids(pending), []string{"i3", "i2"}) {
				t.Fatalf("pending = %v, %v", ids(pending), err)
			}
			bob, err := db.PendingInvitationsFor(ctx, tid, "bob@example.com")
			if err != nil || !slices.Equal(ids(bob), []string{"i3"}) {
				t.Fatalf("pending for bob = %v, %v", ids(bob), err)
			}
		})
		t.Run("garbage collection deletes the invitations that ended before the cut-off, and only those", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			create(t, tid, "expired", "a@example.com", tid+"a") // expires at now+72h
			create(t, tid, "live", "b@example.com", tid+"b")
			if err := db.RenewInvitation(ctx, tid, "live", []byte(tid+"b2"), now.Add(200*time.Hour), now); err != nil {
				t.Fatal(err)
			}
			create(t, tid, "revoked", "c@example.com", tid+"c")
			if err := db.RevokeInvitation(ctx, tid, "revoked", now); err != nil {
				t.Fatal(err)
			}
			create(t, tid, "accepted-late", "d@example.com", tid+"d")
			if err := db.AcceptInvitation(ctx, tid, "accepted-late", "u1", now.Add(100*time.Hour)); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("accepting after expiry: %v", err) // stays pending and expired
			}
			create(t, tid, "accepted", "e@example.com", tid+"e")
			if err := db.AcceptInvitation(ctx, tid, "accepted", "u1", now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.DeleteEndedInvitations(ctx, now.Add(100*time.Hour)); err != nil {
				t.Fatal(err)
			}
			var left []string
			all, _ := db.ListInvitations(ctx, tid, "", 0)
			for _, i := range all {
				left = append(left, i.ID)
			}
			slices.Sort(left)
			if !slices.Equal(left, []string{"live"}) {
				t.Fatalf("left after collection: %v, want only the live one", left)
			}
		})
		t.Run("an organization's invitations carry it, list newest first and are revoked with it", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			if err := db.CreateOrganization(ctx, store.Organization{TenantID: tid, ID: "globex", Name: "Globex"}); err != nil {
				t.Fatal(err)
			}
			for i, id := range []string{"o1", "o2", "o3"} {
				inv := store.Invitation{TenantID: tid, ID: id, Email: id + "@example.com", EmailNorm: id + "@example.com",
					ExpiresAt: now.Add(72 * time.Hour), CreatedAt: now.Add(time.Duration(i) * time.Minute), InvitedBy: "cli",
					OrgID: "globex", OrgRoles: []string{"buyer"}}
				if err := db.CreateInvitation(ctx, inv, []byte(tid+id)); err != nil {
					t.Fatal(err)
				}
			}
			plain := create(t, tid, "plain", "p@example.com", tid+"plain")
			got, err := db.GetInvitation(ctx, tid, "o1")
			if err != nil || got.OrgID != "globex" || !slices.Equal(got.OrgRoles, []string{"buyer"}) {
				t.Fatalf("organization invitation = %+v, %v", got, err)
			}
			if got, _ := db.GetInvitation(ctx, tid, plain.ID); got.OrgID != "" || got.OrgRoles == nil || len(got.OrgRoles) != 0 {
				t.Errorf("a tenant invitation reads org %q roles %v", got.OrgID, got.OrgRoles)
			}
			first, err := db.ListOrganizationInvitations(ctx, tid, "globex", time.Time{}, "", 2)
			if err != nil || len(first) != 2 || first[0].ID != "o3" || first[1].ID != "o2" {
				t.Fatalf("first page %+v, %v", first, err)
			}
			rest, err := db.ListOrganizationInvitations(ctx, tid, "globex", first[1].CreatedAt, first[1].ID, 2)
			if err != nil || len(rest) != 1 || rest[0].ID != "o1" {
				t.Fatalf("second page %+v, %v", rest, err)
			}
			if err := db.DeleteOrganization(ctx, tid, "globex"); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"o1", "o2", "o3"} {
				if got, _ := db.GetInvitation(ctx, tid, id); got.Status != store.InvitationRevoked {
					t.Errorf("invitation %s is %s after its organization was deleted, want revoked", id, got.Status)
				}
			}
			if got, _ := db.GetInvitation(ctx, tid, plain.ID); got.Status != store.InvitationPending {
				t.Errorf("the tenant invitation is %s, want pending", got.Status)
			}
		})
		t.Run("invitations are deleted with the tenant", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			create(t, tid, "i1", "bob@example.com", tid+"a")
			if err := db.DeleteTenant(ctx, tid); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetInvitationByToken(ctx, tid, []byte(tid+"a")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after tenant deletion: err = %v, want ErrNotFound", err)
			}
		})
	})
}
