package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/notifytest"
)

// mailer returns a Mailer for cfg that trusts r's certificate.
func mailer(t *testing.T, r *notifytest.Relay, cfg config.Email) *Mailer {
	t.Helper()
	m, err := NewMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.RootCAs = r.Roots
	return m
}

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	e := Email{To: "ada@example.com", Subject: "Grüße: a line that is long enough to need folding or encoding — ünïcode",
		Text: "Hello Ada,\n\n.a line starting with a dot\nänd ümlauts, and a line far longer than seventy-six characters so that quoted-printable must break it.\n"}
	tests := []struct {
		name string
		o    notifytest.Options
	}{
		{"over STARTTLS with a password", notifytest.Options{TLS: config.SMTPStartTLS, Username: "umm", Password: "relay-secret"}},
		{"over STARTTLS without authentication", notifytest.Options{TLS: config.SMTPStartTLS}},
		{"over implicit TLS with a password", notifytest.Options{TLS: config.SMTPTLS, Username: "umm", Password: "relay-secret"}},
		{"in plain text to a loopback relay", notifytest.Options{TLS: config.SMTPNone, Username: "umm", Password: "relay-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := notifytest.New(t, tt.o)
			m := mailer(t, r, r.Config)
			m.Now = func() time.Time { return time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC) }
			if err := m.Send(t.Context(), e); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := r.Messages()
			if len(got) != 1 {
				t.Fatalf("relay received %d messages, want 1", len(got))
			}
			if got[0].From != "accounts@acme.example" || got[0].To != "ada@example.com" {
				t.Errorf("envelope from %q to %q", got[0].From, got[0].To)
			}
			if a := r.Auths(); tt.o.Username != "" && (len(a) != 1 || a[0] != "umm:relay-secret") {
				t.Errorf("AUTH PLAIN carried %q", a)
			}
			h, body := got[0].Header, got[0].Body
			if got[0].Subject != e.Subject {
				t.Errorf("Subject = %q, want %q", got[0].Subject, e.Subject)
			}
			if want := strings.ReplaceAll(e.Text, "\n", "\r\n"); body != want {
				t.Errorf("body = %q, want %q", body, want)
			}
			for k, want := range map[string]string{
				"From": `"Acme Accounts" <accounts@acme.example>`, "To": "<ada@example.com>",
				"Date": "Mon, 07 Dec 2026 15:00:00 +0000", "Auto-Submitted": "auto-generated",
				"Content-Type": "text/plain; charset=utf-8",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if id := h.Get("Message-Id"); !strings.HasSuffix(id, "@acme.example>") {
				t.Errorf("Message-ID = %q", id)
			}
		})
	}
}

func TestSendRefuses(t *testing.T) {
	t.Parallel()
	e := Email{To: "ada@example.com", Subject: "s", Text: "t"}
	tests := []struct {
		name          string
		o             notifytest.Options
		edit          func(r *notifytest.Relay, cfg *config.Email, roots **x509.CertPool)
		e             Email
		wantErr       string
		wantPermanent bool
	}{
		{"STARTTLS required but not offered: nothing goes out in clear",
			notifytest.Options{TLS: config.SMTPNone}, func(r *notifytest.Relay, cfg *config.Email, roots **x509.CertPool) { cfg.SMTPURL += "?tls=starttls" }, e,
			"does not offer STARTTLS", false},
		{"a relay certificate from an unknown authority",
			notifytest.Options{TLS: config.SMTPStartTLS}, func(r *notifytest.Relay, cfg *config.Email, roots **x509.CertPool) { *roots = nil }, e,
			"certificate", false},
		{"a relay certificate for another name",
			notifytest.Options{TLS: config.SMTPTLS}, func(r *notifytest.Relay, cfg *config.Email, roots **x509.CertPool) {
				cfg.SMTPURL = strings.Replace(cfg.SMTPURL, "127.0.0.1", "localhost", 1)
			}, e,
			"certificate", false},
		{"wrong credentials are retried later, not given up",
			notifytest.Options{TLS: config.SMTPStartTLS, Username: "umm", Password: "right"}, func(r *notifytest.Relay, cfg *config.Email, roots **x509.CertPool) {
				cfg.SMTPURL = strings.Replace(cfg.SMTPURL, ":right@", ":wrong@", 1)
			}, e,
			"smtp auth", false},
		{"a recipient refused for good",
			notifytest.Options{TLS: config.SMTPStartTLS}, func(r *notifytest.Relay, cfg *config.Email, roots **x509.CertPool) {
				r.RefuseRecipients(550)
			}, e, "550", true},
		{"a recipient refused for now",
			notifytest.Options{TLS: config.SMTPStartTLS}, func(r *notifytest.Relay, cfg *config.Email, roots **x509.CertPool) {
				r.RefuseRecipients(450)
			}, e, "450", false},
		{"a recipient that is no address",
			notifytest.Options{TLS: config.SMTPStartTLS}, nil, Email{To: "not an address", Subject: "s", Text: "t"}, "recipient", true},
		{"a recipient with a header of its own",
			notifytest.Options{TLS: config.SMTPStartTLS}, nil, Email{To: "ada@example.com\r\nBcc: eve@example.com", Subject: "s", Text: "t"}, "recipient", true},
		{"a recipient with a name",
			notifytest.Options{TLS: config.SMTPStartTLS}, nil, Email{To: "Ada <ada@example.com>", Subject: "s", Text: "t"}, "recipient", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := notifytest.New(t, tt.o)
			cfg, roots := r.Config, r.Roots
			if tt.edit != nil {
				tt.edit(r, &cfg, &roots)
			}
			m, err := NewMailer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m.RootCAs = roots
			err = m.Send(t.Context(), tt.e)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Send: %v, want it to mention %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrPermanent) != tt.wantPermanent {
				t.Errorf("Send: %v; permanent = %v, want %v", err, errors.Is(err, ErrPermanent), tt.wantPermanent)
			}
			if n := len(r.Messages()); n != 0 {
				t.Errorf("relay received %d messages", n)
			}
			if strings.Contains(err.Error(), "ada@example.com") {
				t.Errorf("the error names the recipient: %v", err)
			}
		})
	}
}

