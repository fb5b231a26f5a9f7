package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/federation/ldaptest"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
)

// productionSignIn gives a benchmark server the default (production) password hashing and takes the
// sign-in budgets out of the way: the benchmarks sign the same people in thousands of times from one
// address, which a real deployment would rightly throttle.
func productionSignIn(c *config.Config) {
	def := config.Default().Security
	c.Security.Argon2MemoryKiB, c.Security.Argon2Iterations, c.Security.Argon2Parallelism = def.Argon2MemoryKiB, def.Argon2Iterations, def.Argon2Parallelism
	c.Security.IPLimitPerMinute = 1 << 30
	c.Security.AccountLockoutThreshold = 1 << 30
	c.Security.DeviceLockoutThreshold, c.Security.AccountHardLockThreshold = 1<<30, 1<<31
}

// concurrently runs fn for each of n workers at once and answers how long the slowest took, or the
// first error: one round of a benchmark that alternates rounds of two variants.
func concurrently(n int, fn func(i int) error) (time.Duration, error) {
	start := time.Now()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// The corporate directory of BenchmarkLDAPSignIn.
const (
	corpPeople      = "ou=people,dc=corp,dc=example"
	corpService     = "cn=umm,dc=corp,dc=example"
	corpServicePass = "service-bind-secret-0123"
	corpPassword    = "granite-willow-harbor-83"
	// directoryCallsPerWorker is how many Authenticate calls each worker makes in a round of the
	// directory-alone phase: one call is a fraction of a millisecond, too short to time on its own.
	directoryCallsPerWorker = 8
)

// BenchmarkLDAPSignIn measures full hosted sign-ins per second through the ordinary password form, in
// the same run and in alternating rounds, signInWorkers new browsers at a time:
//
//   - local: users with a password of UMM's own (argon2id with the default parameters), the peer;
//   - ldap: users at an address of the corporate domain, which an LDAP connection in federated mode
//     owns, so every sign-in is a search and a bind at the directory instead of a hash, and then the
//     refresh of the linked account (linked by a sign-in before the timer starts);
//   - directory: the connection's Authenticate alone (search, then bind, on the connector's pooled
//     connections) against the same in-process directory, which is what an LDAP sign-in adds.
//
// It reports the three rates, how many times the local rate the LDAP rate is, and what share of an LDAP
// sign-in's time its directory calls take at the same concurrency.
func BenchmarkLDAPSignIn(b *testing.B) {
	ctx := context.Background()
	entries := []ldaptest.Entry{ldaptest.NewEntry(corpService, "objectClass", "person", "cn", "umm", "userPassword", corpServicePass)}
	var staff, staffDNs, locals []string
	for i := range signInWorkers {
		uid := fmt.Sprintf("staff%d", i)
		dn := "uid=" + uid + "," + corpPeople
		entries = append(entries, ldaptest.NewEntry(dn, "objectClass", "person", "uid", uid, "mail", uid+"@corp.example",
			"givenName", "Staff", "sn", fmt.Sprint(i), "userPassword", corpPassword))
		staff, staffDNs = append(staff, uid+"@corp.example"), append(staffDNs, dn)
	}
	dir := ldaptest.Start(b, entries...)
	srv := servertest.New(b, servertest.WithBackend(benchBackend()), servertest.WithConfig(productionSignIn),
		servertest.WithSeed(func(ts *config.TenantSeed) {
			ts.Connections = append(ts.Connections, config.Connection{ID: "directory", Type: config.ConnLDAP,
				DisplayName: "Corporate directory", URL: dir.URL(), BindDN: corpService, BindPassword: corpServicePass,
				BaseDN: corpPeople, UserFilter: "(&(objectClass=person)(mail={login}))", Domains: []string{"corp.example"},
				Mode: config.LDAPFederated, Timeout: config.Duration(10 * time.Second)})
		}))
	for i := range signInWorkers {
		email := fmt.Sprintf("local%d@example.com", i)
		if _, err := srv.Identity.CreateUser(ctx, srv.Tenant, identity.NewUser{Email: email, Password: corpPassword, EmailVerified: true}, "bench"); err != nil {
			b.Fatal(err)
		}
		locals = append(locals, email)
	}

	signIn := func(email string) error {
		br := servertest.NewBrowser(b)
		f, _, _ := br.GetForm(srv.TenantURL("/login"))
		resp, body := br.Submit(f, url.Values{"email": {email}, "password": {corpPassword}})
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/account") {
			return fmt.Errorf("sign-in of %s: %d %s %s", email, resp.StatusCode, resp.Header.Get("Location"), body)
		}
		return nil
	}
	// The first sign-in of each directory user creates the account and links it; the measured ones are
	// those of returning people, as on any working day.
	if _, err := concurrently(signInWorkers, func(i int) error { return signIn(staff[i]) }); err != nil {
		b.Fatal(err)
	}
	for _, email := range staff {
		u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, email)
		if err != nil {
			b.Fatalf("directory user %s has no account after signing in: %v", email, err)
		}
		// No local password: every later sign-in of this account can only have been checked by the directory.
		if _, err := srv.DB.GetPasswordHash(ctx, srv.Tenant, u.ID); !errors.Is(err, store.ErrNotFound) {
			b.Fatalf("directory user %s has a local password (err %v)", email, err)
		}
	}
	conn, err := srv.Federation.Connector(ctx, srv.Tenant, "directory")
	if err != nil {
		b.Fatal(err)
	}
	pc := conn.PasswordChecker()
	if pc == nil {
		b.Fatal("the LDAP connection checks no passwords")
	}
	authenticate := func(i int) error {
		for range directoryCallsPerWorker {
			who, err := pc.Authenticate(ctx, staff[i], corpPassword)
			if err != nil {
				return fmt.Errorf("directory: %s: %w", staff[i], err)
			}
			if !strings.EqualFold(who.Subject, staffDNs[i]) {
				return fmt.Errorf("directory: %s is %q, want %q", staff[i], who.Subject, staffDNs[i])
			}
		}
		return nil
	}
	bindsBefore := int64(0)
	for _, dn := range staffDNs {
		bindsBefore += dir.BindsAs(dn)
	}

	var local, ldap, directory time.Duration
	for b.Loop() {
		for _, r := range []struct {
			total *time.Duration
			fn    func(int) error
		}{
			{&local, func(i int) error { return signIn(locals[i]) }},
			{&ldap, func(i int) error { return signIn(staff[i]) }},
			{&directory, authenticate},
		} {
			d, err := concurrently(signInWorkers, r.fn)
			if err != nil {
				b.Fatal(err)
			}
			*r.total += d
		}
	}
	b.StopTimer()
	binds := int64(0)
	for _, dn := range staffDNs {
		binds += dir.BindsAs(dn)
	}
	if want := int64(b.N * signInWorkers * (1 + directoryCallsPerWorker)); binds-bindsBefore != want {
		b.Fatalf("the directory saw %d binds of the staff, want %d: some sign-ins did not reach it", binds-bindsBefore, want)
	}

	n := float64(b.N * signInWorkers)
	localRate, ldapRate := n/local.Seconds(), n/ldap.Seconds()
	dirRate := n * directoryCallsPerWorker / directory.Seconds()
	b.ReportMetric(localRate, "local-signins/s")
	b.ReportMetric(ldapRate, "ldap-signins/s")
	b.ReportMetric(ldapRate/localRate, "ldap/local")
	b.ReportMetric(dirRate, "directory-auths/s")
	b.ReportMetric(100*ldapRate/dirRate, "directory-share-%")
	b.ReportMetric(0, "ns/op") // the rates are the result
}
