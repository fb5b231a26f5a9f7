package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/federation/ldaptest"
)

const (
	ldapBase    = "dc=example,dc=org"
	ldapService = "cn=umm,ou=services,dc=example,dc=org"
	ldapAda     = "uid=ada,ou=people,dc=example,dc=org"
	ldapBob     = "uid=bob,ou=people,dc=example,dc=org"
	ldapAdmins  = "cn=admins,ou=groups,dc=example,dc=org"
	ldapStaff   = "cn=staff,ou=groups,dc=example,dc=org"
)

// ldapEntries is a small directory: a service account, two people, two groups (ada is in admins by
// memberOf and in staff by the group's member list).
func ldapEntries() []ldaptest.Entry {
	return []ldaptest.Entry{
		ldaptest.NewEntry(ldapBase, "objectClass", "domain", "dc", "example"),
		ldaptest.NewEntry(ldapService, "objectClass", "person", "cn", "umm", "userPassword", "service-secret"),
		ldaptest.NewEntry(ldapAda, "objectClass", "person", "objectClass", "inetOrgPerson", "uid", "ada",
			"mail", "ada@example.org", "givenName", "Ada", "sn", "Lovelace", "cn", "Ada Lovelace",
			"displayName", "Countess Lovelace", "telephoneNumber", "+44 20 7946 0000",
			"departmentNumber", "Analytical Engines", "entryUUID", "6f1e4a3c-0000-4000-8000-00000000ada0",
			"memberOf", ldapAdmins, "userPassword", "analytical"),
		ldaptest.NewEntry(ldapBob, "objectClass", "person", "uid", "bob", "mail", "bob@example.org",
			"cn", "Bob Builder", "userPassword", "builder"),
		ldaptest.NewEntry(ldapAdmins, "objectClass", "groupOfNames", "cn", "admins", "member", ldapAda),
		ldaptest.NewEntry(ldapStaff, "objectClass", "groupOfNames", "cn", "staff", "member", ldapAda, "member", ldapBob),
	}
}

func ldapConnection(url string) config.Connection {
	return config.Connection{
		ID: "corp", Type: config.ConnLDAP, URL: url,
		BindDN: ldapService, BindPassword: "service-secret",
		BaseDN: ldapBase, UserFilter: "(&(objectClass=person)(mail={login}))",
		GroupBaseDN: "ou=groups," + ldapBase, GroupFilter: "(&(objectClass=groupOfNames)(member={dn}))",
		Attributes: map[string]string{"department": "departmentNumber"},
		Timeout:    config.Duration(2 * time.Second),
	}
}

