package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// The federation tests sign in to the seeded tenant ("downstream") through an upstream that is a second
// tenant of the same server acting as an OpenID provider: the whole way a person goes, with real
// discovery, a real authorization code exchange and real ID token checks, and nothing faked.

const (
	upTenant      = "up"   // the upstream tenant's id
	upConnection  = "corp" // the downstream connection's id
	upClientID    = "umm-down"
	upSecret      = "upstream-client-secret-0123456789"
	upEmail       = "bob@corp.example"
	upPassword    = "violet-anchor-summit-2468"
	upDisplayName = "Corp Login"
)

// fedOptions change the federation test server: the upstream's users and the downstream connection.
type fedOptions struct {
	upUsers  []config.UserSeed
	upClient func(*config.ClientSeed)
	conn     func(*config.Connection)
	config   func(*config.Config) // more tenants or connections
	opts     []servertest.Option
	seed     []func(*config.TenantSeed)
}

// fedServer is a server whose tenant "up" is an OpenID provider with a first-party client for the
// seeded tenant's connection "corp", and whose email goes through relay (when given).
func fedServer(t *testing.T, backend string, relay *notifytest.Relay, fo fedOptions) *servertest.Server {
	t.Helper()
	if fo.upUsers == nil {
		fo.upUsers = []config.UserSeed{{Email: upEmail, Password: upPassword, GivenName: "Bob", FamilyName: "Upstream", EmailVerified: true}}
	}
	opts := []servertest.Option{servertest.WithBackend(backend), servertest.WithConfig(func(c *config.Config) {
		if relay != nil {
			c.Email = relay.Config
		}
		callback := c.Server.PublicURL + "/t/" + servertest.TenantID + "/connections/" + upConnection + "/callback"
		client := config.ClientSeed{
			ClientID: upClientID, ClientSecret: upSecret, Name: "Downstream UMM", RedirectURIs: []string{callback},
			GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true,
		}
		if fo.upClient != nil {
			fo.upClient(&client)
		}
		c.Tenants = append(c.Tenants, config.TenantSeed{
			ID: upTenant, Name: "Upstream",
			Clients: []config.ClientSeed{client},
			Users:   fo.upUsers,
			Login:   &config.Login{NewDeviceEmail: new(false)},
		})
		conn := config.Connection{ID: upConnection, Type: config.ConnOIDC, DisplayName: upDisplayName,
			Issuer: c.Server.PublicURL + "/t/" + upTenant, ClientID: upClientID, ClientSecret: upSecret}
		if fo.conn != nil {
			fo.conn(&conn)
		}
		c.Tenants[0].Connections = append(c.Tenants[0].Connections, conn)
		if fo.config != nil {
			fo.config(c)
		}
	})}
	for _, s := range fo.seed {
		opts = append(opts, servertest.WithSeed(s))
	}
	opts = append(opts, fo.opts...)
	return servertest.New(t, opts...)
}

// authorizeURL is an authorization request of the first-party client (no consent page) with extra
// parameters; it returns the URL, the state and the PKCE verifier.
func authorizeURL(srv *servertest.Server, extra url.Values) (string, string, string) {
	verifier, state := servertest.RandomString(32), servertest.RandomString(16)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {srv.FirstParty.ID}, "redirect_uri": {srv.FirstParty.RedirectURI},
		"scope": {"openid email profile"}, "state": {state}, "nonce": {servertest.RandomString(16)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	return srv.TenantURL("/authorize?" + q.Encode()), state, verifier
}

// follow follows redirects that stay on srv and returns the first other answer (a page, or a redirect
// that leaves the server).
func follow(t *testing.T, srv *servertest.Server, b *servertest.Browser, resp *http.Response, body string) (*http.Response, string) {
	t.Helper()
	for range 20 {
		if resp.StatusCode == http.StatusOK && strings.Contains(resp.Request.URL.Path, "/connections/") {
			// The callback's way back to the application is a page that continues by itself (a redirect
			// would be checked against the upstream form's form-action): follow its refresh like a browser.
			if m := metaRefresh.FindStringSubmatch(body); m != nil {
				next, err := resp.Request.URL.Parse(html.UnescapeString(m[1]))
				if err != nil {
					t.Fatal(err)
				}
				resp, body = b.Get(next.String())
				continue
			}
		}
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			return resp, body
		}
		loc := servertest.Location(t, resp)
		if !strings.HasPrefix(loc.String(), srv.URL) {
			return resp, body
		}
		resp, body = b.Get(loc.String())
	}
	t.Fatalf("too many redirects, at %s", resp.Request.URL)
	return nil, ""
}

