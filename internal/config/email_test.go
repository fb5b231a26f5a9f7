package config

import (
	"strings"
	"testing"
	"time"
)

func TestEmailRelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
		want      SMTPRelay
	}{
		{"smtp requires STARTTLS on port 587 by default", "smtp://smtp.example.com",
			SMTPRelay{Host: "smtp.example.com", Port: 587, TLS: SMTPStartTLS}},
		{"smtps is implicit TLS on port 465 by default", "smtps://smtp.example.com",
			SMTPRelay{Host: "smtp.example.com", Port: 465, TLS: SMTPTLS}},
		{"user and password are URL-decoded", "smtp://umm%40acme:p%40ss%3Aw%2Frd@smtp.example.com:2525",
			SMTPRelay{Host: "smtp.example.com", Port: 2525, TLS: SMTPStartTLS, Username: "umm@acme", Password: "p@ss:w/rd"}},
		{"a loopback relay is reached in plain text", "smtp://u:p@127.0.0.1:25",
			SMTPRelay{Host: "127.0.0.1", Port: 25, TLS: SMTPNone, Username: "u", Password: "p"}},
		{"localhost is loopback", "smtp://localhost:1025", SMTPRelay{Host: "localhost", Port: 1025, TLS: SMTPNone}},
		{"tls=starttls requires STARTTLS even on loopback", "smtp://127.0.0.1:25?tls=starttls",
			SMTPRelay{Host: "127.0.0.1", Port: 25, TLS: SMTPStartTLS}},
		{"tls=none without a password is plain text to a remote relay", "smtp://relay.internal:25?tls=none",
			SMTPRelay{Host: "relay.internal", Port: 25, TLS: SMTPNone}},
		{"an IPv6 host", "smtps://[2001:db8::1]", SMTPRelay{Host: "2001:db8::1", Port: 465, TLS: SMTPTLS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Email{SMTPURL: tt.url}.Relay()
			if err != nil {
				t.Fatalf("Relay(%q): %v", tt.url, err)
			}
			if got != tt.want {
				t.Errorf("Relay(%q) = %+v, want %+v", tt.url, got, tt.want)
			}
		})
	}
}

func TestValidateEmail(t *testing.T) {
	t.Parallel()
	const secret = "s3cr%3Et"
	ok := func(e *Email) {
		e.SMTPURL, e.From = "smtp://umm:"+secret+"@smtp.example.com", "Acme <accounts@acme.example>"
	}
	tests := []struct {
		name   string
		edit   func(*Email)
		wantIn []string // each must be in the problems; none: valid
	}{
		{"the default (development mode) is valid", func(*Email) {}, nil},
		{"a relay with a sender is valid", ok, nil},
		{"a relay without a sender is refused", func(e *Email) { ok(e); e.From = "" }, []string{"email.from: set"}},
		{"a sender that is no address is refused", func(e *Email) { ok(e); e.From = "accounts" }, []string{"email.from:"}},
		{"a sender with a line break is refused", func(e *Email) { ok(e); e.From = "a@example.com\r\nBcc: x@example.com" }, []string{"email.from:"}},
		{"another scheme is refused", func(e *Email) { ok(e); e.SMTPURL = "http://umm:" + secret + "@smtp.example.com" }, []string{"email.smtp_url: scheme"}},
		{"a URL without host is refused", func(e *Email) { ok(e); e.SMTPURL = "smtp://" }, []string{"email.smtp_url:", "names no host"}},
		{"a port out of range is refused", func(e *Email) { ok(e); e.SMTPURL = "smtp://umm:" + secret + "@smtp.example.com:70000" }, []string{"email.smtp_url:", "port"}},
		{"a path is refused", func(e *Email) { ok(e); e.SMTPURL = "smtp://umm:" + secret + "@smtp.example.com/x" }, []string{"email.smtp_url:", "no path"}},
		{"an unknown parameter is refused", func(e *Email) { ok(e); e.SMTPURL = "smtp://umm:" + secret + "@smtp.example.com?auth=login" }, []string{"unknown parameter"}},
		{"tls=none with smtps is refused", func(e *Email) { ok(e); e.SMTPURL = "smtps://umm:" + secret + "@smtp.example.com?tls=none" }, []string{"email.smtp_url:", "tls="}},
		{"a password in clear to a remote relay is refused", func(e *Email) { ok(e); e.SMTPURL = "smtp://umm:" + secret + "@smtp.example.com?tls=none" },
			[]string{"email.smtp_url:", "in clear"}},
		{"a malformed URL is refused without repeating it", func(e *Email) { ok(e); e.SMTPURL = "smtp://umm:" + secret + "@smtp.example.com:%zz" }, []string{"email.smtp_url: not a URL"}},
		{"no directory for development mode is refused", func(e *Email) { e.DevDir = "" }, []string{"email.dev_dir:"}},
		{"every problem is reported at once", func(e *Email) {
			e.SMTPURL, e.Timeout = "ftp://x", Duration(-time.Second)
		}, []string{"email.from:", "email.smtp_url:", "email.timeout:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.edit(&c.Email)
			err := c.Validate()
			if len(tt.wantIn) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", c.Email)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems lack %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "s3cr") {
				t.Errorf("a problem shows the password:\n%v", err)
			}
		})
	}
}

func TestValidateTenantEmailFrom(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Tenants = []TenantSeed{{ID: "acme", Email: &TenantEmail{From: "Acme <accounts@acme.example>"}}, {ID: "bad", Email: &TenantEmail{From: "nobody"}}}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "tenants[1].email.from:") || strings.Contains(err.Error(), "tenants[0]") {
		t.Errorf("Validate: %v, want one problem naming tenants[1].email.from", err)
	}
}

func TestRelayRedacted(t *testing.T) {
	t.Parallel()
	r, err := Email{SMTPURL: "smtps://umm:hunter2@smtp.example.com"}.Relay()
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Redacted(); strings.Contains(got, "hunter2") || got != "smtps://umm:xxxxx@smtp.example.com:465" {
		t.Errorf("Redacted = %q", got)
	}
}
