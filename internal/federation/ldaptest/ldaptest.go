// Package ldaptest runs a small in-process LDAP directory for tests and benchmarks: simple binds
// checked against userPassword, searches with the usual filters (and, or, not, equality, substrings,
// presence, ordering) over base, one-level and subtree scopes, size limits, and TLS either from the
// start (ldaps://) or by StartTLS, with a certificate from a CA it makes up and hands out as PEM.
//
// It is written on github.com/go-asn1-ber/asn1-ber rather than on an LDAP server library: the one
// considered (github.com/vjeantet/ldapserver v1.0.1) crashes its accept loop when its listener is
// closed and answers StartTLS from a goroutine racing the TLS handshake, and a test directory that
// cannot be stopped cleanly is worse than a small one of our own.
//
// It is not a directory server: no schema, no access control beyond "a bound or anonymous client may
// read everything", no writes over the protocol. Tests change entries through the Server's methods.
package ldaptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// Entry is one directory entry. The password a simple bind checks is the entry's userPassword
// attribute, in clear; the server also returns it in searches, as a directory would to an
// administrator, so callers can check that they leave it out.
type Entry struct {
	DN    string
	Attrs map[string][]string
}

// NewEntry makes an entry from attribute-value pairs; an attribute named twice gets both values:
// NewEntry("uid=ada,ou=people,dc=example,dc=org", "objectClass", "person", "uid", "ada").
func NewEntry(dn string, attrValuePairs ...string) Entry {
	if len(attrValuePairs)%2 != 0 {
		panic("ldaptest: NewEntry wants attribute-value pairs")
	}
	e := Entry{DN: dn, Attrs: map[string][]string{}}
	for i := 0; i < len(attrValuePairs); i += 2 {
		e.Attrs[attrValuePairs[i]] = append(e.Attrs[attrValuePairs[i]], attrValuePairs[i+1])
	}
	return e
}

// TLSMode says how clients reach the server.
type TLSMode int

const (
	// Plain is ldap:// without TLS.
	Plain TLSMode = iota
	// LDAPS is TLS from the first byte (ldaps://).
	LDAPS
	// StartTLS is ldap:// where the client must send StartTLS before anything else: binds and
	// searches before it are refused with confidentialityRequired.
	StartTLS
)

// Options change how the server behaves.
type Options struct {
	TLS TLSMode
	// AllowAnonymous lets clients that have not bound search; by default they are refused with
	// insufficientAccessRights, as most directories configure it, so a client that forgets to bind
	// as its service account notices.
	AllowAnonymous bool
}

// Server is a running test directory.
type Server struct {
	opts Options
	ln   net.Listener
	tls  *tls.Config
	ca   []byte

	mu      sync.Mutex
	entries map[string]*entry // by normalised DN
	conns   map[net.Conn]struct{}
	hang    bool
	stopped bool

	binds     atomic.Int64
	bindsByDN sync.Map // normalised DN → *atomic.Int64
	searches  atomic.Int64
	accepted  atomic.Int64
	wg        sync.WaitGroup
	stopOnce  sync.Once
	logf      func(format string, args ...any)
}

type entry struct {
	dn    string
	attrs map[string]*attr // by lower-case name
}

type attr struct {
	name string
	vals []string
}

// Start runs a plain-LDAP server on 127.0.0.1 with entries, stopped when the test ends.
func Start(t testing.TB, entries ...Entry) *Server {
	t.Helper()
	return StartWith(t, Options{}, entries...)
}

// StartWith runs a server with opts, stopped when the test ends.
func StartWith(t testing.TB, opts Options, entries ...Entry) *Server {
	t.Helper()
	s := &Server{opts: opts, entries: map[string]*entry{}, conns: map[net.Conn]struct{}{}, logf: t.Logf}
	for _, e := range entries {
		s.Add(e)
	}
	if opts.TLS != Plain {
		cfg, ca, err := newTLS()
		if err != nil {
			t.Fatalf("ldaptest: certificate: %v", err)
		}
		s.tls, s.ca = cfg, ca
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("ldaptest: listen: %v", err)
	}
	if opts.TLS == LDAPS {
		ln = tls.NewListener(ln, s.tls)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Stop)
	return s
}

