package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
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

// regPassword passes the default policy (long enough, not breached, no address in it).
const regPassword = "quartz-lantern-meadow-57"

// regServer is a server whose tenant has registration enabled, a required custom field company released
// under the profile scope, and email through relay.
func regServer(t *testing.T, backend string, relay *notifytest.Relay, change ...func(*config.Registration)) *servertest.Server {
	t.Helper()
	reg := config.Registration{Enabled: true}
	for _, c := range change {
		c(&reg)
	}
	return servertest.New(t, servertest.WithBackend(backend),
		servertest.WithConfig(func(c *config.Config) { c.Email = relay.Config }),
		servertest.WithSeed(func(ts *config.TenantSeed) {
			ts.Registration = &reg
			ts.Profile = &config.ProfileSchema{Fields: []config.ProfileField{{Name: "company", Type: "string",
				Label: map[string]string{"en": "Company", "de": "Firma"}, Required: true, Registration: true,
				Claim: &config.FieldClaim{Scope: "profile"}}, {Name: "phone_number", Registration: true}}}
		}))
}

// pendingAuthorize starts an authorization request for client and returns the sign-in page's URL and
// the state and PKCE verifier to finish it with.
func pendingAuthorize(t *testing.T, srv *servertest.Server, b *servertest.Browser, client servertest.Client) (login *url.URL, state, verifier string) {
	t.Helper()
	verifier, state = servertest.RandomString(32), servertest.RandomString(16)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {client.RedirectURI},
		"scope": {"openid email profile"}, "state": {state}, "nonce": {servertest.RandomString(16)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	resp, body := b.Get(srv.TenantURL("/authorize?" + q.Encode()))
	login = servertest.Location(t, resp)
	if !strings.HasSuffix(login.Path, "/login") {
		t.Fatalf("authorize went to %s:\n%s", login, body)
	}
	return login, state, verifier
}

var (
	createLink = regexp.MustCompile(`<a href="([^"]*/register[^"]*)">Create account</a>`)
	mailCode   = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)
	mailLink   = regexp.MustCompile(`https?://\S+/register/confirm\?token=[A-Za-z0-9_-]+`)
)

// registerFrom follows the sign-in page's "Create account" link and submits the form with set.
func registerFrom(t *testing.T, b *servertest.Browser, login *url.URL, set url.Values) (*http.Response, string) {
	t.Helper()
	_, body := b.Get(login.String())
	m := createLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the sign-in page has no Create account link:\n%s", body)
	}
	href, _ := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	form, _, _ := b.GetForm(login.ResolveReference(href).String(), "/register")
	return b.Submit(form, set)
}

func newcomer(email string) url.Values {
	return url.Values{"email": {email}, "password": {regPassword}, "given_name": {"Ada"}, "family_name": {"Lovelace"},
		"company": {"Acme"}}
}

// awaitMailTo waits for the relay's n-th message and checks that it goes to to.
func awaitMailTo(t *testing.T, relay *notifytest.Relay, n int, to string) notifytest.Message {
	t.Helper()
	m := relay.Await(t, n)[n-1]
	if m.To != to {
		t.Fatalf("message %d went to %s, want %s", n, m.To, to)
	}
	return m
}

func codeOf(t *testing.T, m notifytest.Message) string {
	t.Helper()
	c := mailCode.FindStringSubmatch(m.Body)
	if c == nil {
		t.Fatalf("no 6-digit code in:\n%s", m.Body)
	}
	return c[1]
}

// finishAtClient follows redirects (and a consent page) to the client and redeems the code; it returns
// the ID token's claims.
func finishAtClient(t *testing.T, srv *servertest.Server, b *servertest.Browser, resp *http.Response, body string,
	client servertest.Client, state, verifier string) map[string]any {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want a redirect:\n%s", resp.StatusCode, body)
	}
	cb := completeInBrowser(t, srv, b, servertest.Location(t, resp))
	if !strings.HasPrefix(cb.String(), client.RedirectURI) || cb.Query().Get("state") != state {
		t.Fatalf("the flow ended at %s", cb)
	}
	tr := token(t, srv, client, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {client.RedirectURI}, "code_verifier": {verifier}})
	parts := strings.Split(tr.IDToken, ".")
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

