package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Email configures how UMM sends email. With SMTPURL it goes through that relay; without it (development
// mode) every message is written as an .eml file into DevDir, so that a registration can be finished on a
// laptop without a mail server.
type Email struct {
	// SMTPURL is the relay: smtp://user:pass@host:port (STARTTLS required unless the host is loopback or
	// the URL ends in ?tls=none) or smtps://user:pass@host:port (TLS from the first byte). The user and
	// password are URL-encoded and never logged.
	SMTPURL string `yaml:"smtp_url"`
	// From is the sender address, optionally with a name: "Acme Accounts <accounts@acme.example>". A
	// tenant may have its own (tenants[].email.from).
	From string `yaml:"from"`
	// Timeout bounds one delivery: connecting, the TLS handshake and the whole SMTP conversation.
	Timeout Duration `yaml:"timeout"`
	// DevDir is where email is written without SMTPURL.
	DevDir string `yaml:"dev_dir"`
}

// Templates configures the operator's overrides of built-in message templates.
type Templates struct {
	// Dir holds overrides: <dir>/<tenant>/email/<type>.<lang>.html|txt, then <dir>/email/<type>.<lang>.html|txt.
	Dir string `yaml:"dir"`
}

// TenantEmail is a tenant's own email settings in the seed (tenants[].email).
type TenantEmail struct {
	// From replaces email.from for the tenant's messages.
	From string `yaml:"from"`
}

// SMTP TLS modes of an SMTPRelay.
const (
	SMTPStartTLS = "starttls" // the relay must offer STARTTLS; no fallback to plain text
	SMTPTLS      = "tls"      // TLS from the first byte (smtps)
	SMTPNone     = "none"     // plain text (loopback relays, or ?tls=none)
)

// DefaultFrom is the sender in development mode when email.from is empty.
const DefaultFrom = "UMM <umm@localhost>"

func defaultEmail() Email {
	return Email{Timeout: Duration(30 * time.Second), DevDir: "data/mail"}
}

// Enabled reports whether email goes through a relay (false: development mode, files in DevDir).
func (e Email) Enabled() bool { return e.SMTPURL != "" }

// SMTPRelay is email.smtp_url taken apart.
type SMTPRelay struct {
	Host     string
	Port     int
	TLS      string // SMTPStartTLS, SMTPTLS or SMTPNone
	Username string // URL-decoded
	Password string // URL-decoded; never log it
}

// Redacted is the relay's URL without its password, for logs and the start banner.
func (r SMTPRelay) Redacted() string {
	scheme := "smtp"
	if r.TLS == SMTPTLS {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(r.Host, strconv.Itoa(r.Port))}
	if r.Username != "" {
		u.User = url.UserPassword(r.Username, "xxxxx")
	}
	if r.TLS == SMTPNone && !loopbackHost(r.Host) {
		u.RawQuery = "tls=none"
	}
	return u.String()
}

// Relay parses email.smtp_url. Its errors never contain the password, nor the URL as written.
func (e Email) Relay() (SMTPRelay, error) {
	u, err := url.Parse(e.SMTPURL)
	if err != nil {
		// url's errors quote the whole URL, password included.
		return SMTPRelay{}, fmt.Errorf("not a URL such as smtp://user:password@smtp.example.com:587")
	}
	var r SMTPRelay
	switch u.Scheme {
	case "smtp":
		r.TLS, r.Port = SMTPStartTLS, 587
	case "smtps":
		r.TLS, r.Port = SMTPTLS, 465
	default:
		return SMTPRelay{}, fmt.Errorf("scheme %q must be smtp (STARTTLS) or smtps (implicit TLS)", u.Scheme)
	}
	r.Host = u.Hostname()
	if r.Host == "" || u.Opaque != "" {
		return SMTPRelay{}, fmt.Errorf("%s names no host, as in smtp://smtp.example.com:587", u.Redacted())
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTPRelay{}, fmt.Errorf("%s: port %q is not a TCP port", u.Redacted(), p)
		}
		r.Port = n
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return SMTPRelay{}, fmt.Errorf("%s: a relay URL has no path", u.Redacted())
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return SMTPRelay{}, fmt.Errorf("%s: unknown parameter %q (only tls)", u.Redacted(), k)
		}
	}
	switch tls := q.Get("tls"); {
	case !q.Has("tls"):
		// A relay on this host is reached without leaving it: STARTTLS is not required.
		if r.TLS == SMTPStartTLS && loopbackHost(r.Host) {
			r.TLS = SMTPNone
		}
	case tls == SMTPNone && u.Scheme == "smtp":
		r.TLS = SMTPNone
	case tls == SMTPStartTLS && u.Scheme == "smtp":
		r.TLS = SMTPStartTLS // required even on loopback
	default:
		return SMTPRelay{}, fmt.Errorf("%s: tls=%q must be none or starttls with smtp://", u.Redacted(), tls)
	}
	if u.User != nil {
		r.Username = u.User.Username()
		r.Password, _ = u.User.Password()
		if r.Username == "" {
			return SMTPRelay{}, fmt.Errorf("%s: a password without a user name", u.Redacted())
		}
	}
	if r.TLS == SMTPNone && r.Password != "" && !loopbackHost(r.Host) {
		return SMTPRelay{}, fmt.Errorf("%s: tls=none would send the password in clear to %s; drop ?tls=none or use smtps://", u.Redacted(), r.Host)
	}
	return r, nil
}

// validateEmail checks the email and templates sections.
func validateEmail(e Email) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if e.Timeout <= 0 {
		add("email.timeout: must be a positive duration such as 30s")
	}
	if e.Enabled() {
		if _, err := e.Relay(); err != nil {
			add("email.smtp_url: %v", err)
		}
		if e.From == "" {
			add("email.from: set the sender address, for example accounts@example.com")
		}
	} else if e.DevDir == "" {
		add("email.dev_dir: set the directory for email files when email.smtp_url is empty")
	}
	if e.From != "" {
		if err := CheckFrom(e.From); err != nil {
			add("email.from: %v", err)
		}
	}
	return p
}

// CheckFrom checks a sender address such as "Acme <accounts@acme.example>".
func CheckFrom(from string) error {
	if _, err := mail.ParseAddress(from); err != nil || strings.ContainsAny(from, "\r\n") {
		return fmt.Errorf("%q is not an address such as \"Acme <accounts@acme.example>\"", from)
	}
	return nil
}

func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