// metaRefresh is the target of a page's <meta http-equiv="refresh">.
var metaRefresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]*)">`)

// buttonHref matches a connection's button on the sign-in page: its link and its text ("Sign in with
// NAME" in the page's language).
var buttonHref = regexp.MustCompile(`<a class="button block secondary" href="([^"]*/connections/[^"]*/start[^"]*)">(?:<img[^>]*> )?([^<]*)</a>`)

// connectionButton is the link of the sign-in page's button for the connection named name ("" if none).
func connectionButton(page, name string) string {
	for _, m := range buttonHref.FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[2], name) {
			return strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	return ""
}

// upstreamSignIn starts at the downstream sign-in page login, clicks the connection's button, signs in
// at the upstream tenant with email and password, and returns the answer once the browser is back
// downstream and off its redirects (the client's redirect, the link page, a message).
func upstreamSignIn(t *testing.T, srv *servertest.Server, b *servertest.Browser, login *url.URL, email, password string) (*http.Response, string) {
	t.Helper()
	return upstreamSignInAt(t, srv, b, login, upDisplayName, upTenant, email, password)
}

// upstreamSignInAt is upstreamSignIn through the connection named name to upstream tenant tenant.
func upstreamSignInAt(t *testing.T, srv *servertest.Server, b *servertest.Browser, login *url.URL, name, tenant, email, password string) (*http.Response, string) {
	t.Helper()
	_, page := b.Get(login.String())
	link := connectionButton(page, name)
	if link == "" {
		t.Fatalf("the sign-in page has no %q button:\n%s", name, page)
	}
	href, _ := url.Parse(link)
	resp, body := b.Get(login.ResolveReference(href).String())
	return upstreamLoginAt(t, srv, b, resp, body, tenant, email, password)
}

// upstreamLogin takes the answer of .../start (a redirect to the upstream), signs in on the upstream's
// form and follows the browser back.
func upstreamLogin(t *testing.T, srv *servertest.Server, b *servertest.Browser, resp *http.Response, body string, email, password string) (*http.Response, string) {
	t.Helper()
	return upstreamLoginAt(t, srv, b, resp, body, upTenant, email, password)
}

