package server_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// More of the upstream sign-in: what goes wrong upstream, callbacks used twice or elsewhere, an identity
// linked to another account, guessing on the link page, and an address the upstream did not verify.

// TestFederatedUpstreamRefusal: refusing consent upstream comes back as a page saying the sign-in was
// not completed, and creates nothing.
func TestFederatedUpstreamRefusal(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{upClient: func(c *config.ClientSeed) { c.FirstParty = false }})
			before := userCount(t, srv)
			b := srv.NewBrowser(t)
			authz, _, _ := authorizeURL(srv, nil)
			resp, _ := b.Get(authz)
			resp, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), upEmail, upPassword)
			if !strings.HasPrefix(resp.Request.URL.Path, "/t/"+upTenant+"/consent") {
				t.Fatalf("the upstream asked no consent: %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			consent := servertest.ParseForms(resp.Request.URL, body)[0]
			resp, body = b.Submit(consent, url.Values{"decision": {"deny"}})
			resp, body = follow(t, srv, b, resp, body)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Sign-in not completed") ||
				!strings.HasSuffix(resp.Request.URL.Path, "/connections/"+upConnection+"/callback") {
				t.Errorf("a refusal upstream answered %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			if got := userCount(t, srv); got != before {
				t.Errorf("%d accounts, want %d", got, before)
			}
		})
	}
}

// toCallback follows b from resp until the next step is the downstream callback, and returns its URL.
func toCallback(t *testing.T, srv *servertest.Server, b *servertest.Browser, resp *http.Response, body string) *url.URL {
	t.Helper()
	for range 20 {
		loc := servertest.Location(t, resp)
		if loc.Path == "/t/"+srv.Tenant+"/connections/"+upConnection+"/callback" {
			return loc
		}
		resp, body = b.Get(loc.String())
		if resp.StatusCode == http.StatusOK {
			for _, f := range servertest.ParseForms(resp.Request.URL, body) {
				if _, ok := f.Values["password"]; ok {
					resp, body = b.Submit(f, url.Values{"email": {upEmail}, "password": {upPassword}})
					break
				}
			}
		}
	}
	t.Fatalf("the browser never came back to the callback (at %s)", resp.Request.URL)
	return nil
}

// TestFederatedCallbackOnceAndInItsBrowser: the upstream's answer signs in only the browser that
// started, and only once.
func TestFederatedCallbackOnceAndInItsBrowser(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{})
			b := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, url.Values{"connection": {upConnection}})
			resp, body := b.Get(authz)
			cb := toCallback(t, srv, b, resp, body)

			other := srv.NewBrowser(t)
			resp, body = other.Get(cb.String())
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "another browser") {
				t.Errorf("the callback in another browser answered %d:\n%s", resp.StatusCode, body)
			}
			resp, body = b.Get(cb.String())
			resp, body = follow(t, srv, b, resp, body)
			redeem(t, srv, resp, body, state, verifier)
			resp, body = b.Get(cb.String())
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the callback used twice answered %d:\n%s", resp.StatusCode, body)
			}
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)); n != 1 {
				t.Errorf("%d sign-ins, want 1", n)
			}
			// A state nobody issued, and none at all.
			for _, q := range []string{"?state=" + servertest.RandomString(16) + "&code=x", ""} {
				if resp, body := b.Get(srv.TenantURL("/connections/" + upConnection + "/callback" + q)); resp.StatusCode != http.StatusBadRequest {
					t.Errorf("callback%s answered %d:\n%s", q, resp.StatusCode, body)
				}
			}
		})
	}
}

