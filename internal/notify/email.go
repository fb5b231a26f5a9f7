package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Email is one plain-text message to one recipient.
type Email struct {
	To      string // the recipient's address, without a name
	Subject string
	Text    string
}

// ErrPermanent marks a message that cannot be delivered as it is, however often it is tried: the relay
// refused the recipient or the content with a 5xx reply, or the recipient is no address. Other failures
// (the relay is down or slow, a 4xx reply, refused credentials) may pass later.
var ErrPermanent = errors.New("permanent failure")

// recipient parses the one address of e.To. The address itself stays out of the error: errors are logged
// and kept with the outbox message.
func recipient(to string) (string, error) {
	a, err := mail.ParseAddress(to)
	if err != nil || a.Name != "" || strings.ContainsAny(to, "\r\n") {
		return "", fmt.Errorf("recipient is not a plain address: %w", ErrPermanent)
	}
	return a.Address, nil
}

// compose writes the RFC 5322 message of e from from, as of now: UTF-8 text in quoted-printable, the
// subject as an RFC 2047 encoded word when it needs one, and Auto-Submitted so that vacation responders
// do not answer (RFC 3834 §5).
func compose(from *mail.Address, to string, e Email, now time.Time) ([]byte, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	// A line break in the subject would start a header of the sender's choosing.
	subject := strings.Join(strings.Fields(e.Subject), " ")
	var b bytes.Buffer
	for _, h := range [][2]string{
		{"From", from.String()},
		{"To", (&mail.Address{Address: to}).String()},
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"Auto-Submitted", "auto-generated"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	text := strings.ReplaceAll(strings.ReplaceAll(e.Text, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
