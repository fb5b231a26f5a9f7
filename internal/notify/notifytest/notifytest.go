// Package notifytest runs a real SMTP relay for tests (github.com/emersion/go-smtp on a loopback port):
// what UMM sends arrives as a mail server would receive it, over TLS when asked, and a test reads it
// decoded as a mail client would. Its SMSServer likewise receives text messages as Twilio's API and as a
// signed webhook, for tests to read the sign-in codes from.
package notifytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/umm-project/umm/internal/config"
)

// Options choose what the relay offers.
type Options struct {
	// TLS is config.SMTPStartTLS (STARTTLS offered), config.SMTPTLS (TLS from the first byte) or
	// config.SMTPNone, also the zero value (no TLS at all).
	TLS string
	// Username and Password, when set, make AUTH PLAIN required before MAIL FROM.
	Username, Password string
}

// Relay is a running SMTP relay.
type Relay struct {
	// Config reaches the relay (host 127.0.0.1, sender accounts@acme.example).
	Config config.Email
	// Roots trusts the relay's self-signed certificate (for 127.0.0.1).
	Roots *x509.CertPool

	o        Options
	mu       sync.Mutex
	received []Message
	auths    []string
	rcptErr  *smtp.SMTPError
	arrived  chan struct{} // closed and replaced whenever a message arrives
}

// Message is one message the relay accepted.
type Message struct {
	From, To string // the envelope
	Data     []byte // as received
	Header   mail.Header
	Subject  string // decoded
	Body     string // the plain text, out of quoted-printable, with CRLF line ends
	HTML     string // the HTML alternative, decoded likewise; empty without one
}

// New starts a relay that stops when the test ends.
func New(t testing.TB, o Options) *Relay {
	t.Helper()
	if o.TLS == "" {
		o.TLS = config.SMTPNone
	}
	cert, roots := selfSigned(t)
	r := &Relay{Roots: roots, o: o, arrived: make(chan struct{})}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{r: r}, nil }))
	s.Domain = "relay.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0) // a client that hangs up is what some tests do
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}}
	var l net.Listener
	var err error
	switch o.TLS {
	case config.SMTPStartTLS:
		s.TLSConfig = tlsConf
		l, err = net.Listen("tcp", "127.0.0.1:0")
	case config.SMTPTLS:
		l, err = tls.Listen("tcp", "127.0.0.1:0", tlsConf)
	default:
		s.AllowInsecureAuth = true
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p))}
	switch o.TLS {
	case config.SMTPStartTLS:
		u.RawQuery = "tls=starttls" // loopback relays are otherwise reached in plain text
	case config.SMTPTLS:
		u.Scheme = "smtps"
	}
	if o.Username != "" {
		u.User = url.UserPassword(o.Username, o.Password)
	}
	r.Config = config.Email{SMTPURL: u.String(), From: "Acme Accounts <accounts@acme.example>",
		Timeout: config.Duration(10 * time.Second), DevDir: t.TempDir()}
	return r
}

// RefuseRecipients makes RCPT TO answer code (450: try later; 550: refused for good); 0 accepts again.
func (r *Relay) RefuseRecipients(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if code == 0 {
		r.rcptErr = nil
		return
	}
	r.rcptErr = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: "refused by the test"}
}

// Messages returns what the relay accepted so far, oldest first.
func (r *Relay) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.received...)
}

// Await returns the messages once the relay has accepted at least n, and fails t when that takes longer
// than 20 seconds (a message sent by a background worker).
func (r *Relay) Await(t testing.TB, n int) []Message {
	t.Helper()
	return r.AwaitWithin(t, n, 20*time.Second)
}

// AwaitWithin is Await with the time limit d.
func (r *Relay) AwaitWithin(t testing.TB, n int, d time.Duration) []Message {
	t.Helper()
	timeout := time.After(d)
	for {
		r.mu.Lock()
		got, arrived := append([]Message(nil), r.received...), r.arrived
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-arrived:
		case <-timeout:
			t.Fatalf("notifytest: %d messages after %v, want %d", len(got), d, n)
		}
	}
}

// Auths returns "username:password" of every AUTH PLAIN attempt.
func (r *Relay) Auths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auths...)
}

type session struct {
	r        *Relay
	from, to string
	authed   bool
}

func (s *session) AuthMechanisms() []string {
	if s.r.o.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.r.mu.Lock()
		s.r.auths = append(s.r.auths, user+":"+pass)
		s.r.mu.Unlock()
		if user != s.r.o.Username || pass != s.r.o.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.o.Username != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authenticate first"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if e := s.r.rcptErr; e != nil {
		// Relays name the refused address in their reply, as Postfix does.
		return &smtp.SMTPError{Code: e.Code, EnhancedCode: e.EnhancedCode, Message: "<" + to + ">: " + e.Message}
	}
	s.to = to
	return nil
}

func (s *session) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: s.to, Data: b}
	Parse(&m)
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.received = append(s.r.received, m)
	close(s.r.arrived)
	s.r.arrived = make(chan struct{})
	return nil
}

// Parse fills m's Header, Subject, Body and HTML from m.Data, as a mail client reads them: a single
// text/plain part, or a multipart/alternative of text/plain and text/html.
func Parse(m *Message) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return
	}
	m.Header = msg.Header
	var dec mime.WordDecoder
	m.Subject, _ = dec.DecodeHeader(msg.Header.Get("Subject"))
	mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if mt != "multipart/alternative" {
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		m.Body = string(body)
		return
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable itself
		if err != nil {
			return
		}
		body, _ := io.ReadAll(p)
		switch pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt {
		case "text/plain":
			m.Body = string(body)
		case "text/html":
			m.HTML = string(body)
		}
	}
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
