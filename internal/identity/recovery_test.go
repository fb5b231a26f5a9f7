package identity

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// resetEmails returns the password_reset emails queued in tenantID, oldest first.
func resetEmails(t *testing.T, db *store.DB, tenantID string) []events.Email {
	t.Helper()
	ms, err := db.ListOutbox(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Email
	for _, m := range ms {
		e, err := events.OpenEmail(testKeyring.Open, m)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == notify.TypePasswordReset {
			out = append(out, e)
		}
	}
	return out
}

// linkToken is the token of a password_reset email's link.
func linkToken(t *testing.T, e events.Email) string {
	t.Helper()
	u, err := url.Parse(e.Vars["link"])
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("link %q", e.Vars["link"])
	}
	return u.Query().Get("token")
}

func TestRecoveryFlows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db, testSecurity())
		tn := regTenant(t, db, config.Registration{})
		u := createUser(t, s, tn.ID, NewUser{Email: "rita@example.org", Password: regTestPassword, EmailVerified: true})
		start := func(email, browser string) string {
			t.Helper()
			id, err := s.StartRecovery(ctx, tn, Recovery{Email: email, IP: "192.0.2.7", BrowserHash: []byte(browser),
				LinkBase: "https://id.example/t/" + tn.ID + "/recover/password?token="})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		complete := func(f store.Flow, password string) error {
			pw, err := s.PrepareRecoveryPassword(ctx, f, password)
			if err != nil {
				return err
			}
			return db.InTx(ctx, func(tx *store.Tx) error {
				return s.CompleteRecovery(ctx, tx, f, pw, "link", "", clk.Now())
			})
		}

		t.Run("an unknown address gets a decoy flow that no code opens, and no email", func(t *testing.T) {
			id := start("nobody@example.org", "b1")
			f, err := s.RecoveryFlow(ctx, tn.ID, id, []byte("b1"))
			if err != nil || f.State != store.FlowDecoy || f.UserID != "" || len(f.CodeHash) != 0 {
				t.Fatalf("flow %+v, %v", f, err)
			}
			if err := s.CheckCode(ctx, f, "123456", "192.0.2.7"); !errors.Is(err, ErrWrongCode) {
				t.Errorf("a code on a decoy = %v, want ErrWrongCode", err)
			}
			if n := len(resetEmails(t, db, tn.ID)); n != 0 {
				t.Errorf("%d reset emails, want 0", n)
			}
		})

		t.Run("a disabled account gets a decoy too", func(t *testing.T) {
			d := createUser(t, s, tn.ID, NewUser{Email: "off@example.org", Password: regTestPassword})
			if err := s.SetDisabled(ctx, tn.ID, d.ID, true, "test"); err != nil {
				t.Fatal(err)
			}
			f, err := db.GetFlow(ctx, tn.ID, start("off@example.org", "b1"))
			if err != nil || f.State != store.FlowDecoy || len(resetEmails(t, db, tn.ID)) != 0 {
				t.Errorf("flow %+v, %v", f, err)
			}
		})

		var link string
		t.Run("the code is bound to the browser and the kind of flow", func(t *testing.T) {
			id := start("Rita@Example.org", "b2")
			mails := resetEmails(t, db, tn.ID)
			if len(mails) != 1 || mails[0].To != u.Email || mails[0].Vars["code"] == "" {
				t.Fatalf("emails %+v", mails)
			}
			link = linkToken(t, mails[0])
			if _, err := s.RecoveryFlow(ctx, tn.ID, id, []byte("other")); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("another browser = %v, want ErrFlowInvalid", err)
			}
			if _, err := s.Flow(ctx, tn.ID, id, []byte("b2")); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("registration's Flow accepted a recovery flow: %v", err)
			}
			if _, err := s.FlowByLink(ctx, tn.ID, link); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("registration's FlowByLink accepted a recovery link: %v", err)
			}
			if _, err := s.RecoveryFlowByLink(ctx, "other-tenant", link); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("another tenant's link = %v, want ErrFlowInvalid", err)
			}
			f, err := s.RecoveryFlow(ctx, tn.ID, id, []byte("b2"))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CheckCode(ctx, f, mails[0].Vars["code"], "192.0.2.7"); err != nil {
				t.Errorf("the emailed code = %v", err)
			}
		})

		t.Run("a policy refusal changes nothing", func(t *testing.T) {
			f, err := s.RecoveryFlowByLink(ctx, tn.ID, link)
			if err != nil {
				t.Fatal(err)
			}
			var pe *PasswordError
			if err := complete(f, "short"); !errors.As(err, &pe) || pe.Reason != ReasonTooShort {
				t.Errorf("a short password = %v", err)
			}
			if _, err := s.Authenticate(ctx, tn.ID, u.Email, regTestPassword, ""); err != nil {
				t.Errorf("the old password stopped working: %v", err)
			}
		})

		t.Run("completing sets the password once, ends the flow, writes the events and the notice", func(t *testing.T) {
			f, err := s.RecoveryFlowByLink(ctx, tn.ID, link)
			if err != nil {
				t.Fatal(err)
			}
			if err := complete(f, "new-harbour-passphrase-9"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, tn.ID, u.Email, "new-harbour-passphrase-9", ""); err != nil {
				t.Errorf("the new password: %v", err)
			}
			if err := complete(f, "another-harbour-passphrase-9"); !errors.Is(err, store.ErrConflict) {
				t.Errorf("a second completion = %v, want ErrConflict", err)
			}
			if _, err := s.RecoveryFlowByLink(ctx, tn.ID, link); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("a used link = %v, want ErrFlowInvalid", err)
			}
			if n := len(eventsOf(t, db, tn.ID, events.TypePasswordReset)); n != 1 {
				t.Errorf("%d password.reset events", n)
			}
			ms, _ := db.ListOutbox(ctx, tn.ID)
			e, err := events.OpenEmail(testKeyring.Open, ms[len(ms)-1])
			if err != nil || e.Type != notify.TypePasswordChanged || e.To != u.Email {
				t.Errorf("last email %+v, %v; want the password_changed notice", e, err)
			}
		})

		t.Run("a newer request ends the older one, and a link expires after 15 minutes", func(t *testing.T) {
			start(u.Email, "b3")
			first := linkToken(t, resetEmails(t, db, tn.ID)[1])
			start(u.Email, "b3")
			second := linkToken(t, resetEmails(t, db, tn.ID)[2])
			if _, err := s.RecoveryFlowByLink(ctx, tn.ID, first); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("the older link = %v, want ErrFlowInvalid", err)
			}
			if _, err := s.RecoveryFlowByLink(ctx, tn.ID, second); err != nil {
				t.Errorf("the newer link = %v", err)
			}
			clk.Advance(RecoveryTTL)
			if _, err := s.RecoveryFlowByLink(ctx, tn.ID, second); !errors.Is(err, ErrFlowInvalid) {
				t.Errorf("an expired link = %v, want ErrFlowInvalid", err)
			}
		})

		t.Run("an unverified account is verified by a completed recovery", func(t *testing.T) {
			v := createUser(t, s, tn.ID, NewUser{Email: "vera@example.org", Password: regTestPassword})
			start(v.Email, "b4")
			mails := resetEmails(t, db, tn.ID)
			f, err := s.RecoveryFlowByLink(ctx, tn.ID, linkToken(t, mails[len(mails)-1]))
			if err != nil {
				t.Fatal(err)
			}
			if err := complete(f, "new-harbour-passphrase-9"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.GetUser(ctx, tn.ID, v.ID); !got.EmailVerified {
				t.Error("the address is not verified")
			}
		})
	})
}

func TestRecoveryLimits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(t, db, testSecurity())
		tn := regTenant(t, db, config.Registration{})
		ask := func(email, ip string) error {
			_, err := s.StartRecovery(ctx, tn, Recovery{Email: email, IP: ip, LinkBase: "https://id.example/x?token="})
			return err
		}
		var te *ThrottledError
		for range RecoveryEmailsPerAddress {
			if err := ask("a@example.org", "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		if err := ask("a@example.org", "192.0.2.2"); !errors.As(err, &te) || te.Budget != "recovery_address" || te.RetryAfter != time.Hour {
			t.Errorf("one more for the address = %v", err)
		}
		for i := range RecoveryPerIP - RecoveryEmailsPerAddress {
			if err := ask(string(rune('b'+i))+"@example.org", "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		if err := ask("z@example.org", "192.0.2.1"); !errors.As(err, &te) || te.Budget != "recovery_ip" {
			t.Errorf("one more from the IP = %v", err)
		}
		clk.Advance(time.Hour)
		if err := ask("a@example.org", "192.0.2.1"); err != nil {
			t.Errorf("after an hour = %v", err)
		}
	})
}
