package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// Federation end to end: one umm process plays both sides. The tenant "upstream" is an ordinary tenant
// whose confidential client "downstream" is what the downstream tenants' connection "corp" signs in
// with, exactly as a company's own identity provider would be registered; the downstream tenants are
// where the relying party's users sign in, with a "Sign in with Corp" button.

const (
	// upstreamTenant is the identity provider side; its client fedConnClient is the connection's.
	upstreamTenant   = "upstream"
	fedConnClient    = "downstream"
	fedConnSecret    = "corp-connection-secret-0123456789"
	fedPartnerClient = "partner"
	carolEmail       = "carol@corp.example" // a person with an account upstream (address verified there)
	carolPassword    = "Blue-Lantern-48"
	carolLocalPass   = "Green-Harbour-52" // the password of carol's own downstream account, where she has one
	malloryPassword  = "Red-Compass-73"
	victimEmail      = "victim@corp.example" // a downstream customer's address, claimed upstream by mallory
	victimPassword   = "Quiet-Meadow-61"
	selLinkPassword  = `button[name=action][value=password]`
	selLinkSend      = `button[name=action][value=send_code]`
	selLinkCode      = `button[name=action][value=code]`
	selLinkCancel    = `button[name=action][value=cancel]`
)

// fedDownstream is a downstream tenant of startFedServer: its id, YAML for its login block (at the
// tenant's indentation, "" for the default single form) and its seed users (YAML list items, "" for none).
type fedDownstream struct {
	id, login, users string
	// trustEmail sets the connection's trust_email: link to the account with the upstream's address when
	// the upstream says that address is verified.
	trustEmail bool
	// partner adds the connection partner ("Sign in with Partner") to the upstream's client
	// fedPartnerClient, a third-party client there, whose consent page the person may refuse.
	partner bool
}

