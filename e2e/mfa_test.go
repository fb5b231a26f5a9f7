package e2e

import (
	"context"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/store/storetest"
)

const (
	mfaSecret = "mfa-secret-0123456789abcdef"
	mfaPhone  = "+44 20 7946 0958"
	mfaPhoneE = "+442079460958"
	// selCode is a code input. Every one must carry autocomplete="one-time-code" (password managers and
	// phones fill it from the message), so the tests find them by that attribute alone: an input without
	// it is never typed into.
	selCode = `input[autocomplete=one-time-code]`
	// selCodeSubmit is the submit button of the form that holds the code input (second-factor page,
	// authenticator app setup, phone confirmation).
	selCodeSubmit = `form:has(` + selCode + `) button[type=submit]`
)

// rpURLMark stands for the RP's URL in mfaTenant's text until startMFAServer knows it.
const rpURLMark = "{{rp}}"

// mfaTenant is a tenant entry of the configuration: id with the mfa block mfa (YAML at the tenant's
// indentation, "" for none), the first-party client web and alice. The New sign-in email is off, so that
// the relay holds only the messages a test waits for.
func mfaTenant(id, mfa string) string {
	rpURL := rpURLMark
	return fmt.Sprintf(`  - id: %[1]s
    name: MFA %[1]s
%[5]s    login:
      new_device_email: false
    clients:
      - client_id: web
        client_secret: %[3]q
        name: MFA Web
        redirect_uris: [%[2]s/cb]
        grant_types: [authorization_code]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email]
        first_party: true
    users:
      - email: %[4]s
        password: %[6]q
        given_name: Alice
        email_verified: true
`, id, rpURL, mfaSecret, aliceEmail, mfa, alicePassword)
}

