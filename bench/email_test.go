package bench

import (
	"context"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

var benchEmailVars = map[string]string{
	"tenant": "Acme", "link": "https://id.acme.example/t/acme/register/verify?token=0123456789abcdef", "code": "493817",
}

// relayMailer starts an SMTP sink on loopback (go-smtp, in process) and a Mailer that reaches it.
func relayMailer(b *testing.B) (*notifytest.Relay, *notify.Mailer) {
	relay := notifytest.New(b, notifytest.Options{})
	m, err := notify.NewMailer(relay.Config)
	if err != nil {
		b.Fatal(err)
	}
	return relay, m
}

// BenchmarkEmailSend renders a verification email and hands it to the SMTP sink directly, one SMTP
// session per email as the dispatcher opens: the reference for BenchmarkEmailOutbox.
func BenchmarkEmailSend(b *testing.B) {
	relay, m := relayMailer(b)
	r := notify.NewRenderer("")
	ctx := context.Background()
	msg := notify.Message{Type: notify.TypeVerifyEmail, Lang: "de", To: "ada@example.com", Vars: benchEmailVars}
	for b.Loop() {
		e, err := r.Render(msg)
		if err == nil {
			err = m.Send(ctx, e)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := len(relay.Messages()); n < b.N {
		b.Fatalf("the sink received %d emails, want %d", n, b.N)
	}
}

// BenchmarkEmailOutbox is the whole path of an email a flow sends: sealed and queued in a transaction of
// its own, then claimed by the dispatcher, opened, rendered and handed to the SMTP sink, then marked
// delivered with its event. Batches of 50 are queued and then drained, as a burst of sign-ups would be.
func BenchmarkEmailOutbox(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(backend, func(b *testing.B) {
			db := storetest.OpenBackend(b, backend)
			tid := storetest.Tenant(b, db)
			relay, m := relayMailer(b)
			kr := keys.NewKeyring(make([]byte, 32))
			o := events.NewOutbox(db, nil, map[string]events.Deliverer{
				events.KindEmail: events.DeliverEmail(m, notify.NewRenderer(""), kr.Open)})
			ctx := context.Background()
			e := events.Email{To: "ada@example.com", Lang: "de", Type: notify.TypeVerifyEmail, Vars: benchEmailVars}
			const batch = 50
			sent := 0
			for b.Loop() {
				if err := db.InTx(ctx, func(tx *store.Tx) error {
					return events.EnqueueEmail(ctx, tx, kr.Seal, tid, "", e, time.Now())
				}); err != nil {
					b.Fatal(err)
				}
				sent++
				if sent%batch == 0 {
					drain(b, o)
				}
			}
			drain(b, o)
			b.StopTimer()
			if n := len(relay.Messages()); n != sent {
				b.Fatalf("the sink received %d emails, want %d", n, sent)
			}
		})
	}
}

func drain(b *testing.B, o *events.Outbox) {
	for {
		n, err := o.RunOnce(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}