// startFedServer starts a server on backend with the upstream tenant (carol, and mallory whose
// unverified address is victimEmail) and the downstream tenants, each with the first-party client web
// for the RP and the connection corp to the upstream. Email goes through relay.
func startFedServer(t *testing.T, backend string, relay *notifytest.Relay, downs ...fedDownstream) *server {
	t.Helper()
	s := newServer(t, backend)
	var callbacks, partnerCallbacks []string
	for _, d := range downs {
		callbacks = append(callbacks, s.URL+"/t/"+d.id+"/connections/corp/callback")
		partnerCallbacks = append(partnerCallbacks, s.URL+"/t/"+d.id+"/connections/partner/callback")
	}
	cfg := fmt.Sprintf(`  - id: %[1]s
    name: Corp Directory
    login:
      new_device_email: false
    clients:
      - client_id: %[2]s
        client_secret: %[3]q
        name: Downstream Shop
        redirect_uris: [%[4]s]
        grant_types: [authorization_code]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email]
        first_party: true
      - client_id: %[9]s
        client_secret: %[3]q
        name: Partner Shop
        redirect_uris: [%[10]s]
        grant_types: [authorization_code]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email]
        first_party: false
    users:
      - email: %[5]s
        password: %[6]q
        given_name: Carol
        email_verified: true
      - email: %[7]s
        password: %[8]q
        given_name: Mallory
        email_verified: false
`, upstreamTenant, fedConnClient, fedConnSecret, strings.Join(callbacks, ", "), carolEmail, carolPassword, victimEmail, malloryPassword,
		fedPartnerClient, strings.Join(partnerCallbacks, ", "))
	for _, d := range downs {
		login := d.login
		if login == "" {
			login = "    login:\n      new_device_email: false\n"
		}
		cfg += fmt.Sprintf(`  - id: %[1]s
    name: Shop %[1]s
%[2]s    clients:
      - client_id: web
        client_secret: %[3]q
        name: Shop Web
        redirect_uris: [%[4]s/cb]
        grant_types: [authorization_code]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email]
        first_party: true
    connections:
      - id: corp
        type: oidc
        display_name: Corp
        issuer: %[5]s
        client_id: %[6]s
        client_secret: %[7]q
        domains: [corp.example]
        trust_email: %[8]t
`, d.id, login, mfaSecret, s.RP.URL, s.Issuer(upstreamTenant), fedConnClient, fedConnSecret, d.trustEmail)
		if d.partner {
			cfg += fmt.Sprintf(`      - id: partner
        type: oidc
        display_name: Partner
        issuer: %s
        client_id: %s
        client_secret: %q
`, s.Issuer(upstreamTenant), fedPartnerClient, fedConnSecret)
		}
		if d.users != "" {
			cfg += "    users:\n" + d.users
		}
	}
	cfg += fmt.Sprintf("email:\n  smtp_url: %q\n  from: \"Accounts <accounts@shop.example>\"\n  timeout: 5s\n", relay.Config.SMTPURL)
	s.appendConfig(t, cfg)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// seedUser is a users entry of a downstream tenant with a verified address and a password.
func seedUser(email, password string) string {
	return fmt.Sprintf("      - email: %s\n        password: %q\n        email_verified: true\n", email, password)
}

// fedClaims are the ID token claims the federation tests look at.
type fedClaims struct {
	Sub   string   `json:"sub"`
	Email string   `json:"email"`
	AMR   []string `json:"amr"`
	// Method is how the code reached the RP: GET (query) or POST (form_post).
	Method string `json:"-"`
}

// fedFinish waits for the RP's callback of state, exchanges its code and verifies the ID token with go-oidc.
func fedFinish(t *testing.T, r *mfaRP, p *tab, state, verifier string) fedClaims {
	t.Helper()
	cb := p.waitRP(t, r.s.RP, "/cb", state)
	if cb.Get("code") == "" {
		t.Fatalf("callback %v, want a code", cb)
	}
	var c fedClaims
	exchangeVerified(t, r.ctx, r.conf, r.s.Issuer(r.tenant), cb.Get("code"), verifier, &c)
	c.Method = cb.Get("method")
	return c
}

// noCallback fails if the RP has received a callback with state: the flow must not have reached it.
func noCallback(t *testing.T, s *server, state string) {
	t.Helper()
	select {
	case v := <-s.RP.ch("/cb", state):
		t.Fatalf("the RP got a callback %v, want none", v)
	default:
	}
}

// queryDB runs a query with literal values and returns the first column of every row as text.
func queryDB(t *testing.T, s *server, q string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := openDB(t, s).QueryContext(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// accountIDs returns the ids of tenant's accounts with address email.
func accountIDs(t *testing.T, s *server, tenant, email string) []string {
	return queryDB(t, s, fmt.Sprintf(`SELECT id FROM users WHERE tenant_id = '%s' AND email = '%s'`, tenant, email))
}

// linkedUsers returns the account ids that tenant's identities at corp are linked to.
func linkedUsers(t *testing.T, s *server, tenant string) []string {
	return queryDB(t, s, fmt.Sprintf(`SELECT user_id FROM user_identities WHERE tenant_id = '%s' AND connection_id = 'corp'`, tenant))
}

// upstreamSignIn goes from the downstream sign-in page through "Sign in with Corp" to the upstream's
// sign-in page and signs in there as email.
func upstreamSignIn(t *testing.T, p *tab, email, password string) {
	t.Helper()
	p.waitFor(t, 15*time.Second, selUsername)
	p.follow(t, "Sign in with Corp")
	waitUpstream(t, p)
	p.signIn(t, email, password)
}

// waitUpstream waits until p shows the upstream tenant's sign-in page.
func waitUpstream(t *testing.T, p *tab) {
	t.Helper()
	p.waitPathFunc(t, "the upstream's sign-in page", func(u string) bool { return u == "/t/"+upstreamTenant+"/login" })
	p.waitFor(t, 15*time.Second, selUsername)
}

// typeInto replaces the value of the input sel with text.
func (p *tab) typeInto(t *testing.T, sel, text string) {
	t.Helper()
	p.waitFor(t, 15*time.Second, sel)
	p.do(t, "type into "+sel, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// TestFederatedOIDCSignIn: a person unknown downstream signs in with "Sign in with Corp" at the upstream
// tenant and gets a new downstream account just in time, linked to the upstream identity; the ID token
// names that account, says the sign-in was federated (amr fed) and carries the upstream's address. A
// second sign-in in another browser (by form_post) signs the same account in without creating one, and
// so does a third at the account console's own sign-in page. The console lists the link under Linked
// accounts, and unlinking it, the account's only way in, is refused.
func TestFederatedOIDCSignIn(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			s := startFedServer(t, backend, relay, fedDownstream{id: "shop"})
			rp := newMFARP(t, s, "shop")

			p := b.newUser(t)
			state, verifier := rp.start(t, p)
			upstreamSignIn(t, p, carolEmail, carolPassword)
			first := fedFinish(t, rp, p, state, verifier)
			if !slices.Contains(first.AMR, "fed") || first.Email != carolEmail {
				t.Fatalf("ID token amr %q email %q, want amr with fed and email %s", first.AMR, first.Email, carolEmail)
			}
			if ids := accountIDs(t, s, "shop", carolEmail); len(ids) != 1 || ids[0] != first.Sub {
				t.Fatalf("downstream accounts of %s: %q, want exactly the token's subject %s", carolEmail, ids, first.Sub)
			}
			if got := linkedUsers(t, s, "shop"); len(got) != 1 || got[0] != first.Sub {
				t.Fatalf("identities at corp linked to %q, want one linked to %s", got, first.Sub)
			}
			if ids := accountIDs(t, s, upstreamTenant, carolEmail); len(ids) != 1 || ids[0] == first.Sub {
				t.Fatalf("upstream accounts of %s: %q; the downstream subject %s must be a different account", carolEmail, ids, first.Sub)
			}

			// Another browser: the linked identity signs the same account in, and no account is added. This
			// application asks for the code by form post, which completes through its own page.
			q := b.newUser(t)
			state, verifier = rp.start(t, q, oauth2.SetAuthURLParam("response_mode", "form_post"))
			upstreamSignIn(t, q, carolEmail, carolPassword)
			second := fedFinish(t, rp, q, state, verifier)
			if second.Method != "POST" {
				t.Fatalf("the code of response_mode=form_post came by %s, want POST", second.Method)
			}
			if second.Sub != first.Sub || !slices.Contains(second.AMR, "fed") {
				t.Fatalf("second sign-in: sub %q amr %q, want the first's %s with fed", second.Sub, second.AMR, first.Sub)
			}
			if ids := accountIDs(t, s, "shop", carolEmail); len(ids) != 1 {
				t.Fatalf("downstream accounts of %s after the second sign-in: %q, want 1", carolEmail, ids)
			}

			// The account console's own sign-in page offers Corp too, without an application's request.
			r := b.newUser(t)
			r.navigate(t, s.Issuer("shop")+"/account")
			upstreamSignIn(t, r, carolEmail, carolPassword)
			r.waitPathFunc(t, "the account console", func(u string) bool { return strings.HasPrefix(u, "/t/shop/account") })
			r.wantText(t, carolEmail)

			// The account console lists the link; the account has no password, so unlinking is refused.
			q.navigate(t, s.Issuer("shop")+"/account/linked")
			q.waitPath(t, "/account/linked")
			q.wantText(t, "Linked accounts", "Corp", carolEmail)
			unlink := `form[action$="/account/linked/unlink"] button[type=submit]`
			if q.eval(t, `(document.querySelector('`+unlink+`') || {}).textContent || ""`) != "Unlink" {
				t.Fatalf("no Unlink button for Corp\npage: %s", q.where())
			}
			q.press(t, unlink)
			q.waitPath(t, "/account/linked")
			q.wantText(t, "This is the only way to sign in to your account.")
			if got := linkedUsers(t, s, "shop"); len(got) != 1 || got[0] != first.Sub {
				t.Fatalf("identities at corp after the refused unlink: %q, want still the one of %s", got, first.Sub)
			}
		})
	}
}

// TestFederatedLinkingRequiresProof: when the upstream's address belongs to an existing downstream
// account and the connection does not trust the upstream's addresses, the sign-in stops at the link
// page. A wrong password is refused beside the field and links nothing; the account's password links
// the identity and signs in that existing account (no new one), which can then unlink it from the
// account console since its password still signs it in. A code emailed to the account's address links
// as well. A connection that trusts verified upstream addresses links a verified account without asking.
// "Don't link" ends the flow with a page saying nothing was linked, and creates no account.
func TestFederatedLinkingRequiresProof(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			carol := seedUser(carolEmail, carolLocalPass)
			s := startFedServer(t, backend, relay, fedDownstream{id: "shop", users: carol}, fedDownstream{id: "decline", users: carol}, fedDownstream{id: "bycode", users: carol},
				fedDownstream{id: "trusting", users: carol, trustEmail: true})
			existing := accountIDs(t, s, "shop", carolEmail)
			if len(existing) != 1 {
				t.Fatalf("seeded accounts of %s: %q, want 1", carolEmail, existing)
			}
			rp := newMFARP(t, s, "shop")

			p := b.newUser(t)
			state, verifier := rp.start(t, p)
			upstreamSignIn(t, p, carolEmail, carolPassword)
			p.waitPath(t, "/t/shop/connections/link")
			p.wantText(t, "Link your account", "An account with the address "+carolEmail+" already exists", "Corp")
			if !p.has(selLinkPassword) || !p.has(selLinkSend) || !p.has(selLinkCancel) {
				t.Fatalf("the link page does not offer the password, an emailed code and Don't link\npage: %s", p.where())
			}

			p.typeInto(t, selPassword, "Not-Her-Password-1")
			p.press(t, selLinkPassword)
			p.waitPath(t, "/t/shop/connections/link")
			p.wantText(t, "Email or password is incorrect")
			if got := p.invalidFields(t); got != "password" {
				t.Fatalf("a wrong password: aria-invalid fields %q, want password\npage: %s", got, p.where())
			}
			if got := linkedUsers(t, s, "shop"); len(got) != 0 {
				t.Fatalf("a wrong password linked %q", got)
			}
			noCallback(t, s, state)

			p.typeInto(t, selPassword, carolLocalPass)
			p.press(t, selLinkPassword)
			c := fedFinish(t, rp, p, state, verifier)
			if c.Sub != existing[0] || !slices.Contains(c.AMR, "fed") || !slices.Contains(c.AMR, "pwd") {
				t.Fatalf("after linking: sub %q amr %q, want the existing account %s with fed and pwd", c.Sub, c.AMR, existing[0])
			}
			if got := linkedUsers(t, s, "shop"); len(got) != 1 || got[0] != existing[0] {
				t.Fatalf("identities at corp linked to %q, want one linked to %s", got, existing[0])
			}
			if ids := accountIDs(t, s, "shop", carolEmail); len(ids) != 1 {
				t.Fatalf("accounts of %s after linking: %q, want still 1", carolEmail, ids)
			}

			// The account keeps its password, so the link is not its only way in: Unlink works.
			p.navigate(t, s.Issuer("shop")+"/account/linked")
			p.wantText(t, "Linked accounts", "Corp")
			p.press(t, `form[action$="/account/linked/unlink"] button[type=submit]`)
			p.waitPath(t, "/account/linked")
			p.wantText(t, "The account was unlinked.", "No other accounts are linked to this one.")
			if got := linkedUsers(t, s, "shop"); len(got) != 0 {
				t.Fatalf("identities at corp after Unlink: %q, want none", got)
			}
			// "Link Corp" links it again from the console; this browser is still signed in upstream, so the
			// upstream answers at once.
			p.follow(t, "Link Corp")
			p.waitPath(t, "/account/linked")
			p.wantText(t, "The account was linked.")
			if got := linkedUsers(t, s, "shop"); len(got) != 1 || got[0] != existing[0] {
				t.Fatalf("identities at corp after Link Corp: %q, want one linked to %s", got, existing[0])
			}

			// The emailed code proves the account too: it links, and the ID token says so.
			crp := newMFARP(t, s, "bycode")
			byCode := accountIDs(t, s, "bycode", carolEmail)
			r := b.newUser(t)
			state, verifier = crp.start(t, r)
			upstreamSignIn(t, r, carolEmail, carolPassword)
			r.waitPath(t, "/t/bycode/connections/link")
			r.press(t, selLinkSend)
			r.wantText(t, "We sent a 6-digit code to "+carolEmail)
			code := match(t, codeRE, awaitMail(t, relay, carolEmail, 1, 30*time.Second)[0], "6-digit code")
			r.typeInto(t, selCode, code)
			r.press(t, selLinkCode)
			c = fedFinish(t, crp, r, state, verifier)
			if len(byCode) != 1 || c.Sub != byCode[0] || !slices.Contains(c.AMR, "fed") || !slices.Contains(c.AMR, "email") {
				t.Fatalf("linked by code: sub %q amr %q, want the existing account %q with fed and email", c.Sub, c.AMR, byCode)
			}
			if got := linkedUsers(t, s, "bycode"); len(got) != 1 || got[0] != byCode[0] {
				t.Fatalf("identities at corp in bycode linked to %q, want one linked to %q", got, byCode)
			}

			// Only a connection that trusts the upstream's verified address, for an account whose address is
			// verified too, links without asking: straight back to the RP as the existing account.
			trp := newMFARP(t, s, "trusting")
			trusted := accountIDs(t, s, "trusting", carolEmail)
			u := b.newUser(t)
			state, verifier = trp.start(t, u)
			upstreamSignIn(t, u, carolEmail, carolPassword)
			if c = fedFinish(t, trp, u, state, verifier); len(trusted) != 1 || c.Sub != trusted[0] {
				t.Fatalf("trusted address: sub %q, want the existing account %q", c.Sub, trusted)
			}
			if got := linkedUsers(t, s, "trusting"); len(got) != 1 || got[0] != trusted[0] {
				t.Fatalf("identities at corp in trusting linked to %q, want one linked to %q", got, trusted)
			}

			// Don't link: nothing linked, no account created, and the RP hears nothing.
			drp := newMFARP(t, s, "decline")
			q := b.newUser(t)
			state, _ = drp.start(t, q)
			upstreamSignIn(t, q, carolEmail, carolPassword)
			q.waitPath(t, "/t/decline/connections/link")
			q.press(t, selLinkCancel)
			q.wantText(t, "Not linked", "Nothing was linked and no account was created.")
			if got := linkedUsers(t, s, "decline"); len(got) != 0 {
				t.Fatalf("Don't link linked %q", got)
			}
			if n := queryDB(t, s, `SELECT COUNT(*) FROM users WHERE tenant_id = 'decline'`); n[0] != "1" {
				t.Fatalf("%s accounts in decline after Don't link, want only the seeded one", n[0])
			}
			noCallback(t, s, state)
		})
	}
}