// URL is where clients reach the server: ldap://127.0.0.1:port, or ldaps:// in LDAPS mode.
func (s *Server) URL() string {
	if s.opts.TLS == LDAPS {
		return "ldaps://" + s.Addr()
	}
	return "ldap://" + s.Addr()
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// CAPEM is the PEM certificate of the CA that signed the server's certificate (nil without TLS).
// The server certificate names 127.0.0.1 and localhost.
func (s *Server) CAPEM() []byte { return s.ca }

// Binds is how many bind requests the server has received, successful or not.
func (s *Server) Binds() int64 { return s.binds.Load() }

// BindsAs is how many bind requests named dn (successful or not).
func (s *Server) BindsAs(dn string) int64 {
	if n, ok := s.bindsByDN.Load(normDN(dn)); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// Searches is how many search requests the server has received.
func (s *Server) Searches() int64 { return s.searches.Load() }

// Conns is how many connections the server has accepted.
func (s *Server) Conns() int64 { return s.accepted.Load() }

// Add adds or replaces an entry.
func (s *Server) Add(e Entry) {
	ne := &entry{dn: e.DN, attrs: map[string]*attr{}}
	for name, vals := range e.Attrs {
		a := ne.attrs[strings.ToLower(name)]
		if a == nil {
			a = &attr{name: name}
			ne.attrs[strings.ToLower(name)] = a
		}
		a.vals = append(a.vals, vals...)
	}
	s.mu.Lock()
	s.entries[normDN(e.DN)] = ne
	s.mu.Unlock()
}

// Remove deletes the entry dn; it reports whether there was one.
func (s *Server) Remove(dn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.entries[normDN(dn)]
	delete(s.entries, normDN(dn))
	return ok
}

// SetAttr replaces the values of attribute name on entry dn (no values removes it). It panics when
// there is no such entry: the test is wrong.
func (s *Server) SetAttr(dn, name string, vals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[normDN(dn)]
	if e == nil {
		panic("ldaptest: SetAttr on missing entry " + dn)
	}
	if len(vals) == 0 {
		delete(e.attrs, strings.ToLower(name))
		return
	}
	e.attrs[strings.ToLower(name)] = &attr{name: name, vals: append([]string(nil), vals...)}
}

// SetPassword sets the userPassword of entry dn.
func (s *Server) SetPassword(dn, password string) { s.SetAttr(dn, "userPassword", password) }

// SetHang makes the server stop answering (true) or answer again (false): requests are read and
// dropped, new connections accepted and left waiting — a directory that is up but stuck.
func (s *Server) SetHang(hang bool) {
	s.mu.Lock()
	s.hang = hang
	s.mu.Unlock()
}

// DropConns closes every open connection and keeps serving new ones, as a directory does with
// connections idle past its limit, or on restart behind a load balancer.
func (s *Server) DropConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Stop closes the listener and every connection and waits for the server's goroutines. It is
// called when the test ends; calling it again does nothing.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.ln.Close()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed by Stop
		}
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.accepted.Add(1)
		go s.serve(c)
	}
}

// session is one client connection.
type session struct {
	s     *Server
	conn  net.Conn // the current transport (a *tls.Conn after StartTLS)
	raw   net.Conn // what Stop closes
	r     *bufio.Reader
	tls   bool
	bound bool // a successful non-anonymous bind
}

func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	ss := &session{s: s, conn: c, raw: c, r: bufio.NewReader(c), tls: s.opts.TLS == LDAPS}
	for {
		p, err := ber.ReadPacket(ss.r)
		if err != nil {
			return
		}
		s.mu.Lock()
		hang := s.hang
		s.mu.Unlock()
		if len(p.Children) < 2 {
			return
		}
		op := p.Children[1]
		if op.Tag == appBindRequest {
			s.binds.Add(1)
			if len(op.Children) > 1 {
				n, _ := s.bindsByDN.LoadOrStore(normDN(str(op.Children[1])), new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		}
		if hang {
			continue
		}
		id, _ := p.Children[0].Value.(int64)
		if err := ss.handle(id, op); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.logf("ldaptest: %v", err)
			}
			return
		}
	}
}

// LDAP protocol operations (RFC 4511 section 4.2 and on).
const (
	appBindRequest     = 0
	appBindResponse    = 1
	appUnbindRequest   = 2
	appSearchRequest   = 3
	appSearchEntry     = 4
	appSearchDone      = 5
	appAbandonRequest  = 16
	appExtendedRequest = 23
	appExtendedResp    = 24

	oidStartTLS = "1.3.6.1.4.1.1466.20037"
)

// Result codes the server answers.
const (
	resultSuccess                = 0
	resultProtocolError          = 2
	resultSizeLimitExceeded      = 4
	resultAuthMethodNotSupported = 7
	resultConfidentialityReq     = 13
	resultNoSuchObject           = 32
	resultInvalidCredentials     = 49
	resultInsufficientAccess     = 50
	resultUnwillingToPerform     = 53
)

func (ss *session) handle(id int64, op *ber.Packet) error {
	switch op.Tag {
	case appUnbindRequest:
		return io.EOF
	case appAbandonRequest:
		return nil // every request is answered before the next is read: nothing to abandon
	case appBindRequest:
		return ss.bind(id, op)
	case appSearchRequest:
		return ss.search(id, op)
	case appExtendedRequest:
		return ss.extended(id, op)
	default:
		return ss.write(id, result(appExtendedResp, resultUnwillingToPerform, "operation not supported"))
	}
}

