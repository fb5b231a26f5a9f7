package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Email is one message to one recipient, in plain text and, when HTML is set, also in HTML
// (multipart/alternative).
type Email struct {
	To      string // the recipient's address, without a name
	From    string // the sender, replacing the configured one (a tenant's own); empty: email.from
	Subject string
	Text    string
	HTML    string
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

// sender is override parsed, or def when override is empty.
func sender(def *mail.Address, override string) (*mail.Address, error) {
	if override == "" {
		return def, nil
	}
	a, err := mail.ParseAddress(override)
	if err != nil || strings.ContainsAny(override, "\r\n") {
		return nil, fmt.Errorf("sender %q is not an address: %w", override, ErrPermanent)
	}
	return a, nil
}

// compose writes the RFC 5322 message of e from from, as of now: UTF-8 text (and HTML) in
// quoted-printable, the subject as an RFC 2047 encoded word when it needs one, and Auto-Submitted so that
// vacation responders do not answer (RFC 3834 §5).
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
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	if e.HTML == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		if err := writeQP(&b, e.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	b.WriteString("Content-Type: multipart/alternative; boundary=\"" + mw.Boundary() + "\"\r\n\r\n")
	// RFC 2046 §5.1.4: the last part is the one preferred; plain text comes first.
	for _, part := range []struct{ ctype, body string }{{"text/plain", e.Text}, {"text/html", e.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeQP writes s with CRLF line ends in quoted-printable.
func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	text := strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(text)); err != nil {
		return err
	}
	return qp.Close()
}