// upstreamLoginAt is upstreamLogin at upstream tenant tenant.
func upstreamLoginAt(t *testing.T, srv *servertest.Server, b *servertest.Browser, resp *http.Response, body string, tenant, email, password string) (*http.Response, string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(servertest.Location(t, resp).String(), srv.URL+"/t/"+tenant+"/authorize") {
		t.Fatalf("start answered %d, want a redirect to the upstream's /authorize:\n%s", resp.StatusCode, body)
	}
	resp, body = follow(t, srv, b, resp, body)
	if !strings.HasPrefix(resp.Request.URL.Path, "/t/"+tenant+"/login") {
		t.Fatalf("the upstream sent the browser to %s (%d):\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	var form *servertest.Form
	for _, f := range servertest.ParseForms(resp.Request.URL, body) {
		if _, ok := f.Values["password"]; ok {
			form = &f
		}
	}
	if form == nil {
		t.Fatalf("the upstream's sign-in page has no password form:\n%s", body)
	}
	resp, body = b.Submit(*form, url.Values{"email": {email}, "password": {password}})
	return follow(t, srv, b, resp, body)
}

// redeem checks that resp sends the browser to the first-party client with state, and redeems the code.
func redeem(t *testing.T, srv *servertest.Server, resp *http.Response, body, state, verifier string) tokenResponse {
	t.Helper()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		t.Fatalf("the flow ended at %s with %d:\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	cb := servertest.Location(t, resp)
	if !strings.HasPrefix(cb.String(), srv.FirstParty.RedirectURI) || cb.Query().Get("state") != state || cb.Query().Get("code") == "" {
		t.Fatalf("the flow ended at %s", cb)
	}
	return token(t, srv, srv.FirstParty, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {srv.FirstParty.RedirectURI}, "code_verifier": {verifier}})
}

// idClaims decodes the payload of a JWT without checking it (the token endpoint just issued it).
func idClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// tenantEvents are the events of type typ of tenant.
func tenantEvents(t *testing.T, srv *servertest.Server, tenant, typ string) []store.Event {
	t.Helper()
	evs, err := srv.DB.ListEvents(context.Background(), tenant, 0, typ, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// userCount is the number of accounts of the downstream tenant.
func userCount(t *testing.T, srv *servertest.Server) int {
	t.Helper()
	us, err := srv.DB.ListUsers(context.Background(), srv.Tenant, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(us)
}

// linkedHows are the "how" of the downstream tenant's identity.linked events.
func linkedHows(t *testing.T, srv *servertest.Server) []string {
	t.Helper()
	var out []string
	for _, e := range tenantEvents(t, srv, srv.Tenant, events.TypeIdentityLinked) {
		out = append(out, asString(e.Data["how"]))
	}
	return out
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		out = append(out, asString(x))
	}
	return out
}

// TestFederatedOIDCSignIn: the sign-in page's button, the upstream's own sign-in, the callback, an account
// created just in time and linked, and tokens for the downstream client; the second sign-in reuses it.
func TestFederatedOIDCSignIn(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{})
			before := userCount(t, srv)

			b := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ := b.Get(authz)
			login := servertest.Location(t, resp)
			resp, body := upstreamSignIn(t, srv, b, login, upEmail, upPassword)
			tr := redeem(t, srv, resp, body, state, verifier)
			claims := idClaims(t, tr.IDToken)
			if claims["email"] != upEmail || claims["given_name"] != "Bob" || claims["iss"] != srv.Issuer {
				t.Errorf("ID token claims = %v", claims)
			}
			if got := userCount(t, srv); got != before+1 {
				t.Fatalf("%d accounts after the first sign-in, want %d", got, before+1)
			}
			u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, upEmail)
			if err != nil || claims["sub"] != u.ID {
				t.Fatalf("the new account %+v (%v) is not the token's subject %v", u, err, claims["sub"])
			}
			ids, err := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, u.ID)
			if err != nil || len(ids) != 1 || ids[0].ConnectionID != upConnection || ids[0].Subject == "" {
				t.Fatalf("linked identities = %+v, %v", ids, err)
			}
			if created := tenantEvents(t, srv, srv.Tenant, events.TypeUserCreated); len(created) != 2 || created[1].Subject != u.ID ||
				asString(created[1].Data["connection"]) != upConnection {
				t.Errorf("user.created events (the seeded user's, then the new one's) = %+v", created)
			}
			if hows := linkedHows(t, srv); !slices.Equal(hows, []string{"created"}) {
				t.Errorf("identity.linked hows = %v, want [created]", hows)
			}
			ok := tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)
			if len(ok) != 1 || ok[0].Subject != u.ID || asString(ok[0].Data["connection"]) != upConnection ||
				!slices.Contains(asStrings(ok[0].Data["amr"]), "fed") {
				t.Errorf("login.succeeded events = %+v", ok)
			}

			// A second sign-in in a new browser reuses the linked account.
			b2 := srv.NewBrowser(t)
			authz, state, verifier = authorizeURL(srv, nil)
			resp, _ = b2.Get(authz)
			resp, body = upstreamSignIn(t, srv, b2, servertest.Location(t, resp), upEmail, upPassword)
			tr = redeem(t, srv, resp, body, state, verifier)
			if sub := idClaims(t, tr.IDToken)["sub"]; sub != u.ID {
				t.Errorf("the second sign-in is %v, want the linked account %s", sub, u.ID)
			}
			if got := userCount(t, srv); got != before+1 {
				t.Errorf("%d accounts after the second sign-in, want %d", got, before+1)
			}
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeIdentityLinked)); n != 1 {
				t.Errorf("%d identity.linked events after the second sign-in, want 1", n)
			}
		})
	}
}

