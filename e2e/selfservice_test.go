package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/store/storetest"
)

const (
	shopSecret     = "shop-secret-0123456789abcdef"
	newPassword    = "Lantern-Orchid-Gravel-42"
	selOneTimeCode = `input[autocomplete=one-time-code]`
)

// selfServiceConfig is appended to the standard configuration (the tenants list is its last block): the
// tenant shop with self-registration, a required custom field company released under profile, a
// third-party client app (so consent is asked) with an initiate_login_uri at the RP, and alice; the tenant
// tight, whose registrations are limited to 2 per IP and hour; and the email relay at smtpURL.
func selfServiceConfig(rpURL, smtpURL string) string {
	return fmt.Sprintf(`  - id: shop
    name: Shop
    registration:
      enabled: true
    profile:
      fields:
        - name: company
          type: string
          label: {en: Company, de: Firma}
          required: true
          registration: true
          editable: true
          claim: {scope: profile}
    clients:
      - client_id: app
        client_secret: %[2]q
        name: Shop App
        redirect_uris: [%[1]s/cb]
        grant_types: [authorization_code]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email]
        first_party: false
        initiate_login_uri: %[1]s/start
    users:
      - email: %[4]s
        password: %[5]q
        email_verified: true
  - id: tight
    name: Tight
    registration:
      enabled: true
      limits:
        per_ip_per_hour: 2
email:
  smtp_url: %[3]q
  from: "Shop Accounts <accounts@shop.example>"
  timeout: 5s
`, rpURL, shopSecret, smtpURL, aliceEmail, alicePassword)
}

// startSelfService starts a server on backend with the self-service tenants and email through smtpURL.
func startSelfService(t *testing.T, backend, smtpURL string) *server {
	t.Helper()
	s := newServer(t, backend)
	s.appendConfig(t, selfServiceConfig(s.RP.URL, smtpURL))
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// appendConfig appends text to the server's configuration file.
func (s *server) appendConfig(t *testing.T, text string) {
	t.Helper()
	f, err := os.OpenFile(s.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

var (
	codeRE       = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)
	confirmRE    = regexp.MustCompile(`https?://\S+/register/confirm\?token=\S+`)
	invitationRE = regexp.MustCompile(`https?://\S+/invitation\?token=\S+`)
	invitedIDRE  = regexp.MustCompile(`\(invitation (\S+), link valid`)
)

// awaitMail waits until the relay holds n messages to address and returns them, oldest first.
func awaitMail(t *testing.T, r *notifytest.Relay, to string, n int, within time.Duration) []notifytest.Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var got []notifytest.Message
		for _, m := range r.Messages() {
			if strings.EqualFold(m.To, to) {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages to %s after %s, want %d", len(got), to, within, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func match(t *testing.T, re *regexp.Regexp, m notifytest.Message, what string) string {
	t.Helper()
	g := re.FindStringSubmatch(m.Body)
	if g == nil {
		t.Fatalf("no %s in the email %q:\n%s", what, m.Subject, m.Body)
	}
	return g[len(g)-1]
}

// text returns the visible text of the page.
func (p *tab) text(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	return s
}

// eval evaluates a JavaScript expression returning a string.
func (p *tab) eval(t *testing.T, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// wantText fails unless the page shows every one of want.
func (p *tab) wantText(t *testing.T, want ...string) {
	t.Helper()
	body := p.text(t)
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("the page does not show %q\npage: %s", w, p.where())
		}
	}
}

// fillAndSubmit sets the named fields of the page's form and submits it, waiting for the next page.
func (p *tab) fillAndSubmit(t *testing.T, vals map[string]string) {
	t.Helper()
	p.waitFor(t, 15*time.Second, `input[name=email]`, `input[name=password]`)
	for name, v := range vals {
		sel := fmt.Sprintf(`[name=%q]`, name)
		p.do(t, "fill "+name, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), v))
	}
	p.markDocument(t)
	p.click(t, `form[method=post] `+selSubmit)
	p.waitNewDocument(t)
}

