package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/federation/ldaptest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// The directory tests sign in on the ordinary sign-in form with a directory's password (ldaptest, in
// the test process): routed by the address's domain, or as a fallback for addresses without a local
// password, in federated and in import mode.

const (
	dirBase     = "dc=example,dc=org"
	dirService  = "cn=umm,ou=services,dc=example,dc=org"
	dirAda      = "uid=ada,ou=people,dc=example,dc=org"
	dirAdmins   = "cn=admins,ou=groups,dc=example,dc=org"
	dirEmail    = "ada@example.org"
	dirPassword = "analytical-engine-1843"
)

// directory runs a directory with a service account and ada, a member of admins.
func directory(t *testing.T) *ldaptest.Server {
	t.Helper()
	return ldaptest.Start(t,
		ldaptest.NewEntry(dirBase, "objectClass", "domain", "dc", "example"),
		ldaptest.NewEntry(dirService, "objectClass", "person", "cn", "umm", "userPassword", "service-secret"),
		ldaptest.NewEntry(dirAda, "objectClass", "person", "objectClass", "inetOrgPerson", "uid", "ada",
			"mail", dirEmail, "givenName", "Ada", "sn", "Lovelace", "cn", "Ada Lovelace",
			"memberOf", dirAdmins, "userPassword", dirPassword),
		ldaptest.NewEntry(dirAdmins, "objectClass", "groupOfNames", "cn", "admins", "member", dirAda),
	)
}

// dirServer is a server whose tenant has LDAP connection "dir" at dir, changed by change.
func dirServer(t *testing.T, backend string, dir *ldaptest.Server, change func(*config.Connection), opts ...servertest.Option) *servertest.Server {
	t.Helper()
	c := config.Connection{ID: "dir", Type: config.ConnLDAP, DisplayName: "Example Directory", URL: dir.URL(),
		BindDN: dirService, BindPassword: "service-secret", BaseDN: dirBase,
		UserFilter: "(&(objectClass=person)(mail={login}))", Domains: []string{"example.org"},
		RoleMapping: map[string]config.Strings{dirAdmins: {"admin"}}, Timeout: config.Duration(2 * time.Second)}
	if change != nil {
		change(&c)
	}
	opts = append([]servertest.Option{servertest.WithBackend(backend),
		servertest.WithSeed(func(ts *config.TenantSeed) { ts.Connections = append(ts.Connections, c) })}, opts...)
	return servertest.New(t, opts...)
}

// passwordSignIn submits email and password on the sign-in page of a new authorization request in a
// new browser and returns the answer with redirects on the server followed, and the request's state
// and verifier.
func passwordSignIn(t *testing.T, srv *servertest.Server, email, password string) (*http.Response, string, string, string) {
	t.Helper()
	b := srv.NewBrowser(t)
	authz, state, verifier := authorizeURL(srv, nil)
	resp, _ := b.Get(authz)
	form, _, _ := b.GetForm(servertest.Location(t, resp).String(), "/login")
	resp, body := b.Submit(form, url.Values{"email": {email}, "password": {password}})
	resp, body = follow(t, srv, b, resp, body)
	return resp, body, state, verifier
}

// formError is the page's error summary (the text the person reads).
func formError(body string) string {
	_, after, ok := strings.Cut(body, `role="alert"`)
	if !ok {
		return ""
	}
	_, after, _ = strings.Cut(after, ">")
	msg, _, _ := strings.Cut(after, "<")
	return strings.TrimSpace(msg)
}

