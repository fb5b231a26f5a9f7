package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
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
	moreSecret  = "more-secret-0123456789abcdef"
	selNewEmail = `input[name=new_email]`
)

// moreTenants are two tenants appended to the standard seed before selfServiceConfig (whose email block
// the server then uses): more, with self-registration, a first-party client rc allowed refresh tokens, a first-party client
// needs that requires the optional custom field company, and its users; and prog, whose optional field
// team is asked progressively from the first sign-in on.
func moreTenants(rpURL string, users []string) string {
	var seed strings.Builder
	for _, u := range users {
		fmt.Fprintf(&seed, "      - email: %s\n        password: %q\n        email_verified: true\n", u, alicePassword)
	}
	return fmt.Sprintf(`  - id: more
    name: More
    login:
      new_device_email: false # the tests read the recovery and change emails in order
    registration:
      enabled: true
    profile:
      fields:
        - name: company
          type: string
          label: {en: Company}
          editable: true
          claim: {scope: profile}
    clients:
      - client_id: rc
        client_secret: %[2]q
        name: More Web
        redirect_uris: [%[1]s/cb]
        grant_types: [authorization_code, refresh_token]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email, offline_access]
        first_party: true
      - client_id: needs
        client_secret: %[2]q
        name: Needs Company
        redirect_uris: [%[1]s/cb]
        grant_types: [authorization_code]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email]
        first_party: true
        required_profile_fields: [company]
    users:
%[3]s  - id: prog
    name: Prog
    profile:
      fields:
        - name: team
          type: string
          label: {en: Team}
          editable: true
          claim: {scope: profile}
      progressive:
        - field: team
          after_sign_ins: 1
    clients:
      - client_id: rc
        client_secret: %[2]q
        name: Prog Web
        redirect_uris: [%[1]s/cb]
        grant_types: [authorization_code]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email]
        first_party: true
    users:
%[3]s`, rpURL, moreSecret, seed.String())
}

// moreRP is a relying party of client in tenant.
type moreRP struct {
	s              *server
	tenant, client string
	conf           *oauth2.Config
	ctx            context.Context
}

func newMoreRP(t *testing.T, s *server, tenant, client string, scopes ...string) *moreRP {
	iss := s.Issuer(tenant)
	return &moreRP{s: s, tenant: tenant, client: client,
		ctx: oidc.ClientContext(context.WithValue(testCtx(t, 5*time.Minute), oauth2.HTTPClient, httpClient()), httpClient()),
		conf: &oauth2.Config{ClientID: client, ClientSecret: moreSecret, RedirectURL: s.RP.URL + "/cb",
			Endpoint: oauth2.Endpoint{AuthURL: iss + "/authorize", TokenURL: iss + "/token", AuthStyle: oauth2.AuthStyleInHeader},
			Scopes:   append([]string{oidc.ScopeOpenID}, scopes...)}}
}

func (r *moreRP) start(opts ...oauth2.AuthCodeOption) (authURL, state, verifier string) {
	state, verifier = random(), oauth2.GenerateVerifier()
	return r.conf.AuthCodeURL(state, append(opts, oauth2.S256ChallengeOption(verifier))...), state, verifier
}

// moreClaims are the ID token claims these tests check.
type moreClaims struct {
	Email         string  `json:"email"`
	EmailVerified bool    `json:"email_verified"`
	Company       string  `json:"company"`
	Team          *string `json:"team"`
}

// finish waits for the callback, exchanges its code and verifies the ID token with go-oidc.
func (r *moreRP) finish(t *testing.T, p *tab, state, verifier string) (moreClaims, *oauth2.Token) {
	t.Helper()
	cb := p.waitRP(t, r.s.RP, "/cb", state)
	if cb.Get("code") == "" {
		t.Fatalf("callback %v, want a code", cb)
	}
	var c moreClaims
	tok := exchangeVerified(t, r.ctx, r.conf, r.s.Issuer(r.tenant), cb.Get("code"), verifier, &c)
	return c, tok
}