func eventCount(t *testing.T, srv *servertest.Server, typ string) int {
	t.Helper()
	evs, err := srv.DB.ListEvents(context.Background(), srv.Tenant, 0, typ, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestRegistrationThroughTheEmailedCode: from an authorization request, the sign-in page's link, the
// generated form, the emailed code, consent, to an ID token with email_verified and the custom claim.
func TestRegistrationThroughTheEmailedCode(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := regServer(t, backend, relay)
			b := srv.NewBrowser(t)
			login, state, verifier := pendingAuthorize(t, srv, b, srv.Confidential)

			_, page := b.Get(login.String())
			m := createLink.FindStringSubmatch(page)
			if m == nil || !strings.Contains(m[1], "lr=") {
				t.Fatalf("the Create account link does not keep the request: %v", m)
			}
			form, _, body := b.GetForm(login.ResolveReference(&url.URL{Path: login.Path[:strings.LastIndex(login.Path, "/")] + "/register",
				RawQuery: "lr=" + login.Query().Get("lr")}).String(), "/register")
			for _, want := range []string{
				`<input id="email" name="email" type="email" autocomplete="email" required`,
				`<input id="password" name="password" type="password" autocomplete="new-password" required`,
				`<input id="given_name" name="given_name" type="text" autocomplete="given-name" value=""`,
				`<input id="family_name" name="family_name" type="text" autocomplete="family-name" value=""`,
				`<label for="company">Company</label>`,
				`<input id="company" name="company" type="text" required value=""`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("the form lacks %s:\n%s", want, body)
				}
			}
			resp, body := b.Submit(form, newcomer("ada@example.org"))
			next := servertest.Location(t, resp)
			if !strings.HasSuffix(next.Path, "/register/verify") {
				t.Fatalf("registration went to %s:\n%s", next, body)
			}
			verify, vresp, body := b.GetForm(next.String())
			if !strings.Contains(body, `autocomplete="one-time-code"`) || !strings.Contains(body, "Check your email") {
				t.Fatalf("the check-your-email page:\n%s", body)
			}
			// Its answer may redirect to the client, which browsers check against the form's form-action.
			if csp := vresp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://rp.example.test;") {
				t.Errorf("the check-your-email page's CSP %q does not allow the redirect to the client", csp)
			}
			mail := awaitMailTo(t, relay, 1, "ada@example.org")
			u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, "ada@example.org")
			if err != nil || u.EmailVerified {
				t.Fatalf("the new account: %+v, %v", u, err)
			}
			resp, body = b.Submit(verify, url.Values{"code": {codeOf(t, mail)}})
			claims := finishAtClient(t, srv, b, resp, body, srv.Confidential, state, verifier)
			if claims["email"] != "ada@example.org" || claims["email_verified"] != true || claims["company"] != "Acme" ||
				claims["given_name"] != "Ada" {
				t.Errorf("ID token claims = %v", claims)
			}
			if eventCount(t, srv, events.TypeUserRegistered) != 1 || eventCount(t, srv, events.TypeEmailVerified) != 1 {
				t.Errorf("events: %d user.registered, %d email.verified; want 1 each",
					eventCount(t, srv, events.TypeUserRegistered), eventCount(t, srv, events.TypeEmailVerified))
			}
			// The code is single use.
			resp, _ = b.Submit(verify, url.Values{"code": {codeOf(t, mail)}})
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("a used code = %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestRegistrationThroughTheLink: the emailed link confirms the address in another browser without a
// session there; in the browser that registered, it signs in and resumes the request.
func TestRegistrationThroughTheLink(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := regServer(t, backend, relay)

			t.Run("in a second browser the address is confirmed, no one signed in", func(t *testing.T) {
				b := srv.NewBrowser(t)
				login, _, _ := pendingAuthorize(t, srv, b, srv.FirstParty)
				registerFrom(t, b, login, newcomer("grace@example.org"))
				link := mailLink.FindString(awaitMailTo(t, relay, 1, "grace@example.org").Body)
				other := srv.NewBrowser(t)
				form, _, _ := other.GetForm(link)
				resp, body := other.Submit(form, nil)
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Address confirmed") {
					t.Fatalf("confirm in another browser = %d:\n%s", resp.StatusCode, body)
				}
				resp, _ = other.Get(srv.TenantURL("/account"))
				if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(servertest.Location(t, resp).Path, "/login") {
					t.Errorf("the other browser has a session: /account = %d", resp.StatusCode)
				}
				u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, "grace@example.org")
				if err != nil || !u.EmailVerified {
					t.Errorf("after the link: %+v, %v", u, err)
				}
				resp, _ = other.Submit(form, nil)
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("the link used again = %d, want 400", resp.StatusCode)
				}
			})

			t.Run("in the same browser the person is signed in and the request resumes", func(t *testing.T) {
				b := srv.NewBrowser(t)
				login, state, verifier := pendingAuthorize(t, srv, b, srv.FirstParty)
				registerFrom(t, b, login, newcomer("hopper@example.org"))
				link := mailLink.FindString(awaitMailTo(t, relay, 2, "hopper@example.org").Body)
				form, _, _ := b.GetForm(link)
				resp, body := b.Submit(form, nil)
				claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
				if claims["email_verified"] != true || claims["company"] != "Acme" {
					t.Errorf("claims = %v", claims)
				}
			})
		})
	}
}