// TestFederatedTakeoverRefused: mallory controls an upstream account whose unverified address is the
// victim's downstream address, at a connection that trusts the upstream's verified addresses (hers is
// not verified). Signing in with Corp brings her to the link page, where she has neither
// the victim's password nor mailbox: a wrong password and wrong emailed codes (the code goes to the
// victim) link nothing, the fifth wrong code ends the request, and the RP never gets a code.
func TestFederatedTakeoverRefused(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			// The connection even trusts the upstream's verified addresses: mallory's is not verified, so
			// that trust must not link her identity to the victim's account.
			s := startFedServer(t, backend, relay, fedDownstream{id: "shop", users: seedUser(victimEmail, victimPassword), trustEmail: true})
			victim := accountIDs(t, s, "shop", victimEmail)
			rp := newMFARP(t, s, "shop")

			p := b.newUser(t)
			state, _ := rp.start(t, p)
			upstreamSignIn(t, p, victimEmail, malloryPassword)
			p.waitPath(t, "/t/shop/connections/link")
			p.wantText(t, "An account with the address "+victimEmail+" already exists")

			p.typeInto(t, selPassword, "Guessed-Password-1")
			p.press(t, selLinkPassword)
			p.wantText(t, "Email or password is incorrect")

			p.press(t, selLinkSend)
			p.waitPath(t, "/t/shop/connections/link")
			p.wantText(t, "We sent a 6-digit code to "+victimEmail)
			// The code goes to the victim's mailbox, which mallory cannot read; she guesses others.
			sent := match(t, codeRE, awaitMail(t, relay, victimEmail, 1, 30*time.Second)[0], "6-digit code")
			wrong := func(i int) string {
				c := fmt.Sprintf("%06d", 111111*i)
				if c == sent {
					c = fmt.Sprintf("%06d", 111111*i+1)
				}
				return c
			}
			for i := 1; i < identity.MaxCodeFailures; i++ {
				p.typeInto(t, selCode, wrong(i))
				p.press(t, selLinkCode)
				p.waitPath(t, "/t/shop/connections/link")
				p.wantText(t, "That code is not right")
				if got := linkedUsers(t, s, "shop"); len(got) != 0 {
					t.Fatalf("wrong code %d linked %q", i, got)
				}
			}
			p.typeInto(t, selCode, wrong(identity.MaxCodeFailures))
			p.press(t, selLinkCode)
			p.wantText(t, "Linking ended", "Nothing was linked.")

			if got := linkedUsers(t, s, "shop"); len(got) != 0 {
				t.Fatalf("the takeover attempt linked %q to the victim's account", got)
			}
			if ids := accountIDs(t, s, "shop", victimEmail); len(ids) != 1 || ids[0] != victim[0] {
				t.Fatalf("accounts of %s: %q, want only the victim's %q", victimEmail, ids, victim)
			}
			noCallback(t, s, state)
			if n := len(eventsOf(t, s, "shop", "identity.link_refused")); n != 1 {
				t.Fatalf("%d identity.link_refused events, want 1 for the ended request", n)
			}
		})
	}
}