// invalidFields returns the names of the inputs marked aria-invalid, comma-separated in page order.
func (p *tab) invalidFields(t *testing.T) string {
	return p.eval(t, `Array.from(document.querySelectorAll('[aria-invalid=true]')).map(e => e.name).join(",")`)
}

// shopRP is the relying party of the shop tenant's client app.
type shopRP struct {
	s    *server
	conf *oauth2.Config
	ctx  context.Context
}

func newShopRP(t *testing.T, s *server) *shopRP {
	iss := s.Issuer("shop")
	return &shopRP{s: s, ctx: oidc.ClientContext(context.WithValue(testCtx(t, 5*time.Minute), oauth2.HTTPClient, httpClient()), httpClient()),
		conf: &oauth2.Config{ClientID: "app", ClientSecret: shopSecret, RedirectURL: s.RP.URL + "/cb",
			Endpoint: oauth2.Endpoint{AuthURL: iss + "/authorize", TokenURL: iss + "/token", AuthStyle: oauth2.AuthStyleInHeader},
			Scopes:   []string{oidc.ScopeOpenID, "profile", "email"}}}
}

// start returns an authorization URL with a fresh state and verifier.
func (r *shopRP) start(opts ...oauth2.AuthCodeOption) (authURL, state, verifier string) {
	state, verifier = random(), oauth2.GenerateVerifier()
	return r.conf.AuthCodeURL(state, append(opts, oauth2.S256ChallengeOption(verifier))...), state, verifier
}

// shopClaims are the ID token claims the registration tests check.
type shopClaims struct {
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Company       string `json:"company"`
	GivenName     string `json:"given_name"`
}

// finish waits for the callback, exchanges its code and verifies the ID token with go-oidc.
func (r *shopRP) finish(t *testing.T, p *tab, state, verifier string) shopClaims {
	t.Helper()
	cb := p.waitRP(t, r.s.RP, "/cb", state)
	if cb.Get("code") == "" {
		t.Fatalf("callback %v, want a code", cb)
	}
	var c shopClaims
	exchangeVerified(t, r.ctx, r.conf, r.s.Issuer("shop"), cb.Get("code"), verifier, &c)
	return c
}

// register goes from the sign-in page of authURL to the registration form, fills it and submits it.
func register(t *testing.T, p *tab, authURL, email, company string) {
	t.Helper()
	p.navigate(t, authURL)
	p.waitFor(t, 15*time.Second, selUsername)
	p.markDocument(t)
	p.click(t, `a[href*="/register"]`)
	p.waitNewDocument(t)
	p.fillAndSubmit(t, map[string]string{"email": email, "password": newPassword, "given_name": "Nora",
		"family_name": "Neu", "company": company})
	p.waitFor(t, 15*time.Second, selOneTimeCode)
}

// usersWith returns the rows of "umm users list --tenant shop" that name email, as their VERIFIED column
// ("true" or "false").
func usersWith(t *testing.T, s *server, email string) []string {
	t.Helper()
	return usersIn(t, s, "shop", email)
}

// usersIn is usersWith for tenant.
func usersIn(t *testing.T, s *server, tenant, email string) []string {
	t.Helper()
	var rows []string
	for _, line := range strings.Split(s.cli(t, "", "users", "list", "--tenant", tenant), "\n") {
		if f := strings.Fields(line); len(f) > 2 && strings.EqualFold(f[1], email) {
			rows = append(rows, f[2])
		}
	}
	return rows
}

func wantVerified(t *testing.T, c shopClaims, email, company string) {
	t.Helper()
	if c.Email != email || !c.EmailVerified || c.Company != company || c.GivenName != "Nora" {
		t.Fatalf("ID token claims %+v, want email %s, email_verified true, company %q, given_name Nora", c, email, company)
	}
}