// startMFAServer starts a server on backend with the extra tenants, email through relay and, when phones
// is not nil, text messages through its signed webhook.
func startMFAServer(t *testing.T, backend string, relay *notifytest.Relay, phones *notifytest.SMSServer, tenants ...string) *server {
	t.Helper()
	s := newServer(t, backend)
	extra := strings.ReplaceAll(strings.Join(tenants, ""), rpURLMark, s.RP.URL) + fmt.Sprintf("email:\n  smtp_url: %q\n  from: \"Accounts <accounts@mfa.example>\"\n  timeout: 5s\n",
		relay.Config.SMTPURL)
	if phones != nil {
		c := phones.WebhookConfig()
		extra += fmt.Sprintf("sms:\n  provider: %s\n  url: %q\n  secret: %q\n  timeout: 10s\n", c.Provider, c.URL, c.Secret)
	}
	s.appendConfig(t, extra)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// mfaRP is the relying party of the client web of a tenant made by mfaTenant.
type mfaRP struct {
	s      *server
	tenant string
	conf   *oauth2.Config
	ctx    context.Context
}

func newMFARP(t *testing.T, s *server, tenant string) *mfaRP {
	iss := s.Issuer(tenant)
	return &mfaRP{s: s, tenant: tenant,
		ctx: oidc.ClientContext(context.WithValue(testCtx(t, 5*time.Minute), oauth2.HTTPClient, httpClient()), httpClient()),
		conf: &oauth2.Config{ClientID: "web", ClientSecret: mfaSecret, RedirectURL: s.RP.URL + "/cb",
			Endpoint: oauth2.Endpoint{AuthURL: iss + "/authorize", TokenURL: iss + "/token", AuthStyle: oauth2.AuthStyleInHeader},
			Scopes:   []string{oidc.ScopeOpenID, "email"}}}
}

// mfaClaims are the ID token claims about how the user signed in.
type mfaClaims struct {
	ACR string   `json:"acr"`
	AMR []string `json:"amr"`
	SID string   `json:"sid"`
}

// start opens a new authorization request in p.
func (r *mfaRP) start(t *testing.T, p *tab, opts ...oauth2.AuthCodeOption) (state, verifier string) {
	t.Helper()
	state, verifier = random(), oauth2.GenerateVerifier()
	p.navigate(t, r.conf.AuthCodeURL(state, append(opts, oauth2.S256ChallengeOption(verifier))...))
	return state, verifier
}

// finish waits for the callback, exchanges its code and verifies the ID token with go-oidc.
func (r *mfaRP) finish(t *testing.T, p *tab, state, verifier string) mfaClaims {
	t.Helper()
	cb := p.waitRP(t, r.s.RP, "/cb", state)
	if cb.Get("code") == "" {
		t.Fatalf("callback %v, want a code", cb)
	}
	var c mfaClaims
	exchangeVerified(t, r.ctx, r.conf, r.s.Issuer(r.tenant), cb.Get("code"), verifier, &c)
	return c
}

// wantAMR fails unless the claims carry acr and every one of amr.
func wantAMR(t *testing.T, c mfaClaims, acr string, amr ...string) {
	t.Helper()
	for _, m := range amr {
		if !slices.Contains(c.AMR, m) {
			t.Fatalf("ID token acr %q amr %q, want acr %s and amr with %q", c.ACR, c.AMR, acr, amr)
		}
	}
	if c.ACR != acr {
		t.Fatalf("ID token acr %q amr %q, want acr %s", c.ACR, c.AMR, acr)
	}
}

// path is the path of the page the tab shows.
func (p *tab) path(t *testing.T) string { return p.eval(t, `document.location.pathname`) }

// waitPath waits until the tab shows a page whose path ends with suffix.
func (p *tab) waitPath(t *testing.T, suffix string) {
	t.Helper()
	p.waitPathFunc(t, "…"+suffix, func(u string) bool { return strings.HasSuffix(u, suffix) })
}

// waitPathFunc waits until the tab shows a loaded page whose path satisfies ok.
func (p *tab) waitPathFunc(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		u, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? document.location.pathname : ""`))
		cancel()
		if err == nil && u != "" && ok(u) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser is not at %s within 15s\npage: %s", what, p.where())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// accountSignIn signs p in to tenant's account pages with the password and opens Sign-in methods. The
// console lands on its first section after signing in, whichever section was asked for, hence the
// second navigation.
func accountSignIn(t *testing.T, p *tab, s *server, tenant string) {
	t.Helper()
	p.navigate(t, s.Issuer(tenant)+"/account/signin")
	p.signIn(t, aliceEmail, alicePassword)
	account := "/t/" + tenant + "/account/"
	p.waitPathFunc(t, account, func(u string) bool { return strings.HasPrefix(u, account) })
	p.navigate(t, s.Issuer(tenant)+"/account/signin")
}

// follow clicks the link whose text is text and waits for the page it opens.
func (p *tab) follow(t *testing.T, text string) {
	t.Helper()
	q, _ := json.Marshal(text)
	found := p.eval(t, fmt.Sprintf(`(() => { const a = Array.from(document.querySelectorAll("a")).find(e => e.textContent.trim() === %s);
		if (!a) return ""; a.setAttribute("data-e2e-follow", "1"); return a.href })()`, q))
	if found == "" {
		t.Fatalf("no link %q\npage: %s", text, p.where())
	}
	p.markDocument(t)
	p.click(t, `a[data-e2e-follow]`)
	p.waitNewDocument(t)
}

// press clicks the submit button sel and waits for the next page.
func (p *tab) press(t *testing.T, sel string) {
	t.Helper()
	p.waitFor(t, 15*time.Second, sel)
	p.markDocument(t)
	p.click(t, sel)
	p.waitNewDocument(t)
}

// enterCode types code into the page's code input and submits its form, ticking "Remember this device"
// first when remember is set.
func (p *tab) enterCode(t *testing.T, code string, remember bool) {
	t.Helper()
	p.waitFor(t, 15*time.Second, selCode)
	p.do(t, "type the code", chromedp.Clear(chromedp.CSS(selCode)), chromedp.SendKeys(chromedp.CSS(selCode), code))
	if remember {
		p.wantText(t, "Remember this device for")
		p.click(t, `input[name=remember]`)
	}
	p.press(t, selCodeSubmit)
}

// signOutOf ends the tab's session in tenant through the end-session page's button.
func (p *tab) signOutOf(t *testing.T, s *server, tenant string) {
	t.Helper()
	p.navigate(t, s.Issuer(tenant)+"/logout")
	p.press(t, selLogout)
}

// totpKey is the authenticator app key shown on the setup page, decoded.
func totpKey(t *testing.T, shown string) []byte {
	t.Helper()
	k := strings.ToUpper(strings.Join(strings.Fields(shown), ""))
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(k, "="))
	if err != nil || len(seed) < 10 {
		t.Fatalf("the key %q on the setup page is not base32 of at least 80 bits: %v", shown, err)
	}
	return seed
}

// enrolTOTP sets up an authenticator app from the account's Sign-in methods page, which p must be
// signed in to, checking what the setup page shows. It returns the key.
func enrolTOTP(t *testing.T, p *tab, s *server, tenant string) []byte {
	t.Helper()
	p.navigate(t, s.Issuer(tenant)+"/account/signin")
	p.follow(t, "Set up an authenticator app")
	p.waitFor(t, 15*time.Second, `#totp-key`)
	if !p.has(`.qr-code svg`) {
		t.Fatalf("the setup page shows no inline SVG QR code\npage: %s", p.where())
	}
	uri := p.eval(t, `(document.querySelector('a[href^="otpauth://"]') || {}).href || ""`)
	if !strings.HasPrefix(uri, "otpauth://totp/") {
		t.Fatalf("the setup page has no otpauth://totp/ link (got %q)\npage: %s", uri, p.where())
	}
	shown := p.eval(t, `document.getElementById("totp-key").textContent`)
	key := totpKey(t, shown)
	if !strings.Contains(uri, "secret="+strings.Join(strings.Fields(shown), "")) {
		t.Fatalf("the otpauth link %s does not carry the key shown as text %q", uri, shown)
	}
	p.enterCode(t, identity.TOTPCode(key, time.Now()), false)
	p.waitPath(t, "/account/signin")
	p.wantText(t, "Your authenticator app was added.", "Authenticator app")
	return key
}

// laterTOTP is a code for the time step after at's: the server accepts one step of drift, and a code
// counts once, so a second code within the same 30 seconds must be the next step's.
func laterTOTP(key []byte, at time.Time) string {
	return identity.TOTPCode(key, at.Add(30*time.Second))
}

// openDB opens the server's database with database/sql, for what a browser cannot do (move time).
func openDB(t *testing.T, s *server) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", s.dbURL
	if path, ok := strings.CutPrefix(s.dbURL, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// execDB runs a statement with literal values (no placeholders: the two drivers spell them differently)
// and returns the rows it changed.
func execDB(t *testing.T, s *server, stmt string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := openDB(t, s).ExecContext(ctx, stmt)
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	n, _ := res.RowsAffected()
	return n
}

// mfaEvent is a row of the events table.
type mfaEvent struct {
	Type string
	Data map[string]any
}

// eventsOf returns tenant's events of the given types, oldest first.
func eventsOf(t *testing.T, s *server, tenant string, types ...string) []mfaEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := openDB(t, s).QueryContext(ctx, `SELECT type, data FROM events WHERE tenant_id = '`+tenant+`' ORDER BY id`)
	if err != nil {
		t.Fatalf("read the events: %v", err)
	}
	defer rows.Close()
	var out []mfaEvent
	for rows.Next() {
		var e mfaEvent
		var data string
		if err := rows.Scan(&e.Type, &data); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(types, e.Type) {
			continue
		}
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			t.Fatalf("event %s data %q: %v", e.Type, data, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// lastRisk returns the newest risk.assessed event's decision, reasons and explanation.
func lastRisk(t *testing.T, s *server, tenant string) (decision string, reasons []string, explain string) {
	t.Helper()
	evs := eventsOf(t, s, tenant, "risk.assessed")
	if len(evs) == 0 {
		t.Fatalf("no risk.assessed event in %s", tenant)
	}
	d := evs[len(evs)-1].Data
	decision, _ = d["decision"].(string)
	explain, _ = d["explain"].(string)
	list, _ := d["reasons"].([]any)
	for _, r := range list {
		s, _ := r.(string)
		reasons = append(reasons, s)
	}
	return decision, reasons, explain
}

// awaitSubject waits for a message to alice whose subject contains subject.
func awaitSubject(t *testing.T, relay *notifytest.Relay, subject string) notifytest.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, m := range relay.Messages() {
			if strings.EqualFold(m.To, aliceEmail) && strings.Contains(m.Subject, subject) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email to %s with %q in the subject within 30s", aliceEmail, subject)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// emailSecondFactor asks the second-factor page on p for an emailed code, reads the n-th message to alice
// and enters its code.
func emailSecondFactor(t *testing.T, p *tab, relay *notifytest.Relay, n int, remember bool) {
	t.Helper()
	p.waitPath(t, "/login/mfa")
	p.wantText(t, "Email me a code")
	p.press(t, `form[action*="/login/mfa/send"] button[type=submit]`)
	code := match(t, codeRE, awaitMail(t, relay, aliceEmail, n, 30*time.Second)[n-1], "6-digit code")
	p.enterCode(t, code, remember)
}

// TestMFATOTPInBrowser: under policy optional alice sets up an authenticator app from the account pages
// (inline SVG QR code, key as text, otpauth:// link), then an OIDC sign-in asks for its code after the
// password and the ID token says acr 2 with amr pwd, otp, mfa. The same code in another browser is
// refused. Recovery codes generated on their page sign in once each, and a used one is announced by email.
func TestMFATOTPInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			s := startMFAServer(t, backend, relay, nil, mfaTenant("opt", "    mfa:\n      policy: optional\n"))
			rp := newMFARP(t, s, "opt")

			p := b.newUser(t)
			accountSignIn(t, p, s, "opt")
			p.wantText(t, "You have not set up a second sign-in method yet")
			key := enrolTOTP(t, p, s, "opt")
			p.signOutOf(t, s, "opt")

			state, verifier := rp.start(t, p)
			p.signIn(t, aliceEmail, alicePassword)
			p.waitPath(t, "/login/mfa")
			p.wantText(t, "Enter the 6-digit code that your authenticator app shows now.")
			code := laterTOTP(key, time.Now())
			p.enterCode(t, code, false)
			wantAMR(t, rp.finish(t, p, state, verifier), "2", "pwd", "otp", "mfa")

			// A code counts once: replayed from another browser, it is refused beside the input.
			q := b.newUser(t)
			rp.start(t, q)
			q.signIn(t, aliceEmail, alicePassword)
			q.waitPath(t, "/login/mfa")
			q.enterCode(t, code, false)
			q.waitPath(t, "/login/mfa")
			q.wantText(t, "That code is not right")
			if got := q.invalidFields(t); got != "code" {
				t.Fatalf("a replayed code: aria-invalid fields %q, want code\npage: %s", got, q.where())
			}
			if n := len(eventsOf(t, s, "opt", "mfa.factor_enrolled")); n != 1 {
				t.Fatalf("%d mfa.factor_enrolled events, want 1", n)
			}
			if n := len(eventsOf(t, s, "opt", "mfa.failed")); n != 1 {
				t.Fatalf("%d mfa.failed events after the replayed code, want 1", n)
			}

			// Recovery codes: ten, each in its own element, long enough not to be guessed.
			p.navigate(t, s.Issuer("opt")+"/account/recovery-codes")
			p.press(t, `form[method=post] button[type=submit]`)
			p.waitFor(t, 15*time.Second, `.recovery-codes code`)
			var codes []string
			if err := json.Unmarshal([]byte(p.eval(t, `JSON.stringify(Array.from(document.querySelectorAll(".recovery-codes li code")).map(e => e.textContent.trim()))`)), &codes); err != nil {
				t.Fatal(err)
			}
			if len(codes) != 10 {
				t.Fatalf("%d recovery codes %q, want 10", len(codes), codes)
			}
			for _, c := range codes {
				if len(c) < 10 {
					t.Fatalf("the recovery code %q is shorter than 10 characters", c)
				}
			}

			r := b.newUser(t)
			state, verifier = rp.start(t, r)
			r.signIn(t, aliceEmail, alicePassword)
			r.waitPath(t, "/login/mfa")
			r.follow(t, "Use a recovery code")
			r.enterCode(t, codes[3], false)
			wantAMR(t, rp.finish(t, r, state, verifier), "2", "pwd", "mfa")
			awaitSubject(t, relay, "A recovery code was used")

			u := b.newUser(t)
			rp.start(t, u)
			u.signIn(t, aliceEmail, alicePassword)
			u.waitPath(t, "/login/mfa")
			u.follow(t, "Use a recovery code")
			u.enterCode(t, codes[3], false)
			u.waitPath(t, "/login/mfa")
			u.wantText(t, "That code is not right")
		})
	}
}

// TestMFAEmailAndSMSCodesInBrowser: under policy required with the factors email and sms, the verified
// address is the second factor of a user with no other: the emailed code signs in. After a phone number
// is added on the account page (proven by a texted code), a sign-in in another browser offers a texted
// code, and the ID token's amr says sms.
func TestMFAEmailAndSMSCodesInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			phones := notifytest.NewSMSServer(t, "")
			s := startMFAServer(t, backend, relay, phones, mfaTenant("req", "    mfa:\n      policy: required\n      factors: [email, sms]\n"))
			rp := newMFARP(t, s, "req")
			ctx := testCtx(t, 2*time.Minute)

			p := b.newUser(t)
			state, verifier := rp.start(t, p)
			p.signIn(t, aliceEmail, alicePassword)
			emailSecondFactor(t, p, relay, 1, false)
			wantAMR(t, rp.finish(t, p, state, verifier), "2", "pwd", "email", "mfa")

			p.navigate(t, s.Issuer("req")+"/account/phone")
			p.waitFor(t, 15*time.Second, `input[name=phone]`)
			p.do(t, "type the phone number", chromedp.SendKeys(chromedp.CSS(`input[name=phone]`), mfaPhone))
			p.press(t, `form:has(input[name=phone]) button[type=submit]`)
			m, err := phones.Wait(ctx, mfaPhoneE)
			if err != nil {
				t.Fatal(err)
			}
			p.enterCode(t, m.Code(), false)
			p.waitPath(t, "/account/signin")
			p.wantText(t, "Text messages")

			q := b.newUser(t)
			state, verifier = rp.start(t, q)
			q.signIn(t, aliceEmail, alicePassword)
			q.waitPath(t, "/login/mfa")
			q.wantText(t, "Text me a code")
			q.press(t, `form[action*="/login/mfa/send"] button[type=submit]`)
			m, err = phones.Wait(ctx, mfaPhoneE)
			if err != nil {
				t.Fatal(err)
			}
			q.enterCode(t, m.Code(), false)
			wantAMR(t, rp.finish(t, q, state, verifier), "2", "pwd", "sms", "mfa")
		})
	}
}