// TestLDAPFederatedSignIn: an address at the directory's domain signs in with the directory's password;
// the account is created and linked with the mapped profile and roles, and the directory keeps them.
// A wrong password answers as a local one does; a directory that is down answers a page, not an error.
func TestLDAPFederatedSignIn(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := directory(t)
			srv := dirServer(t, backend, dir, nil)
			ctx := context.Background()

			resp, body, state, verifier := passwordSignIn(t, srv, dirEmail, dirPassword)
			claims := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)
			u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, dirEmail)
			if err != nil || claims["sub"] != u.ID {
				t.Fatalf("the account %+v (%v) is not the token's subject %v", u, err, claims["sub"])
			}
			if u.GivenName != "Ada" || u.FamilyName != "Lovelace" || !slices.Contains(u.Roles, "admin") {
				t.Errorf("the account's profile and roles: %+v", u)
			}
			if _, err := srv.DB.GetPasswordHash(ctx, srv.Tenant, u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("federated mode stored a local password (%v)", err)
			}
			if hows := linkedHows(t, srv); !slices.Equal(hows, []string{"created"}) {
				t.Errorf("identity.linked hows = %v", hows)
			}
			ok := tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)
			if len(ok) != 1 || asString(ok[0].Data["connection"]) != "dir" {
				t.Errorf("login.succeeded = %+v", ok)
			}

			// The directory is the source of truth: a new name and a lost group apply at the next sign-in.
			dir.SetAttr(dirAda, "givenName", "Augusta")
			dir.SetAttr(dirAda, "memberOf")
			dir.SetAttr(dirAdmins, "member")
			resp, body, state, verifier = passwordSignIn(t, srv, dirEmail, dirPassword)
			redeem(t, srv, resp, body, state, verifier)
			u, _ = srv.Identity.FindUserByEmail(ctx, srv.Tenant, dirEmail)
			if u.GivenName != "Augusta" || slices.Contains(u.Roles, "admin") {
				t.Errorf("after the directory changed, the account is %+v", u)
			}

			// A wrong password: the same answer as a wrong local password, and login.failed.
			failed := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginFailed))
			resp, local, _, _ := passwordSignIn(t, srv, srv.User.Email, "wrong-"+servertest.RandomString(8))
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("a wrong local password answered %d", resp.StatusCode)
			}
			resp, body, _, _ = passwordSignIn(t, srv, dirEmail, "wrong-"+servertest.RandomString(8))
			if resp.StatusCode != http.StatusUnprocessableEntity || formError(body) == "" || formError(body) != formError(local) {
				t.Errorf("a wrong directory password answered %d %q, a wrong local one %q:\n%s", resp.StatusCode, formError(body), formError(local), body)
			}
			if got := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginFailed)); got != failed+2 {
				t.Errorf("%d login.failed events, want %d", got, failed+2)
			}

			// The directory down: a page saying so, not a crash and not "wrong password".
			dir.Stop()
			resp, body, _, _ = passwordSignIn(t, srv, dirEmail, dirPassword)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "Sign-in service unavailable") {
				t.Errorf("with the directory stopped the sign-in answered %d:\n%s", resp.StatusCode, body)
			}
		})
	}
}

// TestLDAPImportMode: the first sign-in moves the user in with the password the directory accepted;
// after that the directory is not asked, and the account signs in with it stopped.
func TestLDAPImportMode(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := directory(t)
			srv := dirServer(t, backend, dir, func(c *config.Connection) { c.Mode = config.LDAPImport })
			ctx := context.Background()

			resp, body, state, verifier := passwordSignIn(t, srv, dirEmail, dirPassword)
			redeem(t, srv, resp, body, state, verifier)
			u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, dirEmail)
			if err != nil || u.GivenName != "Ada" || !slices.Contains(u.Roles, "admin") {
				t.Fatalf("the imported account: %+v, %v", u, err)
			}
			if _, err := srv.DB.GetPasswordHash(ctx, srv.Tenant, u.ID); err != nil {
				t.Errorf("import mode stored no password: %v", err)
			}
			if hows := linkedHows(t, srv); !slices.Equal(hows, []string{"imported"}) {
				t.Errorf("identity.linked hows = %v, want [imported]", hows)
			}

			binds := dir.Binds()
			dir.Stop()
			resp, body, state, verifier = passwordSignIn(t, srv, dirEmail, dirPassword)
			if sub := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]; sub != u.ID {
				t.Errorf("the local sign-in is %v, want %s", sub, u.ID)
			}
			if dir.Binds() != binds {
				t.Errorf("the directory was asked again after the import")
			}
			// The imported password is the one checked now: a wrong one fails locally.
			if resp, _, _, _ := passwordSignIn(t, srv, dirEmail, "wrong-"+servertest.RandomString(8)); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("a wrong password after the import answered %d", resp.StatusCode)
			}
		})
	}
}