// TestFederatedHintSkipsTheSignInPage: connection=ID and kc_idp_hint=ID on /authorize go straight to the
// connection, without the downstream sign-in page.
func TestFederatedHintSkipsTheSignInPage(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{})
			for _, param := range []string{"connection", "kc_idp_hint"} {
				b := srv.NewBrowser(t)
				authz, state, verifier := authorizeURL(srv, url.Values{param: {upConnection}})
				resp, body := b.Get(authz)
				// Redirects only, through .../start: the downstream sign-in page is never shown.
				sawStart := false
				for resp.StatusCode >= 300 && resp.StatusCode < 400 {
					loc := servertest.Location(t, resp)
					if strings.HasPrefix(loc.Path, "/t/"+upTenant+"/") {
						break
					}
					sawStart = sawStart || loc.Path == "/t/"+srv.Tenant+"/connections/"+upConnection+"/start"
					resp, body = b.Get(loc.String())
				}
				if resp.StatusCode < 300 || resp.StatusCode > 399 {
					t.Fatalf("%s: the downstream answered %s with a page (%d):\n%s", param, resp.Request.URL, resp.StatusCode, body)
				}
				if !sawStart {
					t.Errorf("%s: the browser went upstream without .../start", param)
				}
				if loc := servertest.Location(t, resp); !strings.HasPrefix(loc.Path, "/t/"+upTenant+"/authorize") {
					t.Fatalf("%s: the browser went to %s, want the upstream:\n%s", param, loc, body)
				}
				resp, body = upstreamLogin(t, srv, b, resp, body, upEmail, upPassword)
				redeem(t, srv, resp, body, state, verifier)
			}
			// An unknown connection shows the sign-in page with its choices.
			b := srv.NewBrowser(t)
			authz, _, _ := authorizeURL(srv, url.Values{"connection": {"nope"}})
			resp, body := b.Get(authz)
			resp, body = follow(t, srv, b, resp, body)
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/t/"+srv.Tenant+"/login" || connectionButton(body, upDisplayName) == "" {
				t.Errorf("an unknown connection answered %s with %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
		})
	}
}

// linkPage signs in upstream as the downstream seeded user's address and checks that the browser
// lands on the link page; it returns the page's forms by action value and the authorization request's
// state and verifier.
func linkPage(t *testing.T, srv *servertest.Server, b *servertest.Browser) (forms map[string]servertest.Form, state, verifier string) {
	t.Helper()
	authz, state, verifier := authorizeURL(srv, nil)
	resp, _ := b.Get(authz)
	resp, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), srv.User.Email, upPassword)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/t/"+srv.Tenant+"/connections/link" {
		t.Fatalf("the upstream sign-in of an existing address ended at %s with %d, want the link page:\n%s",
			resp.Request.URL, resp.StatusCode, body)
	}
	if !strings.Contains(body, srv.User.Email) || !strings.Contains(body, upDisplayName) {
		t.Errorf("the link page names neither the account's address nor the connection:\n%s", body)
	}
	return linkForms(t, resp, body), state, verifier
}

var actionButton = regexp.MustCompile(`name="action" value="([a-z_]+)"`)

// linkForms are the link page's forms by the action their button sends.
func linkForms(t *testing.T, resp *http.Response, body string) map[string]servertest.Form {
	t.Helper()
	out := map[string]servertest.Form{}
	for _, m := range regexp.MustCompile(`(?s)<form\b.*?</form>`).FindAllString(body, -1) {
		forms := servertest.ParseForms(resp.Request.URL, m)
		a := actionButton.FindStringSubmatch(m)
		if len(forms) == 1 && a != nil {
			out[a[1]] = forms[0]
		}
	}
	return out
}

// upstreamUser is the upstream's user with the downstream seeded user's address.
func upstreamUser(verified bool) []config.UserSeed {
	return []config.UserSeed{{Email: servertest.UserEmail, Password: upPassword, GivenName: "Mallory", EmailVerified: verified}}
}

