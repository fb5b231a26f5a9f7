package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateSMTP(t *testing.T) {
	t.Parallel()
	ok := func(s *SMTP) { s.Host, s.From = "smtp.example.com", "Acme <accounts@acme.example>" }
	tests := []struct {
		name   string
		edit   func(*SMTP)
		wantIn []string // each must be in the problems; none: valid
	}{
		{"the default (email off) is valid", func(*SMTP) {}, nil},
		{"a relay with a sender is valid", ok, nil},
		{"a relay with credentials over STARTTLS is valid", func(s *SMTP) { ok(s); s.Username, s.Password = "u", "p" }, nil},
		{"plain text to a loopback relay with credentials is valid", func(s *SMTP) {
			ok(s)
			s.Host, s.TLS, s.Username, s.Password = "127.0.0.1", SMTPNone, "u", "p"
		}, nil},
		{"a relay without a sender is refused", func(s *SMTP) { s.Host = "smtp.example.com" }, []string{"smtp.from: set"}},
		{"a sender that is no address is refused", func(s *SMTP) { ok(s); s.From = "accounts" }, []string{"smtp.from:"}},
		{"a sender with a line break is refused", func(s *SMTP) { ok(s); s.From = "a@example.com\r\nBcc: x@example.com" }, []string{"smtp.from:"}},
		{"a host with a port is refused", func(s *SMTP) { ok(s); s.Host = "smtp.example.com:25" }, []string{"smtp.host:"}},
		{"an unknown TLS mode is refused", func(s *SMTP) { ok(s); s.TLS = "ssl" }, []string{"smtp.tls:"}},
		{"port 0 is refused", func(s *SMTP) { ok(s); s.Port = 0 }, []string{"smtp.port:"}},
		{"a zero timeout is refused", func(s *SMTP) { ok(s); s.Timeout = 0 }, []string{"smtp.timeout:"}},
		{"a username without a password is refused", func(s *SMTP) { ok(s); s.Username = "u" }, []string{"smtp.password:"}},
		{"credentials in clear to a remote relay are refused", func(s *SMTP) {
			ok(s)
			s.TLS, s.Username, s.Password = SMTPNone, "u", "p"
		}, []string{"smtp.tls: none would send smtp.password in clear"}},
		{"every problem is reported at once", func(s *SMTP) {
			s.Host, s.Port, s.TLS, s.Timeout = "relay", -1, "x", Duration(-time.Second)
		}, []string{"smtp.from:", "smtp.port:", "smtp.tls:", "smtp.timeout:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.edit(&c.SMTP)
			err := c.Validate()
			if len(tt.wantIn) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", c.SMTP)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems lack %q:\n%v", w, err)
				}
			}
		})
	}
}