// TestSelfServiceInBrowser drives headless Chromium through self-registration (emailed code and link),
// its refusals and limits, invitations and German pages, against the real binary sending email to an
// in-process SMTP relay; the relying party verifies the resulting ID token with go-oidc.
func TestSelfServiceInBrowser(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			relay := notifytest.New(t, notifytest.Options{})
			s := startSelfService(t, backend, relay.Config.SMTPURL)
			rp := newShopRP(t, s)
			b := newBrowser(t)
			addr := func(name string) string { return name + "-" + backend + "@example.com" }

			t.Run("registration confirmed with the emailed code reaches the RP with email_verified and company", func(t *testing.T) {
				t.Parallel()
				email := addr("code")
				p := b.newUser(t)
				authURL, state, verifier := rp.start()
				register(t, p, authURL, email, "Code GmbH")
				p.wantText(t, "Check your email")
				msg := awaitMail(t, relay, email, 1, 30*time.Second)[0]
				if !strings.Contains(msg.Subject, "Confirm your email address") {
					t.Fatalf("subject %q", msg.Subject)
				}
				code := match(t, codeRE, msg, "6-digit code")
				p.do(t, "type the code", chromedp.SendKeys(chromedp.CSS(selOneTimeCode), code))
				p.markDocument(t)
				p.click(t, selSubmit)
				p.waitNewDocument(t)
				p.waitFor(t, 15*time.Second, selAllow)
				p.click(t, selAllow)
				wantVerified(t, rp.finish(t, p, state, verifier), email, "Code GmbH")
				if rows := usersWith(t, s, email); len(rows) != 1 || rows[0] != "true" {
					t.Fatalf("users list rows for %s: %q, want one verified", email, rows)
				}
			})

			t.Run("the emailed link opened in the same browser signs in and continues the request", func(t *testing.T) {
				t.Parallel()
				email := addr("link")
				p := b.newUser(t)
				authURL, state, verifier := rp.start()
				register(t, p, authURL, email, "Link AG")
				link := match(t, confirmRE, awaitMail(t, relay, email, 1, 30*time.Second)[0], "confirmation link")
				// The link opens in the same browser (its cookies), as a click in a web mail would. It opens in the
				// same tab: with chromedp v0.23.0 every command to a second tab of one browser context times out.
				tab2 := p
				tab2.navigate(t, link)
				tab2.wantText(t, "Confirm your email address")
				tab2.markDocument(t)
				tab2.click(t, selSubmit)
				tab2.waitNewDocument(t)
				tab2.waitFor(t, 15*time.Second, selAllow)
				tab2.click(t, selAllow)
				wantVerified(t, rp.finish(t, tab2, state, verifier), email, "Link AG")
			})

			t.Run("the emailed link opened in a second browser confirms the address without signing in", func(t *testing.T) {
				t.Parallel()
				email := addr("other")
				p := b.newUser(t)
				authURL, _, _ := rp.start()
				register(t, p, authURL, email, "Other KG")
				link := match(t, confirmRE, awaitMail(t, relay, email, 1, 30*time.Second)[0], "confirmation link")
				q := b.newUser(t)
				q.navigate(t, link)
				q.markDocument(t)
				q.click(t, selSubmit)
				q.waitNewDocument(t)
				q.wantText(t, "Address confirmed", "You can now sign in")
				q.navigate(t, s.Issuer("shop")+"/account")
				q.waitFor(t, 15*time.Second, selUsername) // no session: the account console asks to sign in
				if rows := usersWith(t, s, email); len(rows) != 1 || rows[0] != "true" {
					t.Fatalf("users list rows for %s: %q, want one verified", email, rows)
				}
				// The used link cannot be used again.
				q.navigate(t, link)
				q.wantText(t, "This confirmation cannot be used")
			})

			t.Run("five wrong codes end the code and the link, and the account stays unverified", func(t *testing.T) {
				t.Parallel()
				email := addr("wrong")
				p := b.newUser(t)
				authURL, _, _ := rp.start()
				register(t, p, authURL, email, "Guess Ltd")
				msg := awaitMail(t, relay, email, 1, 30*time.Second)[0]
				code, link := match(t, codeRE, msg, "6-digit code"), match(t, confirmRE, msg, "confirmation link")
				n, _ := strconv.Atoi(code)
				wrong := fmt.Sprintf("%06d", (n+1)%1000000)
				checkURL := p.eval(t, `document.location.href`)
				for i := 1; i <= 5; i++ {
					p.waitFor(t, 15*time.Second, selOneTimeCode)
					p.do(t, "type a wrong code", chromedp.SendKeys(chromedp.CSS(selOneTimeCode), wrong))
					p.markDocument(t)
					p.click(t, selSubmit)
					p.waitNewDocument(t)
					if i < 5 {
						if got := p.invalidFields(t); got != "code" {
							t.Fatalf("after wrong code %d: aria-invalid fields %q, want code\npage: %s", i, got, p.where())
						}
						p.wantText(t, "This code is not correct")
					}
				}
				p.wantText(t, "Too many wrong codes")
				p.navigate(t, checkURL)
				p.do(t, "type the right code", chromedp.SendKeys(chromedp.CSS(selOneTimeCode), code))
				p.markDocument(t)
				p.click(t, selSubmit)
				p.waitNewDocument(t)
				if p.has(selAllow) || strings.Contains(p.text(t), "Address confirmed") {
					t.Fatalf("the right code still worked after five wrong ones\npage: %s", p.where())
				}
				q := b.newUser(t)
				q.navigate(t, link)
				q.wantText(t, "This confirmation cannot be used")
				if rows := usersWith(t, s, email); len(rows) != 1 || rows[0] != "false" {
					t.Fatalf("users list rows for %s: %q, want one unverified", email, rows)
				}
			})

			t.Run("field errors are shown with aria-invalid and the entered values kept", func(t *testing.T) {
				t.Parallel()
				p := b.newUser(t)
				p.navigate(t, s.Issuer("shop")+"/register")
				p.fillAndSubmit(t, map[string]string{"email": "not-an-address", "password": newPassword, "given_name": "Nora"})
				if got := p.invalidFields(t); got != "email,company" {
					t.Fatalf("aria-invalid fields %q, want email,company\npage: %s", got, p.where())
				}
				p.wantText(t, "Enter an email address such as name@example.com.", "Fill in this field.")
				if v := p.eval(t, `document.querySelector('[name=given_name]').value + "|" + document.querySelector('[name=email]').value + "|" + document.querySelector('[name=password]').value`); v != "Nora|not-an-address|" {
					t.Fatalf("kept values %q, want given_name and email kept, the password not", v)
				}
			})

			for _, pw := range []string{"Password123!", "Qwerty123!", "Welcome2024!"} {
				t.Run("the common password "+pw+" is refused with the reason", func(t *testing.T) {
					t.Parallel()
					email := addr("pw" + strings.ToLower(pw[:4]))
					p := b.newUser(t)
					p.navigate(t, s.Issuer("shop")+"/register")
					p.fillAndSubmit(t, map[string]string{"email": email, "password": pw, "company": "Weak Ltd"})
					if got := p.invalidFields(t); got != "password" {
						t.Fatalf("aria-invalid fields %q, want password\npage: %s", got, p.where())
					}
					p.wantText(t, "This password is too common")
					if rows := usersWith(t, s, email); len(rows) != 0 {
						t.Fatalf("an account was created with %s: %q", pw, rows)
					}
				})
			}

			t.Run("registering an address that has an account shows the same page, emails a notice and creates nothing", func(t *testing.T) {
				t.Parallel()
				p := b.newUser(t)
				authURL, _, _ := rp.start()
				register(t, p, authURL, aliceEmail, "Dup Inc")
				p.wantText(t, "Check your email")
				msg := awaitMail(t, relay, aliceEmail, 1, 30*time.Second)[0]
				if !strings.Contains(msg.Subject, "Someone tried to register") || codeRE.MatchString(msg.Body) {
					t.Fatalf("the notice email %q carries a code or is not the notice:\n%s", msg.Subject, msg.Body)
				}
				if rows := usersWith(t, s, aliceEmail); len(rows) != 1 {
					t.Fatalf("users list rows for %s: %q, want exactly the seeded one", aliceEmail, rows)
				}
			})

			t.Run("an unverified account's sign-in asks for a new emailed code, which completes it", func(t *testing.T) {
				t.Parallel()
				email := addr("unverified")
				p := b.newUser(t)
				authURL, _, _ := rp.start()
				register(t, p, authURL, email, "Later SA")
				awaitMail(t, relay, email, 1, 30*time.Second)

				q := b.newUser(t)
				authURL, state, verifier := rp.start()
				q.navigate(t, authURL)
				q.signIn(t, email, newPassword)
				q.waitFor(t, 15*time.Second, selOneTimeCode)
				q.wantText(t, "Your email address is not confirmed yet")
				code := match(t, codeRE, awaitMail(t, relay, email, 2, 30*time.Second)[1], "6-digit code")
				q.do(t, "type the code", chromedp.SendKeys(chromedp.CSS(selOneTimeCode), code))
				q.markDocument(t)
				q.click(t, selSubmit)
				q.waitNewDocument(t)
				q.waitFor(t, 15*time.Second, selAllow)
				q.click(t, selAllow)
				wantVerified(t, rp.finish(t, q, state, verifier), email, "Later SA")
			})

			t.Run("German pages via ui_locales=de", func(t *testing.T) {
				t.Parallel()
				p := b.newUser(t)
				authURL, _, _ := rp.start(oauth2.SetAuthURLParam("ui_locales", "de"))
				p.navigate(t, authURL)
				p.waitFor(t, 15*time.Second, selUsername)
				if lang := p.eval(t, `document.documentElement.lang`); lang != "de" {
					t.Fatalf("sign-in page lang %q, want de", lang)
				}
				p.wantText(t, "Anmelden", "Konto erstellen")
				p.markDocument(t)
				p.click(t, `a[href*="/register"]`)
				p.waitNewDocument(t)
				if lang := p.eval(t, `document.documentElement.lang`); lang != "de" {
					t.Fatalf("registration page lang %q, want de", lang)
				}
				p.wantText(t, "Konto erstellen", "Firma")
				p.fillAndSubmit(t, map[string]string{"email": addr("de"), "password": "Password123!", "company": "Deutsch GmbH"})
				p.wantText(t, "Dieses Passwort ist zu verbreitet")
				p.fillAndSubmit(t, map[string]string{"password": newPassword})
				p.waitFor(t, 15*time.Second, selOneTimeCode)
				if lang := p.eval(t, `document.documentElement.lang`); lang != "de" {
					t.Fatalf("check-your-email page lang %q, want de", lang)
				}
				p.wantText(t, "Prüfen Sie Ihre E-Mails")
				// The email is in the language of the page that caused it.
				if msg := awaitMail(t, relay, addr("de"), 1, 30*time.Second)[0]; !strings.HasPrefix(msg.Subject, "Bestätigen Sie Ihre E-Mail-Adresse") {
					t.Fatalf("the verification email of a German registration has the subject %q", msg.Subject)
				}
			})

			t.Run("an invitation link opens the form, creates a verified account and lands at initiate_login_uri, once", func(t *testing.T) {
				t.Parallel()
				email := addr("invitee")
				s.cli(t, "", "invitations", "create", "--tenant", "shop", "--email", email, "--client", "app")
				link := match(t, invitationRE, awaitMail(t, relay, email, 1, 30*time.Second)[0], "invitation link")
				p := b.newUser(t)
				p.navigate(t, link)
				p.wantText(t, "Accept your invitation")
				if got := p.eval(t, `document.getElementById("email").value`); got != email {
					t.Fatalf("the invitation form shows the address %q, want %q", got, email)
				}
				p.fillAndSubmit(t, map[string]string{"password": newPassword, "company": "Invited BV"})
				start := p.waitRP(t, s.RP, "/start", "")
				if start.Get("iss") != s.Issuer("shop") {
					t.Fatalf("initiate_login_uri got %v, want iss %s", start, s.Issuer("shop"))
				}
				if rows := usersWith(t, s, email); len(rows) != 1 || rows[0] != "true" {
					t.Fatalf("users list rows for %s: %q, want one verified", email, rows)
				}
				q := b.newUser(t)
				q.navigate(t, link)
				q.wantText(t, "Invitation already accepted")
				if q.has(`input[name=password]`) {
					t.Fatal("a used invitation link shows the form")
				}
			})

			t.Run("an invitation without a client lands signed in at the account console", func(t *testing.T) {
				t.Parallel()
				email := addr("console")
				s.cli(t, "", "invitations", "create", "--tenant", "shop", "--email", email)
				link := match(t, invitationRE, awaitMail(t, relay, email, 1, 30*time.Second)[0], "invitation link")
				p := b.newUser(t)
				p.navigate(t, link)
				p.fillAndSubmit(t, map[string]string{"password": newPassword, "given_name": "Ina", "company": "Console SE"})
				if u := p.eval(t, `document.location.pathname`); !strings.HasPrefix(u, "/t/shop/account") {
					t.Fatalf("after accepting, the browser is at %s, want the account console\npage: %s", u, p.where())
				}
				if p.has(selUsername) {
					t.Fatalf("the account console asks to sign in after the invitation was accepted\npage: %s", p.where())
				}
				if got := p.eval(t, `(document.querySelector('[name=company]') || {}).value || ""`); got != "Console SE" {
					t.Fatalf("the account console's profile shows company %q, want Console SE\npage: %s", got, p.where())
				}
			})

			t.Run("a replaced invitation link shows that it is not valid, a revoked one that it was withdrawn", func(t *testing.T) {
				t.Parallel()
				email := addr("revoked")
				out := s.cli(t, "", "invitations", "create", "--tenant", "shop", "--email", email)
				m := invitedIDRE.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("no invitation id in %q", out)
				}
				link := match(t, invitationRE, awaitMail(t, relay, email, 1, 30*time.Second)[0], "invitation link")
				// A resent invitation has a new link; the old one is unknown from then on.
				s.cli(t, "", "invitations", "resend", "--tenant", "shop", "--id", m[1])
				msgs := awaitMail(t, relay, email, 2, 30*time.Second)
				resent := match(t, invitationRE, msgs[1], "invitation link")
				if resent == link {
					t.Fatal("the resent invitation carries the same link")
				}
				p := b.newUser(t)
				p.navigate(t, link)
				p.wantText(t, "Invitation link not valid")
				s.cli(t, "", "invitations", "revoke", "--tenant", "shop", "--id", m[1])
				p.navigate(t, resent)
				p.wantText(t, "Invitation withdrawn")
				if p.has(`input[name=password]`) {
					t.Fatal("a revoked invitation link shows the form")
				}
				if rows := usersWith(t, s, email); len(rows) != 0 {
					t.Fatalf("a revoked invitation created an account: %q", rows)
				}
			})

			t.Run("registrations beyond the per-IP limit answer 429 with Retry-After", func(t *testing.T) {
				t.Parallel()
				a := newAgent(s)
				var statuses []int
				var last *page
				for i := range 3 {
					p, err := a.get(s.Issuer("tight") + "/register")
					if err != nil || p.Status != 200 {
						t.Fatalf("GET /register: %v %v", err, p)
					}
					f := findForm(parseForms(p.Body), func(f form) bool { return f.input("name", "password") != nil })
					if f == nil {
						t.Fatalf("no registration form: %s", snippet(p.Body))
					}
					v := f.values()
					v.Set("email", fmt.Sprintf("tight%d-%s@example.com", i, backend))
					v.Set("password", newPassword)
					last, err = a.submit(p, f, v)
					if err != nil {
						t.Fatal(err)
					}
					statuses = append(statuses, last.Status)
				}
				if fmt.Sprint(statuses) != "[303 303 429]" {
					t.Fatalf("statuses %v, want [303 303 429]; last: %s", statuses, snippet(last.Body))
				}
				if ra, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || ra <= 0 {
					t.Errorf("Retry-After %q, want a positive number of seconds", last.Header.Get("Retry-After"))
				}
				if !strings.Contains(last.Body, "Too many attempts") {
					t.Errorf("the 429 page does not say why: %s", snippet(last.Body))
				}
				for i, want := range []int{1, 1, 0} {
					email := fmt.Sprintf("tight%d-%s@example.com", i, backend)
					if rows := usersIn(t, s, "tight", email); len(rows) != want {
						t.Errorf("users list rows for %s: %q, want %d", email, rows, want)
					}
				}
			})
		})
	}
}