// TestRegistrationRefusesBadInput: errors stand next to their fields with aria attributes, entered
// values stay, the password never comes back, and nothing is stored or sent.
func TestRegistrationRefusesBadInput(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := regServer(t, backend, relay, func(r *config.Registration) { r.AllowedEmailDomains = []string{"example.org"} })
			b := srv.NewBrowser(t)
			form, _, _ := b.GetForm(srv.TenantURL("/register"), "/register")
			tests := []struct {
				name, field, want string
				set               url.Values
			}{
				{"a common password is refused with its reason", "password", "too common",
					url.Values{"email": {"lin@example.org"}, "password": {"Password123!"}, "given_name": {"Lin"}, "company": {"Acme"}}},
				{"a missing required field is named", "company", "Fill in this field.",
					url.Values{"email": {"lin@example.org"}, "password": {regPassword}, "given_name": {"Lin"}}},
				{"a malformed address is refused", "email", "Enter an email address such as name@example.com.",
					url.Values{"email": {"lin-at-example"}, "password": {regPassword}, "given_name": {"Lin"}, "company": {"Acme"}}},
				{"a domain outside the allow-list is refused", "email", "cannot register here",
					url.Values{"email": {"lin@other.example"}, "password": {regPassword}, "given_name": {"Lin"}, "company": {"Acme"}}},
				{"a phone number not in international format is refused", "phone_number", "international format",
					url.Values{"email": {"lin@example.org"}, "password": {regPassword}, "given_name": {"Lin"}, "company": {"Acme"},
						"phone_number": {"call me"}}},
			}
			for _, tt := range tests {
				resp, body := b.Submit(form, tt.set)
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Errorf("%s: status %d, want 422", tt.name, resp.StatusCode)
					continue
				}
				input := regexp.MustCompile(`<input id="` + tt.field + `"[^>]*>`).FindString(body)
				if !strings.Contains(input, `aria-invalid="true"`) || !strings.Contains(input, `aria-describedby="`+tt.field+`-error"`) {
					t.Errorf("%s: input %s", tt.name, input)
				}
				msg := regexp.MustCompile(`<span class="field-error" id="` + tt.field + `-error">([^<]*)</span>`).FindStringSubmatch(body)
				if msg == nil || !strings.Contains(msg[1], tt.want) {
					t.Errorf("%s: message %v, want %q", tt.name, msg, tt.want)
				}
				if !strings.Contains(body, `value="Lin"`) {
					t.Errorf("%s: the entered given name is gone", tt.name)
				}
				if strings.Contains(body, tt.set.Get("password")) {
					t.Errorf("%s: the page shows the password", tt.name)
				}
			}
			if _, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, "lin@example.org"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a refused registration stored an account: %v", err)
			}
			if n := len(relay.Messages()); n != 0 {
				t.Errorf("a refused registration sent %d messages", n)
			}
		})
	}
}

