package identity

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// startChange starts a change of u's address to newEmail and returns its flow with a known code (the
// real one went out sealed): the stored code hash is replaced by that of code.
func startChange(t *testing.T, s *Service, db *store.DB, tn store.Tenant, u store.User, newEmail string) (store.Flow, string) {
	t.Helper()
	ctx := context.Background()
	id, err := s.StartEmailChange(ctx, tn, EmailChange{TenantID: tn.ID, UserID: u.ID, NewEmail: newEmail,
		Current: goodPassword, IP: "192.0.2.7", LinkBase: "https://id.example/confirm?token="})
	if err != nil {
		t.Fatalf("start change to %s: %v", newEmail, err)
	}
	f, err := db.GetFlow(ctx, tn.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	// A second row with the same content and a known code, which the test uses instead.
	const code = "424242"
	f.ID = keys.NewID()
	f.CodeHash, f.LinkHash = codeHash(f.ID, code), keys.HashToken("link-"+f.ID)
	if err := db.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	return f, code
}

func TestEmailChange(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db, testSecurity())
		tn := regTenant(t, db, config.Registration{})
		alice := createUser(t, s, tn.ID, NewUser{Email: "alice@example.com", Password: goodPassword, EmailVerified: true})
		bob := createUser(t, s, tn.ID, NewUser{Email: "bob@example.com", Password: goodPassword, EmailVerified: true})

		t.Run("bad input is refused before anything is counted", func(t *testing.T) {
			restricted := tn
			restricted.Settings.Registration.AllowedEmailDomains = []string{"example.com"}
			for _, tt := range []struct{ email, password, field, code string }{
				{"", goodPassword, "new_email", CodeRequired},
				{"no-at-sign", goodPassword, "new_email", CodeNotEmail},
				{" ALICE@example.com ", goodPassword, "new_email", CodeSameEmail},
				{"new@example.com", "", "current_password", CodeRequired},
				{"new@elsewhere.example", goodPassword, "new_email", CodeDomainNotAllowed},
			} {
				_, err := s.StartEmailChange(ctx, restricted, EmailChange{TenantID: tn.ID, UserID: alice.ID, NewEmail: tt.email, Current: tt.password})
				var ce *EmailChangeError
				if !errors.As(err, &ce) || len(ce.Fields) != 1 || ce.Fields[0].Field != tt.field || ce.Fields[0].Code != tt.code {
					t.Errorf("%q/%q: err = %v, want %s %s", tt.email, tt.password, err, tt.field, tt.code)
				}
			}
			th, err := db.GetThrottle(ctx, tn.ID, emailChangeUserKey(alice.ID))
			if err != nil || th.Failures != 0 {
				t.Errorf("counted: %+v, %v", th, err)
			}
		})

		t.Run("a wrong password is ErrInvalidCredentials", func(t *testing.T) {
			_, err := s.StartEmailChange(ctx, tn, EmailChange{TenantID: tn.ID, UserID: alice.ID, NewEmail: "new@example.com", Current: "wrong"})
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("err = %v", err)
			}
		})

		t.Run("a flow is only the user's, only pending, only unexpired", func(t *testing.T) {
			f, _ := startChange(t, s, db, tn, alice, "alice2@example.com")
			if _, err := s.EmailChangeFlow(ctx, tn.ID, bob.ID, f.ID); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("another user's flow: %v", err)
			}
			if _, err := s.EmailChangeFlow(ctx, "other-tenant", alice.ID, f.ID); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("another tenant: %v", err)
			}
			if _, err := s.EmailChangeFlow(ctx, tn.ID, alice.ID, f.ID); err != nil {
				t.Errorf("the user's own flow: %v", err)
			}
			clk.Advance(emailChangeTTL)
			if _, err := s.EmailChangeFlow(ctx, tn.ID, alice.ID, f.ID); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("an expired flow: %v", err)
			}
			reg, _ := registerWithCode(t, s, db, tn, "carol@example.com", "browser")
			if _, err := s.EmailChangeFlow(ctx, tn.ID, reg.UserID, reg.ID); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("a registration flow: %v", err)
			}
		})

		t.Run("confirming changes the address once; a replay changes nothing", func(t *testing.T) {
			f, code := startChange(t, s, db, tn, alice, "Alice.New@Example.com")
			if err := s.CheckCode(ctx, f, code, "192.0.2.7"); err != nil {
				t.Fatalf("the right code: %v", err)
			}
			if err := s.ConfirmEmailChange(ctx, f, "code", "de"); err != nil {
				t.Fatal(err)
			}
			u, err := db.GetUser(ctx, tn.ID, alice.ID)
			if err != nil || u.Email != "Alice.New@Example.com" || u.EmailNorm != "alice.new@example.com" || !u.EmailVerified {
				t.Errorf("after the change: %+v, %v", u, err)
			}
			if err := s.ConfirmEmailChange(ctx, f, "code", ""); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("a replay: %v", err)
			}
			if evs := eventsOf(t, db, tn.ID, events.TypeEmailChanged); len(evs) != 1 || evs[0].Data["method"] != "code" {
				t.Errorf("email.changed: %+v", evs)
			}
			// An email change's flow never verifies an address as a registration would.
			g, _ := startChange(t, s, db, tn, alice, "alice3@example.com")
			if err := db.InTx(ctx, func(tx *store.Tx) error { return Verify(ctx, tx, g, "link", clk.Now()) }); !errors.Is(err, store.ErrConflict) {
				t.Errorf("Verify of an email change flow: %v", err)
			}
		})

		t.Run("an address taken by then fails the flow and changes nothing", func(t *testing.T) {
			f, _ := startChange(t, s, db, tn, bob, "dave@example.com")
			createUser(t, s, tn.ID, NewUser{Email: "dave@example.com"}) // registered meanwhile
			if err := s.ConfirmEmailChange(ctx, f, "link", ""); !errors.Is(err, ErrEmailUnavailable) {
				t.Errorf("err = %v", err)
			}
			u, _ := db.GetUser(ctx, tn.ID, bob.ID)
			if u.Email != "bob@example.com" {
				t.Errorf("bob's address = %s", u.Email)
			}
			if got, _ := db.GetFlow(ctx, tn.ID, f.ID); got.State != store.FlowFailed {
				t.Errorf("flow state = %s, want failed", got.State)
			}
		})

		t.Run("requests are limited per user within the hour", func(t *testing.T) {
			carol := createUser(t, s, tn.ID, NewUser{Email: "erin@example.com", Password: goodPassword, EmailVerified: true})
			for i := 1; i <= EmailChangePerUser; i++ {
				if _, err := s.StartEmailChange(ctx, tn, EmailChange{TenantID: tn.ID, UserID: carol.ID, NewEmail: "x@example.com",
					Current: "wrong"}); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			_, err := s.StartEmailChange(ctx, tn, EmailChange{TenantID: tn.ID, UserID: carol.ID, NewEmail: "x@example.com", Current: goodPassword})
			var te *ThrottledError
			if !errors.As(err, &te) || te.Budget != "email_change_user" || te.RetryAfter <= 0 || te.RetryAfter > time.Hour {
				t.Errorf("request %d: %v", EmailChangePerUser+1, err)
			}
		})
	})
}