// TestFederatedHomeRealm: on an identifier-first sign-in page, an address at a domain of the connection
// goes upstream (through the page that continues there by itself) without a connection button being
// clicked, and the sign-in completes there. kc_idp_hint=corp, and connection=corp, on /authorize skip
// the downstream page and go straight upstream; a hint naming no connection shows the downstream page.
func TestFederatedHomeRealm(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			s := startFedServer(t, backend, relay, fedDownstream{id: "hrd",
				login: "    login:\n      methods: [password, email_code]\n      new_device_email: false\n"})
			rp := newMFARP(t, s, "hrd")

			p := b.newUser(t)
			state, verifier := rp.start(t, p)
			p.waitFor(t, 15*time.Second, selUsername)
			if p.has(selPassword) {
				t.Fatalf("the hrd tenant's sign-in page is not identifier-first\npage: %s", p.where())
			}
			p.typeInto(t, selUsername, carolEmail)
			p.click(t, selSubmit)
			waitUpstream(t, p)
			// The address typed downstream travels upstream as the login hint, so it need not be typed twice.
			if got := p.eval(t, `document.querySelector('`+selUsername+`').value`); got != carolEmail {
				t.Fatalf("the upstream's address field holds %q, want the typed %s\npage: %s", got, carolEmail, p.where())
			}
			p.signIn(t, carolEmail, carolPassword)
			if c := fedFinish(t, rp, p, state, verifier); !slices.Contains(c.AMR, "fed") || c.Email != carolEmail {
				t.Fatalf("ID token amr %q email %q, want fed and %s", c.AMR, c.Email, carolEmail)
			}

			for _, param := range []string{"kc_idp_hint", "connection"} {
				q := b.newUser(t)
				rp.start(t, q, oauth2.SetAuthURLParam(param, "corp"))
				waitUpstream(t, q)
			}
			// A hint naming no connection of the tenant shows the tenant's own sign-in page.
			q := b.newUser(t)
			rp.start(t, q, oauth2.SetAuthURLParam("kc_idp_hint", "nowhere"))
			q.waitPath(t, "/t/hrd/login")
			q.waitFor(t, 15*time.Second, selUsername)
		})
	}
}

