package e2e

import (
	"context"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/store/storetest"
)

// startLocalhostServer starts umm on backend with the standard seed, its public URL on
// http://localhost:port: WebAuthn needs a host name for the RP ID (an IP address cannot be one), and
// localhost is a secure context without TLS.
func startLocalhostServer(t *testing.T, backend string) *server {
	t.Helper()
	s := newServer(t, backend)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	s.URL = "http://localhost:" + u.Port()
	if err := os.WriteFile(s.cfgPath, []byte(s.config(port, s.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// addVirtualAuthenticator gives the tab a platform authenticator (CTAP2, internal transport) that keeps
// discoverable credentials and verifies the user; with presence, it also answers without a person (else
// every request waits for a touch that never comes). It returns the authenticator's id.
func (p *tab) addVirtualAuthenticator(t *testing.T, presence bool) webauthn.AuthenticatorID {
	t.Helper()
	var id webauthn.AuthenticatorID
	p.do(t, "add a virtual authenticator", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: presence,
			}})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

// setPresence turns the automatic answer to user-presence tests of authenticator id on or off (off: every
// request waits for a touch that never comes).
func (p *tab) setPresence(t *testing.T, id webauthn.AuthenticatorID, on bool) {
	t.Helper()
	p.do(t, "set presence simulation", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, webauthn.SetAutomaticPresenceSimulation,
			webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
		return err
	}))
}

// withoutConditionalUI makes every page of the tab report that conditional mediation is unavailable (until
// the returned func is called), so that a test drives the button alone.
func (p *tab) withoutConditionalUI(t *testing.T) func() {
	t.Helper()
	var id cdppage.ScriptIdentifier
	p.do(t, "hide conditional mediation", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`})
		id = res.Identifier
		return err
	}))
	return func() {
		p.do(t, "show conditional mediation", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, cdppage.RemoveScriptToEvaluateOnNewDocument, cdppage.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: id})
			return err
		}))
	}
}

// acmeWeb is the OIDC relying party of acme's first-party client web.
type acmeWeb struct {
	s    *server
	conf *oauth2.Config
	ctx  context.Context
}

func newAcmeWeb(t *testing.T, s *server) *acmeWeb {
	iss := s.Issuer("acme")
	return &acmeWeb{s: s, ctx: oidc.ClientContext(context.WithValue(testCtx(t, 5*time.Minute), oauth2.HTTPClient, httpClient()), httpClient()),
		conf: &oauth2.Config{ClientID: "web", ClientSecret: webSecret, RedirectURL: s.RP.URL + "/cb",
			Endpoint: oauth2.Endpoint{AuthURL: iss + "/authorize", TokenURL: iss + "/token", AuthStyle: oauth2.AuthStyleInHeader},
			Scopes:   []string{oidc.ScopeOpenID, "email"}}}
}

func (r *acmeWeb) start() (authURL, state, verifier string) {
	state, verifier = random(), oauth2.GenerateVerifier()
	return r.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), state, verifier
}

// amr exchanges the code of callback cb and returns the ID token's email and amr.
func (r *acmeWeb) amr(t *testing.T, cb url.Values, verifier string) (string, []string) {
	t.Helper()
	c := r.idToken(t, cb, verifier)
	return c.Email, c.AMR
}

// idTokenClaims are the ID token claims the passkey tests look at.
type idTokenClaims struct {
	Email string   `json:"email"`
	ACR   string   `json:"acr"`
	AMR   []string `json:"amr"`
}

// idToken exchanges the code of callback cb and returns the ID token's claims, verified by go-oidc.
func (r *acmeWeb) idToken(t *testing.T, cb url.Values, verifier string) idTokenClaims {
	t.Helper()
	var c idTokenClaims
	exchangeVerified(t, r.ctx, r.conf, r.s.Issuer("acme"), cb.Get("code"), verifier, &c)
	return c
}

const (
	selPasskeyButton   = `[data-passkey="signin"]:not([hidden]) button[data-passkey-button]`
	selPasskeyAdd      = `[data-passkey="register"]:not([hidden]) button[data-passkey-button]`
	selConditionalSeen = `[data-passkey="signin"][data-conditional="started"]`
)

// signOut presses the account page's sign-out button.
func (p *tab) signOut(t *testing.T, s *server) {
	t.Helper()
	p.navigate(t, s.URL+"/t/acme/account/profile")
	p.markDocument(t)
	p.click(t, `form[action$="/account/logout"] button[type=submit]`)
	p.waitNewDocument(t)
	p.waitFor(t, 15*time.Second, `a[href$="/login"]`)
}

func wantPasskeyAMR(t *testing.T, email string, amr []string) {
	t.Helper()
	if email != aliceEmail || !slices.Contains(amr, "user") || (!slices.Contains(amr, "swk") && !slices.Contains(amr, "hwk")) ||
		slices.Contains(amr, "pwd") {
		t.Fatalf("ID token of %s has amr %v, want user and swk or hwk (and no pwd)", email, amr)
	}
}

// TestPasskeyInBrowser drives headless Chromium with a virtual authenticator against the real binary:
// adding a passkey on the account page, signing in with the "Sign in with a passkey" button through an
// OIDC client, and the passkey offered in the email input's autofill (conditional mediation).
func TestPasskeyInBrowser(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			s := startLocalhostServer(t, backend)
			web := newAcmeWeb(t, s)
			b := newBrowser(t)
			p := b.newUser(t)
			auth := p.addVirtualAuthenticator(t, true)

			// Sign in with the password, then add a named passkey.
			p.navigate(t, s.URL+"/t/acme/account/passkeys")
			p.signIn(t, aliceEmail, alicePassword)
			p.waitFor(t, 15*time.Second, `a[href$="/account/passkeys"]`)
			p.navigate(t, s.URL+"/t/acme/account/passkeys")
			p.waitFor(t, 15*time.Second, selPasskeyAdd)
			p.wantText(t, "You have no passkeys yet.")
			p.do(t, "name the passkey", chromedp.SendKeys(chromedp.CSS(`#passkey-name`), "Test laptop"))
			p.markDocument(t)
			p.click(t, selPasskeyAdd)
			p.waitNewDocument(t)
			p.wantText(t, "Passkey added.", "Test laptop", "not used yet")

			// Sign out, then sign in to the OIDC client with the button.
			p.signOut(t, s)
			show := p.withoutConditionalUI(t)
			authURL, state, verifier := web.start()
			p.navigate(t, authURL)
			p.waitFor(t, 15*time.Second, selPasskeyButton)
			if p.has(selConditionalSeen) {
				t.Fatal("the conditional request started although the page was told it is unavailable")
			}
			p.click(t, selPasskeyButton)
			email, amr := web.amr(t, p.waitRP(t, s.RP, "/cb", state), verifier)
			wantPasskeyAMR(t, email, amr)
			t.Logf("button sign-in: amr %v", amr)

			// The account page shows when the passkey was last used.
			p.navigate(t, s.URL+"/t/acme/account/passkeys")
			p.waitFor(t, 15*time.Second, `[data-passkey-last-used]`)
			p.wantText(t, "Test laptop", "last used")

			// Conditional UI: on a fresh sign-in page the script starts a conditional request at once.
			p.signOut(t, s)
			show()
			authURL, state, verifier = web.start()
			p.navigate(t, authURL)
			// Nothing is clicked: the virtual authenticator answers the conditional request as a person
			// choosing the passkey in the autofill would.
			email, amr = web.amr(t, p.waitRP(t, s.RP, "/cb", state), verifier)
			wantPasskeyAMR(t, email, amr)
			t.Logf("conditional mediation sign-in: amr %v", amr)

			buttonAbortsConditional(t, b, s, p, auth)
		})
	}
}