// TestMFAStepUpInBrowser: under policy off a password session has acr 1 even with an authenticator app;
// an authorization request with acr_values=2 goes to the second-factor page without asking for the
// password again, and the app's code steps the same session (same sid) up to acr 2.
func TestMFAStepUpInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			s := startMFAServer(t, backend, relay, nil, mfaTenant("off", "    mfa:\n      policy: off\n"))
			rp := newMFARP(t, s, "off")

			p := b.newUser(t)
			state, verifier := rp.start(t, p)
			p.signIn(t, aliceEmail, alicePassword)
			first := rp.finish(t, p, state, verifier)
			wantAMR(t, first, "1", "pwd")
			key := enrolTOTP(t, p, s, "off")

			state, verifier = rp.start(t, p, oauth2.SetAuthURLParam("acr_values", "2"))
			p.waitPath(t, "/login/mfa")
			if p.has(selPassword) {
				t.Fatalf("the step-up asks for the password\npage: %s", p.where())
			}
			p.wantText(t, "The application asks for a stronger sign-in")
			p.enterCode(t, laterTOTP(key, time.Now()), false)
			up := rp.finish(t, p, state, verifier)
			wantAMR(t, up, "2", "pwd", "otp", "mfa")
			if up.SID == "" || up.SID != first.SID {
				t.Fatalf("sid after the step-up %q, want the session's %q", up.SID, first.SID)
			}
			if n := len(eventsOf(t, s, "off", "session.stepped_up")); n != 1 {
				t.Fatalf("%d session.stepped_up events, want 1", n)
			}
		})
	}
}

