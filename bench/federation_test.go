package bench

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/federation/ldaptest"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/session"
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

// The upstream of BenchmarkUpstreamOIDCSignIn: a second tenant of the same server as OpenID provider.
const (
	upstreamTenant = "corp-idp"
	upstreamConn   = "corp"
	upstreamClient = "umm-downstream"
	upstreamSecret = "downstream-client-secret-0123456789"
)

// The first-party app's PKCE pair (RFC 7636 appendix B), as in BenchmarkCodeFlowSSO.
const (
	pkceVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	pkceChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

var startButton = regexp.MustCompile(`href="([^"]*/connections/` + upstreamConn + `/start[^"]*)"`)

// BenchmarkUpstreamOIDCSignIn measures federated sign-ins per second at an app of one tenant whose people
// sign in at an OpenID provider, here a second tenant of the same server, so both ends are UMM and run
// on the same cores. signInWorkers browsers, each with an SSO session at the provider, alternate rounds
// of two variants in the same run:
//
//   - federated: the browser has no session at the app's tenant: GET /authorize, the sign-in page, the
//     "Sign in with" button (start), the provider's /authorize answered from its SSO session (no
//     password), the callback (the code exchanged at the provider's token endpoint, the ID token
//     checked, the provider's userinfo read, the linked account refreshed, a session created), and the
//     code to the app;
//   - sso, the peer: the same browser with the session the federated round left: GET /authorize and the
//     code straight away (BenchmarkCodeFlowSSO's path).
//
// Both end with the app's token exchange. It reports both rates and the federated rate as a share of the
// SSO rate: what signing in at an upstream adds to a code flow. The provider's discovery document and
// keys are fetched by the first sign-in before the timer and then reused, as they are in production.
func BenchmarkUpstreamOIDCSignIn(b *testing.B) {
	var people []string
	srv := servertest.New(b, servertest.WithBackend(benchBackend()), servertest.WithConfig(productionSignIn),
		servertest.WithConfig(func(c *config.Config) {
			app, public := c.Tenants[0].ID, c.Server.PublicURL
			var users []config.UserSeed
			for i := range signInWorkers {
				email := fmt.Sprintf("person%d@corp.example", i)
				users = append(users, config.UserSeed{Email: email, Password: corpPassword, GivenName: "Person", FamilyName: fmt.Sprint(i), EmailVerified: true})
				people = append(people, email)
			}
			c.Tenants[0].Connections = append(c.Tenants[0].Connections, config.Connection{ID: upstreamConn, Type: config.ConnOIDC,
				DisplayName: "Corporate IdP", Issuer: public + "/t/" + upstreamTenant, ClientID: upstreamClient, ClientSecret: upstreamSecret})
			c.Tenants = append(c.Tenants, config.TenantSeed{ID: upstreamTenant, Name: "Corporate IdP", Users: users,
				Clients: []config.ClientSeed{{ClientID: upstreamClient, ClientSecret: upstreamSecret, Name: "UMM app tenant",
					RedirectURIs: []string{public + "/t/" + app + "/connections/" + upstreamConn + "/callback"},
					GrantTypes:   []string{"authorization_code"}, TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true}},
				Login: &config.Login{NewDeviceEmail: new(false)}})
		}))
	token := client()
	authorize := srv.TenantURL("/authorize?" + url.Values{"response_type": {"code"}, "client_id": {srv.FirstParty.ID},
		"redirect_uri": {srv.FirstParty.RedirectURI}, "scope": {"openid"}, "state": {"s"},
		"code_challenge": {pkceChallenge}, "code_challenge_method": {"S256"}}.Encode())
	upstreamAuthorize := "/t/" + upstreamTenant + "/authorize"
	appLogin := "/t/" + srv.Tenant + "/login"
	appCookies, err := url.Parse(srv.Issuer + "/")
	if err != nil {
		b.Fatal(err)
	}

	// codeFlow runs the app's code flow in br up to its token exchange and reports whether it went
	// through the provider; a flow that lands on a page it does not expect is an error.
	codeFlow := func(br *servertest.Browser) (upstream bool, err error) {
		next := authorize
		for range 16 {
			resp, body := br.Get(next)
			switch {
			case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
				loc, err := resp.Location()
				if err != nil {
					return upstream, err
				}
				if strings.HasPrefix(loc.String(), srv.FirstParty.RedirectURI) {
					code := loc.Query().Get("code")
					if code == "" {
						return upstream, fmt.Errorf("the app got no code: %s", loc)
					}
					body, err := post(token, srv.TenantURL("/token"), url.Values{"grant_type": {"authorization_code"}, "code": {code},
						"redirect_uri": {srv.FirstParty.RedirectURI}, "code_verifier": {pkceVerifier}}, srv.FirstParty.ID, srv.FirstParty.Secret)
					if err == nil && !strings.Contains(body, `"id_token"`) {
						err = fmt.Errorf("token response without an ID token: %s", body)
					}
					return upstream, err
				}
				upstream = upstream || loc.Path == upstreamAuthorize
				next = loc.String()
			case resp.StatusCode == http.StatusOK && resp.Request.URL.Path == appLogin:
				// The app tenant's sign-in page: click "Sign in with Corporate IdP".
				m := startButton.FindStringSubmatch(body)
				if m == nil {
					return upstream, fmt.Errorf("the sign-in page has no button of connection %s:\n%s", upstreamConn, body)
				}
				href, err := resp.Request.URL.Parse(html.UnescapeString(m[1]))
				if err != nil {
					return upstream, err
				}
				next = href.String()
			default:
				return upstream, fmt.Errorf("GET %s: %d %s", next, resp.StatusCode, body)
			}
		}
		return upstream, errors.New("the code flow did not reach the app within 16 requests")
	}
	federated := func(br *servertest.Browser) error {
		// Forget the app tenant's session (only that cookie; the provider's session and the browser's
		// own cookies stay), as for someone who comes to the app with only a corporate SSO session.
		br.Jar.SetCookies(appCookies, []*http.Cookie{{Name: session.CookieName, Path: "/t/" + srv.Tenant + "/", MaxAge: -1}})
		up, err := codeFlow(br)
		if err == nil && !up {
			err = errors.New("a federated sign-in did not go through the provider")
		}
		return err
	}
	sso := func(br *servertest.Browser) error {
		up, err := codeFlow(br)
		if err == nil && up {
			err = errors.New("a browser with a session at the app went to the provider")
		}
		return err
	}

	browsers := make([]*servertest.Browser, signInWorkers)
	for i := range browsers {
		br := srv.NewBrowser(b)
		f, _, _ := br.GetForm(srv.URL + "/t/" + upstreamTenant + "/login")
		if resp, body := br.Submit(f, url.Values{"email": {people[i]}, "password": {corpPassword}}); resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("sign-in at the provider: %d %s", resp.StatusCode, body)
		}
		browsers[i] = br
	}
	// The first federated sign-in of each person creates the app tenant's account and links it (and
	// fetches the provider's discovery document and keys); it also leaves the session the first SSO
	// round uses.
	if _, err := concurrently(signInWorkers, func(i int) error { return federated(browsers[i]) }); err != nil {
		b.Fatal(err)
	}
	for _, email := range people {
		if _, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, email); err != nil {
			b.Fatalf("%s has no account at the app tenant after a federated sign-in: %v", email, err)
		}
	}

	var fed, plain time.Duration
	for b.Loop() {
		d, err := concurrently(signInWorkers, func(i int) error { return federated(browsers[i]) })
		if err != nil {
			b.Fatal(err)
		}
		fed += d
		if d, err = concurrently(signInWorkers, func(i int) error { return sso(browsers[i]) }); err != nil {
			b.Fatal(err)
		}
		plain += d
	}
	n := float64(b.N * signInWorkers)
	fedRate, ssoRate := n/fed.Seconds(), n/plain.Seconds()
	b.ReportMetric(fedRate, "federated-signins/s")
	b.ReportMetric(ssoRate, "sso-codeflows/s")
	b.ReportMetric(fedRate/ssoRate, "federated/sso")
	b.ReportMetric(0, "ns/op") // the rates are the result
}
