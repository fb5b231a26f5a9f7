package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// recPassword is the new password of the recovery tests: it passes the default policy.
const recPassword = "harbour-violet-compass-83"

var (
	forgotLink  = regexp.MustCompile(`<a href="([^"]*/recover[^"]*)">Forgot password\?</a>`)
	recoverLink = regexp.MustCompile(`https?://\S+/recover/password\?token=[A-Za-z0-9_-]+`)
)

// tenantLogin is the sign-in page of srv's tenant.
func tenantLogin(t *testing.T, srv *servertest.Server) *url.URL {
	t.Helper()
	u, err := url.Parse(srv.TenantURL("/login"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// recoverServer is a server whose email goes through relay (registration enabled, for the notice test).
func recoverServer(t *testing.T, backend string, relay *notifytest.Relay) *servertest.Server {
	t.Helper()
	return servertest.New(t, servertest.WithBackend(backend),
		servertest.WithConfig(func(c *config.Config) { c.Email = relay.Config }),
		servertest.WithSeed(func(ts *config.TenantSeed) { ts.Registration = &config.Registration{Enabled: true} }))
}

// askRecovery follows the sign-in page's "Forgot password?" link and submits email; it returns the
// "check your email" page's code form.
func askRecovery(t *testing.T, b *servertest.Browser, login *url.URL, email string) servertest.Form {
	t.Helper()
	_, page := b.Get(login.String())
	m := forgotLink.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the sign-in page has no Forgot password? link:\n%s", page)
	}
	if login.Query().Get("lr") != "" && !strings.Contains(m[1], "lr="+login.Query().Get("lr")) {
		t.Errorf("the Forgot password? link %s does not keep the request", m[1])
	}
	href, _ := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	form, _, _ := b.GetForm(login.ResolveReference(href).String(), "/recover")
	resp, body := b.Submit(form, url.Values{"email": {email}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(servertest.Location(t, resp).Path, "/recover/code") {
		t.Fatalf("asking for a recovery answered %d:\n%s", resp.StatusCode, body)
	}
	codeForm, _, body := b.GetForm(servertest.Location(t, resp).String())
	if !strings.Contains(body, "Check your email") || !strings.Contains(body, `autocomplete="one-time-code"`) {
		t.Fatalf("the check-your-email page:\n%s", body)
	}
	return codeForm
}

// passwordFormIn returns the choose-password form of a page.
func passwordFormIn(t *testing.T, resp *http.Response, body string) servertest.Form {
	t.Helper()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<input id="password" name="password" type="password" autocomplete="new-password" required`) {
		t.Fatalf("the choose-password page = %d:\n%s", resp.StatusCode, body)
	}
	for _, f := range servertest.ParseForms(resp.Request.URL, body) {
		if strings.Contains(f.Action, "/recover/password") {
			return f
		}
	}
	t.Fatalf("no choose-password form in:\n%s", body)
	return servertest.Form{}
}

// signedInElsewhere signs the user in in a second browser and returns it with its refresh token.
func signedInElsewhere(t *testing.T, srv *servertest.Server) (*servertest.Browser, string) {
	t.Helper()
	b := srv.NewBrowser(t)
	code, verifier := codeFlow(t, srv, b, srv.Confidential, "openid email offline_access")
	tr := token(t, srv, srv.Confidential, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {srv.Confidential.RedirectURI}, "code_verifier": {verifier}})
	if tr.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	return b, tr.RefreshToken
}

// checkRecovered checks what a completed recovery must leave: the old password fails and the new one
// works, the old refresh token is invalid_grant, the other browser is signed out, the account is not
// locked, and the password_changed email (message n) arrived.
func checkRecovered(t *testing.T, srv *servertest.Server, relay *notifytest.Relay, n int, elsewhere *servertest.Browser, refresh string) {
	t.Helper()
	ctx := context.Background()
	if _, err := srv.Identity.Authenticate(ctx, srv.Tenant, srv.User.Email, srv.User.Password, ""); err == nil {
		t.Error("the old password still signs in")
	}
	if _, err := srv.Identity.Authenticate(ctx, srv.Tenant, srv.User.Email, recPassword, ""); err != nil {
		t.Errorf("the new password does not sign in: %v", err)
	}
	resp, body := postClient(t, srv, "/token", srv.Confidential, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"invalid_grant"`) {
		t.Errorf("the old refresh token answered %d %s, want invalid_grant", resp.StatusCode, body)
	}
	if resp, _ := elsewhere.Get(srv.TenantURL("/account")); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasSuffix(servertest.Location(t, resp).Path, "/login") {
		t.Errorf("the other browser is still signed in: /account = %d", resp.StatusCode)
	}
	if locked, err := srv.Identity.HardLocked(ctx, srv.Tenant, srv.User.ID); err != nil || locked {
		t.Errorf("after the recovery the account is locked: %v, %v", locked, err)
	}
	m := awaitMailTo(t, relay, n, srv.User.Email)
	if m.Subject != "Your Test Tenant password was changed" || strings.Contains(string(m.Data), recPassword) {
		t.Errorf("the notice: %s\n%s", m.Subject, m.Body)
	}
	if got := eventCount(t, srv, events.TypePasswordReset); got != 1 {
		t.Errorf("%d password.reset events, want 1", got)
	}
}

// hardLock puts the user's account under the account-wide lock, as an attack would.
func hardLock(t *testing.T, srv *servertest.Server) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if _, err := srv.DB.AddAccountFailure(ctx, srv.Tenant, "acct:"+srv.User.ID, now, now.Add(-time.Hour), 1, time.Unix(253402300799, 0)); err != nil {
		t.Fatal(err)
	}
	if locked, err := srv.Identity.HardLocked(ctx, srv.Tenant, srv.User.ID); err != nil || !locked {
		t.Fatalf("the account is not locked: %v, %v", locked, err)
	}
	if _, err := srv.Identity.Authenticate(ctx, srv.Tenant, srv.User.Email, srv.User.Password, ""); err == nil {
		t.Fatal("a hard-locked account signs in")
	}
}

// TestRecoveryThroughTheEmailedCode: from a pending authorization request, the sign-in page's "Forgot
// password?" link, the emailed code and the choose-password page (policy checked) lead back to the client
// with a code; the recovery ends the other browser's session and the old refresh token, lifts the hard
// lock and sends the notice.
func TestRecoveryThroughTheEmailedCode(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := recoverServer(t, backend, relay)
			elsewhere, refresh := signedInElsewhere(t, srv)
			hardLock(t, srv)

			b := srv.NewBrowser(t)
			login, state, verifier := pendingAuthorize(t, srv, b, srv.Confidential)
			codeForm := askRecovery(t, b, login, strings.ToUpper(srv.User.Email))
			mail := awaitMailTo(t, relay, 1, srv.User.Email)
			if mail.Subject != "Reset your Test Tenant password" || !recoverLink.MatchString(mail.Body) {
				t.Errorf("the reset email: %s\n%s", mail.Subject, mail.Body)
			}
			resp, body := b.Submit(codeForm, url.Values{"code": {codeOf(t, mail)}})
			form := passwordFormIn(t, resp, body)
			// Its answer may redirect to the client, which browsers check against the form's form-action.
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://rp.example.test;") {
				t.Errorf("the choose-password page's CSP %q does not allow the redirect to the client", csp)
			}

			resp, body = b.Submit(form, url.Values{"password": {"password123"}})
			if resp.StatusCode != http.StatusUnprocessableEntity ||
				!strings.Contains(body, `aria-invalid="true" aria-describedby="password-error password-hint"`) ||
				!strings.Contains(body, `<span class="field-error" id="password-error">This password is too common`) {
				t.Fatalf("a refused password answered %d:\n%s", resp.StatusCode, body)
			}
			if strings.Contains(body, "password123") {
				t.Error("the page repeats the refused password")
			}
			form = passwordFormIn(t, &http.Response{StatusCode: http.StatusOK, Request: resp.Request}, body)
			resp, body = b.Submit(form, url.Values{"password": {recPassword}})
			claims := finishAtClient(t, srv, b, resp, body, srv.Confidential, state, verifier)
			if claims["sub"] != srv.User.ID {
				t.Errorf("ID token claims = %v", claims)
			}
			checkRecovered(t, srv, relay, 2, elsewhere, refresh)
			// The code is single use.
			resp, _ = b.Submit(form, url.Values{"password": {"another-fresh-passphrase-21"}})
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the used code answered %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestRecoveryThroughTheLink: the emailed link opens the choose-password page in any browser and signs
// in there; once used it is dead.
func TestRecoveryThroughTheLink(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := recoverServer(t, backend, relay)
			elsewhere, refresh := signedInElsewhere(t, srv)
			hardLock(t, srv)

			b := srv.NewBrowser(t)
			askRecovery(t, b, tenantLogin(t, srv),
				srv.User.Email)
			link := recoverLink.FindString(awaitMailTo(t, relay, 1, srv.User.Email).Body)
			if link == "" {
				t.Fatal("no link in the reset email")
			}
			other := srv.NewBrowser(t)
			resp, body := other.Get(link)
			form := passwordFormIn(t, resp, body)
			resp, body = other.Submit(form, url.Values{"password": {recPassword}})
			if resp.StatusCode != http.StatusSeeOther || servertest.Location(t, resp).Path != "/t/"+srv.Tenant+"/account" {
				t.Fatalf("the recovery answered %d:\n%s", resp.StatusCode, body)
			}
			if resp, _ := other.Get(srv.TenantURL("/account/profile")); resp.StatusCode != http.StatusOK {
				t.Errorf("the browser of the link is not signed in: %d", resp.StatusCode)
			}
			checkRecovered(t, srv, relay, 2, elsewhere, refresh)
			if resp, _ := other.Get(link); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the used link answered %d, want 400", resp.StatusCode)
			}
			if resp, _ := other.Submit(form, url.Values{"password": {"another-fresh-passphrase-21"}}); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the used link's form answered %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestRecoveryDoesNotRevealAccounts: an unknown address gets the same pages and no email; its code page
// refuses every code like a wrong one.
func TestRecoveryDoesNotRevealAccounts(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := recoverServer(t, backend, relay)
			login := tenantLogin(t, srv)

			b := srv.NewBrowser(t)
			pageOf := func(email string) (servertest.Form, string) {
				form := askRecovery(t, b, login, email)
				resp, body := b.Get(form.Action)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("the check-your-email page = %d", resp.StatusCode)
				}
				u, _ := url.Parse(form.Action)
				body = strings.ReplaceAll(body, u.Query().Get("f"), "FLOW")
				return form, strings.ReplaceAll(body, servertest.ParseCSRF(body), "CSRF")
			}
			unknown, unknownPage := pageOf("nobody@example.org")
			resp, body := b.Submit(unknown, url.Values{"code": {"123456"}})
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "This code is not correct.") {
				t.Errorf("a code for an unknown address answered %d:\n%s", resp.StatusCode, body)
			}
			_, knownPage := pageOf(srv.User.Email)
			if knownPage != unknownPage {
				t.Errorf("the pages differ:\n%s\n---\n%s", knownPage, unknownPage)
			}
			msgs := relay.Await(t, 1)
			if len(msgs) != 1 || msgs[0].To != srv.User.Email {
				t.Errorf("messages %+v, want only the known address's", msgs)
			}
			if got := eventCount(t, srv, events.TypeRecoveryRequested); got != 1 {
				t.Errorf("%d recovery.requested events, want 1", got)
			}
		})
	}
}