// TestLDAPFallback: with fallback: true (and no domain), an address without a local account signs in
// at the directory, while a local account with a password still signs in locally without asking it.
func TestLDAPFallback(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := directory(t)
			// The directory also knows the local user's address, with another password: the local one wins.
			dir.Add(ldaptest.NewEntry("uid=alice,ou=people,"+dirBase, "objectClass", "person", "uid", "alice",
				"mail", servertest.UserEmail, "userPassword", "directory-password-of-alice"))
			srv := dirServer(t, backend, dir, func(c *config.Connection) { c.Domains, c.Fallback = nil, true })

			resp, body, state, verifier := passwordSignIn(t, srv, dirEmail, dirPassword)
			redeem(t, srv, resp, body, state, verifier)
			if _, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, dirEmail); err != nil {
				t.Errorf("the fallback sign-in made no account: %v", err)
			}

			binds := dir.BindsAs("uid=alice,ou=people," + dirBase)
			resp, body, state, verifier = passwordSignIn(t, srv, srv.User.Email, srv.User.Password)
			if sub := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]; sub != srv.User.ID {
				t.Errorf("the local account signed in as %v", sub)
			}
			resp, _, _, _ = passwordSignIn(t, srv, srv.User.Email, "directory-password-of-alice")
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("the directory's password of a local account answered %d, want a refusal", resp.StatusCode)
			}
			if dir.BindsAs("uid=alice,ou=people,"+dirBase) != binds {
				t.Error("a local account's sign-in asked the directory")
			}
		})
	}
}

// TestLDAPRefusals: the directory's refusals and UMM's own answer like a wrong local password, and
// guessing is throttled before the directory is asked: a person removed from the directory, an account
// disabled here (even with the right directory password), and a run of wrong passwords.
func TestLDAPRefusals(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := directory(t)
			srv := dirServer(t, backend, dir, nil)
			ctx := context.Background()
			resp, body, state, verifier := passwordSignIn(t, srv, dirEmail, dirPassword)
			redeem(t, srv, resp, body, state, verifier)
			u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, dirEmail)
			if err != nil {
				t.Fatal(err)
			}
			_, local, _, _ := passwordSignIn(t, srv, srv.User.Email, "wrong-"+servertest.RandomString(8))
			refused := func(what string) {
				t.Helper()
				resp, body, _, _ := passwordSignIn(t, srv, dirEmail, dirPassword)
				if resp.StatusCode != http.StatusUnprocessableEntity || formError(body) != formError(local) {
					t.Errorf("%s: answered %d %q, want %q:\n%s", what, resp.StatusCode, formError(body), formError(local), body)
				}
			}

			if err := srv.Admin.SetDisabled(ctx, srv.Tenant, u.ID, true, "test"); err != nil {
				t.Fatal(err)
			}
			refused("an account disabled here")
			if err := srv.Admin.SetDisabled(ctx, srv.Tenant, u.ID, false, "test"); err != nil {
				t.Fatal(err)
			}

			dir.Remove(dirAda)
			refused("a person removed from the directory")
			dir.Add(ldaptest.NewEntry(dirAda, "objectClass", "person", "mail", dirEmail, "userPassword", dirPassword))

			// Guessing: once the account's budget is spent, the directory is no longer asked.
			for range 12 {
				passwordSignIn(t, srv, dirEmail, "guess-"+servertest.RandomString(8))
			}
			binds := dir.BindsAs(dirAda)
			for range 3 {
				passwordSignIn(t, srv, dirEmail, "guess-"+servertest.RandomString(8))
			}
			if dir.BindsAs(dirAda) != binds {
				t.Errorf("the directory was asked %d more times after the budget was spent", dir.BindsAs(dirAda)-binds)
			}
			refused("the right password while throttled")
		})
	}
}