// TestFederatedUpstreamRefusal: the person refuses, on the upstream's consent page, to share their
// account with the downstream (a third-party client there). The downstream says the sign-in was
// cancelled and nothing changed: no account was created and the RP gets no code. Allowing in another
// browser completes the sign-in.
func TestFederatedUpstreamRefusal(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			s := startFedServer(t, backend, relay, fedDownstream{id: "shop", partner: true})
			rp := newMFARP(t, s, "shop")

			p := b.newUser(t)
			state, _ := rp.start(t, p)
			p.waitFor(t, 15*time.Second, selUsername)
			p.follow(t, "Sign in with Partner")
			waitUpstream(t, p)
			p.signIn(t, carolEmail, carolPassword)
			p.waitPath(t, "/t/"+upstreamTenant+"/consent")
			p.press(t, selDeny)
			p.waitPath(t, "/t/shop/connections/partner/callback")
			p.wantText(t, "Sign-in not completed", "The sign-in was cancelled or refused by the service you signed in with.")
			if ids := accountIDs(t, s, "shop", carolEmail); len(ids) != 0 {
				t.Fatalf("a refused upstream sign-in created the accounts %q", ids)
			}
			noCallback(t, s, state)

			// Allowing instead completes the sign-in: the consent form's answer, too, reaches the RP.
			q := b.newUser(t)
			state, verifier := rp.start(t, q)
			q.waitFor(t, 15*time.Second, selUsername)
			q.follow(t, "Sign in with Partner")
			waitUpstream(t, q)
			q.signIn(t, carolEmail, carolPassword)
			q.waitPath(t, "/t/"+upstreamTenant+"/consent")
			q.press(t, selAllow)
			if c := fedFinish(t, rp, q, state, verifier); c.Email != carolEmail || !slices.Contains(c.AMR, "fed") {
				t.Fatalf("after allowing: email %q amr %q, want %s with fed", c.Email, c.AMR, carolEmail)
			}
		})
	}
}