func TestSendKeepsHeadersApart(t *testing.T) {
	t.Parallel()
	r := notifytest.New(t, notifytest.Options{TLS: config.SMTPStartTLS})
	err := mailer(t, r, r.Config).Send(t.Context(), Email{To: "ada@example.com", Subject: "Hi\r\nBcc: eve@example.com\nX-Evil: 1", Text: "t"})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Messages()[0].Header
	if h.Get("Bcc") != "" || h.Get("X-Evil") != "" {
		t.Errorf("a line break in the subject started headers: %v", h)
	}
	if got := h.Get("Subject"); got != "Hi Bcc: eve@example.com X-Evil: 1" {
		t.Errorf("Subject = %q", got)
	}
}

func TestSendGivesUpOnASilentRelay(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c // never greets
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)
	cfg := config.Email{SMTPURL: "smtp://127.0.0.1:" + strconv.Itoa(p) + "?tls=starttls", From: "accounts@acme.example", Timeout: config.Duration(time.Minute)}
	m, err := NewMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Send(ctx, Email{To: "ada@example.com", Subject: "s", Text: "t"}) }()
	c := <-accepted // the conversation has begun and waits for a greeting
	defer c.Close()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Send succeeded without a relay")
	}
}

func TestNewMailerNeedsARelay(t *testing.T) {
	t.Parallel()
	if _, err := NewMailer(config.Default().Email); err == nil {
		t.Error("NewMailer accepted a configuration without email.smtp_url")
	}
}

func TestWithoutAddress(t *testing.T) {
	t.Parallel()
	base := errors.New(`550 5.1.1 <Ada@Example.com>: Recipient address rejected; ada@example.com unknown`)
	err := withoutAddress(fmt.Errorf("smtp rcpt to: %w: %w", base, ErrPermanent), "ada@example.com")
	if strings.Contains(strings.ToLower(err.Error()), "ada@example.com") {
		t.Errorf("error still names the address: %v", err)
	}
	if !strings.Contains(err.Error(), "<recipient>: Recipient address rejected; recipient unknown") {
		t.Errorf("error = %v", err)
	}
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, base) {
		t.Errorf("the redacted error lost what it wraps: %v", err)
	}
}

func TestSendMultipart(t *testing.T) {
	t.Parallel()
	r := notifytest.New(t, notifytest.Options{TLS: config.SMTPStartTLS})
	e, err := NewRenderer("").Render(Message{Type: TypeVerifyEmail, Lang: "de", To: "ada@example.com",
		From: "Acme DE <konten@acme.example>", Vars: testVars})
	if err != nil {
		t.Fatal(err)
	}
	if err := mailer(t, r, r.Config).Send(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	got := r.Messages()[0]
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative; boundary=") {
		t.Errorf("Content-Type = %q", ct)
	}
	if got.Subject != e.Subject || !strings.Contains(got.Subject, "Bestätigen") {
		t.Errorf("Subject = %q, want %q", got.Subject, e.Subject)
	}
	if !strings.Contains(got.Body, "493817") || !strings.Contains(got.Body, testVars["link"]) || strings.Contains(got.Body, "<") {
		t.Errorf("text part = %q", got.Body)
	}
	if !strings.Contains(got.HTML, `<a href="https://id.acme.example/t/acme/verify?token=tok&amp;x=1">`) {
		t.Errorf("HTML part = %q", got.HTML)
	}
	if got.From != "konten@acme.example" || got.Header.Get("From") != `"Acme DE" <konten@acme.example>` {
		t.Errorf("the tenant's sender was not used: envelope %q, header %q", got.From, got.Header.Get("From"))
	}
	if got.Header.Get("Date") == "" || got.Header.Get("Message-Id") == "" {
		t.Errorf("Date or Message-ID missing: %v", got.Header)
	}
}

func TestDevMailerWritesEML(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mail")
	d, err := NewDevMailer(dir, config.DefaultFrom)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewRenderer("").Render(Message{Type: TypeVerifyEmail, Lang: "en", To: "ada@example.com", Vars: testVars})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := d.Send(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 2 {
		t.Fatalf("files = %v, want two .eml files", files)
	}
	if all, _ := os.ReadDir(dir); len(all) != 2 {
		t.Errorf("the directory holds %d entries, want only the two messages", len(all))
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message{Data: raw}
	notifytest.Parse(&m)
	if m.Header.Get("To") != "<ada@example.com>" || m.Header.Get("From") != `"UMM" <umm@localhost>` || !strings.Contains(m.Body, "493817") || m.HTML == "" {
		t.Errorf("file = %+v", m)
	}
	if err := d.Send(t.Context(), Email{To: "not an address"}); !errors.Is(err, ErrPermanent) {
		t.Errorf("Send to no address: %v", err)
	}
}