// signInAt opens authURL in p, signs in and returns the claims and tokens the RP gets.
func (r *moreRP) signInAt(t *testing.T, p *tab, email, password string, opts ...oauth2.AuthCodeOption) (moreClaims, *oauth2.Token) {
	t.Helper()
	authURL, state, verifier := r.start(opts...)
	p.navigate(t, authURL)
	p.signIn(t, email, password)
	return r.finish(t, p, state, verifier)
}

// waitText waits until the page shows want.
func (p *tab) waitText(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.text(t), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the page does not show %q within 15s\npage: %s", want, p.where())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fill sets the fields named in vals (in the order given) and clicks submit, waiting for the next page.
func (p *tab) fill(t *testing.T, submit string, vals ...string) {
	t.Helper()
	for i := 0; i+1 < len(vals); i += 2 {
		sel := fmt.Sprintf(`[name=%q]`, vals[i])
		p.waitFor(t, 15*time.Second, sel)
		p.do(t, "fill "+vals[i], chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), vals[i+1]))
	}
	p.markDocument(t)
	p.click(t, submit)
	p.waitNewDocument(t)
}

// wantSignInRefused signs in at a fresh authorization request in a new browser context and expects the
// sign-in page to refuse it.
func wantSignInRefused(t *testing.T, b *browser, r *moreRP, email, password string) {
	t.Helper()
	p := b.newUser(t)
	authURL, _, _ := r.start()
	p.navigate(t, authURL)
	p.signIn(t, email, password)
	p.waitText(t, "Email or password is incorrect")
}

