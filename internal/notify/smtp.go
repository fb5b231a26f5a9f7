package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
)

// Mailer delivers email to the configured SMTP relay, one connection per message: UMM sends few messages
// (notices to account owners), and a fresh connection has no state to lose when a relay restarts.
type Mailer struct {
	relay   config.SMTPRelay
	from    *mail.Address
	timeout time.Duration
	helo    string

	// RootCAs verifies the relay's certificate; nil: the system's roots.
	RootCAs *x509.CertPool
	// Now is the clock of the Date header (time.Now by default).
	Now func() time.Time
}

// NewMailer returns a Mailer for cfg, which must have a relay and a sender (config.Validate checks both).
func NewMailer(cfg config.Email) (*Mailer, error) {
	if !cfg.Enabled() {
		return nil, errors.New("email.smtp_url: not set")
	}
	relay, err := cfg.Relay()
	if err != nil {
		return nil, fmt.Errorf("email.smtp_url: %w", err)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email.from: %w", err)
	}
	return &Mailer{relay: relay, from: from, timeout: cfg.Timeout.D(), helo: heloName(), Now: time.Now}, nil
}

// heloName is this host's name for EHLO: relays log it, and some refuse "localhost".
func heloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}

// Send delivers e, within email.timeout or ctx's deadline, whichever comes first. Failures that retrying
// cannot cure wrap ErrPermanent. When STARTTLS is required a relay that does not offer it gets nothing:
// UMM never falls back to plain text.
func (m *Mailer) Send(ctx context.Context, e Email) (err error) {
	to, err := recipient(e.To)
	if err != nil {
		return err
	}
	// Relays echo the recipient in their replies; errors are logged and kept with the outbox message.
	defer func() {
		if err != nil {
			err = withoutAddress(err, to)
		}
	}()
	from, err := sender(m.from, e.From)
	if err != nil {
		return err
	}
	msg, err := compose(from, to, e, m.Now())
	if err != nil {
		return fmt.Errorf("compose email: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	addr := net.JoinHostPort(m.relay.Host, strconv.Itoa(m.relay.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	defer conn.Close()
	// The deadline bounds every read and write; closing on cancellation ends a conversation at once.
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	tlsConf := &tls.Config{ServerName: m.relay.Host, RootCAs: m.RootCAs, MinVersion: tls.VersionTLS12}
	if m.relay.TLS == config.SMTPTLS {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtp tls: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.relay.Host)
	if err != nil {
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(m.helo); err != nil {
		return fmt.Errorf("smtp hello: %w", err)
	}
	if m.relay.TLS == config.SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("smtp: the relay does not offer STARTTLS (use smtps:// or ?tls=none in email.smtp_url if that is intended)")
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if m.relay.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("smtp: the relay does not offer AUTH, but email.smtp_url has a user")
		}
		// PlainAuth itself refuses to send the password unless the connection is TLS or to localhost.
		if err := c.Auth(smtp.PlainAuth("", m.relay.Username, m.relay.Password, m.relay.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return permanent("smtp rcpt to", err)
	}
	w, err := c.Data()
	if err != nil {
		return permanent("smtp data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return permanent("smtp data", err)
	}
	// The relay took the message with its reply to the data; a failed QUIT does not undo that.
	_ = c.Quit()
	return nil
}

// permanent wraps err, adding ErrPermanent when the relay refused with a 5xx reply (RFC 5321 §4.2.1): the
// recipient or the message is refused for good.
func permanent(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return fmt.Errorf("%s: %w: %w", step, err, ErrPermanent)
	}
	return fmt.Errorf("%s: %w", step, err)
}

// redactedError is an error whose text had an address taken out; errors.Is and As still see the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// withoutAddress replaces addr in err's text, in any letter case, with the word recipient.
func withoutAddress(err error, addr string) error {
	msg := err.Error()
	lower, a := strings.ToLower(msg), strings.ToLower(addr)
	if len(lower) != len(msg) || len(a) != len(addr) {
		// Lower case changed a length (rare non-ASCII letters): match the address as written.
		lower, a = msg, addr
	}
	if a == "" || !strings.Contains(lower, a) {
		return err
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, a)
		if i < 0 {
			b.WriteString(msg)
			break
		}
		b.WriteString(msg[:i])
		b.WriteString("recipient")
		msg, lower = msg[i+len(a):], lower[i+len(a):]
	}
	return &redactedError{msg: b.String(), err: err}
}
