package identity

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// addSession stores a live session for userID directly (package session owns the real thing).
func addSession(t *testing.T, db *store.DB, tenantID, userID string, now time.Time) string {
	t.Helper()
	sid := keys.NewID()
	err := db.CreateSession(context.Background(), store.Session{TenantID: tenantID, ID: sid, UserID: userID, AuthTime: now,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}, keys.HashToken(keys.NewToken()))
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

// addGrant stores a live grant of userID for clientID directly (package oidc owns the real thing).
func addGrant(t *testing.T, db *store.DB, tenantID, userID, clientID string, now time.Time) string {
	t.Helper()
	id := keys.NewID()
	if err := db.CreateGrant(context.Background(), store.Grant{TenantID: tenantID, ID: id, ClientID: clientID, UserID: userID,
		Scopes: []string{"openid"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestUserLifecycleLeavesAnEventPerChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db, testSecurity())
		tid := storetest.Tenant(t, db)
		u, err := s.CreateUser(ctx, tid, NewUser{Email: "jack@example.com", Password: goodPassword, GivenName: "Jack",
			Roles: []string{"staff", "admin", "staff"}}, "admin:root")
		if err != nil {
			t.Fatal(err)
		}
		t.Run("the new user has its roles sorted without duplicates and the role rows exist", func(t *testing.T) {
			got, err := s.GetUser(ctx, tid, u.ID)
			if err != nil || !slices.Equal(got.Roles, []string{"admin", "staff"}) || got.GivenName != "Jack" {
				t.Fatalf("GetUser = %+v, %v", got, err)
			}
			roles, err := db.ListRoles(ctx, tid)
			if err != nil || len(roles) != 2 {
				t.Fatalf("roles = %+v, %v", roles, err)
			}
		})
		t.Run("an update records only the fields that changed", func(t *testing.T) {
			got, err := s.UpdateUser(ctx, tid, u.ID, Profile{Email: "Jack@Example.com", GivenName: "Jack", FamilyName: "Ryan",
				EmailVerified: true}, "admin:root")
			if err != nil || got.FamilyName != "Ryan" || !got.EmailVerified || got.EmailNorm != "jack@example.com" {
				t.Fatalf("UpdateUser = %+v, %v", got, err)
			}
			ev := eventsOf(t, db, tid, events.TypeUserUpdated)
			if len(ev) != 1 || !slices.Equal(anyStrings(ev[0].Data["fields"]), []string{"email", "email_verified", "family_name"}) {
				t.Fatalf("user.updated = %+v", ev)
			}
			if _, err := s.UpdateUser(ctx, tid, u.ID, Profile{Email: "Jack@Example.com", GivenName: "Jack", FamilyName: "Ryan",
				EmailVerified: true}, "admin:root"); err != nil {
				t.Fatal(err)
			}
			if n := len(eventsOf(t, db, tid, events.TypeUserUpdated)); n != 1 {
				t.Fatalf("an update changing nothing wrote an event (%d)", n)
			}
		})
		t.Run("roles are replaced and a new role is created on assignment", func(t *testing.T) {
			if err := s.SetRoles(ctx, tid, u.ID, []string{"auditor"}, "admin:root"); err != nil {
				t.Fatal(err)
			}
			got, _ := s.GetUser(ctx, tid, u.ID)
			if !slices.Equal(got.Roles, []string{"auditor"}) {
				t.Fatalf("roles = %v", got.Roles)
			}
			if err := s.SetRoles(ctx, tid, u.ID, []string{"bad role"}, "admin:root"); !errors.Is(err, ErrInvalidRole) {
				t.Fatalf("a role with a space: %v", err)
			}
		})
		t.Run("a new password replaces the old one", func(t *testing.T) {
			if err := s.SetPassword(ctx, tid, u.ID, "another fine passphrase", "admin:root"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, tid, "jack@example.com", goodPassword, ""); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("old password: %v", err)
			}
			if _, err := s.Authenticate(ctx, tid, "jack@example.com", "another fine passphrase", ""); err != nil {
				t.Fatalf("new password: %v", err)
			}
		})
		sid := addSession(t, db, tid, u.ID, clk.Now())
		gid := addGrant(t, db, tid, u.ID, "web", clk.Now())
		t.Run("disabling ends the sessions and revokes the grants", func(t *testing.T) {
			if err := s.SetDisabled(ctx, tid, u.ID, true, "admin:root"); err != nil {
				t.Fatal(err)
			}
			if sess, _ := db.GetSession(ctx, tid, sid); sess.EndedAt.IsZero() {
				t.Fatal("the session is still live")
			}
			if g, _ := db.GetGrant(ctx, tid, gid); g.RevokedAt.IsZero() {
				t.Fatal("the grant is still live")
			}
			if err := s.SetDisabled(ctx, tid, u.ID, true, "admin:root"); err != nil {
				t.Fatal(err)
			}
			if err := s.SetDisabled(ctx, tid, u.ID, false, "admin:root"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("deleting removes the user", func(t *testing.T) {
			if err := s.DeleteUser(ctx, tid, u.ID, "admin:root"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetUser(ctx, tid, u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after delete: %v", err)
			}
			if err := s.DeleteUser(ctx, tid, u.ID, "admin:root"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("delete again: %v, want ErrNotFound", err)
			}
		})
		t.Run("every change left its event", func(t *testing.T) {
			wantTypes(t, db, tid,
				events.TypeUserCreated, events.TypeUserUpdated, events.TypeRolesChanged, events.TypePasswordChanged,
				events.TypeLoginFailed, // the old password, tried once
				events.TypeUserDisabled, events.TypeSessionEnded, events.TypeGrantRevoked,
				events.TypeUserEnabled, events.TypeAccountUnlocked, // enabling lifts the failed sign-in's count
				events.TypeUserDeleted)
			for _, e := range eventsOf(t, db, tid, "") {
				if e.Type != events.TypeLoginFailed && e.Actor != "admin:root" {
					t.Errorf("%s has actor %q, want admin:root", e.Type, e.Actor)
				}
			}
		})
	})
}

func TestEndSessionsAndGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db, testSecurity())
		tid := storetest.Tenant(t, db)
		ann := createUser(t, s, tid, NewUser{Email: "ann@example.com"})
		bea := createUser(t, s, tid, NewUser{Email: "bea@example.com"})
		annSession, annGrant := addSession(t, db, tid, ann.ID, clk.Now()), addGrant(t, db, tid, ann.ID, "web", clk.Now())
		beaSession, beaGrant := addSession(t, db, tid, bea.ID, clk.Now()), addGrant(t, db, tid, bea.ID, "web", clk.Now())
		end := func(tenantID string, inTx func(tx *store.Tx) error) error {
			return db.InTx(ctx, func(tx *store.Tx) error {
				if err := EndSessionsAndGrants(ctx, tx, tenantID, ann.ID, "op", "why-session", "why-grant", clk.Now()); err != nil {
					return err
				}
				return inTx(tx)
			})
		}
		live := func(t *testing.T, sid, gid string) bool {
			t.Helper()
			sess, err := db.GetSession(ctx, tid, sid)
			if err != nil {
				t.Fatal(err)
			}
			g, err := db.GetGrant(ctx, tid, gid)
			if err != nil {
				t.Fatal(err)
			}
			return sess.EndedAt.IsZero() && g.RevokedAt.IsZero()
		}
		t.Run("a rolled back transaction ends nothing and records nothing", func(t *testing.T) {
			boom := errors.New("boom")
			if err := end(tid, func(*store.Tx) error { return boom }); !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			if !live(t, annSession, annGrant) {
				t.Fatal("the rollback left the session ended or the grant revoked")
			}
			if n := len(eventsOf(t, db, tid, events.TypeSessionEnded)) + len(eventsOf(t, db, tid, events.TypeGrantRevoked)); n != 0 {
				t.Fatalf("%d events survived the rollback", n)
			}
		})
		t.Run("another tenant's id ends nothing of this tenant", func(t *testing.T) {
			if err := end(storetest.Tenant(t, db), func(*store.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if !live(t, annSession, annGrant) {
				t.Fatal("a call for another tenant ended this tenant's session or grant")
			}
		})
		t.Run("the user's session ends and grant is revoked, each recorded with its reason", func(t *testing.T) {
			if err := end(tid, func(*store.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if sess, _ := db.GetSession(ctx, tid, annSession); sess.EndedAt.IsZero() {
				t.Error("the session is still live")
			}
			if g, _ := db.GetGrant(ctx, tid, annGrant); g.RevokedAt.IsZero() {
				t.Error("the grant is still live")
			}
			for typ, reason := range map[string]string{events.TypeSessionEnded: "why-session", events.TypeGrantRevoked: "why-grant"} {
				evs := eventsOf(t, db, tid, typ)
				if len(evs) != 1 || evs[0].Data["reason"] != reason || evs[0].Data["user_id"] != ann.ID || evs[0].Actor != "op" {
					t.Errorf("%s events = %+v, want one for %s by op with reason %s", typ, evs, ann.ID, reason)
				}
			}
		})
		t.Run("another user keeps their session and grant", func(t *testing.T) {
			if !live(t, beaSession, beaGrant) {
				t.Fatal("another user's session or grant ended")
			}
		})
	})
}

func anyStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

func TestListUsersPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testSecurity())
		tid := storetest.Tenant(t, db)
		var ids []string
		for i := range 5 {
			u := createUser(t, s, tid, NewUser{Email: string(rune('a'+i)) + "@example.com", Roles: []string{"r"}})
			ids = append(ids, u.ID)
		}
		slices.Sort(ids)
		var got []string
		after := ""
		for {
			page, err := s.ListUsers(ctx, tid, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, u := range page {
				if !slices.Equal(u.Roles, []string{"r"}) {
					t.Fatalf("user %s listed with roles %v", u.ID, u.Roles)
				}
				got = append(got, u.ID)
			}
			after = page[len(page)-1].ID
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("paged ids = %v, want %v", got, ids)
		}
	})
}

func TestConsents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db, testSecurity())
		tid := storetest.Tenant(t, db)
		u := createUser(t, s, tid, NewUser{Email: "kim@example.com"})
		grant := func(scopes ...string) {
			t.Helper()
			if err := db.InTx(ctx, func(tx *store.Tx) error { return s.GrantConsent(ctx, tx, tid, u.ID, "app", scopes) }); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("no consent is nil", func(t *testing.T) {
			if got, err := s.Consent(ctx, tid, u.ID, "app"); got != nil || err != nil {
				t.Fatalf("Consent = %v, %v", got, err)
			}
		})
		t.Run("grants merge into the union of scopes", func(t *testing.T) {
			grant("openid", "profile")
			grant("email", "openid")
			got, err := s.Consent(ctx, tid, u.ID, "app")
			if err != nil || !slices.Equal(got, []string{"email", "openid", "profile"}) {
				t.Fatalf("Consent = %v, %v", got, err)
			}
			if ok, _ := s.ConsentCovers(ctx, tid, u.ID, "app", []string{"openid", "email"}); !ok {
				t.Fatal("the consent does not cover scopes it holds")
			}
			if ok, _ := s.ConsentCovers(ctx, tid, u.ID, "app", []string{"openid", "offline_access"}); ok {
				t.Fatal("the consent covers a scope never granted")
			}
			if ok, _ := s.ConsentCovers(ctx, tid, u.ID, "other", []string{"openid"}); ok {
				t.Fatal("the consent covers another client")
			}
		})
		t.Run("a grant already covered writes nothing", func(t *testing.T) {
			grant("profile")
			if n := len(eventsOf(t, db, tid, events.TypeConsentGranted)); n != 2 {
				t.Fatalf("%d consent.granted events, want 2", n)
			}
		})
		g1 := addGrant(t, db, tid, u.ID, "app", clk.Now())
		g2 := addGrant(t, db, tid, u.ID, "app", clk.Now())
		gOther := addGrant(t, db, tid, u.ID, "other", clk.Now())
		t.Run("revoking the consent revokes that client's grants only", func(t *testing.T) {
			if err := s.RevokeConsent(ctx, tid, u.ID, "app", u.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Consent(ctx, tid, u.ID, "app"); got != nil {
				t.Fatalf("consent after revoke = %v", got)
			}
			for _, id := range []string{g1, g2} {
				if g, _ := db.GetGrant(ctx, tid, id); g.RevokedAt.IsZero() {
					t.Fatalf("grant %s for the client is still live", id)
				}
				if dead, err := db.AccessTokenRevoked(ctx, tid, "some-jti", id); err != nil || !dead {
					t.Fatalf("access tokens of grant %s still introspect: %v, %v", id, dead, err)
				}
			}
			if g, _ := db.GetGrant(ctx, tid, gOther); !g.RevokedAt.IsZero() {
				t.Fatal("a grant for another client was revoked")
			}
			revoked := eventsOf(t, db, tid, events.TypeGrantRevoked)
			if len(revoked) != 2 || revoked[0].ClientID != "app" || revoked[0].Actor != u.ID {
				t.Fatalf("grant.revoked events = %+v", revoked)
			}
			if n := len(eventsOf(t, db, tid, events.TypeConsentRevoked)); n != 1 {
				t.Fatalf("%d consent.revoked events, want 1", n)
			}
		})
		t.Run("revoking again finds nothing", func(t *testing.T) {
			if err := s.RevokeConsent(ctx, tid, u.ID, "app", u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("a client with grants but no consent (first party) can be revoked", func(t *testing.T) {
			if err := s.RevokeConsent(ctx, tid, u.ID, "other", u.ID); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("ListConsents lists by client", func(t *testing.T) {
			grant("openid")
			cs, err := s.ListConsents(ctx, tid, u.ID)
			if err != nil || len(cs) != 1 || cs[0].ClientID != "app" {
				t.Fatalf("ListConsents = %+v, %v", cs, err)
			}
		})
	})
}

func TestAFailedTransactionLeavesNeitherChangeNorEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testSecurity())
		tid := storetest.Tenant(t, db)
		u := createUser(t, s, tid, NewUser{Email: "lee@example.com"})
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if err := s.GrantConsent(ctx, tx, tid, u.ID, "app", []string{"openid"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if got, _ := s.Consent(ctx, tid, u.ID, "app"); got != nil {
			t.Fatalf("consent survived the rollback: %v", got)
		}
		wantTypes(t, db, tid, events.TypeUserCreated)
		t.Run("a conflicting creation leaves no user, role or event", func(t *testing.T) {
			if _, err := s.CreateUser(ctx, tid, NewUser{Email: "LEE@example.com", Password: goodPassword, Roles: []string{"x"}}, "test"); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err = %v", err)
			}
			if roles, _ := db.ListRoles(ctx, tid); len(roles) != 0 {
				t.Fatalf("roles of the failed creation survived: %v", roles)
			}
			wantTypes(t, db, tid, events.TypeUserCreated)
		})
	})
}