func buildLDAP(t testing.TB, c config.Connection, log *slog.Logger) *ldapConnector {
	t.Helper()
	impl, err := newLDAP(context.Background(), Env{TenantID: "acme", Log: log}, c)
	if err != nil {
		t.Fatalf("newLDAP: %v", err)
	}
	l := impl.(*ldapConnector)
	t.Cleanup(func() { l.Close() })
	return l
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestLDAPAuthenticateIdentity(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	l := buildLDAP(t, ldapConnection(srv.URL()), nil)
	var _ Directory = l

	id, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical")
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if id.Connection != "corp" || id.Subject != ldapAda || id.Email != "ada@example.org" || !id.EmailVerified {
		t.Errorf("identity: %+v", id)
	}
	want := map[string]string{
		"given_name": "Ada", "family_name": "Lovelace", "name": "Countess Lovelace",
		"phone_number": "+44 20 7946 0000", "preferred_username": "ada", "department": "Analytical Engines",
	}
	for k, v := range want {
		if id.Profile[k] != v {
			t.Errorf("profile %s = %q, want %q", k, id.Profile[k], v)
		}
	}
	for _, g := range []string{ldapAdmins, "admins", ldapStaff, "staff"} {
		if !slices.Contains(id.Groups, g) {
			t.Errorf("groups %v lack %q", id.Groups, g)
		}
	}
	if len(id.Groups) != 4 {
		t.Errorf("groups %v: want each group once as DN and once as cn", id.Groups)
	}
	if !slices.Equal(id.AMR, []string{"pwd"}) {
		t.Errorf("amr %v", id.AMR)
	}
	if id.Claims["mail"] != "ada@example.org" || id.Claims["uid"] != "ada" {
		t.Errorf("claims %v", id.Claims)
	}
	for k := range id.Claims {
		if strings.EqualFold(k, "userPassword") {
			t.Errorf("claims carry %s", k)
		}
	}
	if _, ok := id.Claims["objectClass"].([]string); !ok {
		t.Errorf("objectClass claim %#v: want both values as a list", id.Claims["objectClass"])
	}

	// Bob has no displayName: the name falls back to cn; he is in staff only by the group search.
	id, err = l.Authenticate(ctxFor(t, 10*time.Second), "bob@example.org", "builder")
	if err != nil {
		t.Fatalf("Authenticate bob: %v", err)
	}
	if id.Profile["name"] != "Bob Builder" || !slices.Equal(id.Groups, []string{ldapStaff, "staff"}) {
		t.Errorf("bob: profile %v groups %v", id.Profile, id.Groups)
	}
}

func TestLDAPAuthenticateRefusals(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	l := buildLDAP(t, ldapConnection(srv.URL()), nil)
	ctx := ctxFor(t, 10*time.Second)

	if _, err := l.Authenticate(ctx, "ada@example.org", "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := l.Authenticate(ctx, "nobody@example.org", "analytical"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("unknown login: %v", err)
	}
	if _, err := l.Authenticate(ctx, "", "analytical"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("empty login: %v", err)
	}
	searches := srv.Searches()
	if _, err := l.Authenticate(ctx, strings.Repeat("a", 100_000)+"@example.org", "analytical"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("huge login: %v", err)
	}
	if srv.Searches() != searches {
		t.Error("a 100 kB login was sent to the directory")
	}
}

// An unknown login costs a bind like a wrong password does, so reply times do not tell which
// logins the directory has.
func TestLDAPUnknownLoginStillBinds(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	l := buildLDAP(t, ldapConnection(srv.URL()), nil)
	ctx := ctxFor(t, 10*time.Second)
	// Warm the pools, so the service account's bind is not counted below.
	if _, err := l.Authenticate(ctx, "bob@example.org", "builder"); err != nil {
		t.Fatal(err)
	}
	before := srv.Binds()
	if _, err := l.Authenticate(ctx, "ada@example.org", "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	wrong := srv.Binds() - before
	before = srv.Binds()
	if _, err := l.Authenticate(ctx, "nobody@example.org", "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown login: %v", err)
	}
	if unknown := srv.Binds() - before; unknown != wrong {
		t.Errorf("an unknown login made %d binds, a wrong password %d", unknown, wrong)
	}
}

func TestLDAPEmptyPasswordNeverReachesDirectory(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	l := buildLDAP(t, ldapConnection(srv.URL()), nil)
	// The test directory, like real ones, accepts a bind with a DN and no password.
	for _, pw := range []string{"", ""} {
		if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", pw); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("empty password: %v", err)
		}
	}
	if srv.Binds() != 0 || srv.Searches() != 0 {
		t.Errorf("the directory saw %d binds and %d searches", srv.Binds(), srv.Searches())
	}
}

func TestLDAPFilterInjection(t *testing.T) {
	t.Parallel()
	// One person only, so that an unescaped wildcard would find exactly her and her password would
	// then sign in.
	entries := ldapEntries()[:3]
	srv := ldaptest.Start(t, entries...)
	c := ldapConnection(srv.URL())
	c.GroupFilter, c.GroupBaseDN = "", ""
	l := buildLDAP(t, c, nil)
	ctx := ctxFor(t, 10*time.Second)
	if _, err := l.Authenticate(ctx, "ada@example.org", "analytical"); err != nil {
		t.Fatalf("the directory itself works: %v", err)
	}
	for _, login := range []string{"*", "*)(uid=*", "ada*", "*)(|(objectClass=*)", "\\2a", "ada@example.org)(uid=*"} {
		if _, err := l.Authenticate(ctx, login, "analytical"); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("login %q: %v, want ErrBadCredentials", login, err)
		}
	}
}