// TestFederatedSignInStillNeedsMFA: a federated sign-in is a first factor like a password. Under the
// downstream policy required, the new account's verified address (from the upstream) is its second
// factor: the emailed code is asked before the RP gets a code, and the ID token says fed, email and mfa.
func TestFederatedSignInStillNeedsMFA(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			s := startFedServer(t, backend, relay, fedDownstream{id: "strict",
				login: "    login:\n      new_device_email: false\n    mfa:\n      policy: required\n      factors: [email]\n"})
			rp := newMFARP(t, s, "strict")

			p := b.newUser(t)
			state, verifier := rp.start(t, p)
			upstreamSignIn(t, p, carolEmail, carolPassword)
			p.waitPath(t, "/t/strict/login/mfa")
			noCallback(t, s, state)
			p.press(t, `form[action*="/login/mfa/send"] button[type=submit]`)
			code := match(t, codeRE, awaitMail(t, relay, carolEmail, 1, 30*time.Second)[0], "6-digit code")
			p.enterCode(t, code, false)
			c := fedFinish(t, rp, p, state, verifier)
			for _, m := range []string{"fed", "email", "mfa"} {
				if !slices.Contains(c.AMR, m) {
					t.Fatalf("ID token amr %q, want fed, email and mfa", c.AMR)
				}
			}
		})
	}
}
