package identity

import (
	"context"
	"errors"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestChangePassword(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db, testSecurity())
		const newPassword = "amber-violin-harbour-3318"

		// setup makes a user with two sessions ("here" and "there") and a grant, and another user of the
		// same tenant with a session and a grant.
		type fixture struct {
			tid               string
			u, other          store.User
			here, there, away string
			grant, awayGrant  string
		}
		setup := func(t *testing.T, verified bool) fixture {
			tid := storetest.Tenant(t, db)
			u := createUser(t, s, tid, NewUser{Email: "kim@example.com", Password: goodPassword, EmailVerified: verified})
			other := createUser(t, s, tid, NewUser{Email: "lee@example.com", Password: goodPassword})
			now := clk.Now()
			return fixture{tid: tid, u: u, other: other,
				here: addSession(t, db, tid, u.ID, now), there: addSession(t, db, tid, u.ID, now), away: addSession(t, db, tid, other.ID, now),
				grant: addGrant(t, db, tid, u.ID, "web", now), awayGrant: addGrant(t, db, tid, other.ID, "web", now)}
		}
		change := func(f fixture, current, next string) error {
			return s.ChangePassword(ctx, PasswordChange{TenantID: f.tid, UserID: f.u.ID, SessionID: f.here, Current: current,
				New: next, IP: "198.51.100.4", Lang: "de"})
		}
		live := func(t *testing.T, tid, sid string) bool {
			t.Helper()
			ss, err := db.GetSession(ctx, tid, sid)
			if err != nil {
				t.Fatal(err)
			}
			return ss.EndedAt.IsZero()
		}
		grantAlive := func(t *testing.T, tid, id string) bool {
			t.Helper()
			g, err := db.GetGrant(ctx, tid, id)
			if err != nil {
				t.Fatal(err)
			}
			return g.Alive(clk.Now())
		}
		nothingChanged := func(t *testing.T, f fixture) {
			t.Helper()
			if _, err := s.Authenticate(ctx, f.tid, f.u.Email, goodPassword, ""); err != nil {
				t.Errorf("the old password stopped working: %v", err)
			}
			if !live(t, f.tid, f.there) || !grantAlive(t, f.tid, f.grant) {
				t.Error("a refused change ended a session or revoked a grant")
			}
			if n := len(eventsOf(t, db, f.tid, events.TypePasswordChanged)); n != 0 {
				t.Errorf("%d password.changed events", n)
			}
			if ms, _ := db.ListOutbox(ctx, f.tid); len(ms) != 0 {
				t.Errorf("outbox %+v after a refused change", ms)
			}
		}

		t.Run("the change keeps this session, ends the others and every grant, and queues the notice", func(t *testing.T) {
			f := setup(t, true)
			if err := change(f, goodPassword, newPassword); err != nil {
				t.Fatal(err)
			}
			if !live(t, f.tid, f.here) || live(t, f.tid, f.there) {
				t.Errorf("here live %v, there live %v; want only here", live(t, f.tid, f.here), live(t, f.tid, f.there))
			}
			if grantAlive(t, f.tid, f.grant) {
				t.Error("the user's grant is alive after the change")
			}
			if !live(t, f.tid, f.away) || !grantAlive(t, f.tid, f.awayGrant) {
				t.Error("another user's session or grant was ended")
			}
			if _, err := s.Authenticate(ctx, f.tid, f.u.Email, newPassword, ""); err != nil {
				t.Errorf("the new password does not sign in: %v", err)
			}
			evs := eventsOf(t, db, f.tid, events.TypePasswordChanged)
			if len(evs) != 1 || evs[0].Subject != f.u.ID || evs[0].Actor != f.u.ID {
				t.Errorf("password.changed events %+v", evs)
			}
			for _, typ := range []string{events.TypeSessionEnded, events.TypeGrantRevoked} {
				evs := eventsOf(t, db, f.tid, typ)
				if len(evs) != 1 || evs[0].Data["reason"] != events.ReasonPasswordChanged {
					t.Errorf("%s events %+v, want one with reason password_changed", typ, evs)
				}
			}
			ms, err := db.ListOutbox(ctx, f.tid)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 || ms[0].Kind != events.KindEmail || ms[0].UserID != f.u.ID {
				t.Fatalf("outbox %+v, want one email to the user", ms)
			}
			e, err := events.OpenEmail(testKeyring.Open, ms[0])
			if err != nil || e.To != f.u.Email || e.Type != "password_changed" || e.Lang != "de" || e.Vars["address"] != f.u.Email {
				t.Errorf("queued email %+v, %v", e, err)
			}
		})
		t.Run("an unverified address gets no notice", func(t *testing.T) {
			f := setup(t, false)
			if err := change(f, goodPassword, newPassword); err != nil {
				t.Fatal(err)
			}
			if ms, _ := db.ListOutbox(ctx, f.tid); len(ms) != 0 {
				t.Errorf("outbox %+v, want no email to an unverified address", ms)
			}
		})
		t.Run("a wrong current password is refused and counted as a failed sign-in", func(t *testing.T) {
			f := setup(t, true)
			if err := change(f, "not the password", newPassword); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("err = %v, want ErrInvalidCredentials", err)
			}
			evs := eventsOf(t, db, f.tid, events.TypeLoginFailed)
			if len(evs) != 1 || evs[0].Subject != f.u.ID || evs[0].Data["reason"] != events.ReasonBadPassword {
				t.Errorf("login.failed events %+v", evs)
			}
			nothingChanged(t, f)
		})
		t.Run("once the budget is used up even the right password is refused", func(t *testing.T) {
			f := setup(t, true)
			var err error
			for range testSecurity().AccountLockoutThreshold + 1 {
				if err = change(f, "not the password", newPassword); err != nil && !errors.Is(err, ErrInvalidCredentials) {
					break
				}
			}
			var te *ThrottledError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want *ThrottledError", err)
			}
			if err := change(f, goodPassword, newPassword); !errors.As(err, &te) {
				t.Fatalf("the right password after the budget: err = %v, want *ThrottledError", err)
			}
			if n := len(eventsOf(t, db, f.tid, events.TypePasswordChanged)); n != 0 {
				t.Errorf("%d password.changed events", n)
			}
		})
		t.Run("a new password the policy refuses writes nothing", func(t *testing.T) {
			f := setup(t, true)
			wantReason(t, change(f, goodPassword, "short"), ReasonTooShort)
			wantReason(t, change(f, goodPassword, "Password123!"), ReasonBreached)
			nothingChanged(t, f)
		})
		t.Run("a disabled user cannot change the password", func(t *testing.T) {
			f := setup(t, true)
			if err := s.SetDisabled(ctx, f.tid, f.u.ID, true, "admin"); err != nil {
				t.Fatal(err)
			}
			if err := change(f, goodPassword, newPassword); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("err = %v, want ErrInvalidCredentials", err)
			}
		})
		t.Run("a user of another tenant is not found", func(t *testing.T) {
			f := setup(t, true)
			err := s.ChangePassword(ctx, PasswordChange{TenantID: storetest.Tenant(t, db), UserID: f.u.ID, SessionID: f.here,
				Current: goodPassword, New: newPassword})
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want store.ErrNotFound", err)
			}
			nothingChanged(t, f)
		})
	})
}