func (ss *session) bind(id int64, op *ber.Packet) error {
	if ss.s.opts.TLS == StartTLS && !ss.tls {
		return ss.write(id, result(appBindResponse, resultConfidentialityReq, "StartTLS first"))
	}
	if len(op.Children) < 3 {
		return ss.write(id, result(appBindResponse, resultProtocolError, "malformed bind"))
	}
	name, cred := op.Children[1], op.Children[2]
	if cred.ClassType != ber.ClassContext || cred.Tag != 0 {
		return ss.write(id, result(appBindResponse, resultAuthMethodNotSupported, "simple bind only"))
	}
	dn, password := str(name), str(cred)
	ss.bound = false
	switch {
	case dn == "" && password == "":
		// Anonymous bind.
		return ss.write(id, result(appBindResponse, resultSuccess, ""))
	case password == "":
		// An unauthenticated bind (RFC 4513 section 5.1.2): a name and no password. Directories
		// answer success without checking anything, which is why clients must never send one for a
		// person's sign-in; this server does the same so tests can tell.
		return ss.write(id, result(appBindResponse, resultSuccess, ""))
	}
	ss.s.mu.Lock()
	e := ss.s.entries[normDN(dn)]
	ok := false
	if e != nil {
		if a := e.attrs["userpassword"]; a != nil {
			for _, v := range a.vals {
				if v == password {
					ok = true
				}
			}
		}
	}
	ss.s.mu.Unlock()
	if !ok {
		return ss.write(id, result(appBindResponse, resultInvalidCredentials, ""))
	}
	ss.bound = true
	return ss.write(id, result(appBindResponse, resultSuccess, ""))
}

func (ss *session) extended(id int64, op *ber.Packet) error {
	if len(op.Children) == 0 || str(op.Children[0]) != oidStartTLS {
		return ss.write(id, result(appExtendedResp, resultProtocolError, "unsupported extended operation"))
	}
	if ss.s.tls == nil || ss.tls {
		return ss.write(id, result(appExtendedResp, resultUnwillingToPerform, "StartTLS not available"))
	}
	if err := ss.write(id, result(appExtendedResp, resultSuccess, "")); err != nil {
		return err
	}
	// The reply above went out in clear; everything from here on is TLS. The client sends nothing
	// between its request and the handshake, so the buffered reader holds nothing to carry over.
	tc := tls.Server(ss.conn, ss.s.tls)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("StartTLS handshake: %w", err)
	}
	ss.conn, ss.r, ss.tls = tc, bufio.NewReader(tc), true
	return nil
}

func (ss *session) search(id int64, op *ber.Packet) error {
	ss.s.searches.Add(1)
	if ss.s.opts.TLS == StartTLS && !ss.tls {
		return ss.write(id, result(appSearchDone, resultConfidentialityReq, "StartTLS first"))
	}
	if !ss.bound && !ss.s.opts.AllowAnonymous {
		return ss.write(id, result(appSearchDone, resultInsufficientAccess, "bind first"))
	}
	if len(op.Children) < 8 {
		return ss.write(id, result(appSearchDone, resultProtocolError, "malformed search"))
	}
	base := normDN(str(op.Children[0]))
	scope, _ := op.Children[1].Value.(int64)
	sizeLimit, _ := op.Children[3].Value.(int64)
	filter := op.Children[6]
	var want []string
	for _, a := range op.Children[7].Children {
		want = append(want, str(a))
	}

	ss.s.mu.Lock()
	baseExists := base == ""
	var found []*entry
	for key, e := range ss.s.entries {
		if key == base || strings.HasSuffix(key, ","+base) {
			baseExists = true
		}
		if inScope(key, base, scope) && match(filter, e) {
			found = append(found, e.copy())
		}
	}
	ss.s.mu.Unlock()
	if !baseExists {
		return ss.write(id, result(appSearchDone, resultNoSuchObject, ""))
	}
	sort.Slice(found, func(i, j int) bool { return found[i].dn < found[j].dn })
	code := resultSuccess
	if sizeLimit > 0 && int64(len(found)) > sizeLimit {
		found, code = found[:sizeLimit], resultSizeLimitExceeded
	}
	for _, e := range found {
		if err := ss.write(id, e.packet(want)); err != nil {
			return err
		}
	}
	return ss.write(id, result(appSearchDone, code, ""))
}

func (ss *session) write(id int64, op *ber.Packet) error {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	msg.AppendChild(op)
	_, err := ss.conn.Write(msg.Bytes())
	return err
}

func result(app ber.Tag, code int, diagnostic string) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, app, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diagnostic, "diagnosticMessage"))
	return p
}

