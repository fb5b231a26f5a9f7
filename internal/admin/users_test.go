package admin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestSetPasswordEndsSessionsAndGrants: an operator's password reset signs the user out everywhere and
// revokes what the old password gave (refresh tokens, access tokens), with one event each, and leaves
// other users alone.
func TestSetPasswordEndsSessionsAndGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		tenant := storetest.Tenant(t, db)
		now := time.Now()
		grantsOf := map[string][]string{}
		newUser := func(t *testing.T, email string) store.User {
			t.Helper()
			u, err := f.admin.CreateUser(ctx, tenant, admin.UserInput{Email: email, Password: "first password 1"}, "test")
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				sid := keys.NewID()
				s := store.Session{TenantID: tenant, ID: sid, UserID: u.ID, AuthTime: now, CreatedAt: now, LastSeenAt: now,
					IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
				if err := db.CreateSession(ctx, s, keys.HashToken(keys.NewToken())); err != nil {
					t.Fatal(err)
				}
				g := store.Grant{TenantID: tenant, ID: keys.NewID(), ClientID: []string{"web", "cli"}[i], UserID: u.ID, SessionID: sid,
					Scopes: []string{"openid"}, AuthTime: now, ExpiresAt: now.Add(time.Hour)}
				if err := db.CreateGrant(ctx, g); err != nil {
					t.Fatal(err)
				}
				grantsOf[u.ID] = append(grantsOf[u.ID], g.ID)
			}
			return u
		}
		live := func(t *testing.T, u store.User) (sessions, grants int) {
			t.Helper()
			ss, err := db.ListUserSessions(ctx, tenant, u.ID, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range grantsOf[u.ID] {
				g, err := db.GetGrant(ctx, tenant, id)
				if err != nil {
					t.Fatal(err)
				}
				if g.Alive(time.Now()) {
					grants++
				}
			}
			return len(ss), grants
		}
		ada, bob := newUser(t, "ada@example.com"), newUser(t, "bob@example.com")

		if err := f.admin.SetPassword(ctx, tenant, ada.ID, "second password 2", "cli"); err != nil {
			t.Fatal(err)
		}
		t.Run("the new password works and the old one does not", func(t *testing.T) {
			if _, err := f.identity.Authenticate(ctx, tenant, "ada@example.com", "second password 2", "192.0.2.1"); err != nil {
				t.Fatalf("the new password: %v", err)
			}
			if _, err := f.identity.Authenticate(ctx, tenant, "ada@example.com", "first password 1", "192.0.2.1"); err == nil {
				t.Fatal("the old password still signs in")
			}
		})
		t.Run("every session of the user ended and every grant was revoked", func(t *testing.T) {
			if s, g := live(t, ada); s != 0 || g != 0 {
				t.Fatalf("%d sessions and %d grants still live, want none", s, g)
			}
		})
		t.Run("another user keeps their sessions and grants", func(t *testing.T) {
			if s, g := live(t, bob); s != 2 || g != 2 {
				t.Fatalf("%d sessions and %d grants live, want 2 and 2", s, g)
			}
		})
		t.Run("the change and each ended session and revoked grant are recorded with the reason", func(t *testing.T) {
			if n := countEvents(t, db, tenant, events.TypePasswordChanged); n != 1 {
				t.Fatalf("%d password.changed events, want 1", n)
			}
			for _, typ := range []string{events.TypeSessionEnded, events.TypeGrantRevoked} {
				evs, err := db.ListEvents(ctx, tenant, 0, typ, 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != 2 {
					t.Fatalf("%d %s events, want 2", len(evs), typ)
				}
				for _, e := range evs {
					if e.Data["reason"] != events.ReasonPasswordReset || e.Data["user_id"] != ada.ID || e.Actor != "cli" {
						t.Fatalf("%s event %+v, want reason %s for %s by cli", typ, e, events.ReasonPasswordReset, ada.ID)
					}
				}
			}
		})
		t.Run("a refused password changes nothing", func(t *testing.T) {
			before := countEvents(t, db, tenant, "")
			if err := f.admin.SetPassword(ctx, tenant, bob.ID, "short", "cli"); !admin.IsInvalid(err) {
				t.Fatalf("err = %v, want invalid", err)
			}
			if s, g := live(t, bob); s != 2 || g != 2 {
				t.Fatalf("a refused password ended sessions or grants: %d, %d", s, g)
			}
			if after := countEvents(t, db, tenant, ""); after != before {
				t.Fatalf("%d events written for a refused password", after-before)
			}
		})
		t.Run("an unknown user is not found", func(t *testing.T) {
			if err := f.admin.SetPassword(ctx, tenant, "nobody", "third password 3", "cli"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}
