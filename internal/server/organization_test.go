package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// The organization tests sign in to a client that requires an organization: a member of two chooses on
// the organization page, a member of one goes straight on, a member of none is refused; and with
// organization=ID the sign-in page wears the organization's branding and offers its own connection,
// through which people join it.

const (
	orgClientID = "b2b"
	orgSecret   = "b2b-client-secret-0123456789abcdef"
	orgRedirect = "https://b2b.example.com/cb"
	soloEmail   = "solo@example.com"
	loneEmail   = "lone@example.com"
	orgPassword = "copper-garden-violet-9182"
)

var orgClient = servertest.Client{ID: orgClientID, Secret: orgSecret, RedirectURI: orgRedirect}

// orgSeed gives the tenant roles admin and viewer, organizations globex ("Globex Corporation") and
// initech ("Initech"), the seeded user a member of both (admin at globex, viewer at initech), solo a
// member of globex only, lone a member of none, and the first-party client b2b that requires an
// organization.
func orgSeed(s *config.TenantSeed) {
	s.Roles = append(s.Roles, config.RoleSeed{Name: "admin"}, config.RoleSeed{Name: "viewer"})
	s.Users = append(s.Users,
		config.UserSeed{Email: soloEmail, Password: orgPassword, GivenName: "Solo", EmailVerified: true},
		config.UserSeed{Email: loneEmail, Password: orgPassword, GivenName: "Lone", EmailVerified: true})
	s.Organizations = append(s.Organizations,
		config.OrganizationSeed{ID: "globex", Name: "Globex", DisplayName: "Globex Corporation", Members: []config.OrgMember{
			{Email: servertest.UserEmail, Roles: []string{"admin"}}, {Email: soloEmail}}},
		config.OrganizationSeed{ID: "initech", Name: "Initech", Members: []config.OrgMember{
			{Email: servertest.UserEmail, Roles: []string{"viewer"}}}})
	s.Clients = append(s.Clients, config.ClientSeed{ClientID: orgClientID, ClientSecret: orgSecret, Name: "B2B Portal",
		RedirectURIs: []string{orgRedirect}, GrantTypes: []string{"authorization_code"},
		TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true, OrganizationRequired: true})
}

// orgAuthorize starts an authorization request of the b2b client in b (with extra parameters) and
// returns the answer, the state and the PKCE verifier.
func orgAuthorize(t *testing.T, srv *servertest.Server, b *servertest.Browser, extra url.Values) (*http.Response, string, string) {
	t.Helper()
	verifier, state := servertest.RandomString(32), servertest.RandomString(16)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {orgClientID}, "redirect_uri": {orgRedirect},
		"scope": {"openid email"}, "state": {state}, "nonce": {servertest.RandomString(16)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	resp, _ := b.Get(srv.TenantURL("/authorize?" + q.Encode()))
	return resp, state, verifier
}

// signInWithPassword submits the sign-in page at login as email and returns the answer.
func signInWithPassword(t *testing.T, b *servertest.Browser, login *url.URL, email string) *http.Response {
	t.Helper()
	form, _, _ := b.GetForm(login.String(), "/login")
	resp, body := b.Submit(form, url.Values{"email": {email}, "password": {orgPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in as %s answered %d:\n%s", email, resp.StatusCode, body)
	}
	return resp
}

// orgCode follows the browser from resp to the b2b client's redirect URI and redeems its code.
func orgCode(t *testing.T, srv *servertest.Server, b *servertest.Browser, resp *http.Response, state, verifier string) tokenResponse {
	t.Helper()
	for range 5 {
		loc := servertest.Location(t, resp)
		if strings.HasPrefix(loc.String(), orgRedirect) {
			if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
				t.Fatalf("the flow ended at %s", loc)
			}
			return token(t, srv, orgClient, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
				"redirect_uri": {orgRedirect}, "code_verifier": {verifier}})
		}
		var body string
		resp, body = b.Get(loc.String())
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			t.Fatalf("the flow stopped at %s with %d:\n%s", resp.Request.URL, resp.StatusCode, body)
		}
	}
	t.Fatal("too many redirects")
	return tokenResponse{}
}

// wantOrgClaims checks that both tokens of tr carry org_id and org_roles.
func wantOrgClaims(t *testing.T, tr tokenResponse, orgID string, roles []string) {
	t.Helper()
	for name, jwt := range map[string]string{"ID token": tr.IDToken, "access token": tr.AccessToken} {
		c := idClaims(t, jwt)
		if got := asStrings(c["org_roles"]); c["org_id"] != orgID || !slices.Equal(got, roles) {
			t.Errorf("%s org_id %v org_roles %v, want %s %v", name, c["org_id"], c["org_roles"], orgID, roles)
		}
	}
}