// TestFederatedLinkWithPassword: an upstream identity with an account's address (the connection does
// not trust addresses) waits on the link page; the account's password links it and signs in.
func TestFederatedLinkWithPassword(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{upUsers: upstreamUser(true)})
			before := userCount(t, srv)
			b := srv.NewBrowser(t)
			forms, state, verifier := linkPage(t, srv, b)
			if len(linkedHows(t, srv)) != 0 {
				t.Fatal("the identity was linked before the person proved the account")
			}
			// Without the form's CSRF token, or from another browser, the right password links nothing.
			resp, body := b.Submit(forms["password"], url.Values{"action": {"password"}, "password": {srv.User.Password}, "csrf_token": {""}})
			if resp.StatusCode < 400 || len(linkedHows(t, srv)) != 0 {
				t.Fatalf("the password without the CSRF token answered %d:\n%s", resp.StatusCode, body)
			}
			other := srv.NewBrowser(t)
			if resp, body := other.Get(forms["password"].Action); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the link page in another browser answered %d:\n%s", resp.StatusCode, body)
			}
			resp, body = b.Submit(forms["password"], url.Values{"action": {"password"}, "password": {srv.User.Password}})
			resp, body = follow(t, srv, b, resp, body)
			tr := redeem(t, srv, resp, body, state, verifier)
			if sub := idClaims(t, tr.IDToken)["sub"]; sub != srv.User.ID {
				t.Errorf("signed in as %v, want the existing account %s", sub, srv.User.ID)
			}
			if hows := linkedHows(t, srv); !slices.Equal(hows, []string{"proved_password"}) {
				t.Errorf("identity.linked hows = %v, want [proved_password]", hows)
			}
			if got := userCount(t, srv); got != before {
				t.Errorf("%d accounts, want %d: linking created one", got, before)
			}
			ok := tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)
			if len(ok) != 1 || !slices.Contains(asStrings(ok[0].Data["amr"]), "fed") || !slices.Contains(asStrings(ok[0].Data["amr"]), "pwd") {
				t.Errorf("login.succeeded = %+v, want amr with fed and pwd", ok)
			}
			// Now linked: the next upstream sign-in goes straight in.
			b2 := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ = b2.Get(authz)
			resp, body = upstreamSignIn(t, srv, b2, servertest.Location(t, resp), srv.User.Email, upPassword)
			if sub := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]; sub != srv.User.ID {
				t.Errorf("the linked identity signs in as %v, want %s", sub, srv.User.ID)
			}
		})
	}
}

// TestFederatedLinkWithEmailedCode: the code emailed to the account's address links the identity.
func TestFederatedLinkWithEmailedCode(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := fedServer(t, backend, relay, fedOptions{upUsers: upstreamUser(true)})
			b := srv.NewBrowser(t)
			forms, state, verifier := linkPage(t, srv, b)
			resp, body := b.Submit(forms["send_code"], url.Values{"action": {"send_code"}})
			resp, body = follow(t, srv, b, resp, body)
			forms = linkForms(t, resp, body)
			if _, ok := forms["code"]; !ok {
				t.Fatalf("no code form after sending the code:\n%s", body)
			}
			code := codeOf(t, awaitMailTo(t, relay, 1, srv.User.Email))
			resp, body = b.Submit(forms["code"], url.Values{"action": {"code"}, "code": {code}})
			resp, body = follow(t, srv, b, resp, body)
			if sub := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]; sub != srv.User.ID {
				t.Errorf("signed in as %v, want %s", sub, srv.User.ID)
			}
			if hows := linkedHows(t, srv); !slices.Equal(hows, []string{"proved_email_code"}) {
				t.Errorf("identity.linked hows = %v, want [proved_email_code]", hows)
			}
		})
	}
}

// TestFederatedLinkRefused: "Don't link" links nothing, creates no account and records why.
func TestFederatedLinkRefused(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{upUsers: upstreamUser(true)})
			before := userCount(t, srv)
			b := srv.NewBrowser(t)
			forms, _, _ := linkPage(t, srv, b)
			resp, body := b.Submit(forms["cancel"], url.Values{"action": {"cancel"}})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Nothing was linked") {
				t.Errorf("Don't link answered %d:\n%s", resp.StatusCode, body)
			}
			if got := userCount(t, srv); got != before {
				t.Errorf("%d accounts, want %d", got, before)
			}
			if hows := linkedHows(t, srv); len(hows) != 0 {
				t.Errorf("identity.linked events %v after Don't link", hows)
			}
			refused := tenantEvents(t, srv, srv.Tenant, events.TypeLinkRefused)
			if len(refused) != 1 || refused[0].Subject != srv.User.ID || asString(refused[0].Data["reason"]) != "declined" {
				t.Errorf("identity.link_refused events = %+v", refused)
			}
			// The flow is over: the password form no longer links.
			resp, body = b.Submit(forms["password"], url.Values{"action": {"password"}, "password": {srv.User.Password}})
			if resp.StatusCode != http.StatusBadRequest || len(linkedHows(t, srv)) != 0 {
				t.Errorf("the password after Don't link answered %d:\n%s", resp.StatusCode, body)
			}
		})
	}
}

