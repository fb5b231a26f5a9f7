package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// consoleSchema makes the nickname, the phone number and a custom company field (released with the
// profile scope) editable on the account console.
func consoleSchema() *config.ProfileSchema {
	maxCompany := 40
	return &config.ProfileSchema{Fields: []config.ProfileField{
		{Name: "nickname", Editable: true},
		{Name: "phone_number", Editable: true},
		{Name: "company", Type: config.FieldString, Editable: true, MaxLength: &maxCompany,
			Label: map[string]string{"en": "Company", "de": "Firma"}, Claim: &config.FieldClaim{Scope: "profile"}},
	}}
}

// signedIn returns a browser signed in on srv's hosted sign-in page (a session without any client).
func signedIn(t *testing.T, srv *servertest.Server) *servertest.Browser {
	t.Helper()
	b := srv.NewBrowser(t)
	form, _, _ := b.GetForm(srv.TenantURL("/login"))
	if resp, body := b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in answered %d:\n%s", resp.StatusCode, body)
	}
	return b
}

// eventsOf returns the tenant's events of type typ.
func eventsOf(t *testing.T, srv *servertest.Server, typ string) []store.Event {
	t.Helper()
	evs, err := srv.DB.ListEvents(context.Background(), srv.Tenant, 0, typ, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// userinfo returns the UserInfo claims for an access token, failing t unless it answers 200.
func userinfo(t *testing.T, srv *servertest.Server, accessToken string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.TenantURL("/userinfo"), nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, body := servertest.NewBrowser(t).Do(req)
	var claims map[string]any
	if err := json.Unmarshal([]byte(body), &claims); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("userinfo = %d:\n%s", resp.StatusCode, body)
	}
	return claims
}

// inputTag returns the <input> (or <select>) element named name on a page, "" when there is none.
func inputTag(body, name string) string {
	return regexp.MustCompile(`(?s)<(?:input|select)\b[^>]*\bname="` + regexp.QuoteMeta(name) + `"[^>]*>`).FindString(body)
}

// stepClock is a server clock that a test moves forward.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestAccountConsoleNavigation(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			t.Run("without a session every section sends the browser to sign in", func(t *testing.T) {
				for _, p := range []string{"/account", "/account/profile", "/account/security", "/account/signin", "/account/totp",
					"/account/recovery-codes", "/account/sessions", "/account/apps"} {
					resp, _ := srv.NewBrowser(t).Get(srv.TenantURL(p))
					if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/t/"+srv.Tenant+"/login" {
						t.Errorf("GET %s = %d to %q, want 303 to the sign-in page", p, resp.StatusCode, loc)
					}
				}
			})
			b := signedIn(t, srv)
			t.Run("the account page opens on the profile section", func(t *testing.T) {
				resp, _ := b.Get(srv.TenantURL("/account"))
				if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/t/"+srv.Tenant+"/account/profile" {
					t.Errorf("GET /account = %d to %q, want 303 to /account/profile", resp.StatusCode, loc)
				}
			})
			sections := map[string]string{"profile": "Profile", "security": "Security", "signin": "Sign-in methods",
				"sessions": "Sessions and devices", "apps": "Connected apps"}
			for section, text := range sections {
				t.Run("the "+section+" section marks its own link as current", func(t *testing.T) {
					resp, body := b.Get(srv.TenantURL("/account/" + section))
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("GET /account/%s = %d", section, resp.StatusCode)
					}
					nav := regexp.MustCompile(`(?s)<nav class="console-nav" aria-label="Account sections">.*?</nav>`).FindString(body)
					if nav == "" {
						t.Fatalf("no section navigation on /account/%s:\n%s", section, body)
					}
					if n := strings.Count(nav, `aria-current="page"`); n != 1 {
						t.Errorf("%d links marked current, want 1:\n%s", n, nav)
					}
					want := `<a href="/t/` + srv.Tenant + `/account/` + section + `" aria-current="page">` + text + `</a>`
					if !strings.Contains(nav, want) {
						t.Errorf("the navigation lacks %s:\n%s", want, nav)
					}
					for other, otherText := range sections {
						if other != section && !strings.Contains(nav, `<a href="/t/`+srv.Tenant+`/account/`+other+`">`+otherText+`</a>`) {
							t.Errorf("no plain link to %s in:\n%s", other, nav)
						}
					}
					if !strings.Contains(body, `action="/t/`+srv.Tenant+`/account/logout"`) {
						t.Errorf("the %s section has no sign-out form", section)
					}
				})
			}
			t.Run("the sections show their own content", func(t *testing.T) {
				for section, want := range map[string][]string{
					"profile":  {`name="given_name"`, `autocomplete="given-name"`, `name="family_name"`, `autocomplete="family-name"`},
					"security": {srv.User.Email, `name="current_password"`, `autocomplete="current-password"`, `autocomplete="new-password"`},
					"signin": {"Set up an authenticator app", "Add a passkey", "You have no recovery codes.", "Remembered devices",
						`name="device"`},
					"sessions": {`name="sid"`, "Sign out everywhere"},
					"apps":     {"No apps have access to your account."},
				} {
					_, body := b.Get(srv.TenantURL("/account/" + section))
					for _, w := range want {
						if !strings.Contains(body, w) {
							t.Errorf("/account/%s lacks %s", section, w)
						}
					}
				}
			})
		})
	}
}

