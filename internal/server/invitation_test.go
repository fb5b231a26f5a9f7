package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/i18n"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store/storetest"
)

// invitationLinkRE finds the accept link in an invitation email's plain text.
var invitationLinkRE = regexp.MustCompile(`https?://\S+/invitation\?token=[A-Za-z0-9_%-]+`)

// settableClock is a server clock a test moves forward.
type settableClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *settableClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// TestInvitationAcceptedEndToEnd: an invitation created through the admin service (the CLI's code path)
// is emailed through a real SMTP relay; the link in the email opens a registration form with the address
// fixed, even though self-registration is off; the form enforces CSRF, the password policy and the
// profile schema, keeping what was entered; accepting creates a verified account with the roles, signs it
// in and sends it to the client's initiate_login_uri. Used, replaced, revoked and expired links show a
// clear page and never the form.
func TestInvitationAcceptedEndToEnd(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{})
			clock := &settableClock{}
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithClock(clock.Now),
				servertest.WithConfig(func(c *config.Config) { c.Email = relay.Config }),
				servertest.WithSeed(func(ts *config.TenantSeed) {
					ts.Registration = &config.Registration{Enabled: false} // invitations work without self-registration
					ts.Users[0].Roles = []string{"editor"}                 // so that the role exists
					ts.Profile = &config.ProfileSchema{Fields: []config.ProfileField{
						{Name: "company", Required: true, Registration: true, Label: map[string]string{"en": "Company"}},
					}}
				}),
				servertest.WithClient(config.ClientSeed{ClientID: "portal", Name: "Portal", ClientSecret: "portal-secret-0123456789abcdef",
					RedirectURIs: []string{servertest.RedirectURI}, GrantTypes: []string{"authorization_code"},
					TokenEndpointAuthMethod: "client_secret_basic", InitiateLoginURI: "https://rp.example.test/start"}))
			ctx := context.Background()
			invite := func(t *testing.T, email string, ttl time.Duration) (id, link string) {
				t.Helper()
				before := len(relay.Messages())
				inv, err := srv.Admin.CreateInvitation(ctx, srv.Tenant, admin.InvitationInput{Email: email,
					Roles: []string{"editor"}, ClientID: "portal", TTL: ttl}, "cli")
				if err != nil {
					t.Fatal(err)
				}
				return inv.ID, lastLink(t, relay, before+1, email)
			}

			id, link := invite(t, "bob@example.com", 0)
			if u, _ := url.Parse(link); u.Host != strings.TrimPrefix(srv.URL, "http://") || u.Path != "/t/"+srv.Tenant+"/invitation" {
				t.Fatalf("link %q does not lead to the invitation page of %s", link, srv.URL)
			}
			b := srv.NewBrowser(t)
			form, resp, body := b.GetForm(link, "/invitation")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="bob@example.com" readonly`) ||
				strings.Contains(body, `name="email"`) || !strings.Contains(body, "Company") {
				t.Fatalf("GET link: %d, want the form with the address fixed:\n%s", resp.StatusCode, body)
			}

			t.Run("a POST without the CSRF token changes nothing", func(t *testing.T) {
				other := srv.NewBrowser(t)
				resp, _ := other.PostForm(form.Action, url.Values{"password": {"hazel-kettle-orbit-5678"}, "company": {"Acme"}})
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("status %d, want 403", resp.StatusCode)
				}
				if _, err := srv.Admin.FindUser(ctx, srv.Tenant, "bob@example.com"); err == nil {
					t.Fatal("the account was created without a CSRF token")
				}
			})
			t.Run("a password the policy refuses is explained next to it, and the entries are kept", func(t *testing.T) {
				resp, body := b.Submit(form, url.Values{"password": {"short-1"}, "company": {"Acme Ltd"}})
				if resp.StatusCode != http.StatusUnprocessableEntity ||
					!regexp.MustCompile(`(?s)id="password"[^>]*aria-invalid="true" aria-describedby="password-error">\s*<span class="field-error" id="password-error">Use at least 8 characters\.`).MatchString(body) ||
					strings.Count(body, "Use at least 8 characters.") != 2 || // beside the field and in the summary
					!strings.Contains(body, `value="Acme Ltd"`) || strings.Contains(body, "short-1") {
					t.Fatalf("status %d:\n%s", resp.StatusCode, body)
				}
			})
			t.Run("an empty form names every missing input at once", func(t *testing.T) {
				resp, body := b.Submit(form, url.Values{})
				if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<span class="field-error" id="password-error">Choose a password.</span>`) ||
					!strings.Contains(body, `<span class="field-error" id="company-error">Fill in this field.</span>`) {
					t.Fatalf("status %d:\n%s", resp.StatusCode, body)
				}
			})
			t.Run("a required profile field left empty is explained next to it", func(t *testing.T) {
				resp, body := b.Submit(form, url.Values{"password": {"hazel-kettle-orbit-5678"}, "given_name": {"Bob"}})
				if resp.StatusCode != http.StatusUnprocessableEntity ||
					!regexp.MustCompile(`id="company"[^>]*aria-invalid="true" aria-describedby="company-error">\s*<span class="field-error" id="company-error">Fill in this field\.`).MatchString(body) ||
					!strings.Contains(body, `value="Bob"`) {
					t.Fatalf("status %d:\n%s", resp.StatusCode, body)
				}
			})

			resp, _ = b.Submit(form, url.Values{"password": {"hazel-kettle-orbit-5678"}, "company": {"Acme"}, "given_name": {"Bob"}})
			loc := servertest.Location(t, resp)
			if resp.StatusCode != http.StatusSeeOther || loc.Host != "rp.example.test" || loc.Path != "/start" ||
				loc.Query().Get("iss") != srv.Issuer {
				t.Fatalf("accept: %d to %v, want 303 to the initiate_login_uri with iss", resp.StatusCode, loc)
			}
			if !hasCookie(resp, session.CookieName) {
				t.Fatal("accepting set no session cookie")
			}
			u, err := srv.Admin.FindUser(ctx, srv.Tenant, "bob@example.com")
			if err != nil || !u.EmailVerified || u.GivenName != "Bob" || strings.Join(u.Roles, ",") != "editor" ||
				u.Profile.Attributes["company"] != "Acme" {
				t.Fatalf("user = %+v, %v", u, err)
			}
			if resp, body := b.Get(srv.TenantURL("/account/profile")); resp.StatusCode != http.StatusOK || !strings.Contains(body, "bob@example.com") {
				t.Fatalf("account page after accepting: %d:\n%s", resp.StatusCode, body)
			}
			invs, _ := srv.Admin.ListInvitations(ctx, srv.Tenant, "accepted")
			if len(invs) != 1 || invs[0].ID != id || invs[0].UserID != u.ID {
				t.Fatalf("accepted invitations = %+v", invs)
			}

			gone := func(t *testing.T, link string, status int, title string) {
				t.Helper()
				resp, body := srv.NewBrowser(t).Get(link)
				if resp.StatusCode != status || !strings.Contains(body, "<h1>"+title+"</h1>") || strings.Contains(body, `name="password"`) {
					t.Fatalf("GET %s: %d, want %d with %q and no form:\n%s", link, resp.StatusCode, status, title, body)
				}
			}
			t.Run("the used link shows that it was accepted, for GET and POST", func(t *testing.T) {
				gone(t, link, http.StatusGone, "Invitation already accepted")
				resp, _ := b.Submit(form, url.Values{"password": {"hazel-kettle-orbit-5678"}, "company": {"Acme"}})
				if resp.StatusCode != http.StatusGone {
					t.Fatalf("POST on the used link: %d, want 410", resp.StatusCode)
				}
			})
			t.Run("after a resend the old link is dead and the new one works; a revoked one is withdrawn", func(t *testing.T) {
				id, old := invite(t, "carol@example.com", 0)
				before := len(relay.Messages())
				if _, err := srv.Admin.ResendInvitation(ctx, srv.Tenant, id, "cli"); err != nil {
					t.Fatal(err)
				}
				fresh := lastLink(t, relay, before+1, "carol@example.com")
				gone(t, old, http.StatusNotFound, "Invitation link not valid")
				if _, resp, _ := srv.NewBrowser(t).GetForm(fresh, "/invitation"); resp.StatusCode != http.StatusOK {
					t.Fatalf("new link: %d", resp.StatusCode)
				}
				if err := srv.Admin.RevokeInvitation(ctx, srv.Tenant, id, "cli"); err != nil {
					t.Fatal(err)
				}
				gone(t, fresh, http.StatusGone, "Invitation withdrawn")
			})
			t.Run("an address that got an account meanwhile is told to sign in, and nothing is accepted", func(t *testing.T) {
				id, link := invite(t, "erin@example.com", 0)
				b := srv.NewBrowser(t)
				form, _, _ := b.GetForm(link, "/invitation")
				if _, err := srv.Admin.CreateUser(ctx, srv.Tenant, admin.UserInput{Email: "Erin@example.com"}, "cli"); err != nil {
					t.Fatal(err)
				}
				resp, body := b.Submit(form, url.Values{"password": {"hazel-kettle-orbit-5678"}, "company": {"Acme"}})
				if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "<h1>Account already exists</h1>") || hasCookie(resp, session.CookieName) {
					t.Fatalf("status %d:\n%s", resp.StatusCode, body)
				}
				if inv, err := srv.Identity.GetInvitation(ctx, srv.Tenant, id); err != nil || inv.Status != "pending" {
					t.Fatalf("invitation after the refusal: %+v, %v", inv, err)
				}
				if err := srv.Admin.RevokeInvitation(ctx, srv.Tenant, id, "cli"); err != nil { // the count below
					t.Fatal(err)
				}
			})
			t.Run("a mangled link is not valid", func(t *testing.T) {
				gone(t, srv.TenantURL("/invitation?token=nonsense"), http.StatusNotFound, "Invitation link not valid")
				gone(t, srv.TenantURL("/invitation"), http.StatusNotFound, "Invitation link not valid")
			})
			t.Run("an expired link says so", func(t *testing.T) {
				_, link := invite(t, "dave@example.com", 10*time.Minute)
				clock.Advance(11 * time.Minute)
				gone(t, link, http.StatusGone, "Invitation expired")
			})
			t.Run("garbage collection deletes ended invitations once their events are past retention", func(t *testing.T) {
				if invs, _ := srv.Admin.ListInvitations(ctx, srv.Tenant, ""); len(invs) != 4 {
					t.Fatalf("%d invitations before collection, want 4", len(invs))
				}
				clock.Advance(srv.Config.Events.Retention.D() + time.Hour)
				server.CollectOnce(ctx, srv.Server)
				if invs, _ := srv.Admin.ListInvitations(ctx, srv.Tenant, ""); len(invs) != 0 {
					t.Fatalf("%d invitations left after collection, want none", len(invs))
				}
			})
		})
	}
}