// TestMFAAdaptiveInBrowser: under policy adaptive the first sign-in from a browser is scored as a new
// device and asks for an emailed code; the next one from the same browser and network is allowed with
// the password. A tenant whose risk deny list holds the loopback network refuses the sign-in with a
// neutral 403 page that does not mention the risk, and records why.
func TestMFAAdaptiveInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			s := startMFAServer(t, backend, relay, nil,
				mfaTenant("adapt", "    mfa:\n      policy: adaptive\n"),
				mfaTenant("guard", "    mfa:\n      policy: adaptive\n    risk:\n      deny: [\"127.0.0.0/8\"]\n"))
			rp := newMFARP(t, s, "adapt")

			p := b.newUser(t)
			state, verifier := rp.start(t, p)
			p.signIn(t, aliceEmail, alicePassword)
			emailSecondFactor(t, p, relay, 1, false)
			wantAMR(t, rp.finish(t, p, state, verifier), "2", "pwd", "email", "mfa")
			if d, reasons, _ := lastRisk(t, s, "adapt"); d != "challenged" || !slices.Contains(reasons, "new_device") {
				t.Fatalf("first sign-in: risk decision %q reasons %q, want challenged with new_device", d, reasons)
			}
			if n := len(eventsOf(t, s, "adapt", "mfa.challenged", "mfa.succeeded")); n != 2 {
				t.Fatalf("%d mfa.challenged and mfa.succeeded events after the first sign-in, want one of each", n)
			}

			p.signOutOf(t, s, "adapt")
			state, verifier = rp.start(t, p)
			p.signIn(t, aliceEmail, alicePassword)
			wantAMR(t, rp.finish(t, p, state, verifier), "1", "pwd")
			if d, reasons, _ := lastRisk(t, s, "adapt"); d != "allowed" {
				t.Fatalf("a known browser: risk decision %q reasons %q, want allowed", d, reasons)
			}
			if n := len(eventsOf(t, s, "adapt", "mfa.challenged")); n != 1 {
				t.Fatalf("%d mfa.challenged events after the known browser's sign-in, want still 1", n)
			}

			q := b.newUser(t)
			newMFARP(t, s, "guard").start(t, q)
			q.waitFor(t, 15*time.Second, selPassword)
			q.markDocument(t)
			q.signIn(t, aliceEmail, alicePassword)
			q.waitNewDocument(t)
			q.wantText(t, "Sign-in not possible")
			if st := q.eval(t, `String(performance.getEntriesByType("navigation")[0].responseStatus)`); st != "403" {
				t.Fatalf("the refused sign-in answered %s, want 403\npage: %s", st, q.where())
			}
			if body := strings.ToLower(q.text(t)); strings.Contains(body, "risk") || strings.Contains(body, "deny") {
				t.Fatalf("the refusal tells why\npage: %s", q.where())
			}
			if n := len(eventsOf(t, s, "guard", "login.blocked")); n != 1 {
				t.Fatalf("%d login.blocked events, want 1", n)
			}
			if d, _, explain := lastRisk(t, s, "guard"); d != "denied" || !strings.Contains(explain, "deny list") {
				t.Fatalf("deny list: risk decision %q explain %q, want denied with the deny list", d, explain)
			}
		})
	}
}