// TestFederatedLinkFromAccountTaken: an identity linked to one account cannot be linked to another from
// the account page.
func TestFederatedLinkFromAccountTaken(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{})
			// The upstream identity signs in first and gets its own account.
			b := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ := b.Get(authz)
			resp, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), upEmail, upPassword)
			owner := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]

			alice := signedIn(t, srv)
			resp, body = alice.Get(srv.TenantURL("/connections/" + upConnection + "/start?link=1"))
			resp, body = upstreamLogin(t, srv, alice, resp, body, upEmail, upPassword)
			if resp.Request.URL.Query().Get("error") != "identity_taken" {
				t.Errorf("linking a taken identity ended at %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			if ids, _ := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, srv.User.ID); len(ids) != 0 {
				t.Errorf("alice's identities = %+v", ids)
			}
			u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, upEmail)
			if err != nil || u.ID != owner {
				t.Fatalf("the owner: %+v, %v", u, err)
			}
			if ids, _ := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, u.ID); len(ids) != 1 {
				t.Errorf("the owner's identities = %+v", ids)
			}
			// Starting a link without being signed in goes to the sign-in page.
			resp, _ = srv.NewBrowser(t).Get(srv.TenantURL("/connections/" + upConnection + "/start?link=1"))
			if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(servertest.Location(t, resp).Path, "/login") {
				t.Errorf("a link start without a session answered %d", resp.StatusCode)
			}
		})
	}
}

// TestFederatedLinkPasswordGuessing: wrong passwords on the link page count on the account's sign-in
// budget like the sign-in form's: they are login.failed events, and after enough of them even the right
// password is refused for a while, so the link page is no way around the lockout.
func TestFederatedLinkPasswordGuessing(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{upUsers: upstreamUser(false)})
			b := srv.NewBrowser(t)
			forms, _, _ := linkPage(t, srv, b)
			const guesses = 12
			for range guesses {
				resp, body := b.Submit(forms["password"], url.Values{"action": {"password"}, "password": {"guess-" + servertest.RandomString(8)}})
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("a wrong password answered %d:\n%s", resp.StatusCode, body)
				}
			}
			if failed := tenantEvents(t, srv, srv.Tenant, events.TypeLoginFailed); len(failed) == 0 || failed[0].Subject != srv.User.ID {
				t.Errorf("login.failed events after %d wrong passwords: %+v", guesses, failed)
			}
			resp, body := b.Submit(forms["password"], url.Values{"action": {"password"}, "password": {srv.User.Password}})
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("the right password right after %d wrong ones answered %d:\n%s", guesses, resp.StatusCode, body)
			}
			if hows := linkedHows(t, srv); len(hows) != 0 {
				t.Errorf("linked %v", hows)
			}
		})
	}
}

// TestFederatedUnverifiedUpstreamAddress: an account made from an upstream identity whose address the
// upstream did not verify must prove the address before it signs in, as a self-registered one does;
// otherwise whoever typed someone else's address upstream would hold an account in that person's name.
func TestFederatedUnverifiedUpstreamAddress(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			const email = "dave@corp.example"
			srv := fedServer(t, backend, relay, fedOptions{upUsers: []config.UserSeed{{Email: email, Password: upPassword, GivenName: "Dave"}}})
			b := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ := b.Get(authz)
			resp, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), email, upPassword)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Check your email") {
				t.Fatalf("an unverified upstream address answered %s %d, want the check-your-email page:\n%s",
					resp.Request.URL, resp.StatusCode, body)
			}
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)); n != 0 {
				t.Errorf("%d sign-ins before the address was proved", n)
			}
			verify := servertest.ParseForms(resp.Request.URL, body)[0]
			resp, body = b.Submit(verify, url.Values{"code": {codeOf(t, awaitMailTo(t, relay, 1, email))}})
			resp, body = follow(t, srv, b, resp, body)
			if claims := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken); claims["email"] != email || claims["email_verified"] != true {
				t.Errorf("ID token claims = %v", claims)
			}
		})
	}
}