// buttonAbortsConditional checks that the button aborts a waiting conditional request before it starts
// its own: in tab p, signed out, whose authenticator id holds the passkey but no longer answers by itself,
// the conditional request keeps waiting. In a tab whose authenticator has no passkey, the button's
// refusal is told in the page's live region and the sign-in form stays usable.
func buttonAbortsConditional(t *testing.T, b *browser, s *server, p *tab, id webauthn.AuthenticatorID) {
	t.Helper()
	p.signOut(t, s)
	p.setPresence(t, id, false)
	p.navigate(t, s.URL+"/t/acme/login")
	p.waitFor(t, 15*time.Second, selConditionalSeen)
	time.Sleep(300 * time.Millisecond) // still waiting after a while: the touch never comes
	if !p.has(selConditionalSeen) {
		t.Fatalf("the conditional request ended by itself: %s", p.where())
	}
	// The click submits the button's form, whose handler aborts the conditional request before it asks
	// for new options; the marker is read in the same task.
	if got := p.eval(t, `(() => {
		document.querySelector(`+"`"+selPasskeyButton+"`"+`).click();
		return document.querySelector('[data-passkey="signin"]').getAttribute("data-conditional");
	})()`); got != "aborted" {
		t.Fatalf("after the button, the conditional request is %q, want aborted", got)
	}
	t.Log("the button aborted the waiting conditional request")

	r := b.newUser(t)
	r.addVirtualAuthenticator(t, true)
	r.navigate(t, s.URL+"/t/acme/login")
	r.waitFor(t, 15*time.Second, selPasskeyButton)
	r.click(t, selPasskeyButton)
	deadline := time.Now().Add(20 * time.Second)
	msg := ""
	for time.Now().Before(deadline) {
		msg = r.eval(t, `document.querySelector("[data-passkey-status]").textContent`)
		if msg != "" && !strings.Contains(msg, "Waiting") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if msg == "" || strings.Contains(msg, "Waiting") {
		t.Fatalf("no refusal shown: %q", msg)
	}
	if !r.has(selUsername) || !r.has(selSubmit) {
		t.Fatalf("the sign-in form is gone: %s", r.where())
	}
	t.Logf("without a passkey the button's request ends with %q", msg)
}

// TestPasskeyStepUpToPHR: a password session asked for acr_values=phr goes to the second-factor page,
// which offers only the passkey (no code can reach a phishing-resistant sign-in); the passkey steps the
// same session up, and the ID token verified by go-oidc says acr phr with pwd, the passkey and user
// verification in amr.
func TestPasskeyStepUpToPHR(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			s := startLocalhostServer(t, backend)
			web := newAcmeWeb(t, s)
			b := newBrowser(t)
			p := b.newUser(t)
			p.addVirtualAuthenticator(t, true)

			p.navigate(t, s.URL+"/t/acme/account/passkeys")
			p.signIn(t, aliceEmail, alicePassword)
			p.waitFor(t, 15*time.Second, `a[href$="/account/passkeys"]`)
			p.navigate(t, s.URL+"/t/acme/account/passkeys")
			p.waitFor(t, 15*time.Second, selPasskeyAdd)
			p.markDocument(t)
			p.click(t, selPasskeyAdd)
			p.waitNewDocument(t)
			p.wantText(t, "Passkey added.")

			authURL, state, verifier := web.start()
			p.navigate(t, authURL+"&acr_values=phr")
			p.waitFor(t, 15*time.Second, selPasskeyButton)
			p.wantText(t, "Two-step verification")
			if p.has(`input[name=code]`) || p.has(`input[type=password]`) {
				t.Fatal("the step-up to phr offers a code or a password, which cannot reach it")
			}
			p.click(t, selPasskeyButton)
			c := web.idToken(t, p.waitRP(t, s.RP, "/cb", state), verifier)
			acr, amr := c.ACR, c.AMR
			if acr != "phr" || !slices.Contains(amr, "pwd") || !slices.Contains(amr, "user") || !slices.Contains(amr, "mfa") ||
				(!slices.Contains(amr, "swk") && !slices.Contains(amr, "hwk")) {
				t.Errorf("after the passkey: acr %q amr %v, want phr with pwd, swk or hwk, user, mfa", acr, amr)
			}
		})
	}
}
