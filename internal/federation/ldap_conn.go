package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/umm-project/umm/internal/config"
)

// ldapDialer knows where the directory is and how to open a connection to it.
type ldapDialer struct {
	addr     string // host:port
	ldaps    bool   // TLS from the first byte
	startTLS bool   // StartTLS before anything else
	tls      *tls.Config
	timeout  time.Duration
}

func newLDAPDialer(c config.Connection) (*ldapDialer, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("url: %q is not an ldap:// or ldaps:// URL", c.URL)
	}
	d := &ldapDialer{timeout: c.Timeout.D()}
	if d.timeout <= 0 {
		d.timeout = 5 * time.Second
	}
	host, port := u.Hostname(), u.Port()
	switch u.Scheme {
	case "ldaps":
		d.ldaps = true
		if port == "" {
			port = "636"
		}
	case "ldap":
		d.startTLS = c.StartTLS
		// Validation already refuses this; checked again because a password sent in clear to a
		// remote host cannot be taken back.
		if !c.StartTLS && !config.LoopbackHost(host) {
			return nil, fmt.Errorf("url: %q needs start_tls: true or ldaps:// (plain LDAP only on a loopback host)", c.URL)
		}
		if port == "" {
			port = "389"
		}
	default:
		return nil, fmt.Errorf("url: %q is not an ldap:// or ldaps:// URL", c.URL)
	}
	d.addr = net.JoinHostPort(host, port)
	if d.ldaps || d.startTLS {
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if c.CACert != "" && !roots.AppendCertsFromPEM([]byte(c.CACert)) {
			return nil, errors.New("ca_cert: no PEM certificate in it")
		}
		d.tls = &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return d, nil
}

// ldapConn is one open connection: go-ldap's client, and the socket under it, on which deadlines
// are set so that nothing (dial, TLS handshake, bind, search) can wait longer than the timeout.
type ldapConn struct {
	c      *ldap.Conn
	raw    net.Conn
	broken bool // the caller's context ended mid-operation: the socket's deadline is in the past
}

