package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestAttackNoticeIsEmailed: failed sign-ins on the wired server reach the attack threshold, and the
// account's owner gets one email through the configured relay, sent by the server's own outbox worker.
func TestAttackNoticeIsEmailed(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{TLS: config.SMTPNone, Username: "umm", Password: "relay-pass"})
			a := servertest.New(t, servertest.WithBackend(backend), servertest.WithConfig(func(c *config.Config) {
				c.Email = relay.Config
				c.Security.AccountAttackThreshold = 3
			}))
			banner := a.Banner("umm", "")
			if !strings.Contains(banner, "email:           via smtp://umm:xxxxx@127.0.0.1:") {
				t.Errorf("the banner does not say where email goes:\n%s", banner)
			}
			if strings.Contains(banner, "relay-pass") {
				t.Errorf("the banner shows the relay's password:\n%s", banner)
			}
			for range 3 {
				if _, err := a.Identity.Authenticate(context.Background(), a.Tenant, a.User.Email, "not the password", "203.0.113.7"); err == nil {
					t.Fatal("a wrong password signed in")
				}
			}
			got := relay.Await(t, 1)
			if len(got) != 1 || got[0].To != a.User.Email || !strings.Contains(got[0].Subject, "Test Tenant") ||
				!strings.Contains(got[0].Body, a.User.Email) || got[0].HTML == "" {
				t.Fatalf("relay received %+v, want one notice to %s", got, a.User.Email)
			}
		})
	}
}

// enqueueVerification commits one verify_email message for address, sealed with srv's keyring.
func enqueueVerification(t *testing.T, srv *server.Server, address, code string) {
	t.Helper()
	err := srv.DB.InTx(context.Background(), func(tx *store.Tx) error {
		return events.EnqueueEmail(context.Background(), tx, srv.Keyring.Seal, servertest.TenantID, "", events.Email{
			To: address, Lang: "de", Type: notify.TypeVerifyEmail,
			Vars: map[string]string{"link": "https://id.example/verify?t=" + code, "code": code}}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestQueuedEmailIsHandedOverWithinTwoSeconds: the dispatcher polls only hourly here, so only the
// store's notification of the new message can bring it to the relay in time.
func TestQueuedEmailIsHandedOverWithinTwoSeconds(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{TLS: config.SMTPNone})
			cfg := servertest.Config("http://127.0.0.1:1", storetest.URL(t, backend), t.TempDir())
			cfg.Email = relay.Config
			srv := serve(t, cfg, server.WithOutboxPoll(time.Hour))
			// The first message may ride on the dispatcher's first pass at start; the second cannot.
			enqueueVerification(t, srv, "first@example.com", "111111")
			relay.Await(t, 1)
			enqueueVerification(t, srv, "second@example.com", "222222")
			got := relay.AwaitWithin(t, 2, 2*time.Second)
			if got[1].To != "second@example.com" || !strings.Contains(got[1].Body, "222222") {
				t.Errorf("second message = %+v", got[1])
			}
		})
	}
}

// TestQueuedEmailSurvivesARestart: an email committed while no dispatcher runs (the server was killed
// after the commit) is sent by the next server on the same database.
func TestQueuedEmailSurvivesARestart(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{TLS: config.SMTPNone})
			cfg := servertest.Config("http://127.0.0.1:1", storetest.URL(t, backend), t.TempDir())
			cfg.Email = relay.Config
			first, err := server.New(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			enqueueVerification(t, first, "ada@example.com", "493817")
			first.Close() // never served: no dispatcher ran
			if n := len(relay.Messages()); n != 0 {
				t.Fatalf("relay received %d messages before the restart", n)
			}
			serve(t, cfg, server.WithOutboxPoll(time.Hour))
			got := relay.Await(t, 1)
			if got[0].To != "ada@example.com" || !strings.Contains(got[0].Body, "493817") || !strings.Contains(got[0].Subject, "Bestätigen") {
				t.Errorf("received %+v", got[0])
			}
		})
	}
}

// TestDevelopmentModeWritesEmailFiles: without email.smtp_url the server starts, says in the banner
// where email goes, and writes each message as an .eml file there.
func TestDevelopmentModeWritesEmailFiles(t *testing.T) {
	t.Parallel()
	cfg := servertest.Config("http://127.0.0.1:1", storetest.URL(t, "sqlite"), t.TempDir())
	dir := cfg.Email.DevDir
	srv := serve(t, cfg)
	if b := srv.Banner("umm", ""); !strings.Contains(b, "email:           written to "+dir+" as .eml files") {
		t.Errorf("the banner does not say where email goes:\n%s", b)
	}
	enqueueVerification(t, srv, "ada@example.com", "493817")
	var files []string
	deadline := time.Now().Add(10 * time.Second)
	for len(files) == 0 && time.Now().Before(deadline) {
		files, _ = filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) == 0 {
			<-time.After(20 * time.Millisecond) // awaiting the worker: no notification reaches the test
		}
	}
	if len(files) != 1 {
		t.Fatalf("files in %s: %v, want one .eml", dir, files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message{Data: raw}
	notifytest.Parse(&m)
	if m.Header.Get("To") != "<ada@example.com>" || !strings.Contains(m.Body, "493817") {
		t.Errorf("file = %s", raw)
	}
}

// serve runs a server for cfg until the test ends.
func serve(t *testing.T, cfg config.Config, opts ...server.Option) *server.Server {
	t.Helper()
	srv, err := server.New(context.Background(), cfg, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	return srv
}
