package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

var changeLink = regexp.MustCompile(`https?://\S+/account/email/confirm\?token=[A-Za-z0-9_-]+`)

// awaitMail waits until the relay received n messages and returns the one to to whose subject contains
// subject.
func awaitMail(t *testing.T, relay *notifytest.Relay, n int, to, subject string) notifytest.Message {
	t.Helper()
	for _, m := range relay.Await(t, n) {
		if m.To == to && strings.Contains(m.Subject, subject) {
			return m
		}
	}
	t.Fatalf("no message to %s about %q among %d", to, subject, n)
	return notifytest.Message{}
}

const (
	verifySubject = "Confirm your new email address"
	noticeSubject = "is being changed"
	takenAddress  = "bob@example.com"
)

// TestAccountConsoleEmailChange: the change-email form of the Security section, the emailed code and
// link, the notice to the old address, and every refusal.
func TestAccountConsoleEmailChange(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{TLS: config.SMTPNone})
			srv := servertest.New(t, servertest.WithBackend(backend),
				servertest.WithConfig(func(c *config.Config) { c.Email = relay.Config }),
				servertest.WithSeed(func(s *config.TenantSeed) {
					s.Users = append(s.Users, config.UserSeed{Email: takenAddress, Password: "bobs-own-password-42", EmailVerified: true})
				}))
			ctx := context.Background()
			b := signedIn(t, srv)
			sent := 0 // messages the relay received so far
			current := srv.User.Email

			changeForm := func(t *testing.T) servertest.Form {
				t.Helper()
				form, _, body := b.GetForm(srv.TenantURL("/account/security"), "/account/email")
				if !strings.Contains(body, `<button type="submit">Send confirmation code</button>`) {
					t.Fatalf("the security section has no change-email form:\n%s", body)
				}
				return form
			}
			// start submits the form and returns the code form it leads to.
			start := func(t *testing.T, address string) servertest.Form {
				t.Helper()
				resp, body := b.Submit(changeForm(t), url.Values{"new_email": {address}, "password": {srv.User.Password}})
				loc := servertest.Location(t, resp)
				if resp.StatusCode != http.StatusSeeOther || loc.Path != "/t/"+srv.Tenant+"/account/security" || loc.Query().Get("f") == "" {
					t.Fatalf("starting a change to %s answered %d to %s:\n%s", address, resp.StatusCode, loc, body)
				}
				form, _, body := b.GetForm(loc.String(), "/account/email/verify")
				for _, want := range []string{`autocomplete="one-time-code"`, "We sent a message to " + address,
					`<button type="submit">Confirm new address</button>`} {
					if !strings.Contains(body, want) {
						t.Errorf("the code page lacks %q:\n%s", want, body)
					}
				}
				return form
			}
			unchanged := func(t *testing.T) {
				t.Helper()
				u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, current)
				if err != nil || u.ID != srv.User.ID || !u.EmailVerified {
					t.Errorf("the user's address is no longer %s: %+v, %v", current, u, err)
				}
				other, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, takenAddress)
				if err != nil || other.ID == srv.User.ID {
					t.Errorf("the other account changed: %+v, %v", other, err)
				}
				if n := len(eventsOf(t, srv, events.TypeEmailChanged)); n != 0 {
					t.Errorf("%d email.changed events, want none", n)
				}
			}

			t.Run("without a CSRF token nothing starts", func(t *testing.T) {
				resp, _ := b.PostForm(srv.TenantURL("/account/email"), url.Values{"new_email": {"x@example.org"},
					"password": {srv.User.Password}})
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("no CSRF token answered %d", resp.StatusCode)
				}
				resp, _ = b.PostForm(srv.TenantURL("/account/email/verify?f=x"), url.Values{"code": {"123456"}})
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("the code without a CSRF token answered %d", resp.StatusCode)
				}
				unchanged(t)
			})

			t.Run("a bad, missing or unchanged address is refused beside its field", func(t *testing.T) {
				for _, tt := range []struct{ address, want string }{
					{"", "Fill in this field."},
					{"not-an-address", "Enter an email address such as name@example.com."},
					{strings.ToUpper(srv.User.Email), "This is already your email address."},
				} {
					resp, body := b.Submit(changeForm(t), url.Values{"new_email": {tt.address}, "password": {srv.User.Password}})
					if resp.StatusCode != http.StatusUnprocessableEntity {
						t.Fatalf("%q answered %d:\n%s", tt.address, resp.StatusCode, body)
					}
					tag := inputTag(body, "new_email")
					if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `aria-describedby="new_email-error"`) ||
						!strings.Contains(tag, `value="`+tt.address+`"`) ||
						!strings.Contains(body, `<span class="field-error" id="new_email-error">`+tt.want+`</span>`) {
						t.Errorf("%q: new_email = %q; body:\n%s", tt.address, tag, body)
					}
					if strings.Contains(body, srv.User.Password) {
						t.Error("the page repeats the password")
					}
				}
				unchanged(t)
			})

			t.Run("a wrong current password is refused and counted as a failed sign-in", func(t *testing.T) {
				failed := len(eventsOf(t, srv, events.TypeLoginFailed))
				resp, body := b.Submit(changeForm(t), url.Values{"new_email": {"carol@example.org"}, "password": {"not-my-password-at-all"}})
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("a wrong password answered %d:\n%s", resp.StatusCode, body)
				}
				tag := inputTag(body, "password")
				if !strings.Contains(tag, `aria-invalid="true"`) ||
					!strings.Contains(body, `<span class="field-error" id="password-error">This is not your current password.</span>`) ||
					!strings.Contains(inputTag(body, "new_email"), `value="carol@example.org"`) {
					t.Errorf("password = %q; body:\n%s", tag, body)
				}
				if strings.Contains(body, "not-my-password-at-all") {
					t.Error("the page repeats the password")
				}
				evs := eventsOf(t, srv, events.TypeLoginFailed)
				if len(evs) != failed+1 || evs[len(evs)-1].Subject != srv.User.ID {
					t.Errorf("login.failed events %+v, want one more for the user", evs)
				}
				unchanged(t)
			})

			t.Run("an address of another account is not revealed, and confirming it changes nothing", func(t *testing.T) {
				code := start(t, takenAddress) // the same answer as for a free address
				sent++
				mail := awaitMail(t, relay, sent, takenAddress, verifySubject)
				resp, body := b.Submit(code, url.Values{"code": {codeOf(t, mail)}})
				if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/account/security?error=email_unavailable") {
					t.Fatalf("confirming a taken address answered %d to %q:\n%s", resp.StatusCode, loc, body)
				}
				_, body = b.Follow(resp)
				if !strings.Contains(body, "This address cannot be used for your account. Your address was not changed.") {
					t.Errorf("the neutral message is missing:\n%s", body)
				}
				unchanged(t)
				// The flow has ended: the same code again does nothing.
				resp, _ = b.Submit(code, url.Values{"code": {codeOf(t, mail)}})
				if !strings.HasSuffix(resp.Header.Get("Location"), "?error=email_change_ended") {
					t.Errorf("the code again answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				unchanged(t)
			})

			t.Run("five wrong codes end the change", func(t *testing.T) {
				code := start(t, "dave@example.org")
				sent++
				mail := awaitMail(t, relay, sent, "dave@example.org", verifySubject)
				right := codeOf(t, mail)
				wrong := "000000"
				if right == wrong {
					wrong = "111111"
				}
				for i := 1; i <= 4; i++ {
					resp, body := b.Submit(code, url.Values{"code": {wrong}})
					tag := inputTag(body, "code")
					if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(tag, `aria-invalid="true"`) ||
						!strings.Contains(tag, `aria-describedby="code-error"`) ||
						!strings.Contains(body, "This code is not right.") {
						t.Fatalf("wrong code %d answered %d, code = %q:\n%s", i, resp.StatusCode, tag, body)
					}
				}
				resp, _ := b.Submit(code, url.Values{"code": {wrong}})
				if !strings.HasSuffix(resp.Header.Get("Location"), "?error=email_change_ended") {
					t.Fatalf("the fifth wrong code answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				resp, _ = b.Submit(code, url.Values{"code": {right}})
				if !strings.HasSuffix(resp.Header.Get("Location"), "?error=email_change_ended") {
					t.Errorf("the right code after five wrong ones answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				unchanged(t)
			})

			t.Run("the code changes the address, the old one gets the notice, sessions stay", func(t *testing.T) {
				const next = "alice.new@example.org"
				code := start(t, next)
				sent++
				mail := awaitMail(t, relay, sent, next, verifySubject)
				if u, _ := srv.Identity.FindUserByEmail(ctx, srv.Tenant, current); u.ID != srv.User.ID {
					t.Fatal("the address changed before it was confirmed")
				}
				resp, body := b.Submit(code, url.Values{"code": {codeOf(t, mail)}})
				if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/account/security?done=email_changed") {
					t.Fatalf("the right code answered %d to %q:\n%s", resp.StatusCode, loc, body)
				}
				resp, body = b.Follow(resp)
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your email address was changed.") || !strings.Contains(body, "<p>"+next+"</p>") {
					t.Errorf("this browser after the change: %d\n%s", resp.StatusCode, body)
				}
				sent++
				notice := awaitMail(t, relay, sent, current, noticeSubject)
				if !strings.Contains(notice.Body, next) {
					t.Errorf("the notice does not name the new address:\n%s", notice.Body)
				}
				old := current
				current = next
				evs := eventsOf(t, srv, events.TypeEmailChanged)
				if len(evs) != 1 || evs[0].Subject != srv.User.ID || evs[0].Data["method"] != "code" {
					t.Errorf("email.changed events: %+v", evs)
				}
				if _, err := srv.Identity.Authenticate(ctx, srv.Tenant, old, srv.User.Password, ""); err == nil {
					t.Error("the old address still signs in")
				}
				other := srv.NewBrowser(t)
				form, _, _ := other.GetForm(srv.TenantURL("/login"))
				if resp, body := other.Submit(form, url.Values{"email": {next}, "password": {srv.User.Password}}); resp.StatusCode != http.StatusSeeOther {
					t.Errorf("signing in with the new address answered %d:\n%s", resp.StatusCode, body)
				}
				// The session stayed; tokens issued now carry the new, verified address.
				authCode, verifier := codeFlow(t, srv, b, srv.Confidential, "openid email")
				tr := token(t, srv, srv.Confidential, url.Values{"grant_type": {"authorization_code"}, "code": {authCode},
					"redirect_uri": {srv.Confidential.RedirectURI}, "code_verifier": {verifier}})
				if claims := idTokenClaims(t, tr.IDToken); claims["email"] != next || claims["email_verified"] != true {
					t.Errorf("ID token claims = %v", claims)
				}
				if claims := userinfo(t, srv, tr.AccessToken); claims["email"] != next || claims["email_verified"] != true {
					t.Errorf("userinfo = %v", claims)
				}
			})

			t.Run("the emailed link changes the address in a browser signed in to the account", func(t *testing.T) {
				const next = "alice.link@example.org"
				start(t, next)
				sent++
				mail := awaitMail(t, relay, sent, next, verifySubject)
				link := changeLink.FindString(mail.Body)
				if link == "" {
					t.Fatalf("no link in:\n%s", mail.Body)
				}
				// Without a session the link asks to sign in and changes nothing.
				resp, body := srv.NewBrowser(t).Get(link)
				if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Sign in to confirm") {
					t.Errorf("the link without a session answered %d:\n%s", resp.StatusCode, body)
				}
				// Signed in to another account it cannot be used.
				bob := srv.NewBrowser(t)
				form, _, _ := bob.GetForm(srv.TenantURL("/login"))
				bob.Submit(form, url.Values{"email": {takenAddress}, "password": {"bobs-own-password-42"}})
				if resp, body := bob.Get(link); resp.StatusCode != http.StatusBadRequest {
					t.Errorf("the link in another account's browser answered %d:\n%s", resp.StatusCode, body)
				}
				// It is no registration link: /register/confirm refuses it and verifies nothing.
				regLink := strings.Replace(link, "/account/email/confirm", "/register/confirm", 1)
				if resp, body := b.Get(regLink); resp.StatusCode != http.StatusBadRequest {
					t.Errorf("the link at /register/confirm answered %d:\n%s", resp.StatusCode, body)
				}
				_, page := b.Get(srv.TenantURL("/account/security"))
				token := strings.TrimPrefix(link[strings.Index(link, "token="):], "token=")
				if resp, body := b.PostForm(srv.TenantURL("/register/confirm"), url.Values{"csrf_token": {servertest.ParseCSRF(page)},
					"token": {token}}); resp.StatusCode != http.StatusBadRequest {
					t.Errorf("posting the link's token to /register/confirm answered %d:\n%s", resp.StatusCode, body)
				}
				if n := len(eventsOf(t, srv, events.TypeEmailVerified)); n != 0 {
					t.Errorf("%d email.verified events after the link was posted to /register/confirm", n)
				}
				confirm, _, body := b.GetForm(link, "/account/email/confirm")
				if !strings.Contains(body, "Use "+next+" as the email address of your account from now on?") ||
					!strings.Contains(body, "<h1>Confirm your new email address</h1>") {
					t.Errorf("the confirmation page does not name the address:\n%s", body)
				}
				if u, _ := srv.Identity.FindUserByEmail(ctx, srv.Tenant, current); u.ID != srv.User.ID {
					t.Fatal("opening the link changed the address")
				}
				resp, body = b.Submit(confirm, nil)
				if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/account/security?done=email_changed") {
					t.Fatalf("confirming by link answered %d to %q:\n%s", resp.StatusCode, loc, body)
				}
				u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, next)
				if err != nil || u.ID != srv.User.ID || !u.EmailVerified {
					t.Errorf("after the link: %+v, %v", u, err)
				}
				sent++
				awaitMail(t, relay, sent, current, noticeSubject)
				current = next
				evs := eventsOf(t, srv, events.TypeEmailChanged)
				if len(evs) != 2 || evs[1].Data["method"] != "link" {
					t.Errorf("email.changed events: %+v", evs)
				}
				// Single use, and never usable as a registration link.
				if resp, _ := b.Submit(confirm, nil); resp.StatusCode != http.StatusBadRequest {
					t.Errorf("the link used again answered %d", resp.StatusCode)
				}
			})

			// Four changes were started above and one refused for a wrong password: five requests of the
			// hour's EmailChangePerUser.
			t.Run("beyond the hourly limit of requests the answer is 429 with Retry-After", func(t *testing.T) {
				resp, body := b.Submit(changeForm(t), url.Values{"new_email": {"erin@example.org"}, "password": {srv.User.Password}})
				if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
					!strings.Contains(body, "Too many attempts.") {
					t.Fatalf("the sixth request answered %d (Retry-After %q):\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
				}
				if u, _ := srv.Identity.FindUserByEmail(ctx, srv.Tenant, current); u.ID != srv.User.ID {
					t.Error("the address changed")
				}
				if n := len(relay.Messages()); n != sent {
					t.Errorf("the relay received %d messages, want %d", n, sent)
				}
			})
		})
	}
}

// idTokenClaims returns the payload of an ID token (its signature is checked by the flow tests).
func idTokenClaims(t *testing.T, idToken string) map[string]any {
	t.Helper()
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", idToken)
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