// deadline is when an operation started now must be over: the connection's timeout, or the
// caller's own deadline when that comes first.
func (d *ldapDialer) deadline(ctx context.Context) time.Time {
	dl := time.Now().Add(d.timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	return dl
}

// dial opens a connection, with TLS or StartTLS as configured, and binds it as dn when dn is set.
func (d *ldapDialer) dial(ctx context.Context, dn, password string) (*ldapConn, error) {
	dl := d.deadline(ctx)
	dctx, cancel := context.WithDeadline(ctx, dl)
	defer cancel()
	nd := net.Dialer{Timeout: d.timeout}
	raw, err := nd.DialContext(dctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	var lc *ldap.Conn
	if d.ldaps {
		tc := tls.Client(raw, d.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		lc = ldap.NewConn(tc, true)
	} else {
		lc = ldap.NewConn(raw, false)
	}
	lc.Start()
	cn := &ldapConn{c: lc, raw: raw}
	err = cn.run(ctx, dl, func(c *ldap.Conn) error {
		if d.startTLS {
			if err := c.StartTLS(d.tls); err != nil {
				return fmt.Errorf("StartTLS: %w", err)
			}
		}
		if dn != "" {
			if err := c.Bind(dn, password); err != nil {
				if answered(err) {
					return &serviceBindError{err}
				}
				return err
			}
		}
		return nil
	})
	if err != nil || cn.broken {
		cn.close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	return cn, nil
}

// serviceBindError is the directory refusing the service account: the connection's settings are
// wrong, which no person signing in can fix.
type serviceBindError struct{ err error }

func (e *serviceBindError) Error() string { return "service account bind: " + e.err.Error() }
func (e *serviceBindError) Unwrap() error { return e.err }

// run does fn on the connection with every read and write bounded by dl, and cut short when ctx
// ends. go-ldap's own per-request timeout is set too, but it only stops waiting for a reply; the
// socket deadline is what also bounds the StartTLS handshake and writes to a stuck peer.
func (cn *ldapConn) run(ctx context.Context, dl time.Time, fn func(*ldap.Conn) error) error {
	if err := cn.raw.SetDeadline(dl); err != nil {
		cn.broken = true
		return err
	}
	cn.c.SetTimeout(time.Until(dl))
	stop := context.AfterFunc(ctx, func() { cn.raw.SetDeadline(time.Unix(1, 0)) })
	err := fn(cn.c)
	if !stop() {
		// The context ended while fn ran: the deadline was moved to the past and the connection
		// may have lost a reply halfway; it is not reused.
		cn.broken = true
		if err != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return err
	}
	if err := cn.raw.SetDeadline(time.Time{}); err != nil {
		cn.broken = true
	}
	return err
}

func (cn *ldapConn) close() { cn.c.Close() }

// usable reports whether the connection can go back to its pool after an operation that ended
// with err: yes when the directory answered (a wrong password, a missing entry, too many results
// are answers), no after anything that may have left the connection out of step.
func (cn *ldapConn) usable(err error) bool {
	if cn.broken || cn.c.IsClosing() {
		return false
	}
	if err == nil {
		return true
	}
	return ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultNoSuchObject,
		ldap.LDAPResultSizeLimitExceeded)
}

// ldapPool keeps a few connections open for reuse, all bound the same way: as the service account
// (searches) or not bound by UMM at all (password checks, which bind as the person). It opens at
// most max at once and keeps them all open while idle, so a burst of sign-ins reuses the same few
// connections instead of opening (and binding) one each, and the directory never sees more than max
// from one connector; a call beyond that waits for one, within its timeout.
type ldapPool struct {
	d        *ldapDialer
	dn, pass string // the bind made when a connection is opened; empty: none
	sem      chan struct{}

	mu     sync.Mutex
	idle   []*ldapConn
	closed bool
}

func newLDAPPool(d *ldapDialer, dn, password string, max int) *ldapPool {
	return &ldapPool{d: d, dn: dn, pass: password, sem: make(chan struct{}, max)}
}

// errPoolClosed is a use after Close: the connector was replaced by a newer one of the connection.
var errPoolClosed = errors.New("ldap connector closed")

// get returns an idle connection (reused true) or opens one. Every connection got is given back
// with put.
func (p *ldapPool) get(ctx context.Context) (cn *ldapConn, reused bool, err error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("waiting for a free connection: %w", ctx.Err())
	}
	var stale []*ldapConn
	defer func() {
		// The directory closed these while they were idle (idle timeouts are common).
		for _, s := range stale {
			s.close()
		}
	}()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, false, errPoolClosed
	}
	for len(p.idle) > 0 {
		cn = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !cn.c.IsClosing() {
			p.mu.Unlock()
			return cn, true, nil
		}
		stale = append(stale, cn)
	}
	p.mu.Unlock()
	cn, err = p.d.dial(ctx, p.dn, p.pass)
	if err != nil {
		<-p.sem
	}
	return cn, false, err
}

// put gives back a connection, to keep for reuse when keep is true.
func (p *ldapPool) put(cn *ldapConn, keep bool) {
	defer func() { <-p.sem }()
	p.mu.Lock()
	if keep && !p.closed {
		p.idle = append(p.idle, cn)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	cn.close()
}

// do runs fn on a pooled connection. When a reused connection fails without an answer from the
// directory (it dropped the connection since), fn is tried once more on a new connection, so an
// idle timeout upstream is not a failed sign-in.
//
// Both tries share one deadline: a directory that stopped answering costs the timeout once.
func (p *ldapPool) do(ctx context.Context, fn func(*ldap.Conn) error) error {
	ctx, cancel := context.WithDeadline(ctx, p.d.deadline(ctx))
	defer cancel()
	for attempt := 0; ; attempt++ {
		cn, reused, err := p.get(ctx)
		if err != nil {
			return err
		}
		err = cn.run(ctx, p.d.deadline(ctx), fn)
		keep := cn.usable(err) // before put: once back in the pool, cn is another caller's
		p.put(cn, keep)
		if err != nil && reused && attempt == 0 && ctx.Err() == nil && !keep && !answered(err) {
			continue
		}
		return err
	}
}

// answered reports whether err is a result the directory sent (as opposed to no reply at all).
func answered(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode != ldap.ErrorNetwork && le.ResultCode < 200
}

// close closes the idle connections and makes later puts close theirs.
func (p *ldapPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, cn := range idle {
		cn.close()
	}
}
