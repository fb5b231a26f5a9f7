package config

import (
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"
)

// SMTP configures the relay that UMM's email goes through (notices to account owners). Without a Host no
// email is sent: messages still wait in the outbox and are recorded as failed, so the audit log shows what
// could not be told.
type SMTP struct {
	// Host is the relay's name; empty: email is off.
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is starttls (upgrade required; the relay must offer STARTTLS), tls (implicit TLS, usually port
	// 465) or none (plain text, for a relay on a trusted network; never with a username off loopback).
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// From is the sender address, optionally with a name: "Acme Accounts <accounts@acme.example>".
	From string `yaml:"from"`
	// Timeout bounds one delivery: connecting, the TLS handshake and the whole SMTP conversation.
	Timeout Duration `yaml:"timeout"`
}

// SMTP TLS modes.
const (
	SMTPStartTLS = "starttls"
	SMTPTLS      = "tls"
	SMTPNone     = "none"
)

func defaultSMTP() SMTP {
	return SMTP{Port: 587, TLS: SMTPStartTLS, Timeout: Duration(30 * time.Second)}
}

// Enabled reports whether email is sent at all.
func (s SMTP) Enabled() bool { return s.Host != "" }

// validateSMTP checks the smtp section; with no host only the values that would apply later are checked.
func validateSMTP(s SMTP) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if s.Port < 1 || s.Port > 65535 {
		add("smtp.port: %d is not a TCP port (587 for starttls, 465 for tls)", s.Port)
	}
	switch s.TLS {
	case SMTPStartTLS, SMTPTLS, SMTPNone:
	default:
		add("smtp.tls: %q must be starttls, tls or none", s.TLS)
	}
	if s.Timeout <= 0 {
		add("smtp.timeout: must be a positive duration such as 30s")
	}
	if strings.ContainsAny(s.Host, " /:\r\n") {
		add("smtp.host: %q must be a host name or IP address without port (set smtp.port)", s.Host)
	}
	if (s.Username == "") != (s.Password == "") {
		add("smtp.password: set smtp.username and smtp.password together")
	}
	if s.TLS == SMTPNone && s.Username != "" && !loopbackHost(s.Host) {
		add("smtp.tls: none would send smtp.password in clear to %s; use starttls or tls", s.Host)
	}
	if !s.Enabled() {
		return p
	}
	if s.From == "" {
		add("smtp.from: set the sender address, for example accounts@example.com")
	} else if _, err := mail.ParseAddress(s.From); err != nil || strings.ContainsAny(s.From, "\r\n") {
		add("smtp.from: %q is not an address such as \"Acme <accounts@acme.example>\"", s.From)
	}
	return p
}

func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