// TestFederatedTakeoverNeedsProof: someone who registered the victim's address upstream without
// verifying it cannot take the victim's account: wrong passwords and wrong codes never link, and no
// account is created.
func TestFederatedTakeoverNeedsProof(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			// Trusting addresses does not help an unverified one either.
			srv := fedServer(t, backend, relay, fedOptions{upUsers: upstreamUser(false),
				conn: func(c *config.Connection) { c.TrustEmail = true }})
			before := userCount(t, srv)
			b := srv.NewBrowser(t)
			forms, _, _ := linkPage(t, srv, b)
			for i := range 3 {
				resp, body := b.Submit(forms["password"], url.Values{"action": {"password"}, "password": {"guess-" + servertest.RandomString(8)}})
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("wrong password %d answered %d:\n%s", i, resp.StatusCode, body)
				}
			}
			resp, body := b.Submit(forms["send_code"], url.Values{"action": {"send_code"}})
			resp, body = follow(t, srv, b, resp, body)
			code := codeOf(t, awaitMailTo(t, relay, 1, srv.User.Email)) // the victim's mailbox: the attacker never sees it
			forms = linkForms(t, resp, body)
			ended := false
			for i := range 10 {
				guess := "000000"
				if guess == code {
					guess = "111111"
				}
				resp, body = b.Submit(forms["code"], url.Values{"action": {"code"}, "code": {guess}})
				if resp.StatusCode == http.StatusBadRequest {
					ended = true
					break
				}
				if resp.StatusCode != http.StatusUnprocessableEntity && resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("wrong code %d answered %d:\n%s", i, resp.StatusCode, body)
				}
			}
			if !ended {
				t.Error("ten wrong codes did not end the link flow")
			}
			// Once ended, even the right code links nothing.
			resp, body = b.Submit(forms["code"], url.Values{"action": {"code"}, "code": {code}})
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the right code after the flow ended answered %d:\n%s", resp.StatusCode, body)
			}
			if hows := linkedHows(t, srv); len(hows) != 0 {
				t.Errorf("identity.linked events %v without proof", hows)
			}
			if got := userCount(t, srv); got != before {
				t.Errorf("%d accounts, want %d", got, before)
			}
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)); n != 0 {
				t.Errorf("%d sign-ins downstream, want none", n)
			}
			if refused := tenantEvents(t, srv, srv.Tenant, events.TypeLinkRefused); len(refused) != 1 ||
				asString(refused[0].Data["reason"]) != "proof_failed" {
				t.Errorf("identity.link_refused events = %+v", refused)
			}
		})
	}
}

// TestFederatedTrustedEmail: trust_email links a verified upstream address to a verified account at
// once, but an account whose address nobody proved still asks for proof.
func TestFederatedTrustedEmail(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		for _, verified := range []bool{true, false} {
			t.Run(backend+"/account_verified="+map[bool]string{true: "true", false: "false"}[verified], func(t *testing.T) {
				t.Parallel()
				srv := fedServer(t, backend, nil, fedOptions{upUsers: upstreamUser(true),
					conn: func(c *config.Connection) { c.TrustEmail = true },
					seed: []func(*config.TenantSeed){func(ts *config.TenantSeed) { ts.Users[0].EmailVerified = verified }}})
				b := srv.NewBrowser(t)
				authz, state, verifier := authorizeURL(srv, nil)
				resp, _ := b.Get(authz)
				resp, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), srv.User.Email, upPassword)
				if !verified {
					if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/t/"+srv.Tenant+"/connections/link" {
						t.Errorf("an unverified account answered %s %d, want the link page:\n%s", resp.Request.URL, resp.StatusCode, body)
					}
					if hows := linkedHows(t, srv); len(hows) != 0 {
						t.Errorf("identity.linked %v to an unverified account", hows)
					}
					return
				}
				if sub := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]; sub != srv.User.ID {
					t.Errorf("signed in as %v, want %s", sub, srv.User.ID)
				}
				if hows := linkedHows(t, srv); !slices.Equal(hows, []string{"trusted_email"}) {
					t.Errorf("identity.linked hows = %v, want [trusted_email]", hows)
				}
			})
		}
	}
}

var linkButton = regexp.MustCompile(`<a class="button block secondary" href="([^"]*/start\?link=1)">(?:<img[^>]*> )?Link ([^<]*)</a>`)