func TestLDAPAmbiguousFilterRefused(t *testing.T) {
	t.Parallel()
	twin := ldaptest.NewEntry("uid=ada2,ou=people,dc=example,dc=org", "objectClass", "person", "uid", "ada2",
		"mail", "ada@example.org", "userPassword", "other")
	srv := ldaptest.Start(t, append(ldapEntries(), twin)...)
	var logs bytes.Buffer
	l := buildLDAP(t, ldapConnection(srv.URL()), slog.New(slog.NewTextHandler(&logs, nil)))
	for _, pw := range []string{"analytical", "other"} {
		if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("password %q: %v, want ErrBadCredentials", pw, err)
		}
	}
	if !strings.Contains(logs.String(), "more than one entry") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	if srv.BindsAs(ldapAda) != 0 || srv.BindsAs("uid=ada2,ou=people,dc=example,dc=org") != 0 {
		t.Error("bound as one of the two entries")
	}
}

func TestLDAPServiceAccountRefused(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	c := ldapConnection(srv.URL())
	c.BindPassword = "not-the-service-password"
	var logs bytes.Buffer
	l := buildLDAP(t, c, slog.New(slog.NewTextHandler(&logs, nil)))
	// The person's password is right; the connection's settings are not: not their fault.
	if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Authenticate: %v, want ErrUnavailable", err)
	}
	if !strings.Contains(logs.String(), "service account") {
		t.Errorf("log does not name the service account: %s", logs.String())
	}
}

func TestLDAPServerStopped(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	c := ldapConnection(srv.URL())
	c.Timeout = config.Duration(time.Second)
	l := buildLDAP(t, c, nil)
	if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical"); err != nil {
		t.Fatalf("before stop: %v", err)
	}
	srv.Stop() // the pool now holds connections the directory has closed
	ctx := ctxFor(t, 10*time.Second)
	start := time.Now()
	_, err := l.Authenticate(ctx, "ada@example.org", "analytical")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Authenticate: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second || ctx.Err() != nil {
		t.Errorf("took %v, want less than the 1s timeout", d)
	}
	if _, _, err := l.Lookup(ctx, ldapAda); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Lookup: %v, want ErrUnavailable", err)
	}
}

// Connections the directory closed while they sat in the pool are replaced, not reported as failures.
func TestLDAPDirectoryDropsIdleConnections(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	l := buildLDAP(t, ldapConnection(srv.URL()), nil)
	for i := range 5 {
		if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical"); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if _, found, err := l.Lookup(ctxFor(t, 10*time.Second), ldapBob); err != nil || !found {
			t.Fatalf("round %d: Lookup: %v, %v", i, found, err)
		}
		srv.DropConns()
	}
	if n := srv.BindsAs(ldapService); n < 5 {
		t.Errorf("%d service binds: the dropped connections were not replaced", n)
	}
}

// silentListener accepts connections and never answers: a directory that is up but stuck.
func silentListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

func TestLDAPServerNeverAnswers(t *testing.T) {
	t.Parallel()
	addr := silentListener(t)
	for _, tc := range []struct {
		name     string
		url      string
		startTLS bool
	}{
		{"plain", "ldap://" + addr, false},
		{"starttls", "ldap://" + addr, true},
		{"ldaps", "ldaps://" + addr, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := ldapConnection(tc.url)
			c.StartTLS = tc.startTLS
			c.Timeout = config.Duration(300 * time.Millisecond)
			l := buildLDAP(t, c, nil)
			ctx := ctxFor(t, 10*time.Second)
			start := time.Now()
			_, err := l.Authenticate(ctx, "ada@example.org", "analytical")
			d := time.Since(start)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Authenticate: %v, want ErrUnavailable", err)
			}
			if d < 300*time.Millisecond || d > 3*time.Second || ctx.Err() != nil {
				t.Errorf("took %v, want about the 300ms timeout", d)
			}
		})
	}
}

// A caller's deadline shorter than the connection's timeout wins.
func TestLDAPContextDeadline(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	c := ldapConnection(srv.URL())
	c.Timeout = config.Duration(time.Minute)
	l := buildLDAP(t, c, nil)
	if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical"); err != nil {
		t.Fatal(err)
	}
	srv.SetHang(true) // pooled connections are open, and nothing answers on them
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Authenticate(ctx, "ada@example.org", "analytical")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Authenticate: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v with a 200ms deadline", d)
	}
	srv.SetHang(false)
	// The connection cut short is not reused: the next call works.
	if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical"); err != nil {
		t.Fatalf("after the directory answers again: %v", err)
	}
}