// TestMFARememberDeviceInBrowser: under policy required "Remember this device" lets the next sign-in in
// the same browser through with the password; once the remembered time has passed the code is asked
// again. The server's clock cannot move in an end-to-end test, so the test moves the device's
// known_devices.mfa_until into the past instead.
func TestMFARememberDeviceInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			s := startMFAServer(t, backend, relay, nil, mfaTenant("rem", "    mfa:\n      policy: required\n      remember_device_days: 7\n"))
			rp := newMFARP(t, s, "rem")

			p := b.newUser(t)
			state, verifier := rp.start(t, p)
			p.signIn(t, aliceEmail, alicePassword)
			emailSecondFactor(t, p, relay, 1, true)
			wantAMR(t, rp.finish(t, p, state, verifier), "2", "mfa")
			p.navigate(t, s.Issuer("rem")+"/account/signin")
			p.wantText(t, "Skips the second step of sign-in until")

			p.signOutOf(t, s, "rem")
			state, verifier = rp.start(t, p)
			p.signIn(t, aliceEmail, alicePassword)
			wantAMR(t, rp.finish(t, p, state, verifier), "1", "pwd")

			if n := execDB(t, s, fmt.Sprintf(`UPDATE known_devices SET mfa_until = %d WHERE tenant_id = 'rem' AND mfa_until > 0`,
				time.Now().Add(-time.Minute).Unix())); n != 1 {
				t.Fatalf("%d remembered devices, want 1", n)
			}
			p.signOutOf(t, s, "rem")
			rp.start(t, p)
			p.signIn(t, aliceEmail, alicePassword)
			p.waitPath(t, "/login/mfa")
		})
	}
}

