package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/i18n"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// acceptLanguage makes every request of a browser carry an Accept-Language header.
type acceptLanguage struct {
	lang string
	next http.RoundTripper
}

func (a acceptLanguage) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Language", a.lang)
	return a.next.RoundTrip(r)
}

// browserIn is a new browser whose requests ask for lang with Accept-Language.
func browserIn(t *testing.T, srv *servertest.Server, lang string) *servertest.Browser {
	b := srv.NewBrowser(t)
	b.Transport = acceptLanguage{lang: lang, next: http.DefaultTransport}
	return b
}

// startAuthorize starts a code flow of client in b with extra parameters and returns the sign-in page's URL.
func startAuthorize(t *testing.T, srv *servertest.Server, b *servertest.Browser, client servertest.Client, extra url.Values) *url.URL {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {client.RedirectURI},
		"scope": {"openid email"}, "state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWuGJSWGNbT0k"},
		"code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	resp, body := b.Get(srv.TenantURL("/authorize?" + q.Encode()))
	loc := servertest.Location(t, resp)
	if !strings.HasSuffix(loc.Path, "/login") {
		t.Fatalf("authorize sent the browser to %s (status %d):\n%s", loc, resp.StatusCode, body)
	}
	return loc
}

// wantLang fails unless body is a page in lang: <html lang> and the footer's text in that language.
func wantLang(t *testing.T, what, body, lang string) {
	t.Helper()
	if !strings.Contains(body, `<html lang="`+lang+`">`) || !strings.Contains(body, i18n.Builtin.Text(lang, "layout.secured_by")) {
		t.Errorf("%s is not in %s:\n%s", what, lang, body)
	}
}

func TestAFlowKeepsTheLanguageItStartedIn(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))

			t.Run("ui_locales=de holds for the sign-in and the consent page, over Accept-Language", func(t *testing.T) {
				b := browserIn(t, srv, "fr")
				loginURL := startAuthorize(t, srv, b, srv.Confidential, url.Values{"ui_locales": {"ja de"}})
				form, _, body := b.GetForm(loginURL.String())
				wantLang(t, "the sign-in page", body, "de")
				if !strings.Contains(body, "<h1>Anmelden</h1>") || !strings.Contains(body, "um mit Web App fortzufahren") {
					t.Errorf("the sign-in page is not German:\n%s", body)
				}
				resp, body := b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {"wrong password 123"}})
				wantLang(t, "the sign-in page with an error", body, "de")
				if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "E-Mail oder Passwort ist falsch") {
					t.Errorf("the error is not German (status %d):\n%s", resp.StatusCode, body)
				}
				form, _, _ = b.GetForm(loginURL.String())
				resp, _ = b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
				consent := servertest.Location(t, resp)
				if !strings.HasSuffix(consent.Path, "/consent") {
					t.Fatalf("signing in went to %s, want the consent page", consent)
				}
				_, body = b.Get(consent.String())
				wantLang(t, "the consent page", body, "de")
				for _, want := range []string{"Darf Web App auf Ihr Konto zugreifen?", "Erlauben", "Ihre E-Mail-Adresse sehen"} {
					if !strings.Contains(body, want) {
						t.Errorf("the consent page lacks %q:\n%s", want, body)
					}
				}
			})

			t.Run("without ui_locales the browser's Accept-Language is chosen at the start", func(t *testing.T) {
				b := browserIn(t, srv, "es-MX, en;q=0.5")
				loginURL := startAuthorize(t, srv, b, srv.Public, nil)
				_, body := b.Get(loginURL.String())
				wantLang(t, "the sign-in page", body, "es")
			})
		})
	}
}

