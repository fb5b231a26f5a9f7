package events_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestEmailOutbox runs its cases one after another: an outbox claims every tenant's messages on its database.
func TestEmailOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		relay := notifytest.New(t, notifytest.Options{TLS: config.SMTPStartTLS, Username: "umm", Password: "relay-secret"})
		m, err := notify.NewMailer(relay.Config)
		must(t, err)
		m.RootCAs = relay.Roots
		c := newClock()
		kr := keys.NewKeyring(make([]byte, 32))
		outbox := func(s events.EmailSender) *events.Outbox {
			o := events.NewOutbox(db, nil, map[string]events.Deliverer{events.KindEmail: events.DeliverEmail(s, notify.NewRenderer(""), kr.Open)})
			o.Now = c.now
			return o
		}
		run := func(o *events.Outbox) {
			t.Helper()
			if _, err := o.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		newUser := func(t *testing.T, tid, email string, verified bool) string {
			t.Helper()
			id := "u-" + strings.ReplaceAll(email, "@", "-")
			must(t, db.CreateUser(ctx, store.User{TenantID: tid, ID: id, Email: email, EmailNorm: email, EmailVerified: verified}))
			return id
		}
		notice := func(t *testing.T, tid, userID string) {
			t.Helper()
			must(t, db.InTx(ctx, func(tx *store.Tx) error {
				return events.EnqueueAccountAttackNotice(ctx, tx, kr.Seal, tid, userID, "", c.now())
			}))
		}
		waiting := func(t *testing.T, tid string) []store.OutboxMessage {
			t.Helper()
			ms, err := db.ListOutbox(ctx, tid)
			must(t, err)
			return ms
		}

		t.Run("an attack notice reaches the verified owner through the relay", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			notice(t, tid, newUser(t, tid, "ada@example.com", true))
			if ms := waiting(t, tid); len(ms) != 1 || ms[0].Kind != events.KindEmail {
				t.Fatalf("outbox = %+v, want one email", ms)
			}
			before := len(relay.Messages())
			run(outbox(m))
			got := relay.Messages()[before:]
			if len(got) != 1 {
				t.Fatalf("relay received %d messages, want 1", len(got))
			}
			if got[0].To != "ada@example.com" || !strings.Contains(got[0].Subject, "Test "+tid) ||
				!strings.Contains(got[0].Body, "ada@example.com") {
				t.Errorf("received to %q: %q\n%s", got[0].To, got[0].Subject, got[0].Body)
			}
			if ms := waiting(t, tid); len(ms) != 0 {
				t.Errorf("outbox still holds %+v", ms)
			}
			d := outcomes(t, db, tid, events.TypeOutboxDelivered)
			if len(d) != 1 || d[0].Data["kind"] != events.KindEmail {
				t.Errorf("outbox.delivered = %+v, want one for the email", d)
			}
		})

		t.Run("an unverified address, a user without one and a deleted user get no notice", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			notice(t, tid, newUser(t, tid, "unverified@example.com", false))
			must(t, db.CreateUser(ctx, store.User{TenantID: tid, ID: "no-email", EmailNorm: "no-email"}))
			notice(t, tid, "no-email")
			notice(t, tid, "deleted-user")
			if ms := waiting(t, tid); len(ms) != 0 {
				t.Errorf("outbox = %+v, want nothing", ms)
			}
		})

		t.Run("deleting the user withdraws a waiting email, and only theirs", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			gone := newUser(t, tid, "leaving@example.com", true)
			notice(t, tid, gone)
			notice(t, tid, newUser(t, tid, "staying@example.com", true))
			must(t, db.EnqueueOutbox(ctx, store.OutboxMessage{TenantID: tid, Kind: events.KindBackchannelLogout,
				Payload: payload(t, events.BackchannelLogout{ClientID: "web", Subject: gone, SessionID: "s1"}), CreatedAt: c.now()}))
			must(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteUser(ctx, tid, gone) }))
			ms := waiting(t, tid)
			if len(ms) != 2 {
				t.Fatalf("outbox = %+v, want the other user's email and the logout token", ms)
			}
			for _, m := range ms {
				if m.Kind == events.KindEmail && m.UserID == gone || strings.Contains(string(m.Payload), "leaving@example.com") {
					t.Errorf("the deleted user's email is still waiting: %+v", m)
				}
			}
			for _, m := range ms { // leave nothing for the next case
				must(t, db.InTx(ctx, func(tx *store.Tx) error { m.Attempts = 0; return tx.DeleteOutbox(ctx, m) }))
			}
		})

		t.Run("a recipient the relay refuses for now is retried and then delivered", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			notice(t, tid, newUser(t, tid, "busy@example.com", true))
			relay.RefuseRecipients(450)
			run(outbox(m))
			ms := waiting(t, tid)
			if len(ms) != 1 || ms[0].Attempts != 1 || !strings.Contains(ms[0].LastError, "450") {
				t.Fatalf("outbox = %+v, want the email waiting after one attempt", ms)
			}
			relay.RefuseRecipients(0)
			c.add(time.Hour)
			run(outbox(m))
			if ms := waiting(t, tid); len(ms) != 0 {
				t.Errorf("outbox still holds %+v", ms)
			}
			if d := outcomes(t, db, tid, events.TypeOutboxDelivered); len(d) != 1 {
				t.Errorf("outbox.delivered = %+v", d)
			}
		})

		t.Run("a recipient the relay refuses for good is given up at once", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			notice(t, tid, newUser(t, tid, "gone@example.com", true))
			relay.RefuseRecipients(550)
			defer relay.RefuseRecipients(0)
			run(outbox(m))
			if ms := waiting(t, tid); len(ms) != 0 {
				t.Errorf("outbox still holds %+v", ms)
			}
			f := outcomes(t, db, tid, events.TypeOutboxFailed)
			if len(f) != 1 || f[0].Data["kind"] != events.KindEmail || !strings.Contains(f[0].Data["reason"].(string), "550") {
				t.Fatalf("outbox.failed = %+v, want one naming the refusal", f)
			}
			if strings.Contains(f[0].Data["reason"].(string), "gone@example.com") {
				t.Errorf("the failure reason names the address: %v", f[0].Data["reason"])
			}
		})

		t.Run("a relay that stays down is retried for 24 hours, then given up with outbox.failed", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			notice(t, tid, newUser(t, tid, "patient@example.com", true))
			start := c.now()
			relay.RefuseRecipients(421)
			defer relay.RefuseRecipients(0)
			attempts := 0
			for range 100 {
				ms := waiting(t, tid)
				if len(ms) == 0 {
					break
				}
				if ms[0].NextAttemptAt.After(c.now()) {
					c.add(ms[0].NextAttemptAt.Sub(c.now()))
				}
				run(outbox(m))
				attempts++
			}
			if ms := waiting(t, tid); len(ms) != 0 {
				t.Fatalf("still waiting after %d attempts: %+v", attempts, ms)
			}
			if took := c.now().Sub(start); took != events.EmailRetryFor {
				t.Errorf("given up after %v, want %v", took, events.EmailRetryFor)
			}
			if attempts <= 12 {
				t.Errorf("%d attempts: email must outlast the 12 attempts of other kinds", attempts)
			}
			f := outcomes(t, db, tid, events.TypeOutboxFailed)
			if len(f) != 1 || f[0].Data["kind"] != events.KindEmail || !strings.Contains(f[0].Data["reason"].(string), "421") {
				t.Fatalf("outbox.failed = %+v, want one for the email naming the last refusal", f)
			}
		})

		t.Run("the outbox holds neither the link, the code nor the address in clear", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			const link, code = "https://id.acme.example/t/x/verify?token=s3cr3t-t0ken", "493817"
			must(t, db.InTx(ctx, func(tx *store.Tx) error {
				return events.EnqueueEmail(ctx, tx, kr.Seal, tid, "", events.Email{To: "new@example.com", Lang: "fr",
					Type: notify.TypeVerifyEmail, Vars: map[string]string{"link": link, "code": code}}, c.now())
			}))
			ms := waiting(t, tid)
			if len(ms) != 1 {
				t.Fatalf("outbox = %+v", ms)
			}
			for _, secret := range []string{"s3cr3t-t0ken", code, "new@example.com", "verify"} {
				if strings.Contains(string(ms[0].Payload), secret) {
					t.Errorf("the stored payload holds %q: %s", secret, ms[0].Payload)
				}
			}
			before := len(relay.Messages())
			run(outbox(m))
			got := relay.Messages()[before:]
			if len(got) != 1 || !strings.Contains(got[0].Body, link) || !strings.Contains(got[0].Body, code) ||
				!strings.Contains(got[0].Subject, "Confirmez") || !strings.Contains(got[0].HTML, `<a href="`+link+`">`) {
				t.Fatalf("received %+v", got)
			}
		})

		t.Run("a payload sealed for another tenant, or with another key, is given up", func(t *testing.T) {
			tid, other := storetest.Tenant(t, db), storetest.Tenant(t, db)
			must(t, db.InTx(ctx, func(tx *store.Tx) error {
				return events.EnqueueEmail(ctx, tx, kr.Seal, other, "", events.Email{To: "a@example.com", Type: notify.TypePasswordChanged,
					Vars: map[string]string{"address": "a@example.com"}}, c.now())
			}))
			moved := waiting(t, other)[0]
			moved.TenantID = tid
			moved.Attempts = 0
			must(t, db.EnqueueOutbox(ctx, moved))
			stranger := keys.NewKeyring([]byte("another master key of 32 bytes!!"))
			must(t, db.InTx(ctx, func(tx *store.Tx) error {
				return events.EnqueueEmail(ctx, tx, stranger.Seal, tid, "", events.Email{To: "b@example.com", Type: notify.TypePasswordChanged,
					Vars: map[string]string{"address": "b@example.com"}}, c.now())
			}))
			must(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteOutbox(ctx, moved) })) // keep other's copy out of the way
			run(outbox(m))
			if f := outcomes(t, db, tid, events.TypeOutboxFailed); len(f) != 2 {
				t.Errorf("outbox.failed = %+v, want both given up", f)
			}
			if d := outcomes(t, db, other, events.TypeOutboxDelivered); len(d) != 0 {
				t.Errorf("the original was delivered: %+v", d)
			}
		})

		t.Run("the tenant's own sender is used", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			tn, err := db.GetTenant(ctx, tid)
			must(t, err)
			tn.Settings.EmailFrom = "Globex <hello@globex.example>"
			must(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateTenant(ctx, tn) }))
			notice(t, tid, newUser(t, tid, "own@example.com", true))
			before := len(relay.Messages())
			run(outbox(m))
			got := relay.Messages()[before:]
			if len(got) != 1 || got[0].From != "hello@globex.example" {
				t.Fatalf("received %+v, want it from the tenant's sender", got)
			}
		})

		t.Run("the tenant's language, brand and own texts are queued with the email", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			tn, err := db.GetTenant(ctx, tid)
			must(t, err)
			tn.Settings.Look = config.TenantLook{DefaultLocale: "fr",
				Branding: config.Branding{DisplayName: "Globex ID", SupportEmail: "aide@globex.example"},
				Messages: map[string]config.Messages{"fr": {"email.account_attack.subject": "Globex : alerte pour %[1]s", "login.title": "ignored"}}}
			must(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateTenant(ctx, tn) }))
			notice(t, tid, newUser(t, tid, "brand@example.com", true))
			ms := waiting(t, tid)
			if len(ms) != 1 {
				t.Fatalf("outbox = %+v, want one email", ms)
			}
			e, err := events.OpenEmail(kr.Open, ms[0])
			must(t, err)
			if e.Lang != "fr" || e.Brand.Name != "Globex ID" || e.Vars["tenant"] != "Globex ID" || len(e.Texts["fr"]) != 1 {
				t.Errorf("queued %+v, want French, the display name and only the email override", e)
			}
			before := len(relay.Messages())
			run(outbox(m))
			got := relay.Messages()[before:]
			if len(got) != 1 || got[0].Subject != "Globex : alerte pour Globex ID" ||
				!strings.Contains(got[0].Body, "aide@globex.example") {
				t.Fatalf("received %+v, want the tenant's subject in French and its support address", got)
			}
		})

		t.Run("a person whose profile names a locale is written to in its language", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			id := "u-locale"
			must(t, db.CreateUser(ctx, store.User{TenantID: tid, ID: id, Email: "locale@example.com", EmailNorm: "locale@example.com",
				EmailVerified: true, Profile: store.Profile{Claims: map[string]any{"locale": "es-MX"}}}))
			notice(t, tid, id)
			ms := waiting(t, tid)
			if len(ms) != 1 {
				t.Fatalf("outbox = %+v, want one email", ms)
			}
			e, err := events.OpenEmail(kr.Open, ms[0])
			must(t, err)
			if e.Lang != "es" {
				t.Errorf("queued in %q, want es", e.Lang)
			}
			run(outbox(m)) // nothing left for the next case
		})

		t.Run("without a relay each email is written as a file", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			notice(t, tid, newUser(t, tid, "local@example.com", true))
			dir := t.TempDir()
			dev, err := notify.NewDevMailer(dir, config.DefaultFrom)
			must(t, err)
			run(outbox(dev))
			files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
			if len(files) != 1 {
				t.Fatalf("files = %v", files)
			}
			if d := outcomes(t, db, tid, events.TypeOutboxDelivered); len(d) != 1 {
				t.Errorf("outbox.delivered = %+v", d)
			}
		})

		t.Run("an email of a template nobody knows is given up at once", func(t *testing.T) {
			tid := storetest.Tenant(t, db)
			must(t, db.InTx(ctx, func(tx *store.Tx) error {
				return events.EnqueueEmail(ctx, tx, kr.Seal, tid, "", events.Email{To: "ada@example.com", Type: "no_such_template"}, c.now())
			}))
			run(outbox(m))
			if f := outcomes(t, db, tid, events.TypeOutboxFailed); len(f) != 1 {
				t.Fatalf("outbox.failed = %+v, want one", f)
			}
		})
	})
}
