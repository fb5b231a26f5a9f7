package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DevSMSSender writes each text message into a directory instead of sending it: the development mode,
// used when sms.provider is empty, so that a newcomer can read the sign-in code of a local test in a text
// editor.
type DevSMSSender struct {
	dir string
	// Now is the clock of the Date line and the file name (time.Now by default).
	Now func() time.Time
}

// NewDevSMSSender returns a DevSMSSender writing into dir (created when missing, mode 0700: the files
// hold sign-in codes).
func NewDevSMSSender(dir string) (*DevSMSSender, error) {
	if dir == "" {
		return nil, fmt.Errorf("sms.dev_dir: not set")
	}
	return &DevSMSSender{dir: dir, Now: time.Now}, nil
}

// Dir is where the files go.
func (d *DevSMSSender) Dir() string { return d.dir }

// SendSMS writes m to <dir>/<time>-<random>.txt (mode 0600), complete before it gets its name, so that a
// reader never sees half a message: a header of To, Tenant, Purpose and Date lines, a blank line, the text.
func (d *DevSMSSender) SendSMS(_ context.Context, m SMS) error {
	if err := checkSMS(m); err != nil {
		return err
	}
	now := d.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "To: %s\n", m.To)
	// A line break in these would start a header line of the caller's choosing.
	if m.TenantID != "" {
		fmt.Fprintf(&b, "Tenant: %s\n", strings.Join(strings.Fields(m.TenantID), " "))
	}
	if m.Purpose != "" {
		fmt.Fprintf(&b, "Purpose: %s\n", strings.Join(strings.Fields(m.Purpose), " "))
	}
	fmt.Fprintf(&b, "Date: %s\n\n%s\n", now.Format(time.RFC1123Z), strings.TrimRight(m.Body, "\n"))
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return fmt.Errorf("sms file: %w", err)
	}
	r := make([]byte, 4)
	if _, err := rand.Read(r); err != nil {
		return err
	}
	name := now.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r) + ".txt"
	tmp, err := os.CreateTemp(d.dir, ".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("sms file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("sms file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sms file: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(d.dir, name)); err != nil {
		return fmt.Errorf("sms file: %w", err)
	}
	return nil
}
