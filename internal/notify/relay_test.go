package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/umm-project/umm/internal/config"
)

// relay is a real SMTP server (github.com/emersion/go-smtp) on a loopback port that keeps what it receives.
type relay struct {
	t        *testing.T
	cfg      config.SMTP // what a Mailer needs to reach it
	roots    *x509.CertPool
	mu       sync.Mutex
	received []received
	auths    []string // "user:password" of each AUTH PLAIN
	// rcptErr, when set, answers RCPT TO.
	rcptErr *smtp.SMTPError
}

type received struct {
	from, to string
	data     []byte
}

type relayOpts struct {
	tls      string // config.SMTPStartTLS, config.SMTPTLS or config.SMTPNone (no TLS offered at all)
	username string // AUTH PLAIN is offered when set
	password string
}

// newRelay starts a relay for the test; the returned config reaches it.
func newRelay(t *testing.T, o relayOpts) *relay {
	t.Helper()
	r := &relay{t: t}
	cert, roots := selfSigned(t)
	r.roots = roots
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{r: r, o: o}, nil }))
	s.Domain = "relay.test"
	s.ErrorLog = log.New(io.Discard, "", 0) // a client that hangs up is what some tests do
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	switch o.tls {
	case config.SMTPStartTLS:
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		l, err = net.Listen("tcp", "127.0.0.1:0")
	case config.SMTPTLS:
		l, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
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
	r.cfg = config.SMTP{Host: "127.0.0.1", Port: p, TLS: o.tls, Username: o.username, Password: o.password,
		From: "Acme Accounts <accounts@acme.example>", Timeout: config.Duration(10 * time.Second)}
	return r
}

// mailer returns a Mailer for cfg that trusts the relay's certificate.
func (r *relay) mailer(cfg config.SMTP) *Mailer {
	r.t.Helper()
	m, err := NewMailer(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	m.RootCAs = r.roots
	return m
}

func (r *relay) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.received...)
}

type session struct {
	r        *relay
	o        relayOpts
	from, to string
	authed   bool
}

func (s *session) AuthMechanisms() []string {
	if s.o.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.r.mu.Lock()
		s.r.auths = append(s.r.auths, user+":"+pass)
		s.r.mu.Unlock()
		if user != s.o.username || pass != s.o.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.o.username != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authenticate first"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.rcptErr != nil {
		return s.r.rcptErr
	}
	s.to = to
	return nil
}

func (s *session) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.received = append(s.r.received, received{from: s.from, to: s.to, data: b})
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
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