func TestLDAPTLS(t *testing.T) {
	t.Parallel()
	other := ldaptest.StartWith(t, ldaptest.Options{TLS: ldaptest.LDAPS}) // only for its CA
	for _, mode := range []ldaptest.TLSMode{ldaptest.LDAPS, ldaptest.StartTLS} {
		srv := ldaptest.StartWith(t, ldaptest.Options{TLS: mode}, ldapEntries()...)
		for _, tc := range []struct {
			name string
			ca   []byte
			ok   bool
		}{{"right CA", srv.CAPEM(), true}, {"wrong CA", other.CAPEM(), false}, {"no CA", nil, false}} {
			t.Run(fmt.Sprintf("%s/%s", srv.URL()[:5], tc.name), func(t *testing.T) {
				c := ldapConnection(srv.URL())
				c.StartTLS = mode == ldaptest.StartTLS
				c.CACert = string(tc.ca)
				l := buildLDAP(t, c, nil)
				id, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical")
				if tc.ok && (err != nil || id.Subject != ldapAda) {
					t.Fatalf("Authenticate: %v", err)
				}
				if !tc.ok && !errors.Is(err, ErrUnavailable) {
					t.Fatalf("Authenticate: %v, want ErrUnavailable", err)
				}
			})
		}
	}
}

// StartTLS against a directory that cannot do it fails rather than carrying on in clear.
func TestLDAPStartTLSRefusedByServer(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	c := ldapConnection(srv.URL())
	c.StartTLS = true
	l := buildLDAP(t, c, nil)
	if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Authenticate: %v, want ErrUnavailable", err)
	}
	if srv.Binds() != 0 {
		t.Errorf("%d binds reached the directory in clear", srv.Binds())
	}
}

func TestLDAPPlainOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	for url, ok := range map[string]bool{
		"ldap://ldap.example.org":  false,
		"ldap://192.0.2.10:389":    false,
		"ldap://127.0.0.1:389":     true,
		"ldap://localhost":         true,
		"ldaps://ldap.example.org": true,
		"http://ldap.example.org":  false,
	} {
		_, err := newLDAP(context.Background(), Env{}, ldapConnection(url))
		if (err == nil) != ok {
			t.Errorf("%s: %v", url, err)
		}
	}
	c := ldapConnection("ldaps://ldap.example.org")
	c.UserFilter = "(mail={login}"
	if _, err := newLDAP(context.Background(), Env{}, c); err == nil {
		t.Error("a malformed user_filter was accepted")
	}
}