func (e *entry) copy() *entry {
	c := &entry{dn: e.dn, attrs: make(map[string]*attr, len(e.attrs))}
	for k, a := range e.attrs {
		c.attrs[k] = &attr{name: a.name, vals: append([]string(nil), a.vals...)}
	}
	return c
}

// packet is the entry as a SearchResultEntry with the attributes the client asked for: none listed
// or "*" means all, "1.1" means none.
func (e *entry) packet(want []string) *ber.Packet {
	all := len(want) == 0
	pick := map[string]bool{}
	for _, w := range want {
		if w == "*" {
			all = true
		}
		pick[strings.ToLower(w)] = true
	}
	names := make([]string, 0, len(e.attrs))
	for k := range e.attrs {
		if all || pick[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, appSearchEntry, nil, "")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, e.dn, "objectName"))
	attrs := ber.NewSequence("attributes")
	for _, k := range names {
		a := e.attrs[k]
		pa := ber.NewSequence("attribute")
		pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.name, "type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
		for _, v := range a.vals {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "value"))
		}
		pa.AppendChild(set)
		attrs.AppendChild(pa)
	}
	p.AppendChild(attrs)
	return p
}

// match evaluates an RFC 4511 Filter against e. Every comparison ignores case, which is what the
// usual attributes (names, mail, uid, DNs) use; extensible matches never match.
func match(f *ber.Packet, e *entry) bool {
	switch f.Tag {
	case 0: // and
		for _, c := range f.Children {
			if !match(c, e) {
				return false
			}
		}
		return true
	case 1: // or
		for _, c := range f.Children {
			if match(c, e) {
				return true
			}
		}
		return false
	case 2: // not
		return len(f.Children) == 1 && !match(f.Children[0], e)
	case 3, 5, 6, 8: // equality, greaterOrEqual, lessOrEqual, approx
		if len(f.Children) != 2 {
			return false
		}
		a := e.attrs[strings.ToLower(str(f.Children[0]))]
		if a == nil {
			return false
		}
		want := strings.ToLower(str(f.Children[1]))
		for _, v := range a.vals {
			v = strings.ToLower(v)
			switch {
			case (f.Tag == 3 || f.Tag == 8) && v == want,
				f.Tag == 5 && v >= want,
				f.Tag == 6 && v <= want:
				return true
			}
		}
		return false
	case 4: // substrings
		if len(f.Children) != 2 {
			return false
		}
		a := e.attrs[strings.ToLower(str(f.Children[0]))]
		if a == nil {
			return false
		}
		for _, v := range a.vals {
			if substrings(strings.ToLower(v), f.Children[1].Children) {
				return true
			}
		}
		return false
	case 7: // present
		return e.attrs[strings.ToLower(str(f))] != nil || strings.EqualFold(str(f), "objectClass")
	default:
		return false
	}
}

func substrings(v string, parts []*ber.Packet) bool {
	for i, p := range parts {
		s := strings.ToLower(str(p))
		switch p.Tag {
		case 0: // initial
			if i != 0 || !strings.HasPrefix(v, s) {
				return false
			}
			v = v[len(s):]
		case 1: // any
			k := strings.Index(v, s)
			if k < 0 {
				return false
			}
			v = v[k+len(s):]
		case 2: // final
			if i != len(parts)-1 || !strings.HasSuffix(v, s) {
				return false
			}
			v = ""
		}
	}
	return true
}

// inScope reports whether the entry at key is in a search of base with scope (0 base object,
// 1 single level, 2 whole subtree); both are normalised DNs.
func inScope(key, base string, scope int64) bool {
	switch scope {
	case 0:
		return key == base
	case 1:
		rdns := splitDN(key)
		return len(rdns) > 0 && strings.Join(rdns[1:], ",") == base
	default:
		return base == "" || key == base || strings.HasSuffix(key, ","+base)
	}
}

// normDN lower-cases a DN and drops the spaces around its separators, enough to compare the DNs
// tests write.
func normDN(dn string) string {
	rdns := splitDN(dn)
	for i, r := range rdns {
		t, v, _ := strings.Cut(r, "=")
		rdns[i] = strings.ToLower(strings.TrimSpace(t)) + "=" + strings.ToLower(strings.TrimSpace(v))
	}
	return strings.Join(rdns, ",")
}

// splitDN splits a DN at its unescaped commas.
func splitDN(dn string) []string {
	if strings.TrimSpace(dn) == "" {
		return nil
	}
	var out []string
	start := 0
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			out = append(out, dn[start:i])
			start = i + 1
		}
	}
	return append(out, dn[start:])
}

// str is the content of a primitive packet as a string.
func str(p *ber.Packet) string {
	if p.Data == nil {
		return ""
	}
	return p.Data.String()
}