// unlinkForm is the account page's form that unlinks the identity at upConnection.
func unlinkForm(t *testing.T, srv *servertest.Server, b *servertest.Browser) (servertest.Form, string) {
	t.Helper()
	resp, body := b.Get(srv.TenantURL("/account/linked"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the Linked accounts section answered %d:\n%s", resp.StatusCode, body)
	}
	for _, f := range servertest.ParseForms(resp.Request.URL, body) {
		if strings.HasSuffix(f.Action, "/account/linked/unlink") && f.Values.Get("connection") == upConnection {
			return f, body
		}
	}
	t.Fatalf("the Linked accounts section has no Unlink form for %s:\n%s", upConnection, body)
	return servertest.Form{}, ""
}

// TestFederatedUnlinkLastWayIn: an account created from an upstream identity, with no password, sees
// the identity under Linked accounts and cannot unlink it: it is the only way in.
func TestFederatedUnlinkLastWayIn(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{})
			b := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ := b.Get(authz)
			resp, body := upstreamSignIn(t, srv, b, servertest.Location(t, resp), upEmail, upPassword)
			redeem(t, srv, resp, body, state, verifier)

			form, page := unlinkForm(t, srv, b)
			if !strings.Contains(page, upDisplayName) || !strings.Contains(page, upEmail) {
				t.Errorf("the Linked accounts section does not show the identity:\n%s", page)
			}
			resp, body = b.Submit(form, nil)
			if loc := servertest.Location(t, resp); loc.Query().Get("error") != "last_sign_in" {
				t.Fatalf("unlinking the only way in went to %s:\n%s", loc, body)
			}
			if _, body = b.Follow(resp); !strings.Contains(body, "only way to sign in") {
				t.Errorf("the refusal is not explained:\n%s", body)
			}
			u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, upEmail)
			if err != nil {
				t.Fatal(err)
			}
			if ids, _ := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, u.ID); len(ids) != 1 {
				t.Errorf("identities after a refused unlink = %+v", ids)
			}
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeIdentityUnlinked)); n != 0 {
				t.Errorf("%d identity.unlinked events", n)
			}
		})
	}
}

// TestFederatedLinkFromAccountAndUnlink: a signed-in account with a password links an upstream identity
// from the account page and unlinks it again.
func TestFederatedLinkFromAccountAndUnlink(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{})
			before := userCount(t, srv)
			b := signedIn(t, srv)
			resp, body := b.Get(srv.TenantURL("/account/linked"))
			m := linkButton.FindStringSubmatch(body)
			if m == nil || m[2] != upDisplayName {
				t.Fatalf("the Linked accounts section has no Link button:\n%s", body)
			}
			href, _ := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
			resp, body = b.Get(resp.Request.URL.ResolveReference(href).String())
			resp, body = upstreamLogin(t, srv, b, resp, body, upEmail, upPassword)
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Query().Get("done") != "identity_linked" {
				t.Fatalf("linking from the account ended at %s with %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			if hows := linkedHows(t, srv); !slices.Equal(hows, []string{"account_page"}) {
				t.Errorf("identity.linked hows = %v, want [account_page]", hows)
			}
			if got := userCount(t, srv); got != before {
				t.Errorf("%d accounts, want %d", got, before)
			}

			form, _ := unlinkForm(t, srv, b)
			// Another subject, and a post without the form's CSRF token, unlink nothing.
			resp, body = b.Submit(form, url.Values{"subject": {"someone-else"}})
			if loc := servertest.Location(t, resp); loc.Query().Get("error") != "identity_unknown" {
				t.Errorf("unlinking an unknown subject went to %s:\n%s", loc, body)
			}
			resp, body = b.Submit(form, url.Values{"csrf_token": {""}})
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("unlinking without the CSRF token answered %d:\n%s", resp.StatusCode, body)
			}
			if ids, _ := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, srv.User.ID); len(ids) != 1 {
				t.Fatalf("identities after refused unlinks = %+v", ids)
			}
			resp, body = b.Submit(form, nil)
			if loc := servertest.Location(t, resp); loc.Query().Get("done") != "identity_unlinked" {
				t.Fatalf("unlinking went to %s:\n%s", loc, body)
			}
			if ids, _ := srv.DB.ListUserIdentities(context.Background(), srv.Tenant, srv.User.ID); len(ids) != 0 {
				t.Errorf("identities after unlinking = %+v", ids)
			}
			un := tenantEvents(t, srv, srv.Tenant, events.TypeIdentityUnlinked)
			if len(un) != 1 || un[0].Subject != srv.User.ID || asString(un[0].Data["connection"]) != upConnection {
				t.Errorf("identity.unlinked events = %+v", un)
			}
			// Unlinked: the upstream identity no longer signs in to this account (it gets one of its own).
			b2 := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ = b2.Get(authz)
			resp, body = upstreamSignIn(t, srv, b2, servertest.Location(t, resp), upEmail, upPassword)
			if sub := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)["sub"]; sub == srv.User.ID {
				t.Error("the unlinked identity still signs in to the account")
			}
		})
	}
}