func TestAccountConsoleProfile(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			clk := &stepClock{now: time.Now()}
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithClock(clk.Now), servertest.WithSeed(func(s *config.TenantSeed) {
				s.Profile = consoleSchema()
			}))
			ctx := context.Background()
			b := signedIn(t, srv)

			t.Run("the form shows every editable field with its input type and autocomplete", func(t *testing.T) {
				_, body := b.Get(srv.TenantURL("/account/profile"))
				for name, want := range map[string][]string{
					"given_name":   {`type="text"`, `autocomplete="given-name"`, `value="Alice"`},
					"family_name":  {`type="text"`, `autocomplete="family-name"`, `value="Example"`},
					"nickname":     {`type="text"`, `autocomplete="nickname"`},
					"phone_number": {`type="tel"`, `autocomplete="tel"`},
					"company":      {`type="text"`, `maxlength="40"`},
				} {
					tag := inputTag(body, name)
					for _, w := range want {
						if !strings.Contains(tag, w) {
							t.Errorf("input %s = %q, want %s", name, tag, w)
						}
					}
				}
				for _, label := range []string{`<label for="nickname">Nickname</label>`, `<label for="phone_number">Phone number</label>`, `<label for="company">Company</label>`} {
					if !strings.Contains(body, label) {
						t.Errorf("no %s", label)
					}
				}
			})

			t.Run("invalid values are refused with errors beside their fields and the values kept", func(t *testing.T) {
				before, err := srv.DB.GetUser(ctx, srv.Tenant, srv.User.ID)
				if err != nil {
					t.Fatal(err)
				}
				updates := len(eventsOf(t, srv, events.TypeUserUpdated))
				form, _, _ := b.GetForm(srv.TenantURL("/account/profile"), "/account/profile")
				resp, body := b.Submit(form, url.Values{"given_name": {"Grace <kept>"}, "phone_number": {"12345"},
					"company": {strings.Repeat("c", 41)}})
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("invalid profile answered %d:\n%s", resp.StatusCode, body)
				}
				for name, msg := range map[string]string{
					"phone_number": "Enter the number in international format",
					"company":      "Use at most 40 characters.",
				} {
					tag := inputTag(body, name)
					if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `aria-describedby="`+name+`-error"`) {
						t.Errorf("input %s = %q, want aria-invalid and aria-describedby=%s-error", name, tag, name)
					}
					if !regexp.MustCompile(`<span class="field-error" id="` + name + `-error">` + regexp.QuoteMeta(msg)).MatchString(body) {
						t.Errorf("no error %q beside %s:\n%s", msg, name, body)
					}
				}
				if tag := inputTag(body, "given_name"); !strings.Contains(tag, `value="Grace &lt;kept&gt;"`) || strings.Contains(tag, "aria-invalid") {
					t.Errorf("given_name = %q, want the submitted value kept and no error", tag)
				}
				if !strings.Contains(inputTag(body, "company"), `value="`+strings.Repeat("c", 41)+`"`) {
					t.Error("the refused company value was not kept")
				}
				if !strings.Contains(body, `role="alert"`) {
					t.Error("no error summary")
				}
				after, err := srv.DB.GetUser(ctx, srv.Tenant, srv.User.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.GivenName != before.GivenName || !after.UpdatedAt.Equal(before.UpdatedAt) {
					t.Errorf("a refused profile changed the user: %+v", after)
				}
				if n := len(eventsOf(t, srv, events.TypeUserUpdated)); n != updates {
					t.Errorf("a refused profile wrote %d user.updated events", n-updates)
				}
			})

			t.Run("a value far beyond every limit is refused before validation", func(t *testing.T) {
				form, _, _ := b.GetForm(srv.TenantURL("/account/profile"), "/account/profile")
				resp, body := b.Submit(form, url.Values{"nickname": {strings.Repeat("n", 5000)}})
				if resp.StatusCode != http.StatusUnprocessableEntity ||
					!strings.Contains(body, `<span class="field-error" id="nickname-error">This value is far too long.</span>`) ||
					!strings.Contains(inputTag(body, "nickname"), `aria-invalid="true"`) {
					t.Errorf("a 5000-character nickname answered %d:\n%s", resp.StatusCode, body)
				}
			})

			t.Run("a valid profile is saved with its event, a new updated_at and its claims released", func(t *testing.T) {
				before, err := srv.DB.GetUser(ctx, srv.Tenant, srv.User.ID)
				if err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Minute) // updated_at has whole seconds
				form, _, _ := b.GetForm(srv.TenantURL("/account/profile"), "/account/profile")
				resp, body := b.Submit(form, url.Values{"given_name": {"Grace"}, "nickname": {"gracie"},
					"phone_number": {"+4930123456"}, "company": {"Analytical Engines"}})
				if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/t/"+srv.Tenant+"/account/profile?done=profile_saved" {
					t.Fatalf("saving answered %d to %q:\n%s", resp.StatusCode, loc, body)
				}
				_, body = b.Follow(resp)
				if !strings.Contains(body, `<div class="notice" role="status">Your profile was saved.</div>`) {
					t.Errorf("no success notice:\n%s", body)
				}
				if !strings.Contains(inputTag(body, "nickname"), `value="gracie"`) {
					t.Error("the saved nickname is not shown")
				}
				after, err := srv.DB.GetUser(ctx, srv.Tenant, srv.User.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.GivenName != "Grace" || !after.UpdatedAt.After(before.UpdatedAt) {
					t.Errorf("user after saving: given_name %q, updated_at %v (before %v)", after.GivenName, after.UpdatedAt, before.UpdatedAt)
				}
				evs := eventsOf(t, srv, events.TypeUserUpdated)
				if len(evs) == 0 {
					t.Fatal("no user.updated event")
				}
				last := evs[len(evs)-1]
				fields, _ := json.Marshal(last.Data)
				if last.Subject != srv.User.ID || last.Actor != srv.User.ID || !strings.Contains(string(fields), "company") ||
					!strings.Contains(string(fields), "nickname") {
					t.Errorf("user.updated = %+v", last)
				}

				code, verifier := codeFlow(t, srv, b, srv.FirstParty, "openid profile phone")
				tr := token(t, srv, srv.FirstParty, url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {srv.FirstParty.RedirectURI}, "code_verifier": {verifier}})
				claims := userinfo(t, srv, tr.AccessToken)
				for k, want := range map[string]any{"given_name": "Grace", "nickname": "gracie", "company": "Analytical Engines",
					"phone_number": "+4930123456", "updated_at": float64(after.UpdatedAt.Unix())} {
					if claims[k] != want {
						t.Errorf("userinfo %s = %v, want %v (claims %v)", k, claims[k], want, claims)
					}
				}
			})

			t.Run("a profile form without a CSRF token is refused and changes nothing", func(t *testing.T) {
				resp, _ := b.PostForm(srv.TenantURL("/account/profile"), url.Values{"given_name": {"Mallory"}})
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("no CSRF token answered %d", resp.StatusCode)
				}
				if u, _ := srv.DB.GetUser(ctx, srv.Tenant, srv.User.ID); u.GivenName == "Mallory" {
					t.Error("the profile changed without a CSRF token")
				}
			})
		})
	}
}