// TestMFAFactorRemovalNeedsRecentSignIn: removing a sign-in method from a session older than five minutes
// first asks for the password again, then goes back to the page, where Remove works. The session's age is
// set in the database (sessions.auth_time), as the server's clock cannot move in an end-to-end test.
func TestMFAFactorRemovalNeedsRecentSignIn(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			s := startMFAServer(t, backend, relay, nil, mfaTenant("rm", "    mfa:\n      policy: optional\n"))

			p := b.newUser(t)
			accountSignIn(t, p, s, "rm")
			enrolTOTP(t, p, s, "rm")

			if n := execDB(t, s, fmt.Sprintf(`UPDATE sessions SET auth_time = %d WHERE tenant_id = 'rm' AND ended_at IS NULL`,
				time.Now().Add(-10*time.Minute).Unix())); n != 1 {
				t.Fatalf("%d live sessions, want 1", n)
			}
			remove := `form:has(input[name=factor_id]) button[type=submit]`
			p.press(t, remove)
			p.waitPath(t, "/account/reauth")
			p.wantText(t, "Enter your password again")
			p.do(t, "type the password", chromedp.SendKeys(chromedp.CSS(selPassword), alicePassword))
			p.press(t, `form[method=post] `+selSubmit)
			p.waitPath(t, "/account/signin")
			if n := len(eventsOf(t, s, "rm", "mfa.factor_removed")); n != 0 {
				t.Fatalf("%d mfa.factor_removed events before the second press, want 0", n)
			}
			p.press(t, remove)
			p.waitPath(t, "/account/signin")
			p.wantText(t, "The sign-in method was removed.", "You have not set up a second sign-in method yet")
			if p.has(`input[name=factor_id]`) {
				t.Fatalf("the factor is still listed\npage: %s", p.where())
			}
			if n := len(eventsOf(t, s, "rm", "mfa.factor_removed")); n != 1 {
				t.Fatalf("%d mfa.factor_removed events, want 1", n)
			}
		})
	}
}