// lastLink waits for the n-th email, checks it goes to "to" and returns its invitation link.
func lastLink(t *testing.T, relay *notifytest.Relay, n int, to string) string {
	t.Helper()
	msgs := relay.Await(t, n)
	m := msgs[n-1]
	if m.To != to || !strings.Contains(m.Subject, "invites you to") {
		t.Fatalf("email %d: to %s, subject %q; want an invitation to %s", n, m.To, m.Subject, to)
	}
	link := invitationLinkRE.FindString(m.Body)
	if link == "" || !strings.Contains(m.HTML, strings.ReplaceAll(link, "&", "&amp;")) {
		t.Fatalf("no invitation link in the text and HTML parts:\n%s\n%s", m.Body, m.HTML)
	}
	return link
}

func hasCookie(resp *http.Response, name string) bool {
	for _, c := range resp.Cookies() {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}

// inviteRawKey matches an invitation page's message key that reached a page untranslated.
var inviteRawKey = regexp.MustCompile(`\binvite\.[a-z_]+(\.[a-z_]+)*\b`)

// TestInvitationPagesInEveryLanguage: the invitation form (also with field errors) and every page of a
// link that cannot be used are in the browser's language and show no message key.
func TestInvitationPagesInEveryLanguage(t *testing.T) {
	t.Parallel()
	relay := notifytest.New(t, notifytest.Options{})
	srv := servertest.New(t, servertest.WithConfig(func(c *config.Config) { c.Email = relay.Config }),
		servertest.WithSeed(func(ts *config.TenantSeed) {
			ts.Profile = &config.ProfileSchema{Fields: []config.ProfileField{
				{Name: "phone_number", Required: true, Registration: true},
			}}
		}))
	ctx := context.Background()
	n := 0
	invite := func(email string) (string, string) {
		inv, err := srv.Admin.CreateInvitation(ctx, srv.Tenant, admin.InvitationInput{Email: email}, "cli")
		if err != nil {
			t.Fatal(err)
		}
		n++
		return inv.ID, lastLink(t, relay, n, email)
	}
	_, used := invite("used@example.com")
	b := srv.NewBrowser(t)
	form, _, _ := b.GetForm(used, "/invitation")
	// Without a client, the new account goes to the account page.
	resp, _ := b.Submit(form, url.Values{"password": {"hazel-kettle-orbit-5678"}, "phone_number": {"+4930123456"}})
	if loc := servertest.Location(t, resp); resp.StatusCode != http.StatusSeeOther || loc.Path != "/t/"+srv.Tenant+"/account" {
		t.Fatalf("accepting: %d to %v, want 303 to the account page", resp.StatusCode, loc)
	}
	revokedID, revoked := invite("revoked@example.com")
	if err := srv.Admin.RevokeInvitation(ctx, srv.Tenant, revokedID, "cli"); err != nil {
		t.Fatal(err)
	}
	open := map[string]string{}
	for _, lang := range i18n.Languages {
		_, open[lang] = invite(lang + "@example.com")
	}
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			b := browserIn(t, srv, lang)
			pages := map[string]string{}
			form, _, body := b.GetForm(open[lang], "/invitation")
			pages["form"] = body
			if !strings.Contains(body, "next=%2Ft%2F"+srv.Tenant+"%2Finvitation%3Ftoken%3D") {
				t.Errorf("the language switcher does not come back to the invitation:\n%s", body)
			}
			_, body = b.Submit(form, url.Values{"password": {"short-1"}, "phone_number": {"12"}})
			pages["form with errors"] = body
			for _, want := range []string{i18n.Builtin.Text(lang, "password.reason.too_short", 8),
				i18n.Builtin.Text(lang, "field.error.not_phone")} {
				if !strings.Contains(html.UnescapeString(body), want) {
					t.Errorf("the form with errors does not say %q:\n%s", want, body)
				}
			}
			_, pages["used link"] = b.Get(used)
			_, pages["revoked link"] = b.Get(revoked)
			_, pages["unknown link"] = b.Get(srv.TenantURL("/invitation?token=unknown"))
			for name, body := range pages {
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("%s: not <html lang=%q>:\n%s", name, lang, body)
				}
				if k := inviteRawKey.FindString(body); k != "" {
					t.Errorf("%s shows the raw key %q:\n%s", name, k, body)
				}
				if k := rawKey.FindString(body); k != "" {
					t.Errorf("%s shows the raw key %q:\n%s", name, k, body)
				}
			}
		})
	}
}