// TestRegistrationDoesNotRevealAccounts: an address with an account gets the same page, the
// already_registered notice instead of a code, and no second account; a filled honeypot gets the same
// page and nothing at all.
func TestRegistrationDoesNotRevealAccounts(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := regServer(t, backend, relay)

			b := srv.NewBrowser(t)
			form, _, _ := b.GetForm(srv.TenantURL("/register"), "/register")
			bot := newcomer("bot@example.org")
			bot.Set("fax_only", "call me")
			resp, _ := b.Submit(form, bot)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(servertest.Location(t, resp).Path, "/register/verify") {
				t.Fatalf("honeypot answer = %d", resp.StatusCode)
			}
			_, botPage := b.Get(servertest.Location(t, resp).String())

			resp, _ = b.Submit(form, newcomer(srv.User.Email))
			if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(servertest.Location(t, resp).Path, "/register/verify") {
				t.Fatalf("duplicate answer = %d", resp.StatusCode)
			}
			_, dupPage := b.Get(servertest.Location(t, resp).String())
			notice := awaitMailTo(t, relay, 1, srv.User.Email)
			if !strings.Contains(notice.Body, "already have an account") || mailCode.MatchString(notice.Body) {
				t.Errorf("the notice:\n%s", notice.Body)
			}
			strip := regexp.MustCompile(`(f|lr|csrf_token)=[^"&]*|value="[^"]*"`)
			if strip.ReplaceAllString(botPage, "") != strip.ReplaceAllString(dupPage, "") {
				t.Errorf("the honeypot's page differs from the duplicate's:\n%s\n---\n%s", botPage, dupPage)
			}
			u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, srv.User.Email)
			if err != nil || u.ID != srv.User.ID || u.GivenName != "Alice" {
				t.Errorf("the existing account changed: %+v, %v", u, err)
			}
			if _, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, "bot@example.org"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the honeypot stored an account: %v", err)
			}
			if n := eventCount(t, srv, events.TypeUserRegistered); n != 0 {
				t.Errorf("%d user.registered events, want 0", n)
			}
			// A real registration afterwards is the second message: the honeypot sent none.
			resp, _ = b.Submit(form, newcomer("real@example.org"))
			got := relay.Await(t, 2)
			if len(got) != 2 || got[1].To != "real@example.org" {
				t.Errorf("messages: %d, last to %s", len(got), got[len(got)-1].To)
			}
		})
	}
}

// TestVerificationEndsAfterFiveWrongCodes: four wrong codes are answered next to the input; the fifth
// ends the flow, and then even the right code does not work.
func TestVerificationEndsAfterFiveWrongCodes(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := regServer(t, backend, relay)
			b := srv.NewBrowser(t)
			form, _, _ := b.GetForm(srv.TenantURL("/register"), "/register")
			resp, _ := b.Submit(form, newcomer("wrong@example.org"))
			verify, _, _ := b.GetForm(servertest.Location(t, resp).String())
			code := codeOf(t, awaitMailTo(t, relay, 1, "wrong@example.org"))
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			for i := 1; i <= 5; i++ {
				resp, body := b.Submit(verify, url.Values{"code": {wrong}})
				want := http.StatusUnprocessableEntity
				if i == 5 {
					want = http.StatusBadRequest
				}
				if resp.StatusCode != want {
					t.Fatalf("wrong code %d = %d, want %d:\n%s", i, resp.StatusCode, want, body)
				}
				if i < 5 && !strings.Contains(body, `aria-describedby="code-error"`) {
					t.Errorf("wrong code %d: no error next to the input", i)
				}
			}
			resp, _ = b.Submit(verify, url.Values{"code": {code}})
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the right code after five wrong ones = %d, want 400", resp.StatusCode)
			}
			if u, _ := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, "wrong@example.org"); u.EmailVerified {
				t.Error("the address was verified")
			}
		})
	}
}

// TestRegistrationLimits: beyond registration.limits the answer is 429 with Retry-After, translated.
func TestRegistrationLimits(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := regServer(t, backend, relay, func(r *config.Registration) {
				r.Limits = config.RegistrationLimits{PerIPPerHour: 3, EmailsPerAddressPerHour: 1}
			})
			b := srv.NewBrowser(t)
			form, _, _ := b.GetForm(srv.TenantURL("/register"), "/register")
			if resp, _ := b.Submit(form, newcomer("one@example.org")); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("first registration = %d", resp.StatusCode)
			}
			resp, _ := b.Submit(form, newcomer("one@example.org"))
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Errorf("a second email to one address in the hour = %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if resp, _ := b.Submit(form, newcomer("two@example.org")); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("third registration = %d", resp.StatusCode)
			}
			resp, body := b.Submit(form, newcomer("three@example.org"))
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many attempts") {
				t.Errorf("a registration beyond per_ip_per_hour = %d, Retry-After %q:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
			if _, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, "three@example.org"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a limited registration stored an account: %v", err)
			}
		})
	}
}

