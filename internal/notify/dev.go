package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"time"
)

// DevMailer writes each email as an RFC 5322 .eml file into a directory instead of sending it: the
// development mode, used when email.smtp_url is not set, so that a newcomer can open the verification
// email of a local registration in a mail client (or read its link in a text editor).
type DevMailer struct {
	dir  string
	from *mail.Address
	// Now is the clock of the Date header and the file name (time.Now by default).
	Now func() time.Time
}

// NewDevMailer returns a DevMailer writing into dir (created when missing, mode 0700: the files hold
// verification links) with sender from.
func NewDevMailer(dir, from string) (*DevMailer, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("email.from: %w", err)
	}
	return &DevMailer{dir: dir, from: a, Now: time.Now}, nil
}

// Dir is where the files go.
func (d *DevMailer) Dir() string { return d.dir }

// Send writes e to <dir>/<time>-<random>.eml, complete before it gets its name, so that a reader never
// sees half a message.
func (d *DevMailer) Send(_ context.Context, e Email) error {
	to, err := recipient(e.To)
	if err != nil {
		return err
	}
	from, err := sender(d.from, e.From)
	if err != nil {
		return err
	}
	now := d.Now()
	msg, err := compose(from, to, e, now)
	if err != nil {
		return fmt.Errorf("compose email: %w", err)
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return fmt.Errorf("email file: %w", err)
	}
	r := make([]byte, 4)
	if _, err := rand.Read(r); err != nil {
		return err
	}
	name := now.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r) + ".eml"
	tmp, err := os.CreateTemp(d.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("email file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(msg); err != nil {
		tmp.Close()
		return fmt.Errorf("email file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("email file: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(d.dir, name)); err != nil {
		return fmt.Errorf("email file: %w", err)
	}
	return nil
}
