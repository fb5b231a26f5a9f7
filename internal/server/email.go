package server

import (
	"fmt"
	"log/slog"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify"
)

// newMailer returns the Mailer of cfg, or nil when email is off (no smtp.host): the outbox then records
// every email as failed, naming the setting, instead of keeping it forever.
func newMailer(cfg config.SMTP, log *slog.Logger) *notify.Mailer {
	if !cfg.Enabled() {
		return nil
	}
	m, err := notify.NewMailer(cfg)
	if err != nil {
		// Validate checks the same values, so this is a bug, not an operator's mistake.
		log.Error("email is off", "err", err)
		return nil
	}
	return m
}

// describeEmail is the banner's line about email.
func describeEmail(cfg config.SMTP) string {
	if !cfg.Enabled() {
		return "off (set smtp.host to tell account owners of attacks on their accounts)"
	}
	return fmt.Sprintf("via %s:%d (%s), from %s", cfg.Host, cfg.Port, cfg.TLS, cfg.From)
}