// TestUnverifiedSignInSendsACode: an account that never confirmed its address gets a fresh code at a
// right password, and the code completes the sign-in and the authorization request.
func TestUnverifiedSignInSendsACode(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := regServer(t, backend, relay)
			b := srv.NewBrowser(t)
			form, _, _ := b.GetForm(srv.TenantURL("/register"), "/register")
			b.Submit(form, newcomer("late@example.org"))
			awaitMailTo(t, relay, 1, "late@example.org")

			b2 := srv.NewBrowser(t)
			login, state, verifier := pendingAuthorize(t, srv, b2, srv.FirstParty)
			lf, _, _ := b2.GetForm(login.String())
			resp, body := b2.Submit(lf, url.Values{"email": {"wrong@example.org"}, "password": {regPassword}})
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("an unknown address = %d", resp.StatusCode)
			}
			resp, body = b2.Submit(lf, url.Values{"email": {"late@example.org"}, "password": {regPassword}})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "not confirmed yet") || !strings.Contains(body, `autocomplete="one-time-code"`) {
				t.Fatalf("a right password of an unverified account = %d:\n%s", resp.StatusCode, body)
			}
			code := codeOf(t, awaitMailTo(t, relay, 2, "late@example.org"))
			verify := servertest.ParseForms(resp.Request.URL, body)[0]
			resp, body = b2.Submit(verify, url.Values{"code": {code}})
			claims := finishAtClient(t, srv, b2, resp, body, srv.FirstParty, state, verifier)
			if claims["email_verified"] != true {
				t.Errorf("claims = %v", claims)
			}
		})
	}
}

// TestRegistrationWithoutRequiredVerification: with require_email_verification false the person is
// signed in at once, and the verification email is still sent.
func TestRegistrationWithoutRequiredVerification(t *testing.T) {
	t.Parallel()
	relay := notifytest.New(t, notifytest.Options{})
	off := false
	srv := regServer(t, "sqlite", relay, func(r *config.Registration) { r.RequireEmailVerification = &off })
	b := srv.NewBrowser(t)
	login, state, verifier := pendingAuthorize(t, srv, b, srv.FirstParty)
	resp, body := registerFrom(t, b, login, newcomer("quick@example.org"))
	claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
	if claims["email_verified"] != false || claims["email"] != "quick@example.org" {
		t.Errorf("claims = %v", claims)
	}
	awaitMailTo(t, relay, 1, "quick@example.org")
}

// TestRegistrationDisabled: without registration.enabled the page is 404 and the sign-in page has no link.
func TestRegistrationDisabled(t *testing.T) {
	t.Parallel()
	srv := servertest.New(t)
	b := srv.NewBrowser(t)
	if resp, _ := b.Get(srv.TenantURL("/register")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /register = %d, want 404", resp.StatusCode)
	}
	_, body := b.Get(srv.TenantURL("/login"))
	if strings.Contains(body, "Create account") || strings.Contains(body, "/register") {
		t.Errorf("the sign-in page links registration:\n%s", body)
	}
}

// TestUnverifiedAccountsAreDeleted: a garbage collection pass deletes expired flows and the
// self-registered accounts left unverified past registration.unverified_retention, with user.deleted, and
// keeps the others.
func TestUnverifiedAccountsAreDeleted(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			var offset atomic.Int64
			clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
			reg := config.Registration{Enabled: true}
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithClock(clock),
				servertest.WithConfig(func(c *config.Config) { c.Email = relay.Config }),
				servertest.WithSeed(func(ts *config.TenantSeed) { ts.Registration = &reg }))
			ctx := context.Background()
			register := func(email string) (store.User, string) {
				b := srv.NewBrowser(t)
				form, _, _ := b.GetForm(srv.TenantURL("/register"), "/register")
				resp, _ := b.Submit(form, url.Values{"email": {email}, "password": {regPassword}})
				flowID := servertest.Location(t, resp).Query().Get("f")
				u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, email)
				if err != nil || flowID == "" {
					t.Fatalf("registration of %s: %v, flow %q", email, err, flowID)
				}
				return u, flowID
			}
			gone, goneFlow := register("gone@example.org")
			offset.Store(int64(6 * 24 * time.Hour))
			server.CollectOnce(ctx, srv.Server)
			if _, err := srv.DB.GetUser(ctx, srv.Tenant, gone.ID); err != nil {
				t.Fatalf("deleted before the retention: %v", err)
			}
			if _, err := srv.DB.GetFlow(ctx, srv.Tenant, goneFlow); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the expired flow is still there: %v", err)
			}
			kept, _ := register("kept@example.org") // 6 days younger
			offset.Store(int64(7*24*time.Hour + time.Hour))
			server.CollectOnce(ctx, srv.Server)
			if _, err := srv.DB.GetUser(ctx, srv.Tenant, gone.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the unverified account is still there: %v", err)
			}
			for _, id := range []string{kept.ID, srv.User.ID} {
				if _, err := srv.DB.GetUser(ctx, srv.Tenant, id); err != nil {
					t.Errorf("account %s (younger, or operator-created) was deleted: %v", id, err)
				}
			}
			evs, _ := srv.DB.ListEvents(ctx, srv.Tenant, 0, events.TypeUserDeleted, 10)
			if len(evs) != 1 || evs[0].Subject != gone.ID || evs[0].Data["reason"] != events.ReasonUnverified {
				t.Errorf("user.deleted events = %+v", evs)
			}
		})
	}
}