// TestFederatedHomeRealmDiscovery: on an identifier-first page, an address at a connection's domain
// answers the continue page, whose refresh and link go to the connection with the address as the
// login hint, and the upstream's sign-in page is filled with it.
func TestFederatedHomeRealmDiscovery(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, fedOptions{
				conn: func(c *config.Connection) { c.Domains = []string{"corp.example"} },
				seed: []func(*config.TenantSeed){func(ts *config.TenantSeed) {
					ts.Login.Methods = []string{config.MethodPassword, config.MethodEmailCode}
				}}})
			b := srv.NewBrowser(t)
			authz, state, verifier := authorizeURL(srv, nil)
			resp, _ := b.Get(authz)
			login := servertest.Location(t, resp)
			form, _, page := b.GetForm(login.String(), "/login")
			if _, ok := form.Values["password"]; ok {
				t.Fatalf("the sign-in page is not identifier-first:\n%s", page)
			}
			resp, body := b.Submit(form, url.Values{"email": {strings.ToUpper(upEmail[:1]) + upEmail[1:]}})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Continue to "+upDisplayName) {
				t.Fatalf("an address at the connection's domain answered %d:\n%s", resp.StatusCode, body)
			}
			m := metaRefresh.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("the continue page does not continue by itself:\n%s", body)
			}
			href, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
			if err != nil {
				t.Fatal(err)
			}
			if href.Path != "/t/"+srv.Tenant+"/connections/"+upConnection+"/start" ||
				!strings.EqualFold(href.Query().Get("login_hint"), upEmail) || href.Query().Get("lr") != login.Query().Get("lr") {
				t.Errorf("the continue page goes to %s", href)
			}
			if !strings.Contains(body, `href="`+m[1]+`"`) {
				t.Errorf("the continue page has no link to %s:\n%s", m[1], body)
			}
			resp, body = b.Get(resp.Request.URL.ResolveReference(href).String())
			if up := servertest.Location(t, resp); !strings.EqualFold(up.Query().Get("login_hint"), upEmail) {
				t.Errorf("the upstream request %s does not carry the login hint", up)
			}
			resp, body = follow(t, srv, b, resp, body)
			if !strings.Contains(body, `value="`+strings.ToUpper(upEmail[:1])+upEmail[1:]+`"`) && !strings.Contains(body, `value="`+upEmail+`"`) {
				t.Errorf("the upstream's sign-in page is not filled with the address:\n%s", body)
			}
			// Only the downstream tenant is identifier-first: the upstream asks for the password at once.
			var up *servertest.Form
			for _, f := range servertest.ParseForms(resp.Request.URL, body) {
				if _, ok := f.Values["password"]; ok {
					up = &f
				}
			}
			if up == nil {
				t.Fatalf("no password form upstream:\n%s", body)
			}
			resp, body = b.Submit(*up, url.Values{"email": {upEmail}, "password": {upPassword}})
			resp, body = follow(t, srv, b, resp, body)
			redeem(t, srv, resp, body, state, verifier)

			// An address elsewhere takes the ordinary next step: the ways to sign in, with a password field.
			b = srv.NewBrowser(t)
			authz, _, _ = authorizeURL(srv, nil)
			resp, _ = b.Get(authz)
			form, _, _ = b.GetForm(servertest.Location(t, resp).String(), "/login")
			resp, body = b.Submit(form, url.Values{"email": {"someone@elsewhere.example"}})
			if resp.StatusCode != http.StatusOK || strings.Contains(body, "Continue to "+upDisplayName) || !strings.Contains(body, `name="password"`) {
				t.Errorf("an address at another domain answered %d:\n%s", resp.StatusCode, body)
			}
		})
	}
}