func TestAccountConsolePasswordChange(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{TLS: config.SMTPNone})
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithConfig(func(c *config.Config) {
				c.Email = relay.Config
				c.Security.AccountLockoutThreshold = 4
				c.Security.DeviceLockoutThreshold = 4
			}))
			ctx := context.Background()
			const newPassword = "copper-lantern-meadow-7731"

			// Here: the browser that changes the password; it also holds a refresh token of its own session.
			here := srv.NewBrowser(t)
			code, verifier := codeFlow(t, srv, here, srv.Confidential, "openid offline_access")
			hereTokens := token(t, srv, srv.Confidential, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {srv.Confidential.RedirectURI}, "code_verifier": {verifier}})
			// Elsewhere: another browser of the same user, with a refresh token of its own.
			elsewhere := srv.NewBrowser(t)
			code, verifier = codeFlow(t, srv, elsewhere, srv.Confidential, "openid offline_access")
			elsewhereTokens := token(t, srv, srv.Confidential, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {srv.Confidential.RedirectURI}, "code_verifier": {verifier}})
			if hereTokens.RefreshToken == "" || elsewhereTokens.RefreshToken == "" {
				t.Fatal("no refresh tokens")
			}
			passwordForm := func(t *testing.T) servertest.Form {
				form, _, _ := here.GetForm(srv.TenantURL("/account/security"), "/account/password")
				return form
			}
			unchanged := func(t *testing.T) {
				t.Helper()
				if _, err := srv.Identity.Authenticate(ctx, srv.Tenant, srv.User.Email, srv.User.Password, ""); err != nil {
					t.Errorf("the old password no longer signs in: %v", err)
				}
				if n := len(eventsOf(t, srv, events.TypePasswordChanged)); n != 0 {
					t.Errorf("%d password.changed events after a refused change", n)
				}
			}

			t.Run("without a CSRF token the change is refused", func(t *testing.T) {
				resp, _ := here.PostForm(srv.TenantURL("/account/password"), url.Values{"current_password": {srv.User.Password},
					"new_password": {newPassword}})
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("no CSRF token answered %d", resp.StatusCode)
				}
				unchanged(t)
			})

			t.Run("a wrong current password is refused beside its field and counted as a failed sign-in", func(t *testing.T) {
				failed := len(eventsOf(t, srv, events.TypeLoginFailed))
				resp, body := here.Submit(passwordForm(t), url.Values{"current_password": {"not-my-password-at-all"},
					"new_password": {newPassword}})
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("a wrong current password answered %d:\n%s", resp.StatusCode, body)
				}
				tag := inputTag(body, "current_password")
				if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `aria-describedby="current_password-error"`) ||
					!strings.Contains(body, `<span class="field-error" id="current_password-error">This is not your current password.</span>`) {
					t.Errorf("current_password = %q; body:\n%s", tag, body)
				}
				if strings.Contains(body, "not-my-password-at-all") || strings.Contains(body, newPassword) {
					t.Error("the page repeats a password")
				}
				evs := eventsOf(t, srv, events.TypeLoginFailed)
				if len(evs) != failed+1 || evs[len(evs)-1].Subject != srv.User.ID {
					t.Errorf("login.failed events %+v, want one more for the user", evs)
				}
				unchanged(t)
			})

			t.Run("a new password the policy refuses is explained beside its field", func(t *testing.T) {
				for _, tt := range []struct{ password, want string }{
					{"short", "Use at least 8 characters."},
					{"password123", "This password is too common"},
					{srv.User.Email + "-x", "Do not use your email address"},
				} {
					resp, body := here.Submit(passwordForm(t), url.Values{"current_password": {srv.User.Password},
						"new_password": {tt.password}})
					if resp.StatusCode != http.StatusUnprocessableEntity {
						t.Fatalf("%q answered %d:\n%s", tt.password, resp.StatusCode, body)
					}
					tag := inputTag(body, "new_password")
					if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `aria-describedby="new_password-error new_password-hint"`) ||
						!strings.Contains(body, `<span class="field-error" id="new_password-error">`+tt.want) {
						t.Errorf("%q: new_password = %q; body:\n%s", tt.password, tag, body)
					}
				}
				unchanged(t)
			})

			t.Run("the change ends every other session and every refresh token, keeps this session and emails the owner", func(t *testing.T) {
				resp, body := here.Submit(passwordForm(t), url.Values{"current_password": {srv.User.Password},
					"new_password": {newPassword}})
				if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/t/"+srv.Tenant+"/account/security?done=password_changed" {
					t.Fatalf("the change answered %d to %q:\n%s", resp.StatusCode, loc, body)
				}
				resp, body = here.Follow(resp)
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your password was changed.") {
					t.Errorf("this browser after the change: %d\n%s", resp.StatusCode, body)
				}
				if resp, _ := elsewhere.Get(srv.TenantURL("/account/security")); resp.StatusCode != http.StatusSeeOther ||
					!strings.HasSuffix(resp.Header.Get("Location"), "/login") {
					t.Errorf("the other browser is still signed in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
				}
				for name, rt := range map[string]string{"this session's": hereTokens.RefreshToken, "the other session's": elsewhereTokens.RefreshToken} {
					resp, body := postClient(t, srv, "/token", srv.Confidential, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
					if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"invalid_grant"`) {
						t.Errorf("%s old refresh token answered %d %s, want invalid_grant", name, resp.StatusCode, body)
					}
				}
				live, err := srv.DB.ListUserSessions(ctx, srv.Tenant, srv.User.ID, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if len(live) != 1 {
					t.Errorf("%d live sessions, want only this browser's", len(live))
				}
				if _, err := srv.Identity.Authenticate(ctx, srv.Tenant, srv.User.Email, newPassword, ""); err != nil {
					t.Errorf("the new password does not sign in: %v", err)
				}
				if _, err := srv.Identity.Authenticate(ctx, srv.Tenant, srv.User.Email, srv.User.Password, ""); err == nil {
					t.Error("the old password still signs in")
				}
				changed := eventsOf(t, srv, events.TypePasswordChanged)
				if len(changed) != 1 || changed[0].Subject != srv.User.ID || changed[0].Actor != srv.User.ID {
					t.Errorf("password.changed events %+v", changed)
				}
				ended := 0
				for _, e := range eventsOf(t, srv, events.TypeSessionEnded) {
					if e.Data["reason"] == events.ReasonPasswordChanged {
						ended++
					}
				}
				if ended != 1 {
					t.Errorf("%d session.ended events with reason password_changed, want 1", ended)
				}

				msgs := relay.Await(t, 1)
				m := msgs[0]
				if len(msgs) != 1 || m.To != srv.User.Email || m.Subject != "Your Test Tenant password was changed" ||
					!strings.Contains(m.Body, "the password of your Test Tenant account "+srv.User.Email+" was just changed") || m.HTML == "" {
					t.Errorf("relay received %+v", msgs)
				}
				if strings.Contains(string(m.Data), newPassword) || strings.Contains(string(m.Data), srv.User.Password) {
					t.Error("the email holds a password")
				}
			})

			t.Run("wrong current passwords use up the sign-in budget", func(t *testing.T) {
				var resp *http.Response
				var body string
				for range 8 {
					resp, body = here.Submit(passwordForm(t), url.Values{"current_password": {"guess-" + servertest.RandomString(6)},
						"new_password": {"another-new-passphrase-99"}})
					if resp.StatusCode == http.StatusTooManyRequests {
						break
					}
				}
				if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
					!strings.Contains(body, "Too many wrong passwords were entered.") {
					t.Fatalf("after 8 wrong passwords: %d, Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
				}
				// Now even the right password is refused from here: the form guesses no more than sign-in does.
				resp, _ = here.Submit(passwordForm(t), url.Values{"current_password": {newPassword}, "new_password": {"another-new-passphrase-99"}})
				if resp.StatusCode != http.StatusTooManyRequests {
					t.Errorf("the right password after the budget was used up answered %d", resp.StatusCode)
				}
				if n := len(eventsOf(t, srv, events.TypePasswordChanged)); n != 1 {
					t.Errorf("%d password.changed events, want only the earlier change", n)
				}
			})
		})
	}
}