// TestRegistrationRequiredCheckbox: a required boolean is a checkbox that must be ticked; unticked, the
// error says so next to it, and ticked, the account is created with the value true.
func TestRegistrationRequiredCheckbox(t *testing.T) {
	t.Parallel()
	relay := notifytest.New(t, notifytest.Options{})
	srv := servertest.New(t, servertest.WithConfig(func(c *config.Config) { c.Email = relay.Config }),
		servertest.WithSeed(func(ts *config.TenantSeed) {
			ts.Registration = &config.Registration{Enabled: true}
			ts.Profile = &config.ProfileSchema{Fields: []config.ProfileField{{Name: "terms", Type: "boolean",
				Label: map[string]string{"en": "I accept the terms"}, Required: true, Registration: true}}}
		}))
	b := srv.NewBrowser(t)
	form, _, body := b.GetForm(srv.TenantURL("/register"), "/register")
	if !strings.Contains(body, `<label><input id="terms" name="terms" type="checkbox" value="true" required> I accept the terms</label>`) {
		t.Errorf("no labelled required checkbox:\n%s", body)
	}
	resp, body := b.Submit(form, url.Values{"email": {"box@example.org"}, "password": {regPassword}})
	if resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `<span class="field-error" id="terms-error">Tick this box to continue.</span>`) {
		t.Fatalf("unticked = %d:\n%s", resp.StatusCode, body)
	}
	resp, _ = b.Submit(form, url.Values{"email": {"box@example.org"}, "password": {regPassword}, "terms": {"true"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ticked = %d", resp.StatusCode)
	}
	u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, "box@example.org")
	if err != nil || u.Profile.Attributes["terms"] != true {
		t.Errorf("account %+v, %v; want terms true", u, err)
	}
}

// TestWrongCodesAreLimitedPerIP: wrong codes count against the client IP's per-minute budget across
// flows; beyond it the answer is 429 with Retry-After.
func TestWrongCodesAreLimitedPerIP(t *testing.T) {
	t.Parallel()
	relay := notifytest.New(t, notifytest.Options{})
	srv := servertest.New(t, servertest.WithConfig(func(c *config.Config) {
		c.Email = relay.Config
		c.Security.IPLimitPerMinute = 3
	}), servertest.WithSeed(func(ts *config.TenantSeed) { ts.Registration = &config.Registration{Enabled: true} }))
	register := func(email string) (*servertest.Browser, servertest.Form) {
		b := srv.NewBrowser(t)
		form, _, _ := b.GetForm(srv.TenantURL("/register"), "/register")
		resp, _ := b.Submit(form, url.Values{"email": {email}, "password": {regPassword}})
		f, _, _ := b.GetForm(servertest.Location(t, resp).String())
		return b, f
	}
	b1, f1 := register("first@example.org")
	b2, f2 := register("second@example.org")
	for i, try := range []struct {
		b *servertest.Browser
		f servertest.Form
	}{{b1, f1}, {b1, f1}, {b2, f2}} { // three wrong codes in two flows use up the budget of 3
		if resp, _ := try.b.Submit(try.f, url.Values{"code": {"000000"}}); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code %d = %d, want 422", i+1, resp.StatusCode)
		}
	}
	resp, body := b2.Submit(f2, url.Values{"code": {"000000"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a wrong code beyond the IP's budget = %d, Retry-After %q:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}
