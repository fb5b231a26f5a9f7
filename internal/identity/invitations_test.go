package identity

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// invitationToken opens the last invitation email queued in tenantID and returns its link's token.
func invitationToken(t *testing.T, db *store.DB, tenantID string) string {
	t.Helper()
	ms, err := db.ListOutbox(context.Background(), tenantID)
	if err != nil || len(ms) == 0 {
		t.Fatalf("outbox: %v, %d messages", err, len(ms))
	}
	e, err := events.OpenEmail(testKeyring.Open, ms[len(ms)-1])
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != "invitation" || e.Vars["inviter"] == "" {
		t.Fatalf("email = %+v, want an invitation with an inviter", e)
	}
	u, err := url.Parse(e.Vars["link"])
	if err != nil || u.Path != "/t/"+tenantID+"/invitation" || u.Query().Get("token") == "" {
		t.Fatalf("link = %q", e.Vars["link"])
	}
	return u.Query().Get("token")
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		setup := func(t *testing.T) (*Service, *clock, string) {
			t.Helper()
			s, c := newService(t, db, testSecurity())
			s.PublicURL = "https://id.example.com/"
			tid := storetest.Tenant(t, db)
			if err := db.UpsertRole(ctx, store.Role{TenantID: tid, Name: "editor"}); err != nil {
				t.Fatal(err)
			}
			return s, c, tid
		}
		linkErr := func(t *testing.T, err error, want string) {
			t.Helper()
			var le *InvitationLinkError
			if !errors.As(err, &le) || le.Reason != want {
				t.Fatalf("err = %v, want the link %s", err, want)
			}
		}

		t.Run("creating queues the email with a working link and records the event", func(t *testing.T) {
			s, _, tid := setup(t)
			inv, err := s.CreateInvitation(ctx, tid, NewInvitation{Email: " Bob@Example.com", Roles: []string{"editor"}}, "cli")
			if err != nil {
				t.Fatal(err)
			}
			if inv.Status != store.InvitationPending || inv.EmailNorm != "bob@example.com" ||
				!inv.ExpiresAt.Equal(s.now().Add(DefaultInvitationTTL).Truncate(time.Second)) {
				t.Fatalf("invitation = %+v", inv)
			}
			got, err := s.OpenInvitation(ctx, tid, invitationToken(t, db, tid))
			if err != nil || got.ID != inv.ID {
				t.Fatalf("open = %+v, %v", got, err)
			}
			wantTypes(t, db, tid, events.TypeInvitationCreated)
		})

		t.Run("the email is in the tenant's default language", func(t *testing.T) {
			s, _, tid := setup(t)
			ten, err := db.GetTenant(ctx, tid)
			if err != nil {
				t.Fatal(err)
			}
			ten.Settings.Look.DefaultLocale = "de-AT"
			if err := db.UpdateTenant(ctx, ten); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateInvitation(ctx, tid, NewInvitation{Email: "bob@example.com"}, "cli"); err != nil {
				t.Fatal(err)
			}
			ms, _ := db.ListOutbox(ctx, tid)
			if e, err := events.OpenEmail(testKeyring.Open, ms[0]); err != nil || e.Lang != "de" {
				t.Fatalf("email language %q (%v), want de", e.Lang, err)
			}
		})

		t.Run("bad requests are refused and write nothing", func(t *testing.T) {
			s, _, tid := setup(t)
			createUser(t, s, tid, NewUser{Email: "taken@example.com"})
			if err := db.CreateOrganization(ctx, store.Organization{TenantID: tid, ID: "globex", Name: "Globex"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateInvitation(ctx, tid, NewInvitation{Email: "dup@example.com"}, "cli"); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name string
				in   NewInvitation
				want error
			}{
				{"an address that is not one", NewInvitation{Email: "not-an-address"}, ErrInvalidEmail},
				{"a role the tenant does not have", NewInvitation{Email: "a@example.com", Roles: []string{"admin"}}, ErrUnknownRole},
				{"a client that is not registered", NewInvitation{Email: "a@example.com", ClientID: "nope"}, ErrUnknownClient},
				{"an address with an account", NewInvitation{Email: "Taken@example.com"}, ErrAccountExists},
				{"an address with a pending invitation", NewInvitation{Email: "dup@example.com"}, ErrAlreadyInvited},
				{"a validity too short", NewInvitation{Email: "a@example.com", TTL: time.Minute}, ErrInvitationTTL},
				{"a validity too long", NewInvitation{Email: "a@example.com", TTL: 31 * 24 * time.Hour}, ErrInvitationTTL},
				{"an organization the tenant does not have", NewInvitation{Email: "a@example.com", OrgID: "initech"}, ErrUnknownOrganization},
				{"roles in an organization without one", NewInvitation{Email: "a@example.com", OrgRoles: []string{"editor"}}, ErrUnknownOrganization},
				{"a role in the organization the tenant does not have", NewInvitation{Email: "a@example.com", OrgID: "globex", OrgRoles: []string{"admin"}}, ErrUnknownRole},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if _, err := s.CreateInvitation(ctx, tid, tt.in, "cli"); !errors.Is(err, tt.want) {
						t.Fatalf("err = %v, want %v", err, tt.want)
					}
				})
			}
			all, _ := s.ListInvitations(ctx, tid, "")
			if len(all) != 1 {
				t.Fatalf("%d invitations, want only the first", len(all))
			}
		})

		t.Run("resending kills the old link and sends a new one", func(t *testing.T) {
			s, _, tid := setup(t)
			inv, err := s.CreateInvitation(ctx, tid, NewInvitation{Email: "bob@example.com"}, "cli")
			if err != nil {
				t.Fatal(err)
			}
			old := invitationToken(t, db, tid)
			if _, err := s.ResendInvitation(ctx, tid, inv.ID, "cli"); err != nil {
				t.Fatal(err)
			}
			_, err = s.OpenInvitation(ctx, tid, old)
			linkErr(t, err, LinkUnknown)
			if _, err := s.OpenInvitation(ctx, tid, invitationToken(t, db, tid)); err != nil {
				t.Fatal(err)
			}
			wantTypes(t, db, tid, events.TypeInvitationCreated, events.TypeInvitationResent)
		})

		t.Run("a revoked link is refused, and the invitation can neither be revoked nor resent again", func(t *testing.T) {
			s, _, tid := setup(t)
			inv, _ := s.CreateInvitation(ctx, tid, NewInvitation{Email: "bob@example.com"}, "cli")
			token := invitationToken(t, db, tid)
			if err := s.RevokeInvitation(ctx, tid, inv.ID, "cli"); err != nil {
				t.Fatal(err)
			}
			_, err := s.OpenInvitation(ctx, tid, token)
			linkErr(t, err, LinkRevoked)
			if err := s.RevokeInvitation(ctx, tid, inv.ID, "cli"); !errors.Is(err, ErrInvitationClosed) {
				t.Fatalf("revoke again: %v", err)
			}
			if _, err := s.ResendInvitation(ctx, tid, inv.ID, "cli"); !errors.Is(err, ErrInvitationClosed) {
				t.Fatalf("resend revoked: %v", err)
			}
			if err := s.RevokeInvitation(ctx, tid, "unknown", "cli"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("revoke unknown: %v", err)
			}
			wantTypes(t, db, tid, events.TypeInvitationCreated, events.TypeInvitationRevoked)
		})

		t.Run("an expired link is refused; a resend makes a working one", func(t *testing.T) {
			s, c, tid := setup(t)
			inv, _ := s.CreateInvitation(ctx, tid, NewInvitation{Email: "bob@example.com", TTL: time.Hour}, "cli")
			token := invitationToken(t, db, tid)
			c.Advance(time.Hour)
			_, err := s.OpenInvitation(ctx, tid, token)
			linkErr(t, err, LinkExpired)
			if _, err := s.CreateInvitation(ctx, tid, NewInvitation{Email: "bob@example.com"}, "cli"); err != nil {
				t.Fatalf("inviting again after expiry: %v", err)
			}
			if _, err := s.ResendInvitation(ctx, tid, inv.ID, "cli"); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("accepting creates the verified account with the roles, once", func(t *testing.T) {
			s, _, tid := setup(t)
			inv, _ := s.CreateInvitation(ctx, tid, NewInvitation{Email: "bob@example.com", Roles: []string{"editor"}}, "cli")
			token := invitationToken(t, db, tid)
			open, err := s.OpenInvitation(ctx, tid, token)
			if err != nil {
				t.Fatal(err)
			}
			var aerr *AcceptanceError
			_, err = s.PrepareAcceptance(ctx, open, "short", map[string]any{"given_name": "Bob", "nickname": "x"})
			if !errors.As(err, &aerr) || aerr.Password == nil || aerr.Password.Reason != ReasonTooShort ||
				len(aerr.Fields) != 1 || aerr.Fields[0].Code != CodeUnknownField {
				t.Fatalf("weak password and unknown field: err = %v", err)
			}
			a, err := s.PrepareAcceptance(ctx, open, "hazel-kettle-orbit-1234", map[string]any{"given_name": "Bob"})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.InTx(ctx, func(tx *store.Tx) error { return s.AcceptInvitation(ctx, tx, a) }); err != nil {
				t.Fatal(err)
			}
			u, err := s.FindUserByEmail(ctx, tid, "bob@example.com")
			if err != nil || u.ID != a.UserID() || !u.EmailVerified || u.GivenName != "Bob" || !slices.Equal(u.Roles, []string{"editor"}) {
				t.Fatalf("user = %+v, %v", u, err)
			}
			if _, err := s.Login(ctx, LoginAttempt{TenantID: tid, Email: "bob@example.com", Password: "hazel-kettle-orbit-1234", IP: "192.0.2.1"}); err != nil {
				t.Fatalf("sign in with the chosen password: %v", err)
			}
			_, err = s.OpenInvitation(ctx, tid, token)
			linkErr(t, err, LinkUsed)
			err = db.InTx(ctx, func(tx *store.Tx) error { return s.AcceptInvitation(ctx, tx, a) })
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("accepting twice: %v", err)
			}
			got, _ := s.GetInvitation(ctx, tid, inv.ID)
			if got.Status != store.InvitationAccepted || got.UserID != u.ID {
				t.Fatalf("invitation = %+v", got)
			}
			if n := len(eventsOf(t, db, tid, events.TypeInvitationAccepted)); n != 1 {
				t.Fatalf("%d invitation.accepted events, want 1", n)
			}
		})

		t.Run("accepting an organization's invitation makes the account a member holding its roles there", func(t *testing.T) {
			s, _, tid := setup(t)
			if err := db.CreateOrganization(ctx, store.Organization{TenantID: tid, ID: "globex", Name: "Globex"}); err != nil {
				t.Fatal(err)
			}
			inv, err := s.CreateInvitation(ctx, tid, NewInvitation{Email: "carol@example.com", OrgID: "globex", OrgRoles: []string{"editor"}}, "cli")
			if err != nil || inv.OrgID != "globex" || !slices.Equal(inv.OrgRoles, []string{"editor"}) {
				t.Fatalf("invitation = %+v, %v", inv, err)
			}
			open, err := s.OpenInvitation(ctx, tid, invitationToken(t, db, tid))
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.PrepareAcceptance(ctx, open, "hazel-kettle-orbit-1234", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.InTx(ctx, func(tx *store.Tx) error { return s.AcceptInvitation(ctx, tx, a) }); err != nil {
				t.Fatal(err)
			}
			m, err := db.GetOrganizationMember(ctx, tid, "globex", a.UserID())
			if err != nil || !slices.Equal(m.Roles, []string{"editor"}) {
				t.Fatalf("membership = %+v, %v", m, err)
			}
			if u, _ := s.GetUser(ctx, tid, a.UserID()); len(u.Roles) != 0 {
				t.Errorf("the organization's roles became tenant roles: %v", u.Roles)
			}
			if n := len(eventsOf(t, db, tid, events.TypeOrganizationMemberAdded)); n != 1 {
				t.Errorf("%d organization.member_added events, want 1", n)
			}
		})

		t.Run("an organization's invitation cannot be accepted once the organization is deleted", func(t *testing.T) {
			s, _, tid := setup(t)
			if err := db.CreateOrganization(ctx, store.Organization{TenantID: tid, ID: "globex", Name: "Globex"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateInvitation(ctx, tid, NewInvitation{Email: "dave@example.com", OrgID: "globex"}, "cli"); err != nil {
				t.Fatal(err)
			}
			token := invitationToken(t, db, tid)
			open, err := s.OpenInvitation(ctx, tid, token)
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.PrepareAcceptance(ctx, open, "hazel-kettle-orbit-1234", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteOrganization(ctx, tid, "globex"); err != nil {
				t.Fatal(err)
			}
			_, err = s.OpenInvitation(ctx, tid, token)
			linkErr(t, err, LinkRevoked)
			if err := db.InTx(ctx, func(tx *store.Tx) error { return s.AcceptInvitation(ctx, tx, a) }); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("accepting after the deletion: %v, want a conflict", err)
			}
			if _, err := s.FindUserByEmail(ctx, tid, "dave@example.com"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("an account was created: %v", err)
			}
		})

		t.Run("a link of another tenant is unknown", func(t *testing.T) {
			s, _, tid := setup(t)
			_, _, other := setup(t)
			if _, err := s.CreateInvitation(ctx, tid, NewInvitation{Email: "bob@example.com"}, "cli"); err != nil {
				t.Fatal(err)
			}
			_, err := s.OpenInvitation(ctx, other, invitationToken(t, db, tid))
			linkErr(t, err, LinkUnknown)
		})
	})
}