// TestRecoveryEndsAfterFiveWrongCodes: the fifth wrong code ends the flow; the right code then fails too.
func TestRecoveryEndsAfterFiveWrongCodes(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := recoverServer(t, backend, relay)
			b := srv.NewBrowser(t)
			form := askRecovery(t, b, tenantLogin(t, srv),
				srv.User.Email)
			code := codeOf(t, awaitMailTo(t, relay, 1, srv.User.Email))
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			for i := 1; i <= 5; i++ {
				resp, body := b.Submit(form, url.Values{"code": {wrong}})
				want := http.StatusUnprocessableEntity
				if i == 5 {
					want = http.StatusBadRequest
					if !strings.Contains(body, "Too many wrong codes") {
						t.Errorf("the fifth wrong code:\n%s", body)
					}
				}
				if resp.StatusCode != want {
					t.Fatalf("wrong code %d answered %d, want %d", i, resp.StatusCode, want)
				}
			}
			if resp, _ := b.Submit(form, url.Values{"code": {code}}); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the right code after five wrong ones answered %d, want 400", resp.StatusCode)
			}
			// Another browser cannot use the code either: the code is bound to the browser that asked.
			if resp, _ := srv.NewBrowser(t).Get(srv.TenantURL("/recover/password?token=not-a-token")); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("an unknown link answered %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestRecoveryLimits: the fourth request for one address in an hour, and the eleventh from one IP, get a
// translated 429 with Retry-After, and send nothing more.
func TestRecoveryLimits(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			srv := recoverServer(t, backend, relay)
			b := srv.NewBrowser(t)
			form, _, _ := b.GetForm(srv.TenantURL("/recover"), "/recover")
			ask := func(email string) (*http.Response, string) { return b.Submit(form, url.Values{"email": {email}}) }
			for i := range 3 {
				if resp, _ := ask(srv.User.Email); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("request %d for the address answered %d", i+1, resp.StatusCode)
				}
			}
			resp, body := ask(srv.User.Email)
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many requests") {
				t.Fatalf("the fourth request for the address answered %d (Retry-After %q):\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
			for i := 5; i <= 10; i++ {
				if resp, _ := ask("someone" + string(rune('a'+i)) + "@example.org"); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("request %d from the IP answered %d", i, resp.StatusCode)
				}
			}
			resp, _ = ask("yet-another@example.org")
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Errorf("the eleventh request from the IP answered %d", resp.StatusCode)
			}
			relay.Await(t, 3)
			if n := len(relay.Messages()); n != 3 {
				t.Errorf("%d messages, want 3", n)
			}
		})
	}
}