// TestLDAPIdentifierFirstAndExistingAccount: on an identifier-first page an address at the directory's
// domain gets the password step and signs in at the directory; an account of the tenant with that
// address is linked only with proof, or at once when the connection trusts the directory's addresses.
func TestLDAPIdentifierFirstAndExistingAccount(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		for _, trust := range []bool{false, true} {
			t.Run(backend+map[bool]string{false: "/proof", true: "/trust_email"}[trust], func(t *testing.T) {
				t.Parallel()
				dir := directory(t)
				srv := dirServer(t, backend, dir, func(c *config.Connection) { c.TrustEmail = trust },
					servertest.WithSeed(func(ts *config.TenantSeed) {
						ts.Login.Methods = []string{config.MethodPassword, config.MethodEmailCode}
						ts.Users = append(ts.Users, config.UserSeed{Email: dirEmail, Password: "local-password-of-ada-77", EmailVerified: true})
					}))
				local, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, dirEmail)
				if err != nil {
					t.Fatal(err)
				}
				b := srv.NewBrowser(t)
				authz, state, verifier := authorizeURL(srv, nil)
				resp, _ := b.Get(authz)
				form, _, page := b.GetForm(servertest.Location(t, resp).String(), "/login")
				if _, ok := form.Values["password"]; ok {
					t.Fatalf("the page is not identifier-first:\n%s", page)
				}
				resp, body := b.Submit(form, url.Values{"email": {dirEmail}})
				var pw *servertest.Form
				for _, f := range servertest.ParseForms(resp.Request.URL, body) {
					if _, ok := f.Values["password"]; ok {
						pw = &f
					}
				}
				if resp.StatusCode != http.StatusOK || pw == nil {
					t.Fatalf("the directory's address answered %d without a password step:\n%s", resp.StatusCode, body)
				}
				resp, body = b.Submit(*pw, url.Values{"email": {dirEmail}, "password": {dirPassword}})
				resp, body = follow(t, srv, b, resp, body)
				if !trust {
					if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/t/"+srv.Tenant+"/connections/link" {
						t.Fatalf("the directory sign-in of an existing address ended at %s %d, want the link page:\n%s",
							resp.Request.URL, resp.StatusCode, body)
					}
					forms := linkForms(t, resp, body)
					resp, body = b.Submit(forms["password"], url.Values{"action": {"password"}, "password": {"local-password-of-ada-77"}})
					resp, body = follow(t, srv, b, resp, body)
				}
				if sub := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]; sub != local.ID {
					t.Errorf("signed in as %v, want the existing account %s", sub, local.ID)
				}
				want := map[bool]string{false: "proved_password", true: "trusted_email"}[trust]
				if hows := linkedHows(t, srv); !slices.Equal(hows, []string{want}) {
					t.Errorf("identity.linked hows = %v, want [%s]", hows, want)
				}
			})
		}
	}
}

// TestLDAPDirectoryHangs: a directory that stops answering costs the sign-in at most the connection's
// timeout, and answers the unavailable page rather than a wrong password or an error.
func TestLDAPDirectoryHangs(t *testing.T) {
	t.Parallel()
	dir := directory(t)
	const timeout = 500 * time.Millisecond
	srv := dirServer(t, "sqlite", dir, func(c *config.Connection) { c.Timeout = config.Duration(timeout) })
	dir.SetHang(true)
	start := time.Now()
	resp, body, _, _ := passwordSignIn(t, srv, dirEmail, dirPassword)
	if took := time.Since(start); took > timeout*6 {
		t.Errorf("the sign-in took %v with a %v timeout", took, timeout)
	}
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "Sign-in service unavailable") {
		t.Errorf("a hanging directory answered %d:\n%s", resp.StatusCode, body)
	}
	dir.SetHang(false)
	resp, body, state, verifier := passwordSignIn(t, srv, dirEmail, dirPassword)
	redeem(t, srv, resp, body, state, verifier)
}