func TestOrganizationPicker(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithUser(servertest.UserEmail, orgPassword),
				servertest.WithSeed(orgSeed))

			t.Run("a member of two organizations chooses one and its roles land in the tokens", func(t *testing.T) {
				t.Parallel()
				b := srv.NewBrowser(t)
				resp, state, verifier := orgAuthorize(t, srv, b, nil)
				resp = signInWithPassword(t, b, servertest.Location(t, resp), servertest.UserEmail)
				picker := servertest.Location(t, resp)
				if picker.Path != "/t/"+srv.Tenant+"/organization" {
					t.Fatalf("after sign-in the browser went to %s, want the organization page", picker)
				}
				form, _, page := b.GetForm(picker.String(), "/organization")
				for _, want := range []string{"Choose an organization", "Globex Corporation", "Initech", "B2B Portal",
					`name="organization" value="globex"`, `name="organization" value="initech"`} {
					if !strings.Contains(page, want) {
						t.Errorf("the organization page lacks %q:\n%s", want, page)
					}
				}
				if strings.Contains(page, "<script") {
					t.Error("the organization page needs a script")
				}

				resp, body := b.Submit(form, url.Values{"organization": {"umbrella"}})
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Choose one of your organizations") {
					t.Fatalf("an organization the user is not a member of answered %d:\n%s", resp.StatusCode, body)
				}
				form, _, _ = b.GetForm(picker.String(), "/organization")
				if resp, _ := b.PostForm(form.Action, url.Values{"organization": {"initech"}}); resp.StatusCode != http.StatusForbidden {
					t.Errorf("a choice without the CSRF token answered %d, want 403", resp.StatusCode)
				}

				resp, _ = b.Submit(form, url.Values{"organization": {"initech"}})
				wantOrgClaims(t, orgCode(t, srv, b, resp, state, verifier), "initech", []string{"viewer"})

				// Signed in already, the next sign-in asks again and may choose the other one.
				resp, state, verifier = orgAuthorize(t, srv, b, nil)
				resp, _ = b.Get(servertest.Location(t, resp).String())
				if loc := servertest.Location(t, resp); loc.Path != "/t/"+srv.Tenant+"/organization" {
					t.Fatalf("a signed-in member of two went to %s, want the organization page", loc)
				}
				form, _, _ = b.GetForm(servertest.Location(t, resp).String(), "/organization")
				resp, _ = b.Submit(form, url.Values{"organization": {"globex"}})
				wantOrgClaims(t, orgCode(t, srv, b, resp, state, verifier), "globex", []string{"admin"})
			})

			t.Run("organization=ID skips the organization page", func(t *testing.T) {
				t.Parallel()
				b := srv.NewBrowser(t)
				resp, state, verifier := orgAuthorize(t, srv, b, url.Values{"organization": {"globex"}})
				resp = signInWithPassword(t, b, servertest.Location(t, resp), servertest.UserEmail)
				if loc := servertest.Location(t, resp); strings.Contains(loc.Path, "/organization") {
					t.Fatalf("organization=globex went to the organization page %s", loc)
				}
				wantOrgClaims(t, orgCode(t, srv, b, resp, state, verifier), "globex", []string{"admin"})
			})

			t.Run("a member of one organization goes straight on", func(t *testing.T) {
				t.Parallel()
				b := srv.NewBrowser(t)
				resp, state, verifier := orgAuthorize(t, srv, b, nil)
				resp = signInWithPassword(t, b, servertest.Location(t, resp), soloEmail)
				if loc := servertest.Location(t, resp); loc.Path != "/t/"+srv.Tenant+"/authorize/resume" {
					t.Fatalf("a member of one organization went to %s, want the resume step", loc)
				}
				wantOrgClaims(t, orgCode(t, srv, b, resp, state, verifier), "globex", []string{})
			})

			t.Run("a member of no organization is refused with access_denied", func(t *testing.T) {
				t.Parallel()
				b := srv.NewBrowser(t)
				resp, state, _ := orgAuthorize(t, srv, b, nil)
				resp = signInWithPassword(t, b, servertest.Location(t, resp), loneEmail)
				resp, _ = b.Get(servertest.Location(t, resp).String())
				cb := servertest.Location(t, resp)
				q := cb.Query()
				if !strings.HasPrefix(cb.String(), orgRedirect) || q.Get("error") != "access_denied" || q.Get("code") != "" ||
					q.Get("state") != state || !strings.Contains(q.Get("error_description"), "organization") {
					t.Fatalf("a member of none ended at %s, want access_denied about organizations", cb)
				}
			})

			t.Run("a member of one organization cannot sign in to another", func(t *testing.T) {
				t.Parallel()
				b := srv.NewBrowser(t)
				resp, _, _ := orgAuthorize(t, srv, b, url.Values{"organization": {"initech"}})
				resp = signInWithPassword(t, b, servertest.Location(t, resp), soloEmail)
				resp, _ = b.Get(servertest.Location(t, resp).String())
				if q := servertest.Location(t, resp).Query(); q.Get("error") != "access_denied" {
					t.Fatalf("a non-member of initech got %s", servertest.Location(t, resp))
				}
			})
		})
	}
}