// TestFederatedUnverifiedIdentityAfterRecovery: someone typed a victim's address at an upstream that
// does not verify addresses and signed in here, which made an unverified account linked to that
// identity. When the owner of the address then takes the account over by password recovery, that
// identity must not sign in to it any more.
func TestFederatedUnverifiedIdentityAfterRecovery(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			const victim = "victim@corp.example"
			srv := fedServer(t, backend, relay, fedOptions{upUsers: []config.UserSeed{{Email: victim, Password: upPassword}}})
			attacker := srv.NewBrowser(t)
			authz, _, _ := authorizeURL(srv, nil)
			resp, _ := attacker.Get(authz)
			resp, body := upstreamSignIn(t, srv, attacker, servertest.Location(t, resp), victim, upPassword)
			if !strings.Contains(body, "Check your email") {
				t.Fatalf("the attacker's first sign-in answered %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			relay.Await(t, 1) // the verification the attacker cannot read

			// The owner recovers the account through the mailbox.
			owner := srv.NewBrowser(t)
			codeForm := askRecovery(t, owner, tenantLogin(t, srv), victim)
			resp, body = owner.Submit(codeForm, url.Values{"code": {codeOf(t, awaitMailTo(t, relay, 2, victim))}})
			resp, body = owner.Submit(passwordFormIn(t, resp, body), url.Values{"password": {recPassword}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("choosing the password answered %d:\n%s", resp.StatusCode, body)
			}
			u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, victim)
			if err != nil {
				t.Fatal(err)
			}
			if ids, _ := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, u.ID); len(ids) != 0 {
				t.Errorf("after the recovery the account still has identities %+v", ids)
			}
			signIns := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded))

			// The attacker's identity comes back: it does not sign in to the owner's account.
			attacker = srv.NewBrowser(t)
			authz, _, _ = authorizeURL(srv, nil)
			resp, _ = attacker.Get(authz)
			resp, body = upstreamSignIn(t, srv, attacker, servertest.Location(t, resp), victim, upPassword)
			if resp.StatusCode >= 300 && resp.StatusCode < 400 {
				t.Errorf("after the recovery the upstream identity signed in to the account (to %s)", servertest.Location(t, resp))
			}
			for _, e := range tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)[signIns:] {
				if e.Subject == u.ID {
					t.Errorf("login.succeeded for the recovered account after the recovery: %+v", e)
				}
			}
		})
	}
}

// TestFederatedConnectionOptions: trust_amr carries what the upstream checked into the session (and only
// then), store_tokens keeps the upstream's tokens sealed on the identity (and only then).
func TestFederatedConnectionOptions(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		for _, on := range []bool{false, true} {
			t.Run(backend+map[bool]string{false: "/off", true: "/on"}[on], func(t *testing.T) {
				t.Parallel()
				srv := fedServer(t, backend, nil, fedOptions{conn: func(c *config.Connection) { c.TrustAMR, c.StoreTokens = on, on }})
				b := srv.NewBrowser(t)
				authz, state, verifier := authorizeURL(srv, nil)
				resp, _ := b.Get(authz)
				resp, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), upEmail, upPassword)
				claims := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)
				ok := tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)
				if len(ok) != 1 {
					t.Fatalf("login.succeeded = %+v", ok)
				}
				amr := asStrings(ok[0].Data["amr"])
				if slices.Contains(amr, "pwd") != on || !slices.Contains(amr, "fed") {
					t.Errorf("trust_amr %v: the session's amr is %v", on, amr)
				}
				ids, err := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, asString(claims["sub"]))
				if err != nil || len(ids) != 1 {
					t.Fatalf("identities = %+v, %v", ids, err)
				}
				if stored := len(ids[0].Tokens) > 0; stored != on {
					t.Errorf("store_tokens %v: tokens stored %v", on, stored)
				}
				if strings.Contains(string(ids[0].Tokens), "access_token") || strings.Contains(string(ids[0].Tokens), "eyJ") {
					t.Errorf("the upstream tokens are stored in the clear: %q", ids[0].Tokens)
				}
			})
		}
	}
}