// switchLink returns the language switcher's link to lang on a page.
func switchLink(t *testing.T, srv *servertest.Server, body, lang string) string {
	t.Helper()
	m := regexp.MustCompile(`<a href="([^"]+)" lang="` + lang + `" hreflang="` + lang + `">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the page has no switcher link to %s:\n%s", lang, body)
	}
	return srv.URL + strings.ReplaceAll(m[1], "&amp;", "&")
}

func TestTheLanguageSwitcher(t *testing.T) {
	t.Parallel()
	srv := servertest.New(t)

	t.Run("switching on the sign-in page changes the flow's language and keeps it signing in", func(t *testing.T) {
		b := browserIn(t, srv, "en")
		loginURL := startAuthorize(t, srv, b, srv.Confidential, nil)
		_, body := b.Get(loginURL.String())
		wantLang(t, "the sign-in page", body, "en")
		if !strings.Contains(body, `<span aria-current="true" lang="en">English</span>`) {
			t.Errorf("the switcher does not mark the current language:\n%s", body)
		}
		resp, _ := b.Get(switchLink(t, srv, body, "fr"))
		back := servertest.Location(t, resp)
		if resp.StatusCode != http.StatusSeeOther || back.RequestURI() != loginURL.RequestURI() {
			t.Fatalf("the switcher answered %d to %s, want 303 to %s", resp.StatusCode, back, loginURL.RequestURI())
		}
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "umm_lang" {
				cookie = c
			}
		}
		if cookie == nil || cookie.Value != "fr" || cookie.SameSite != http.SameSiteLaxMode || cookie.MaxAge < 30*24*3600 || cookie.Path != "/" {
			t.Fatalf("umm_lang cookie = %+v, want fr, SameSite=Lax, long-lived, for every path", cookie)
		}
		form, _, body := b.GetForm(back.String())
		wantLang(t, "the sign-in page after the switch", body, "fr")
		resp, _ = b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
		consent := servertest.Location(t, resp)
		if !strings.HasSuffix(consent.Path, "/consent") {
			t.Fatalf("signing in after the switch went to %s (the form must still be accepted)", consent)
		}
		_, body = b.Get(consent.String())
		wantLang(t, "the consent page after the switch", body, "fr")
	})

	t.Run("the cookie chooses the language of a later flow over Accept-Language", func(t *testing.T) {
		b := browserIn(t, srv, "de")
		_, body := b.Get(srv.TenantURL("/device"))
		wantLang(t, "the device page", body, "de")
		b.Get(switchLink(t, srv, body, "es"))
		loginURL := startAuthorize(t, srv, b, srv.Public, nil)
		_, body = b.Get(loginURL.String())
		wantLang(t, "the next sign-in page", body, "es")
	})

	t.Run("the switcher returns only to the tenant's own pages", func(t *testing.T) {
		b := srv.NewBrowser(t)
		for _, next := range []string{"https://evil.example/x", "//evil.example/x", "/t/other/login", "/\\evil.example", ""} {
			resp, _ := b.Get(srv.TenantURL("/language?" + url.Values{"lang": {"de"}, "next": {next}}.Encode()))
			if loc := servertest.Location(t, resp); loc.Host != strings.TrimPrefix(srv.URL, "http://") || loc.Path != "/t/"+srv.Tenant+"/login" {
				t.Errorf("next=%q went to %s, want the tenant's sign-in page", next, loc)
			}
		}
	})
}

// rawKey matches a message key that reached a page untranslated. Passkey keys have three parts, so that
// the name of the script passkey.js is no match.
var rawKey = regexp.MustCompile(`\b((layout|error|login|org|mfa|reauth|notme|phone|sms|consent|scope|device|account|console|signed_out|wait|oidc|playground|register|invite|field|password|recover|emailchange|complete|connections|saml)\.[a-z_]+|passkey\.[a-z_]+\.[a-z_]+)(\.[a-z_]+)*\b`)

// TestEveryPageInEveryLanguage visits every hosted page in each shipped language and fails when one is
// not in that language or shows a message key instead of its text.
func TestEveryPageInEveryLanguage(t *testing.T) {
	t.Parallel()
	srv := servertest.New(t, servertest.WithSeed(func(s *config.TenantSeed) {
		s.Settings = &config.TenantSettings{Playground: true}
		s.Registration = &config.Registration{Enabled: true}
		// A client that requires a field the users lack: its sign-in shows the complete-profile page.
		s.Clients = append(s.Clients, config.ClientSeed{ClientID: "needs-phone", Name: "Phone App",
			RedirectURIs: []string{servertest.RedirectURI}, GrantTypes: []string{"authorization_code"},
			TokenEndpointAuthMethod: "none", FirstParty: true, RequiredProfileFields: []string{"phone_number"}})
		// A client that requires an organization, of which every user has two: its sign-in shows the
		// organization page.
		s.Clients = append(s.Clients, config.ClientSeed{ClientID: "b2b", Name: "B2B App",
			RedirectURIs: []string{servertest.RedirectURI}, GrantTypes: []string{"authorization_code"},
			TokenEndpointAuthMethod: "none", FirstParty: true, OrganizationRequired: true})
		s.Organizations = append(s.Organizations, config.OrganizationSeed{ID: "globex", Name: "Globex"},
			config.OrganizationSeed{ID: "initech", Name: "Initech"})
		for _, lang := range i18n.Languages { // one user per language: each consents on its own
			s.Users = append(s.Users, config.UserSeed{Email: lang + "@example.com", Password: "password-of-" + lang, GivenName: "Ada"})
			for i := range s.Organizations {
				s.Organizations[i].Members = append(s.Organizations[i].Members, config.OrgMember{Email: lang + "@example.com"})
			}
		}
	}))
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			b := browserIn(t, srv, lang)
			pages := map[string]string{}
			get := func(name, path string) *http.Response {
				resp, body := b.Get(srv.URL + path)
				pages[name] = body
				return resp
			}
			tp := "/t/" + srv.Tenant
			get("root page", "/")
			get("tenant index", tp+"/")
			get("playground", tp+"/playground")
			get("playground result without a flow", tp+"/playground/callback?code=x&state=y")
			get("unknown tenant page", "/t/no-such-tenant/login")
			get("authorize error page", tp+"/authorize?client_id=nobody&redirect_uri=https://x.example/cb")
			get("authorize error page with a protocol detail", tp+"/authorize?client_id=web")
			get("resume error page", tp+"/authorize/resume?lr=unknown")
			get("unknown sign-in link", tp+"/login?lr=unknown")
			get("device code entry", tp+"/device")
			get("oidc logout confirmation", tp+"/logout")
			get("signed-out page", tp+"/account/signed-out")
			get("unusable confirmation link", tp+"/register/confirm?token=unknown")
			form, _, body := b.GetForm(srv.TenantURL("/register"), "/register")
			pages["registration"] = body
			_, pages["registration with field errors"] = b.Submit(form, url.Values{"email": {"x"}, "password": {"Password123!"}})
			resp, _ := b.Submit(form, url.Values{"email": {lang + "-new@example.com"}, "password": {"quartz-lantern-meadow-57"}})
			form, _, body = b.GetForm(servertest.Location(t, resp).String())
			pages["check your email"] = body
			_, pages["check your email with a wrong code"] = b.Submit(form, url.Values{"code": {"12"}})
			form, _, body = b.GetForm(srv.TenantURL("/recover"), "/recover")
			pages["password recovery"] = body
			_, pages["password recovery with a field error"] = b.Submit(form, url.Values{"email": {"x"}})
			resp, _ = b.Submit(form, url.Values{"email": {"nobody-" + lang + "@example.com"}})
			form, _, body = b.GetForm(servertest.Location(t, resp).String())
			pages["recovery: check your email"] = body
			_, pages["recovery: check your email with a wrong code"] = b.Submit(form, url.Values{"code": {"12"}})
			get("unusable recovery link", tp+"/recover/password?token=unknown")
			u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, lang+"@example.com")
			if err != nil {
				t.Fatal(err)
			}
			link := servertest.RandomString(32)
			now := time.Now()
			if err := srv.DB.CreateFlow(context.Background(), store.Flow{TenantID: srv.Tenant, ID: servertest.RandomString(26),
				Kind: store.FlowRecovery, State: store.FlowPending, UserID: u.ID, Email: u.Email, LinkHash: keys.HashToken(link),
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			form, _, body = b.GetForm(srv.TenantURL("/recover/password?token="+link), "/recover/password")
			pages["choose a new password"] = body
			_, pages["choose a new password refused by the policy"] = b.Submit(form, url.Values{"password": {"short"}})
			resp, body = b.PostForm(srv.TenantURL("/login"), url.Values{"email": {"x"}})
			pages["expired form"] = body
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("a form without CSRF token answered %d", resp.StatusCode)
			}

			loginURL := startAuthorize(t, srv, b, srv.Confidential, nil)
			form, _, body = b.GetForm(loginURL.String())
			pages["sign-in"] = body
			_, pages["sign-in with field errors"] = b.Submit(form, url.Values{"email": {"not-an-address"}, "password": {""}})
			_, pages["sign-in with wrong credentials"] = b.Submit(form, url.Values{"email": {lang + "@example.com"}, "password": {"wrong-password-1"}})
			resp, _ = b.Submit(form, url.Values{"email": {lang + "@example.com"}, "password": {"password-of-" + lang}})
			consentURL := servertest.Location(t, resp)
			form, _, body = b.GetForm(consentURL.String())
			pages["consent"] = body
			_, pages["consent without a decision"] = b.Submit(form, url.Values{"decision": {"maybe"}})
			b.Submit(form, url.Values{"decision": {"allow"}})
			for _, section := range []string{"profile", "security", "signin", "sessions", "apps", "passkeys"} {
				get("account "+section, tp+"/account/"+section)
			}
			get("account with a notice and an error", tp+"/account/sessions?done=session_ended&error=no_choice")
			get("passkeys with a notice and an error", tp+"/account/passkeys?done=passkey_added&error=passkey_taken")
			get("sign-in methods with a notice and an error", tp+"/account/signin?done=totp_added&error=factor_unknown")
			form, _, body = b.GetForm(srv.TenantURL("/account/totp"), "/account/totp")
			pages["authenticator app setup"] = body
			_, pages["authenticator app setup with a wrong code"] = b.Submit(form, url.Values{"code": {"12"}})
			get("recovery codes", tp+"/account/recovery-codes")
			form, _, _ = b.GetForm(srv.TenantURL("/account/recovery-codes"), "/account/recovery-codes")
			_, pages["new recovery codes"] = b.Submit(form, nil)
			form, _, _ = b.GetForm(srv.TenantURL("/account/profile"), "/account/profile")
			_, pages["profile with field errors"] = b.Submit(form, url.Values{"given_name": {strings.Repeat("x", 300)}})
			form, _, _ = b.GetForm(srv.TenantURL("/account/security"), "/account/password")
			_, pages["password change with field errors"] = b.Submit(form, url.Values{"current_password": {"wrong-password-1"},
				"new_password": {"short"}})
			_, pages["password change refused by the policy"] = b.Submit(form, url.Values{"current_password": {"password-of-" + lang},
				"new_password": {"short"}})
			form, _, _ = b.GetForm(srv.TenantURL("/account/security"), "/account/email")
			_, pages["email change with field errors"] = b.Submit(form, url.Values{"new_email": {"x"}, "password": {""}})
			resp, _ = b.Submit(form, url.Values{"new_email": {lang + "-changed@example.com"}, "password": {"password-of-" + lang}})
			form, _, body = b.GetForm(servertest.Location(t, resp).String(), "/account/email/verify")
			pages["email change code"] = body
			_, pages["email change with a wrong code"] = b.Submit(form, url.Values{"code": {"12"}})
			get("email change outcomes", tp+"/account/security?done=email_changed&error=email_unavailable")
			get("unusable email change link", tp+"/account/email/confirm?token=unknown")
			_, pages["email change link without a session"] = browserIn(t, srv, lang).Get(srv.TenantURL("/account/email/confirm?token=unknown"))

			loginURL = startAuthorize(t, srv, b, servertest.Client{ID: "needs-phone", RedirectURI: servertest.RedirectURI}, nil)
			resp, _ = b.Get(loginURL.String()) // signed in already: on to the complete-profile page
			form, _, body = b.GetForm(servertest.Location(t, resp).String(), "/complete-profile")
			pages["complete profile"] = body
			_, pages["complete profile with field errors"] = b.Submit(form, url.Values{"action": {"save"}, "phone_number": {"12"}})
			_, pages["complete profile refusing a skip"] = b.Submit(form, url.Values{"action": {"skip"}})

			b2b := servertest.Client{ID: "b2b", RedirectURI: servertest.RedirectURI}
			loginURL = startAuthorize(t, srv, b, b2b, nil)
			resp, _ = b.Get(loginURL.String()) // signed in already: on to the organization page
			form, _, body = b.GetForm(servertest.Location(t, resp).String(), "/organization")
			pages["organization choice"] = body
			_, pages["organization choice refused"] = b.Submit(form, url.Values{"organization": {"umbrella"}})
			ob := browserIn(t, srv, lang)
			_, pages["sign-in to an organization"] = ob.Get(startAuthorize(t, srv, ob, b2b, url.Values{"organization": {"globex"}}).String())
			if want := i18n.Builtin.Text(lang, "org.login.title", "Globex"); !strings.Contains(pages["sign-in to an organization"], want) {
				t.Errorf("the sign-in page of an organization lacks %q", want)
			}

			resp, body = postClient(t, srv, "/device_authorization", srv.Public, url.Values{"scope": {"openid profile offline_access"}})
			var da struct {
				UserCode string `json:"user_code"`
			}
			if err := json.Unmarshal([]byte(body), &da); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("device authorization = %d:\n%s", resp.StatusCode, body)
			}
			form, _, _ = b.GetForm(srv.TenantURL("/device"), "/device")
			_, pages["device code entry with a wrong code"] = b.Submit(form, url.Values{"user_code": {"BBBB-BBBB"}})
			resp, _ = b.Submit(form, url.Values{"user_code": {da.UserCode}})
			next := servertest.Location(t, resp)
			for strings.HasSuffix(next.Path, "/login") { // the session is reused: straight on to the approval
				resp, _ = b.Get(next.String())
				next = servertest.Location(t, resp)
			}
			form, _, body = b.GetForm(next.String(), "/device")
			pages["device approval"] = body
			resp, _ = b.Submit(form, url.Values{"decision": {"allow"}})
			_, pages["device connected"] = b.Get(servertest.Location(t, resp).String())

			form, _, body = b.GetForm(srv.TenantURL("/logout"), "/logout")
			resp, body = b.Submit(form, url.Values{"action": {"logout"}})
			pages["signed out by the provider"] = body
			if resp.StatusCode != http.StatusOK {
				t.Errorf("logout answered %d", resp.StatusCode)
			}

			for name, body := range pages {
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("%s: not <html lang=%q>:\n%s", name, lang, body)
				}
				if k := rawKey.FindString(body); k != "" {
					t.Errorf("%s shows the raw key %q:\n%s", name, k, body)
				}
				if !strings.Contains(body, i18n.Builtin.Text(lang, "layout.secured_by")) {
					t.Errorf("%s: the layout is not in %s", name, lang)
				}
			}
		})
	}
}