func TestLDAPPoolReuse(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	l := buildLDAP(t, ldapConnection(srv.URL()), nil)
	ctx := ctxFor(t, 30*time.Second)
	const callers, each = 32, 4
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for i := range callers {
		wg.Go(func() {
			for j := range each {
				login, pw := "ada@example.org", "analytical"
				if (i+j)%2 == 1 {
					login, pw = "bob@example.org", "builder"
				}
				if _, err := l.Authenticate(ctx, login, pw); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.BindsAs(ldapService); n < 1 || n > ldapPoolSize {
		t.Errorf("%d service binds for %d sign-ins; want at most %d", n, callers*each, ldapPoolSize)
	}
	if n := srv.Conns(); n > 2*ldapPoolSize {
		t.Errorf("%d connections opened; want at most %d", n, 2*ldapPoolSize)
	}
	if n := srv.BindsAs(ldapAda) + srv.BindsAs(ldapBob); n != callers*each {
		t.Errorf("%d person binds, want %d", n, callers*each)
	}
}

func TestLDAPLookup(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t, ldapEntries()...)
	l := buildLDAP(t, ldapConnection(srv.URL()), nil)
	ctx := ctxFor(t, 10*time.Second)

	id, found, err := l.Lookup(ctx, ldapAda)
	if err != nil || !found || id.Subject != ldapAda || id.Email != "ada@example.org" || len(id.Groups) != 4 {
		t.Fatalf("Lookup: %+v, %v, %v", id, found, err)
	}
	srv.SetAttr(ldapAda, "mail", "countess@example.org")
	srv.SetAttr(ldapAda, "displayName")
	id, found, err = l.Lookup(ctx, ldapAda)
	if err != nil || !found || id.Email != "countess@example.org" || id.Profile["name"] != "Ada Lovelace" {
		t.Fatalf("Lookup after change: %+v, %v, %v", id, found, err)
	}
	// Bob no longer matches user_filter (no mail): he cannot sign in, so sync sees him as gone.
	srv.SetAttr(ldapBob, "mail")
	if _, found, err := l.Lookup(ctx, ldapBob); err != nil || found {
		t.Fatalf("Lookup of an entry user_filter leaves out: found %v, %v", found, err)
	}
	srv.Remove(ldapAda)
	if _, found, err := l.Lookup(ctx, ldapAda); err != nil || found {
		t.Fatalf("Lookup after removal: found %v, %v", found, err)
	}
	// Not a person (a group), not in this directory, not a DN: none is found.
	for _, dn := range []string{"uid=nobody,ou=elsewhere,dc=other,dc=org", ldapAdmins, "not a dn"} {
		if _, found, err := l.Lookup(ctx, dn); err != nil || found {
			t.Fatalf("Lookup %q: found %v, %v", dn, found, err)
		}
	}
	srv.Add(ldaptest.NewEntry("uid=eve,dc=other,dc=org", "objectClass", "person", "mail", "eve@other.org"))
	if _, found, err := l.Lookup(ctx, "uid=eve,dc=other,dc=org"); err != nil || found {
		t.Fatalf("Lookup outside base_dn: found %v, %v", found, err)
	}
	if srv.Binds() != srv.BindsAs(ldapService) {
		t.Error("Lookup bound as someone other than the service account")
	}
}

func TestLDAPSubjectFromIDAttribute(t *testing.T) {
	t.Parallel()
	guid := string([]byte{0x01, 0x9a, 0xff, 0x00, 0x10, 0x7f, 0x80, 0x41})
	entries := ldapEntries()
	entries[2].Attrs["objectGUID"] = []string{guid}
	srv := ldaptest.Start(t, entries...)
	ctx := ctxFor(t, 10*time.Second)
	for attr, want := range map[string]string{
		"entryUUID":  "6f1e4a3c-0000-4000-8000-00000000ada0",
		"objectGUID": "019aff00107f8041",
	} {
		c := ldapConnection(srv.URL())
		c.Attributes = map[string]string{"id": attr}
		l := buildLDAP(t, c, nil)
		id, err := l.Authenticate(ctx, "ada@example.org", "analytical")
		if err != nil || id.Subject != want {
			t.Fatalf("%s: subject %q, %v; want %q", attr, id.Subject, err, want)
		}
		// A rename keeps the subject; Lookup finds the entry by it.
		srv.Remove(ldapAda)
		moved := entries[2]
		moved.DN = "uid=ada,ou=alumni,dc=example,dc=org"
		srv.Add(moved)
		got, found, err := l.Lookup(ctx, want)
		if err != nil || !found || got.Subject != want || !strings.EqualFold(got.Claims["uid"].(string), "ada") {
			t.Fatalf("%s: Lookup after rename: %+v, %v, %v", attr, got, found, err)
		}
		srv.Remove(moved.DN)
		if _, found, err := l.Lookup(ctx, want); err != nil || found {
			t.Fatalf("%s: Lookup after removal: found %v, %v", attr, found, err)
		}
		srv.Add(entries[2])
	}
}

func TestLDAPCloseLeavesNoGoroutines(t *testing.T) {
	srv := ldaptest.Start(t, ldapEntries()...)
	before := runtime.NumGoroutine()
	impl, err := newLDAP(context.Background(), Env{}, ldapConnection(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	l := impl.(*ldapConnector)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	l.Close()
	if _, err := l.Authenticate(ctxFor(t, 10*time.Second), "ada@example.org", "analytical"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("after Close: %v", err)
	}
	srv.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func BenchmarkLDAPAuthenticate(b *testing.B) {
	srv := ldaptest.Start(b, ldapEntries()...)
	l := buildLDAP(b, ldapConnection(srv.URL()), nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Authenticate(ctx, "ada@example.org", "analytical"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