// TestFederatedDisabledConnection: turning a connection off removes its button, stops routing and hints
// to it, and refuses the answer of a sign-in started before.
func TestFederatedDisabledConnection(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var conn config.Connection
			srv := fedServer(t, backend, nil, fedOptions{conn: func(c *config.Connection) { c.Domains = []string{"corp.example"}; conn = *c }})
			b := srv.NewBrowser(t)
			authz, _, _ := authorizeURL(srv, url.Values{"connection": {upConnection}})
			resp, body := b.Get(authz)
			cb := toCallback(t, srv, b, resp, body)

			conn.Disabled = true
			if _, err := srv.Admin.UpsertConnection(context.Background(), srv.Tenant, conn, 0, "test"); err != nil {
				t.Fatal(err)
			}
			resp, body = b.Get(cb.String())
			resp, body = follow(t, srv, b, resp, body)
			if resp.StatusCode < 400 {
				t.Errorf("the answer of a disabled connection was accepted: %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)); n != 0 {
				t.Errorf("%d sign-ins through a disabled connection", n)
			}

			b = srv.NewBrowser(t)
			authz, _, _ = authorizeURL(srv, url.Values{"connection": {upConnection}})
			resp, body = b.Get(authz)
			resp, body = follow(t, srv, b, resp, body)
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/t/"+srv.Tenant+"/login" || connectionButton(body, upDisplayName) != "" {
				t.Errorf("a hint to a disabled connection answered %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			form := servertest.ParseForms(resp.Request.URL, body)[0]
			resp, body = b.Submit(form, url.Values{"email": {upEmail}, "password": {"whatever-it-is-1"}})
			if strings.Contains(body, "Continue to") {
				t.Errorf("an address at a disabled connection's domain was routed to it:\n%s", body)
			}
			resp, body = b.Get(srv.TenantURL("/connections/" + upConnection + "/start"))
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("start of a disabled connection answered %d:\n%s", resp.StatusCode, body)
			}
		})
	}
}

// TestFederatedClaimDropsUnprovenIdentity: someone typed a victim's address at an upstream that does not
// verify addresses and so made an unverified account here. When the victim later signs in through an
// upstream that verified the address and proves the mailbox on the link page, the account becomes the
// victim's: the first identity, which never proved the address, no longer signs in to it.
func TestFederatedClaimDropsUnprovenIdentity(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			const victim, second = "victim@corp.example", "Second Login"
			srv := fedServer(t, backend, relay, fedOptions{
				upUsers: []config.UserSeed{{Email: victim, Password: upPassword}},
				config: func(c *config.Config) {
					callback := c.Server.PublicURL + "/t/" + servertest.TenantID + "/connections/second/callback"
					c.Tenants = append(c.Tenants, config.TenantSeed{ID: "up2", Name: "Second Upstream",
						Clients: []config.ClientSeed{{ClientID: upClientID, ClientSecret: upSecret, Name: "Downstream UMM",
							RedirectURIs: []string{callback}, GrantTypes: []string{"authorization_code"},
							TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true}},
						Users: []config.UserSeed{{Email: victim, Password: upPassword, EmailVerified: true}},
						Login: &config.Login{NewDeviceEmail: new(false)}})
					c.Tenants[0].Connections = append(c.Tenants[0].Connections, config.Connection{ID: "second", Type: config.ConnOIDC,
						DisplayName: second, Issuer: c.Server.PublicURL + "/t/up2", ClientID: upClientID, ClientSecret: upSecret})
				}})
			attacker := srv.NewBrowser(t)
			authz, _, _ := authorizeURL(srv, nil)
			resp, _ := attacker.Get(authz)
			resp, body := upstreamSignIn(t, srv, attacker, servertest.Location(t, resp), victim, upPassword)
			if !strings.Contains(body, "Check your email") {
				t.Fatalf("the attacker's sign-in answered %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			relay.Await(t, 1)

			// The victim comes through the second upstream and proves the mailbox.
			b := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ = b.Get(authz)
			resp, body = upstreamSignInAt(t, srv, b, servertest.Location(t, resp), second, "up2", victim, upPassword)
			if resp.Request.URL.Path != "/t/"+srv.Tenant+"/connections/link" {
				t.Fatalf("the victim's sign-in ended at %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			forms := linkForms(t, resp, body)
			resp, body = b.Submit(forms["send_code"], url.Values{"action": {"send_code"}})
			resp, body = follow(t, srv, b, resp, body)
			resp, body = b.Submit(linkForms(t, resp, body)["code"], url.Values{"action": {"code"}, "code": {codeOf(t, awaitMailTo(t, relay, 2, victim))}})
			resp, body = follow(t, srv, b, resp, body)
			owner := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]
			signIns := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded))

			// The attacker's identity comes back.
			attacker = srv.NewBrowser(t)
			authz, _, _ = authorizeURL(srv, nil)
			resp, _ = attacker.Get(authz)
			resp, body = upstreamSignIn(t, srv, attacker, servertest.Location(t, resp), victim, upPassword)
			if resp.StatusCode >= 300 && resp.StatusCode < 400 {
				t.Errorf("the unproven identity signed in to the claimed account (to %s)", servertest.Location(t, resp))
			}
			for _, e := range tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)[signIns:] {
				if e.Subject == owner {
					t.Errorf("login.succeeded for the claimed account: %+v", e)
				}
			}
		})
	}
}