// TestRecoveryRefusesFormsWithoutCSRF: every recovery POST without the token is 403 and changes nothing.
func TestRecoveryRefusesFormsWithoutCSRF(t *testing.T) {
	t.Parallel()
	relay := notifytest.New(t, notifytest.Options{})
	srv := recoverServer(t, storetest.Backends(t)[0], relay)
	b := srv.NewBrowser(t)
	for _, path := range []string{"/recover", "/recover/code?f=x", "/recover/password"} {
		if resp, _ := b.PostForm(srv.TenantURL(path), url.Values{"email": {srv.User.Email}, "password": {recPassword}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without CSRF = %d, want 403", path, resp.StatusCode)
		}
	}
	if got := eventCount(t, srv, events.TypeRecoveryRequested); got != 0 {
		t.Errorf("%d recovery.requested events, want 0", got)
	}
}

// TestAlreadyRegisteredNoticeLinksRecovery: the notice to an address that registers again links the
// recovery page.
func TestAlreadyRegisteredNoticeLinksRecovery(t *testing.T) {
	t.Parallel()
	relay := notifytest.New(t, notifytest.Options{})
	srv := regServer(t, storetest.Backends(t)[0], relay)
	b := srv.NewBrowser(t)
	form, _, _ := b.GetForm(srv.TenantURL("/register"), "/register")
	b.Submit(form, newcomer(srv.User.Email))
	m := awaitMailTo(t, relay, 1, srv.User.Email)
	if !strings.Contains(m.Body, srv.TenantURL("/recover")) {
		t.Errorf("the notice does not link the recovery page:\n%s", m.Body)
	}
}

// TestRecoveryFormErrors: a bad address is named beside its field, with the entered value kept, and
// nothing is counted or sent.
func TestRecoveryFormErrors(t *testing.T) {
	t.Parallel()
	relay := notifytest.New(t, notifytest.Options{})
	srv := recoverServer(t, storetest.Backends(t)[0], relay)
	b := srv.NewBrowser(t)
	form, _, _ := b.GetForm(srv.TenantURL("/recover"), "/recover")
	for _, tt := range []struct{ email, want string }{
		{"", "Fill in this field."},
		{"not-an-address", "Enter an email address such as name@example.com."},
	} {
		resp, body := b.Submit(form, url.Values{"email": {tt.email}})
		input := regexp.MustCompile(`<input id="email"[^>]*>`).FindString(body)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(input, `aria-invalid="true" aria-describedby="email-error"`) ||
			!strings.Contains(input, `value="`+tt.email+`"`) ||
			!strings.Contains(body, `<span class="field-error" id="email-error">`+tt.want+`</span>`) {
			t.Errorf("%q answered %d, input %s:\n%s", tt.email, resp.StatusCode, input, body)
		}
	}
	if got := eventCount(t, srv, events.TypeRecoveryRequested); got != 0 || len(relay.Messages()) != 0 {
		t.Errorf("refused forms wrote %d events, sent %d messages", got, len(relay.Messages()))
	}
}
