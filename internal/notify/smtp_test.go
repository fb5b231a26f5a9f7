package notify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/umm-project/umm/internal/config"
)

// parsed reads a received message as a mail client would: headers decoded, body out of quoted-printable.
func parsed(t *testing.T, data []byte) (mail.Header, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header, string(body)
}

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	e := Email{To: "ada@example.com", Subject: "Grüße: a line that is long enough to need folding or encoding — ünïcode",
		Text: "Hello Ada,\n\n.a line starting with a dot\nänd ümlauts, and a line far longer than seventy-six characters so that quoted-printable must break it.\n"}
	tests := []struct {
		name string
		o    relayOpts
	}{
		{"over STARTTLS with a password", relayOpts{tls: config.SMTPStartTLS, username: "umm", password: "relay-secret"}},
		{"over STARTTLS without authentication", relayOpts{tls: config.SMTPStartTLS}},
		{"over implicit TLS with a password", relayOpts{tls: config.SMTPTLS, username: "umm", password: "relay-secret"}},
		{"in plain text to a loopback relay", relayOpts{tls: config.SMTPNone, username: "umm", password: "relay-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRelay(t, tt.o)
			m := r.mailer(r.cfg)
			m.Now = func() time.Time { return time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC) }
			if err := m.Send(t.Context(), e); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := r.messages()
			if len(got) != 1 {
				t.Fatalf("relay received %d messages, want 1", len(got))
			}
			if got[0].from != "accounts@acme.example" || got[0].to != "ada@example.com" {
				t.Errorf("envelope from %q to %q", got[0].from, got[0].to)
			}
			if tt.o.username != "" && (len(r.auths) != 1 || r.auths[0] != "umm:relay-secret") {
				t.Errorf("AUTH PLAIN carried %q", r.auths)
			}
			h, body := parsed(t, got[0].data)
			var dec mime.WordDecoder
			subject, err := dec.DecodeHeader(h.Get("Subject"))
			if err != nil || subject != e.Subject {
				t.Errorf("Subject = %q (%v), want %q", subject, err, e.Subject)
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
		o             relayOpts
		edit          func(r *relay, m *Mailer, cfg *config.SMTP)
		e             Email
		wantErr       string
		wantPermanent bool
	}{
		{"STARTTLS required but not offered: nothing goes out in clear",
			relayOpts{tls: config.SMTPNone}, func(r *relay, m *Mailer, cfg *config.SMTP) { cfg.TLS = config.SMTPStartTLS }, e,
			"does not offer STARTTLS", false},
		{"a relay certificate from an unknown authority",
			relayOpts{tls: config.SMTPStartTLS}, func(r *relay, m *Mailer, cfg *config.SMTP) { r.roots = nil }, e,
			"certificate", false},
		{"a relay certificate for another name",
			relayOpts{tls: config.SMTPTLS}, func(r *relay, m *Mailer, cfg *config.SMTP) { cfg.Host = "localhost" }, e,
			"certificate", false},
		{"wrong credentials are retried later, not given up",
			relayOpts{tls: config.SMTPStartTLS, username: "umm", password: "right"}, func(r *relay, m *Mailer, cfg *config.SMTP) { cfg.Password = "wrong" }, e,
			"smtp auth", false},
		{"a recipient refused for good",
			relayOpts{tls: config.SMTPStartTLS}, func(r *relay, m *Mailer, cfg *config.SMTP) {
				r.rcptErr = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}, e, "550", true},
		{"a recipient refused for now",
			relayOpts{tls: config.SMTPStartTLS}, func(r *relay, m *Mailer, cfg *config.SMTP) {
				r.rcptErr = &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy"}
			}, e, "450", false},
		{"a recipient that is no address",
			relayOpts{tls: config.SMTPStartTLS}, nil, Email{To: "not an address", Subject: "s", Text: "t"}, "recipient", true},
		{"a recipient with a header of its own",
			relayOpts{tls: config.SMTPStartTLS}, nil, Email{To: "ada@example.com\r\nBcc: eve@example.com", Subject: "s", Text: "t"}, "recipient", true},
		{"a recipient with a name",
			relayOpts{tls: config.SMTPStartTLS}, nil, Email{To: "Ada <ada@example.com>", Subject: "s", Text: "t"}, "recipient", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRelay(t, tt.o)
			cfg := r.cfg
			m := r.mailer(cfg)
			if tt.edit != nil {
				tt.edit(r, m, &cfg)
			}
			m = r.mailer(cfg)
			err := m.Send(t.Context(), tt.e)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Send: %v, want it to mention %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrPermanent) != tt.wantPermanent {
				t.Errorf("Send: %v; permanent = %v, want %v", err, errors.Is(err, ErrPermanent), tt.wantPermanent)
			}
			if n := len(r.messages()); n != 0 {
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
	r := newRelay(t, relayOpts{tls: config.SMTPStartTLS})
	err := r.mailer(r.cfg).Send(t.Context(), Email{To: "ada@example.com", Subject: "Hi\r\nBcc: eve@example.com\nX-Evil: 1", Text: "t"})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := parsed(t, r.messages()[0].data)
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
	cfg := config.SMTP{Host: "127.0.0.1", Port: p, TLS: config.SMTPStartTLS, From: "accounts@acme.example", Timeout: config.Duration(time.Minute)}
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
	if _, err := NewMailer(config.Default().SMTP); err == nil {
		t.Error("NewMailer accepted a configuration without smtp.host")
	}
}