// TestFederatedUnlinkCountsOnlyUsableWays: a stored password is a way to sign in only where the tenant
// offers passwords; on a tenant that signs in with passkeys only, an account whose one usable way is its
// linked identity cannot unlink it, whatever password it once had.
func TestFederatedUnlinkCountsOnlyUsableWays(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{upUsers: upstreamUser(true),
				conn: func(c *config.Connection) { c.TrustEmail = true },
				seed: []func(*config.TenantSeed){func(ts *config.TenantSeed) { ts.Login.Methods = []string{config.MethodPasskey} }}})
			b := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ := b.Get(authz)
			resp, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), srv.User.Email, upPassword)
			if sub := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]; sub != srv.User.ID {
				t.Fatalf("signed in as %v", sub)
			}
			form, _ := unlinkForm(t, srv, b)
			resp, body = b.Submit(form, nil)
			if loc := servertest.Location(t, resp); loc.Query().Get("error") != "last_sign_in" {
				t.Errorf("unlinking the only usable way in went to %s:\n%s", loc, body)
			}
			if ids, _ := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, srv.User.ID); len(ids) != 1 {
				t.Errorf("identities = %+v", ids)
			}
		})
	}
}

// TestFederatedLinkPasswordOnlyWhereOffered: on a tenant that does not sign in with passwords the link
// page offers no password, and a password posted anyway proves nothing.
func TestFederatedLinkPasswordOnlyWhereOffered(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{upUsers: upstreamUser(true),
				seed: []func(*config.TenantSeed){func(ts *config.TenantSeed) {
					ts.Login.Methods = []string{config.MethodPasskey, config.MethodEmailCode}
				}}})
			b := srv.NewBrowser(t)
			forms, _, _ := linkPage(t, srv, b)
			if _, ok := forms["password"]; ok {
				t.Error("the link page offers a password the tenant does not sign in with")
			}
			form := forms["send_code"]
			resp, body := b.Submit(form, url.Values{"action": {"password"}, "password": {srv.User.Password}})
			if resp.StatusCode < 400 {
				t.Errorf("a posted password answered %d:\n%s", resp.StatusCode, body)
			}
			if hows := linkedHows(t, srv); len(hows) != 0 {
				t.Errorf("linked %v with a password the tenant does not offer", hows)
			}
		})
	}
}

// TestFederatedRoleMappingAndDisabledAccounts: the upstream's groups map to roles at the first sign-in
// and follow the upstream at the next; an account disabled here does not sign in through its identity.
func TestFederatedRoleMappingAndDisabledAccounts(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{
				upUsers: []config.UserSeed{{Email: upEmail, Password: upPassword, EmailVerified: true, Roles: []string{"staff"}}},
				conn: func(c *config.Connection) {
					c.Scopes = []string{"openid", "email", "profile", "roles"}
					c.Claims = map[string]string{"groups": "roles"}
					c.RoleMapping = map[string]config.Strings{"staff": {"editor"}}
				}})
			ctx := context.Background()
			signIn := func() (*http.Response, string, string, string) {
				b := srv.NewBrowser(t)
				authz, state, verifier := authorizeURL(srv, nil)
				resp, _ := b.Get(authz)
				resp, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), upEmail, upPassword)
				return resp, body, state, verifier
			}
			resp, body, state, verifier := signIn()
			redeem(t, srv, resp, body, state, verifier)
			u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, upEmail)
			if err != nil || !slices.Equal(u.Roles, []string{"editor"}) {
				t.Fatalf("the new account's roles: %+v, %v", u.Roles, err)
			}

			// The upstream takes the group away: the mapped role goes at the next sign-in.
			upUser, err := srv.Identity.FindUserByEmail(ctx, upTenant, upEmail)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.DB.SetUserRoles(ctx, upTenant, upUser.ID, nil); err != nil {
				t.Fatal(err)
			}
			resp, body, state, verifier = signIn()
			redeem(t, srv, resp, body, state, verifier)
			if u, _ = srv.Identity.FindUserByEmail(ctx, srv.Tenant, upEmail); len(u.Roles) != 0 {
				t.Errorf("after the upstream took the group away the roles are %v", u.Roles)
			}

			if err := srv.Admin.SetDisabled(ctx, srv.Tenant, u.ID, true, "test"); err != nil {
				t.Fatal(err)
			}
			signIns := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded))
			resp, body, _, _ = signIn()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("a disabled account's identity answered %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)); n != signIns {
				t.Errorf("a disabled account signed in")
			}
		})
	}
}

