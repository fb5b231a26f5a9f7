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

const regTestPassword = "quartz-lantern-meadow-57"

// regTenant creates a tenant with registration enabled.
func regTenant(t *testing.T, db *store.DB, r config.Registration) store.Tenant {
	t.Helper()
	r.Enabled = true
	tn := store.Tenant{ID: storetest.Tenant(t, db) + "r", Name: "Reg"}
	tn.Settings.Registration = r
	if err := db.CreateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetTenant(context.Background(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// registerWithCode registers email and returns a flow of the new account with a known code (the real one went out by
// email, sealed).
func registerWithCode(t *testing.T, s *Service, db *store.DB, tn store.Tenant, email, browser string) (store.Flow, string) {
	t.Helper()
	ctx := context.Background()
	res, err := s.Register(ctx, tn, Registration{Email: email, Password: regTestPassword,
		IP: "192.0.2.1", BrowserHash: []byte(browser), LinkBase: "https://id.example/confirm?token="})
	if err != nil {
		t.Fatal(err)
	}
	f, err := db.GetFlow(ctx, tn.ID, res.FlowID)
	if err != nil {
		t.Fatal(err)
	}
	// Replace the unknown emailed code by a known one through a fresh flow row of the same user.
	code := "424242"
	f2 := f
	f2.ID = keys.NewID()
	f2.CodeHash = codeHash(f2.ID, code)
	f2.LinkHash = keys.HashToken("link-" + f2.ID)
	if err := db.CreateFlow(ctx, f2); err != nil {
		t.Fatal(err)
	}
	return f2, code
}

func TestRegistrationFlows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db, testSecurity())
		tn := regTenant(t, db, config.Registration{})

		t.Run("a taken address hashes the password too, and creates nothing", func(t *testing.T) {
			before := s.hashes.Load()
			if _, err := s.Register(ctx, tn, Registration{Email: "new@example.org", Password: regTestPassword,
				BrowserHash: []byte("b")}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Register(ctx, tn, Registration{Email: "NEW@example.org", Password: regTestPassword,
				BrowserHash: []byte("b")}); err != nil {
				t.Fatal(err)
			}
			if n := s.hashes.Load() - before; n != 2 {
				t.Errorf("%d password hashes for a new and a taken address, want 2", n)
			}
			if n := len(eventsOf(t, db, tn.ID, events.TypeUserRegistered)); n != 1 {
				t.Errorf("%d user.registered events, want 1", n)
			}
		})

		t.Run("a refused password hashes nothing and stores nothing", func(t *testing.T) {
			before := s.hashes.Load()
			_, err := s.Register(ctx, tn, Registration{Email: "weak@example.org", Password: "Password123!"})
			var re *RegistrationError
			if !errors.As(err, &re) || re.Password == nil || re.Password.Reason != ReasonBreached {
				t.Fatalf("Register = %v, want the breached reason", err)
			}
			if s.hashes.Load() != before {
				t.Error("a refused password was hashed")
			}
			if _, err := db.GetUserByEmail(ctx, tn.ID, "weak@example.org"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("account stored: %v", err)
			}
		})

		t.Run("a code works once, in its browser, before it expires", func(t *testing.T) {
			f, code := registerWithCode(t, s, db, tn, "once@example.org", "browser-1")
			if _, err := s.Flow(ctx, tn.ID, f.ID, []byte("browser-2")); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("another browser's flow = %v, want ErrFlowInvalid", err)
			}
			if _, err := s.Flow(ctx, "other-tenant", f.ID, []byte("browser-1")); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("the flow under another tenant = %v, want ErrFlowInvalid", err)
			}
			got, err := s.Flow(ctx, tn.ID, f.ID, []byte("browser-1"))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CheckCode(ctx, got, code, "192.0.2.1"); err != nil {
				t.Fatalf("the right code = %v", err)
			}
			if err := db.InTx(ctx, func(tx *store.Tx) error { return Verify(ctx, tx, got, "code", clk.Now()) }); err != nil {
				t.Fatal(err)
			}
			if err := db.InTx(ctx, func(tx *store.Tx) error { return Verify(ctx, tx, got, "code", clk.Now()) }); !errors.Is(err, store.ErrConflict) {
				t.Errorf("a second verification = %v, want ErrConflict", err)
			}
			if _, err := s.Flow(ctx, tn.ID, f.ID, []byte("browser-1")); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("a used flow = %v, want ErrFlowInvalid", err)
			}
			if _, err := s.FlowByLink(ctx, tn.ID, "link-"+f.ID); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("a used flow's link = %v, want ErrFlowInvalid", err)
			}
			u, _ := db.GetUserByEmail(ctx, tn.ID, "once@example.org")
			if !u.EmailVerified {
				t.Error("the address is not verified")
			}
		})

		t.Run("an expired flow takes neither code nor link", func(t *testing.T) {
			f, _ := registerWithCode(t, s, db, tn, "late@example.org", "b")
			if _, err := s.FlowByLink(ctx, tn.ID, "link-"+f.ID); err != nil {
				t.Fatalf("a fresh link = %v", err)
			}
			clk.Advance(config.DefaultVerificationTTL + time.Second)
			if _, err := s.Flow(ctx, tn.ID, f.ID, []byte("b")); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("an expired flow = %v, want ErrFlowInvalid", err)
			}
			if _, err := s.FlowByLink(ctx, tn.ID, "link-"+f.ID); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("an expired link = %v, want ErrFlowInvalid", err)
			}
		})

		t.Run("a decoy flow never takes a code", func(t *testing.T) {
			res, err := s.Register(ctx, tn, Registration{Email: "once@example.org", Password: regTestPassword,
				BrowserHash: []byte("b")})
			if err != nil {
				t.Fatal(err)
			}
			f, err := s.Flow(ctx, tn.ID, res.FlowID, []byte("b"))
			if err != nil || f.State != store.FlowDecoy || f.UserID != "" || f.CodeHash != nil {
				t.Fatalf("decoy flow = %+v, %v", f, err)
			}
			for i := 1; i <= MaxCodeFailures; i++ {
				err := s.CheckCode(ctx, f, "424242", "192.0.2.1")
				want := ErrWrongCode
				if i == MaxCodeFailures {
					want = ErrTooManyCodes
				}
				if !errors.Is(err, want) {
					t.Fatalf("code %d on a decoy = %v, want %v", i, err, want)
				}
			}
		})

		t.Run("only self-registered unverified accounts are held back", func(t *testing.T) {
			op := createUser(t, s, tn.ID, NewUser{Email: "operator-made@example.org"})
			if need, err := s.NeedsVerification(ctx, tn, op); need || err != nil {
				t.Errorf("operator-created account: %v, %v", need, err)
			}
			self, _ := db.GetUserByEmail(ctx, tn.ID, "new@example.org")
			if need, err := s.NeedsVerification(ctx, tn, self); !need || err != nil {
				t.Errorf("self-registered unverified account: %v, %v", need, err)
			}
			off := false
			lax := tn
			lax.Settings.Registration.RequireEmailVerification = &off
			if need, _ := s.NeedsVerification(ctx, lax, self); need {
				t.Error("held back although the tenant does not require verification")
			}
		})
	})
}