var (
	recoverLinkRE = regexp.MustCompile(`https?://\S+/recover/password\?token=\S+`)
	emailLinkRE   = regexp.MustCompile(`https?://\S+/account/email/confirm\?token=\S+`)
	safeIDRE      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// expireInvitation moves the invitation's expires_at into the past in the server's database, as time
// would: the CLI does not make invitations shorter than five minutes.
func expireInvitation(t *testing.T, s *server, id string) {
	t.Helper()
	if !safeIDRE.MatchString(id) {
		t.Fatalf("invitation id %q", id)
	}
	driver, dsn := "pgx", s.dbURL
	if path, ok := strings.CutPrefix(s.dbURL, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := db.ExecContext(ctx, `UPDATE invitations SET expires_at = 1 WHERE id = '`+id+`'`)
	if err != nil {
		t.Fatalf("expire the invitation: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("expire the invitation: %d rows, want 1", n)
	}
}

// wantInvalidGrant fails unless the refresh token is refused with invalid_grant.
func wantInvalidGrant(t *testing.T, r *moreRP, refresh string) {
	t.Helper()
	_, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: refresh}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("the old refresh token at /token: %v, want invalid_grant", err)
	}
}

// TestSelfServiceMoreInBrowser drives headless Chromium through password recovery (emailed code and
// link), a change of the email address in the account console, completing a profile at sign-in, and an
// expired invitation, against the real binary sending email to an in-process SMTP relay.
func TestSelfServiceMoreInBrowser(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			relay := notifytest.New(t, notifytest.Options{})
			addr := func(name string) string { return name + "-" + backend + "@example.com" }
			s := newServer(t, backend)
			s.appendConfig(t, moreTenants(s.RP.URL, []string{addr("reccode"), addr("reclink"), addr("change"), addr("chlink"), addr("needs"), addr("prog")}))
			s.appendConfig(t, selfServiceConfig(s.RP.URL, relay.Config.SMTPURL))
			if err := s.start(); err != nil {
				t.Fatal(err)
			}
			rc := newMoreRP(t, s, "more", "rc", "profile", "email", oidc.ScopeOfflineAccess)
			b := newBrowser(t)

			for _, method := range []string{"code", "link"} {
				t.Run("recovery by the emailed "+method+" ends the old password, refresh token and sessions", func(t *testing.T) {
					t.Parallel()
					email := addr("rec" + method)
					// Before: the RP holds a refresh token from the old password, and another browser is signed in.
					_, old := rc.signInAt(t, b.newUser(t), email, alicePassword)
					if old.RefreshToken == "" {
						t.Fatal("no refresh token for offline_access with the old password")
					}
					other := b.newUser(t)
					other.navigate(t, s.Issuer("more")+"/account/security")
					other.signIn(t, email, alicePassword)
					other.waitText(t, "Signed in as "+email)
					other.navigate(t, s.Issuer("more")+"/account/security")
					other.waitFor(t, 15*time.Second, selNewEmail)

					p := b.newUser(t)
					authURL, state, verifier := rc.start()
					p.navigate(t, authURL)
					p.waitFor(t, 15*time.Second, selUsername)
					p.wantText(t, "Forgot password?")
					p.markDocument(t)
					p.click(t, `a[href*="/recover"]`)
					p.waitNewDocument(t)
					p.wantText(t, "Reset your password")
					p.fill(t, selSubmit, "email", email)
					p.waitFor(t, 15*time.Second, selOneTimeCode)
					p.wantText(t, "Check your email")
					msg := awaitMail(t, relay, email, 1, 30*time.Second)[0]
					if !strings.Contains(msg.Subject, "Reset your More password") {
						t.Fatalf("subject %q, want the password reset", msg.Subject)
					}
					if method == "code" {
						p.fill(t, selSubmit, "code", match(t, codeRE, msg, "6-digit code"))
					} else {
						p.navigate(t, match(t, recoverLinkRE, msg, "recovery link"))
					}
					p.waitFor(t, 15*time.Second, `input[autocomplete=new-password]`)
					p.wantText(t, "Choose a new password")
					p.fill(t, selSubmit, "password", newPassword)
					if c, _ := rc.finish(t, p, state, verifier); c.Email != email {
						t.Fatalf("ID token email %q after the recovery, want %s", c.Email, email)
					}

					changed := awaitMail(t, relay, email, 2, 30*time.Second)[1]
					if !strings.Contains(changed.Subject, "password was changed") {
						t.Fatalf("second email %q, want the password_changed notice", changed.Subject)
					}
					wantInvalidGrant(t, rc, old.RefreshToken)
					other.navigate(t, s.Issuer("more")+"/account/security")
					other.waitFor(t, 15*time.Second, selUsername) // its session ended: the console asks to sign in
					if other.has(selNewEmail) {
						t.Fatalf("the other browser still shows the account console\npage: %s", other.where())
					}
					wantSignInRefused(t, b, rc, email, alicePassword)
					if c, _ := rc.signInAt(t, b.newUser(t), email, newPassword); c.Email != email {
						t.Fatalf("ID token email %q with the new password, want %s", c.Email, email)
					}
				})
			}

			for _, method := range []string{"code", "link"} {
				t.Run("registration for a first-party client confirmed by the emailed "+method+" goes straight to the RP", func(t *testing.T) {
					t.Parallel()
					email := addr("reg" + method)
					p := b.newUser(t)
					authURL, state, verifier := rc.start()
					p.navigate(t, authURL)
					p.waitFor(t, 15*time.Second, selUsername)
					p.markDocument(t)
					p.click(t, `a[href*="/register"]`)
					p.waitNewDocument(t)
					p.fill(t, `form[method=post] `+selSubmit, "email", email, "password", newPassword)
					p.waitFor(t, 15*time.Second, selOneTimeCode)
					msg := awaitMail(t, relay, email, 1, 30*time.Second)[0]
					if method == "code" {
						p.fill(t, selSubmit, "code", match(t, codeRE, msg, "6-digit code"))
					} else {
						p.navigate(t, match(t, confirmRE, msg, "confirmation link"))
						p.wantText(t, "Confirm your email address")
						p.markDocument(t)
						p.click(t, selSubmit)
					}
					// No consent for a first-party client: the answer to the form redirects to the RP at once.
					c, _ := rc.finish(t, p, state, verifier)
					if c.Email != email || !c.EmailVerified {
						t.Fatalf("ID token claims %+v, want email %s verified", c, email)
					}
				})
			}

			t.Run("a change of email confirmed by the code from the new address signs in with the new one only", func(t *testing.T) {
				t.Parallel()
				oldEmail, newEmail := addr("change"), addr("changed")
				p := b.newUser(t)
				if c, _ := rc.signInAt(t, p, oldEmail, alicePassword); c.Email != oldEmail {
					t.Fatalf("ID token email %q, want %s", c.Email, oldEmail)
				}
				p.navigate(t, s.Issuer("more")+"/account/security")
				p.wantText(t, oldEmail, "Change email address")
				// A wrong current password is refused beside its field, the new address kept, and nothing is sent.
				p.fill(t, `form:has(input[name=new_email]) `+selSubmit, "new_email", newEmail, "password", "Wrong-Password-1")
				if got := p.invalidFields(t); got != "password" {
					t.Fatalf("aria-invalid fields %q after a wrong password, want password\npage: %s", got, p.where())
				}
				if got := p.eval(t, `document.querySelector('[name=new_email]').value`); got != newEmail {
					t.Fatalf("the form kept the new address %q, want %s", got, newEmail)
				}
				p.fill(t, `form:has(input[name=new_email]) `+selSubmit, "new_email", newEmail, "password", alicePassword)
				p.waitFor(t, 15*time.Second, selOneTimeCode)
				p.wantText(t, "We sent a message to "+newEmail)
				msgs := awaitMail(t, relay, newEmail, 1, 30*time.Second)
				if len(msgs) != 1 {
					t.Fatalf("%d messages to %s, want one (none for the wrong password)", len(msgs), newEmail)
				}
				msg := msgs[0]
				if !strings.Contains(msg.Subject, "Confirm your new email address") {
					t.Fatalf("subject %q at the new address", msg.Subject)
				}
				p.fill(t, `form:has(input[name=code]) `+selSubmit, "code", match(t, codeRE, msg, "6-digit code"))
				p.waitText(t, "Your email address was changed.")
				p.wantText(t, newEmail)
				notice := awaitMail(t, relay, oldEmail, 1, 30*time.Second)[0]
				if !strings.Contains(notice.Subject, "email address of your More account") || !strings.Contains(notice.Body, newEmail) {
					t.Fatalf("the old address got %q:\n%s", notice.Subject, notice.Body)
				}
				wantSignInRefused(t, b, rc, oldEmail, alicePassword)
				c, _ := rc.signInAt(t, b.newUser(t), newEmail, alicePassword)
				if c.Email != newEmail || !c.EmailVerified {
					t.Fatalf("ID token claims %+v, want email %s verified", c, newEmail)
				}
			})

			t.Run("the email change link asks another browser to sign in, then confirms there with its button", func(t *testing.T) {
				t.Parallel()
				oldEmail, newEmail := addr("chlink"), addr("chlinked")
				p := b.newUser(t)
				p.navigate(t, s.Issuer("more")+"/account/security")
				p.signIn(t, oldEmail, alicePassword)
				p.waitText(t, "Signed in as "+oldEmail)
				p.navigate(t, s.Issuer("more")+"/account/security")
				p.fill(t, `form:has(input[name=new_email]) `+selSubmit, "new_email", newEmail, "password", alicePassword)
				p.waitFor(t, 15*time.Second, selOneTimeCode)
				link := match(t, emailLinkRE, awaitMail(t, relay, newEmail, 1, 30*time.Second)[0], "confirmation link")

				q := b.newUser(t)
				q.navigate(t, link)
				q.wantText(t, "Sign in to confirm", "open the link from the email again") // no session here
				if q.has(`form[method=post] button[type=submit]`) {
					t.Fatalf("the link offers to confirm without a session\npage: %s", q.where())
				}
				if rows := usersIn(t, s, "more", newEmail); len(rows) != 0 {
					t.Fatalf("opening the link without a session changed the address: %q", rows)
				}
				q.markDocument(t)
				q.click(t, `a[href*="/login"]`)
				q.waitNewDocument(t)
				q.signIn(t, oldEmail, alicePassword)
				q.waitText(t, "Signed in as "+oldEmail)
				q.navigate(t, link)
				q.wantText(t, "Confirm new address")
				q.markDocument(t)
				q.click(t, `form[method=post] `+selSubmit)
				q.waitNewDocument(t)
				q.waitText(t, "Your email address was changed.")
				if rows := usersIn(t, s, "more", newEmail); len(rows) != 1 || rows[0] != "true" {
					t.Fatalf("users list rows for %s: %q, want one verified", newEmail, rows)
				}
				if rows := usersIn(t, s, "more", oldEmail); len(rows) != 0 {
					t.Fatalf("users list still has %s: %q", oldEmail, rows)
				}
				// The used link cannot be used again.
				q.navigate(t, link)
				if q.has(`form[method=post] button[type=submit]`) && strings.Contains(q.text(t), "Confirm new address") {
					t.Fatalf("the used link still offers to confirm\npage: %s", q.where())
				}
			})

			t.Run("a client requiring company stops the sign-in at the complete-profile page until it is filled", func(t *testing.T) {
				t.Parallel()
				email := addr("needs")
				needs := newMoreRP(t, s, "more", "needs", "profile", "email")
				p := b.newUser(t)
				authURL, state, verifier := needs.start()
				p.navigate(t, authURL)
				p.signIn(t, email, alicePassword)
				p.waitFor(t, 15*time.Second, `input[name=company]`)
				p.wantText(t, "Complete your profile", "Needs Company needs a few more details", "Company")
				if p.has(`button[value=skip]`) {
					t.Fatalf("a field the client requires can be skipped\npage: %s", p.where())
				}
				// Saving it empty is refused beside the field.
				p.fill(t, `button[value=save]`)
				if got := p.invalidFields(t); got != "company" {
					t.Fatalf("aria-invalid fields %q after an empty save, want company\npage: %s", got, p.where())
				}
				p.fill(t, `button[value=save]`, "company", "Needed GmbH")
				c, _ := needs.finish(t, p, state, verifier)
				if c.Company != "Needed GmbH" || c.Email != email {
					t.Fatalf("ID token claims %+v, want company Needed GmbH", c)
				}
			})

			t.Run("a due progressive field can be skipped, and is asked again at the next sign-in", func(t *testing.T) {
				t.Parallel()
				email := addr("prog")
				prog := newMoreRP(t, s, "prog", "rc", "profile", "email")
				p := b.newUser(t)
				authURL, state, verifier := prog.start()
				p.navigate(t, authURL)
				p.signIn(t, email, alicePassword)
				p.waitFor(t, 15*time.Second, `input[name=team]`)
				p.wantText(t, "Complete your profile", "Team", "Skip for now")
				p.fill(t, `button[value=skip]`)
				c, _ := prog.finish(t, p, state, verifier)
				if c.Email != email || c.Team != nil {
					t.Fatalf("ID token claims %+v, want email %s and no team", c, email)
				}
				// Skipped at the first sign-in with after_sign_ins 1, it is asked again at the second; filled, it
				// reaches the RP.
				q := b.newUser(t)
				authURL, state, verifier = prog.start()
				q.navigate(t, authURL)
				q.signIn(t, email, alicePassword)
				q.waitFor(t, 15*time.Second, `input[name=team]`)
				q.fill(t, `button[value=save]`, "team", "Platform")
				c, _ = prog.finish(t, q, state, verifier)
				if c.Team == nil || *c.Team != "Platform" {
					t.Fatalf("ID token claims %+v, want team Platform", c)
				}
			})

			t.Run("an expired invitation shows why, without the form, and creates nothing", func(t *testing.T) {
				t.Parallel()
				email := addr("expired")
				out := s.cli(t, "", "invitations", "create", "--tenant", "more", "--email", email)
				m := invitedIDRE.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("no invitation id in %q", out)
				}
				link := match(t, invitationRE, awaitMail(t, relay, email, 1, 30*time.Second)[0], "invitation link")
				expireInvitation(t, s, m[1])
				p := b.newUser(t)
				p.navigate(t, link)
				p.wantText(t, "Invitation expired", "Ask the person who invited you")
				if p.has(`input[name=password]`) {
					t.Fatalf("an expired invitation link shows the form\npage: %s", p.where())
				}
				resp, err := httpClient().Get(link)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusGone {
					t.Fatalf("GET of the expired link: %d, want 410", resp.StatusCode)
				}
				if rows := usersIn(t, s, "more", email); len(rows) != 0 {
					t.Fatalf("an expired invitation created an account: %q", rows)
				}
			})
		})
	}
}