// TestFederatedUnverifiedAccountIsCleared: an account made from an unverified upstream address that is
// never verified is deleted after the retention, like an unverified registration, with its identity.
func TestFederatedUnverifiedAccountIsCleared(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	const email = "dave@corp.example"
	srv := fedServer(t, "sqlite", nil, fedOptions{upUsers: []config.UserSeed{{Email: email, Password: upPassword}},
		opts: []servertest.Option{servertest.WithClock(clock)}})
	ctx := context.Background()
	b := srv.NewBrowser(t)
	authz, _, _ := authorizeURL(srv, nil)
	resp, _ := b.Get(authz)
	if _, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), email, upPassword); !strings.Contains(body, "Check your email") {
		t.Fatalf("the sign-in did not ask to verify the address:\n%s", body)
	}
	u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, email)
	if err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(7*24*time.Hour + time.Hour))
	server.CollectOnce(ctx, srv.Server)
	if _, err := srv.DB.GetUser(ctx, srv.Tenant, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the never verified account is still there: %v", err)
	}
	if ids, _ := srv.DB.ListUserIdentities(ctx, srv.Tenant, u.ID); len(ids) != 0 {
		t.Errorf("its identities are still there: %+v", ids)
	}
	if _, err := srv.DB.GetUser(ctx, srv.Tenant, srv.User.ID); err != nil {
		t.Errorf("the seeded account was deleted: %v", err)
	}
}

// TestFederatedUpstreamUnreachable: an upstream that does not answer (nothing listens at its issuer)
// neither stops the server from starting nor breaks the sign-in page: its button answers the unavailable
// page.
func TestFederatedUpstreamUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/t/gone"
	ln.Close()
	srv := fedServer(t, "sqlite", nil, fedOptions{conn: func(c *config.Connection) { c.Issuer = dead }})
	b := srv.NewBrowser(t)
	authz, _, _ := authorizeURL(srv, nil)
	resp, _ := b.Get(authz)
	login := servertest.Location(t, resp)
	_, page := b.Get(login.String())
	link := connectionButton(page, upDisplayName)
	if link == "" {
		t.Fatalf("no button:\n%s", page)
	}
	href, _ := url.Parse(link)
	resp, body := b.Get(login.ResolveReference(href).String())
	if resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Sign-in service unavailable") {
		t.Errorf("an unreachable upstream answered %d:\n%s", resp.StatusCode, body)
	}
	// The rest of the page still works.
	form, _, _ := b.GetForm(login.String(), "/login")
	resp, body = b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a password sign-in next to an unreachable upstream answered %d:\n%s", resp.StatusCode, body)
	}
}