// TestOutboxSurvivesSIGKILL registers while the SMTP relay is down, so the verification email is committed
// to the outbox but not sent, kills the server with SIGKILL, and starts it again with the relay up on the
// same database: the email arrives, and its code still confirms the address.
func TestOutboxSurvivesSIGKILL(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			down := fmt.Sprintf("smtp://127.0.0.1:%d", freePort(t)) // nothing listens there
			s := newServer(t, backend)
			orig, err := os.ReadFile(s.cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			// At level info the server logs each failed delivery: the test kills it only after one, so the
			// message is committed and waiting for its retry, not leased by a delivery in flight (a lease
			// would hold it for two minutes after the kill).
			orig = []byte(strings.Replace(string(orig), "level: warn", "level: info", 1))
			if err := os.WriteFile(s.cfgPath, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			s.appendConfig(t, selfServiceConfig(s.RP.URL, down))
			if err := s.start(); err != nil {
				t.Fatal(err)
			}

			email := "outbox-" + backend + "@example.com"
			a := newAgent(s)
			p, err := a.get(s.Issuer("shop") + "/register")
			if err != nil || p.Status != 200 {
				t.Fatalf("GET /register: %v %v", err, p)
			}
			f := findForm(parseForms(p.Body), func(f form) bool { return f.input("name", "password") != nil })
			if f == nil {
				t.Fatalf("no registration form: %s", snippet(p.Body))
			}
			v := f.values()
			v.Set("email", email)
			v.Set("password", newPassword)
			v.Set("company", "Outbox Ltd")
			res, err := a.submit(p, f, v)
			if err != nil || res.Status != 303 || !strings.Contains(res.Header.Get("Location"), "/register/verify") {
				t.Fatalf("register: %v %v %s", err, res, res.Header.Get("Location"))
			}
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(s.logs.String(), "outbox delivery failed; will retry") {
				if time.Now().After(deadline) {
					t.Fatalf("no failed delivery to the relay that is down within 30s")
				}
				time.Sleep(50 * time.Millisecond)
			}
			s.kill()
			if n := len(relay.Messages()); n != 0 {
				t.Fatalf("the relay that was not configured got %d messages", n)
			}

			if err := os.WriteFile(s.cfgPath, append(orig, selfServiceConfig(s.RP.URL, relay.Config.SMTPURL)...), 0o600); err != nil {
				t.Fatal(err)
			}
			s.restart()
			msg := awaitMail(t, relay, email, 1, 90*time.Second)[0]
			code := match(t, codeRE, msg, "6-digit code")

			verify, err := url.Parse(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			verify, _ = verify.Parse(res.Header.Get("Location"))
			vp, err := a.get(verify.String())
			if err != nil || vp.Status != 200 {
				t.Fatalf("GET %s: %v %v", verify, err, vp)
			}
			vf := findForm(parseForms(vp.Body), func(f form) bool { return f.input("name", "code") != nil })
			if vf == nil {
				t.Fatalf("no code form: %s", snippet(vp.Body))
			}
			cv := vf.values()
			cv.Set("code", code)
			done, err := a.submit(vp, vf, cv)
			if err != nil || done.Status != 303 || !strings.Contains(done.Header.Get("Location"), "/account") {
				t.Fatalf("the code from the email sent after the restart: %v %v %s", err, done, snippet(done.Body))
			}
			if rows := usersWith(t, s, email); len(rows) != 1 || rows[0] != "true" {
				t.Fatalf("users list rows for %s: %q, want one verified", email, rows)
			}
		})
	}
}