// orgFedOptions make the federation server's connection corp the connection of organization acme,
// which has its own branding.
func orgFedOptions() fedOptions {
	return fedOptions{config: func(c *config.Config) {
		tn := &c.Tenants[0]
		tn.Organizations = append(tn.Organizations, config.OrganizationSeed{ID: "acme", Name: "Acme", DisplayName: "Acme Industries",
			Connections: []string{upConnection},
			Branding:    &config.Branding{DisplayName: "Acme Portal", PrimaryColor: "#7a1f1f"}})
	}}
}

func TestOrganizationConnections(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := fedServer(t, backend, nil, orgFedOptions())
			ctx := context.Background()

			t.Run("without organization=ID the organization's connection is not offered", func(t *testing.T) {
				t.Parallel()
				b := srv.NewBrowser(t)
				authz, _, _ := authorizeURL(srv, nil)
				resp, _ := b.Get(authz)
				_, page := b.Get(servertest.Location(t, resp).String())
				if connectionButton(page, upDisplayName) != "" {
					t.Errorf("the tenant's sign-in page offers the organization's connection:\n%s", page)
				}
				if strings.Contains(page, "Acme") {
					t.Errorf("the tenant's sign-in page shows the organization:\n%s", page)
				}
			})

			t.Run("with organization=ID the page wears its branding, offers its connection, and people join through it", func(t *testing.T) {
				t.Parallel()
				b := srv.NewBrowser(t)
				authz, state, verifier := authorizeURL(srv, url.Values{"organization": {"acme"}})
				resp, _ := b.Get(authz)
				login := servertest.Location(t, resp)
				_, page := b.Get(login.String())
				for _, want := range []string{"<h1>Sign in to Acme Industries</h1>", `<p class="brand">Acme Portal</p>`, "&amp;org=acme"} {
					if !strings.Contains(page, want) {
						t.Errorf("the organization's sign-in page lacks %q:\n%s", want, page)
					}
				}
				if resp, css := b.Get(srv.TenantURL("/branding.css?org=acme")); resp.StatusCode != http.StatusOK || !strings.Contains(css, "#7a1f1f") {
					t.Errorf("the organization's stylesheet = %d:\n%s", resp.StatusCode, css)
				}
				if resp, _ := b.Get(srv.TenantURL("/branding.css?org=nobody")); resp.StatusCode != http.StatusNotFound {
					t.Errorf("the stylesheet of an unknown organization = %d, want 404", resp.StatusCode)
				}

				resp, body := upstreamSignIn(t, srv, b, login, upEmail, upPassword)
				tr := redeem(t, srv, resp, body, state, verifier)
				claims := idClaims(t, tr.IDToken)
				if claims["org_id"] != "acme" || len(asStrings(claims["org_roles"])) != 0 || claims["org_roles"] == nil {
					t.Errorf("ID token org_id %v org_roles %v, want acme []", claims["org_id"], claims["org_roles"])
				}
				u, err := srv.Identity.FindUserByEmail(ctx, srv.Tenant, upEmail)
				if err != nil {
					t.Fatal(err)
				}
				if m, err := srv.DB.GetOrganizationMember(ctx, srv.Tenant, "acme", u.ID); err != nil || len(m.Roles) != 0 {
					t.Errorf("membership %+v, %v; want a member with no roles", m, err)
				}
				var joined []store.Event
				for _, e := range tenantEvents(t, srv, srv.Tenant, events.TypeOrganizationMemberAdded) {
					if e.Actor == u.ID && asString(e.Data["connection"]) == upConnection {
						joined = append(joined, e)
					}
				}
				if len(joined) != 1 {
					t.Errorf("organization.member_added events through the connection = %+v, want one", joined)
				}
			})
		})
	}
}