// TestFederatedLinkKeepsVerificationRequired: an account registered here whose address is not verified
// yet does not sign in through the link page with its password either: the address is verified first,
// as at the sign-in form.
func TestFederatedLinkKeepsVerificationRequired(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			const email = "erin@corp.example"
			srv := fedServer(t, backend, relay, fedOptions{upUsers: []config.UserSeed{{Email: email, Password: upPassword}},
				seed: []func(*config.TenantSeed){func(ts *config.TenantSeed) { ts.Registration = &config.Registration{Enabled: true} }}})
			reg := srv.NewBrowser(t)
			form, _, _ := reg.GetForm(srv.TenantURL("/register"), "/register")
			if resp, body := reg.Submit(form, url.Values{"email": {email}, "password": {regPassword}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("registration answered %d:\n%s", resp.StatusCode, body)
			}
			relay.Await(t, 1)
			// The sign-in form asks to verify the address first.
			resp, body, _, _ := passwordSignIn(t, srv, email, regPassword)
			if !strings.Contains(body, "Check your email") {
				t.Fatalf("the sign-in form let the unverified account in: %s %d", resp.Request.URL, resp.StatusCode)
			}

			b := srv.NewBrowser(t)
			authz, _, _ := authorizeURL(srv, nil)
			resp, _ = b.Get(authz)
			resp, body = upstreamSignIn(t, srv, b, servertest.Location(t, resp), email, upPassword)
			if resp.Request.URL.Path != "/t/"+srv.Tenant+"/connections/link" {
				t.Fatalf("the upstream sign-in ended at %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			resp, body = b.Submit(linkForms(t, resp, body)["password"], url.Values{"action": {"password"}, "password": {regPassword}})
			resp, body = follow(t, srv, b, resp, body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Check your email") {
				t.Errorf("the link page's password let the unverified account in: %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)); n != 0 {
				t.Errorf("%d sign-ins of an unverified account", n)
			}
			if hows := linkedHows(t, srv); len(hows) != 0 {
				t.Errorf("linked %v to an account whose address is not verified", hows)
			}
		})
	}
}

// TestFederatedAccountLinkNeedsRecentSignIn: linking and unlinking from the account page ask to sign in
// again when the session's sign-in is not recent, also when the browser took that long upstream.
func TestFederatedAccountLinkNeedsRecentSignIn(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	srv := fedServer(t, "sqlite", nil, fedOptions{opts: []servertest.Option{servertest.WithClock(clock)}})
	later := func() { offset.Add(int64(6 * time.Minute)) }
	reauth := func(what string, resp *http.Response) {
		t.Helper()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(servertest.Location(t, resp).Path, "/account/reauth") {
			t.Errorf("%s answered %d, want the re-authentication page", what, resp.StatusCode)
		}
	}

	// Linking starts, and the person stays on the upstream's sign-in page until the sign-in here is no
	// longer recent.
	b := signedIn(t, srv)
	resp, body := b.Get(srv.TenantURL("/connections/" + upConnection + "/start?link=1"))
	resp, body = follow(t, srv, b, resp, body)
	var upForm *servertest.Form
	for _, f := range servertest.ParseForms(resp.Request.URL, body) {
		if _, ok := f.Values["password"]; ok {
			upForm = &f
		}
	}
	if upForm == nil {
		t.Fatalf("no upstream sign-in form at %s:\n%s", resp.Request.URL, body)
	}
	later()
	resp, body = b.Submit(*upForm, url.Values{"email": {upEmail}, "password": {upPassword}})
	resp, body = follow(t, srv, b, resp, body)
	if !strings.HasSuffix(resp.Request.URL.Path, "/account/reauth") {
		t.Errorf("the link's callback after the sign-in stopped being recent ended at %s %d, want re-authentication:\n%s",
			resp.Request.URL, resp.StatusCode, body)
	}
	if hows := linkedHows(t, srv); len(hows) != 0 {
		t.Fatalf("linked %v without a recent sign-in", hows)
	}
	// Starting a link now asks too.
	resp, _ = b.Get(srv.TenantURL("/connections/" + upConnection + "/start?link=1"))
	reauth("a link start", resp)

	// Unlinking: linked while recent, then later.
	b = signedIn(t, srv)
	resp, body = b.Get(srv.TenantURL("/connections/" + upConnection + "/start?link=1"))
	resp, body = upstreamLogin(t, srv, b, resp, body, upEmail, upPassword)
	if resp.Request.URL.Query().Get("done") != "identity_linked" {
		t.Fatalf("linking ended at %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	form, _ := unlinkForm(t, srv, b)
	later()
	resp, _ = b.Submit(form, nil)
	reauth("unlinking", resp)
	if ids, _ := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, srv.User.ID); len(ids) != 1 {
		t.Errorf("identities = %+v", ids)
	}
}
