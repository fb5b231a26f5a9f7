package server

import (
	"fmt"
	"log/slog"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify"
)

// newEmailSender returns what delivers this node's email: the relay of email.smtp_url, or, without one
// (development mode), a DevMailer writing .eml files into email.dev_dir, after one warning in the log.
func newEmailSender(cfg config.Email, log *slog.Logger) (events.EmailSender, error) {
	if cfg.Enabled() {
		return notify.NewMailer(cfg)
	}
	from := cfg.From
	if from == "" {
		from = config.DefaultFrom
	}
	d, err := notify.NewDevMailer(cfg.DevDir, from)
	if err != nil {
		return nil, err
	}
	log.Warn("email.smtp_url is not set: email is not sent but written as .eml files (development mode)",
		"dir", absPath(cfg.DevDir))
	return d, nil
}

// describeEmail is the banner's line about email. It never shows the relay's password.
func describeEmail(cfg config.Email) string {
	if !cfg.Enabled() {
		return fmt.Sprintf("written to %s as .eml files (development mode: set email.smtp_url to send email)", absPath(cfg.DevDir))
	}
	r, err := cfg.Relay()
	if err != nil {
		return "email.smtp_url is invalid"
	}
	return fmt.Sprintf("via %s, from %s", r.Redacted(), cfg.From)
}
