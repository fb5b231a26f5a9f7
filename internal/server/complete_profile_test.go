package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// profileServer seeds a tenant whose schema releases company (scope profile) and asks for phone_number at
// the 3rd sign-in, and whose first-party client requires company.
func profileServer(t *testing.T, backend string, change ...func(*config.TenantSeed)) *servertest.Server {
	return servertest.New(t, servertest.WithBackend(backend), servertest.WithSeed(func(s *config.TenantSeed) {
		s.Profile = &config.ProfileSchema{
			Fields: []config.ProfileField{{Name: "company", Label: map[string]string{"en": "Company", "de": "Firma"},
				Claim: &config.FieldClaim{Scope: "profile"}}},
			Progressive: []config.ProgressiveField{{Field: "phone_number", AfterSignIns: 3}},
		}
		for i := range s.Clients {
			if s.Clients[i].ClientID == servertest.FirstPartyClientID {
				s.Clients[i].RequiredProfileFields = []string{"company"}
			}
		}
		for _, c := range change {
			c(s)
		}
	}))
}

// signIn submits the user's credentials on the sign-in page at login and returns where the browser is sent.
func signIn(t *testing.T, srv *servertest.Server, b *servertest.Browser, login *url.URL) *http.Response {
	t.Helper()
	form, _, _ := b.GetForm(login.String())
	resp, body := b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in answered %d:\n%s", resp.StatusCode, body)
	}
	return resp
}

// TestCompleteProfileForAClientRequiredField: a client requiring company stops the sign-in at the
// complete-profile page until the field is given; it cannot be skipped; the value reaches the ID token.
func TestCompleteProfileForAClientRequiredField(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := profileServer(t, backend)
			b := srv.NewBrowser(t)
			login, state, verifier := pendingAuthorize(t, srv, b, srv.FirstParty)
			next := servertest.Location(t, signIn(t, srv, b, login))
			if next.Path != "/t/"+srv.Tenant+"/complete-profile" || next.Query().Get("lr") != login.Query().Get("lr") {
				t.Fatalf("the sign-in went to %s, want the complete-profile page of the request", next)
			}
			form, _, body := b.GetForm(next.String(), "/complete-profile")
			for _, want := range []string{"Complete your profile", "First-Party App needs a few more details",
				`<label for="company">Company</label>`, `<input id="company" name="company" type="text" value="" required`,
				`<button type="submit" name="action" value="save">Save and continue</button>`} {
				if !strings.Contains(body, want) {
					t.Errorf("the page lacks %s:\n%s", want, body)
				}
			}
			if strings.Contains(body, `value="skip"`) || strings.Contains(body, "phone_number") {
				t.Errorf("a required field offers a skip, or an undue field is asked:\n%s", body)
			}

			t.Run("a skip is refused", func(t *testing.T) {
				resp, body := b.Submit(form, url.Values{"action": {"skip"}, "company": {"Ac"}})
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "cannot be skipped") ||
					!strings.Contains(body, `value="Ac"`) {
					t.Fatalf("skip = %d:\n%s", resp.StatusCode, body)
				}
				if n := eventCount(t, srv, events.TypeProfileSkipped); n != 0 {
					t.Fatalf("%d profile.skipped events", n)
				}
			})
			t.Run("an empty value is refused beside its field", func(t *testing.T) {
				resp, body := b.Submit(form, url.Values{"action": {"save"}, "company": {""}})
				if resp.StatusCode != http.StatusUnprocessableEntity ||
					!strings.Contains(body, `aria-invalid="true" aria-describedby="company-error"`) ||
					!strings.Contains(body, `<span class="field-error" id="company-error">`) ||
					!strings.Contains(body, `role="alert" id="form-error"`) {
					t.Fatalf("empty company = %d:\n%s", resp.StatusCode, body)
				}
			})
			t.Run("a value over the limit is refused and kept", func(t *testing.T) {
				long := strings.Repeat("a", 256)
				resp, body := b.Submit(form, url.Values{"action": {"save"}, "company": {long}})
				if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="`+long+`"`) ||
					!strings.Contains(body, `aria-describedby="company-error"`) {
					t.Fatalf("long company = %d:\n%s", resp.StatusCode, body)
				}
			})
			t.Run("a form without its CSRF token changes nothing", func(t *testing.T) {
				resp, _ := b.PostForm(form.Action, url.Values{"action": {"save"}, "company": {"Evil"}})
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("no CSRF token = %d, want 403", resp.StatusCode)
				}
				if u, _ := srv.DB.GetUser(context.Background(), srv.Tenant, srv.User.ID); u.Profile.Attributes["company"] != nil {
					t.Fatalf("company = %v after a forged form", u.Profile.Attributes["company"])
				}
			})
			t.Run("the request cannot be finished around the page", func(t *testing.T) {
				lr := url.QueryEscape(login.Query().Get("lr"))
				for _, path := range []string{"/login?lr=" + lr, "/consent?lr=" + lr} {
					resp, _ := b.Get(srv.TenantURL(path))
					if loc := servertest.Location(t, resp); !strings.HasSuffix(loc.Path, "/complete-profile") {
						t.Errorf("%s went to %s, want the complete-profile page", path, loc)
					}
				}
				resp, _ := b.Get(srv.TenantURL("/authorize/resume?lr=" + lr))
				if loc := servertest.Location(t, resp); strings.HasPrefix(loc.String(), srv.FirstParty.RedirectURI) {
					t.Errorf("resume sent the browser to the client: %s", loc)
				}
			})

			resp, body := b.Submit(form, url.Values{"action": {"save"}, "company": {"Acme"}})
			claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier)
			if claims["company"] != "Acme" {
				t.Errorf("ID token claims = %v, want company Acme", claims)
			}
			if n := eventCount(t, srv, events.TypeUserUpdated); n != 1 {
				t.Errorf("%d user.updated events, want 1", n)
			}

			// The next sign-in, in another browser, is not stopped.
			b2 := srv.NewBrowser(t)
			login, _, _ = pendingAuthorize(t, srv, b2, srv.FirstParty)
			if next := servertest.Location(t, signIn(t, srv, b2, login)); !strings.HasSuffix(next.Path, "/authorize/resume") {
				t.Errorf("a complete profile went to %s, want resume", next)
			}
		})
	}
}

// TestCompleteProfileProgressive: phone_number is asked at the 3rd sign-in and not before, after consent
// was given once; "Skip for now" resumes to the client, and the 4th sign-in does not ask again.
func TestCompleteProfileProgressive(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := profileServer(t, backend)
			for n := 1; n <= 4; n++ {
				b := srv.NewBrowser(t)
				login, state, _ := pendingAuthorize(t, srv, b, srv.Confidential)
				next := servertest.Location(t, signIn(t, srv, b, login))
				asked := strings.HasSuffix(next.Path, "/complete-profile")
				if asked != (n == 3) {
					t.Fatalf("sign-in %d went to %s", n, next)
				}
				if asked {
					form, _, body := b.GetForm(next.String(), "/complete-profile")
					for _, want := range []string{`<input id="phone_number" name="phone_number" type="tel" value="" autocomplete="tel" inputmode="tel">`,
						`<button type="submit" name="action" value="skip" class="secondary" formnovalidate>Skip for now</button>`,
						"You can also skip this for now."} {
						if !strings.Contains(body, want) {
							t.Errorf("the page lacks %s:\n%s", want, body)
						}
					}
					resp, body := b.Submit(form, url.Values{"action": {"save"}, "phone_number": {"12"}})
					if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-describedby="phone_number-error"`) {
						t.Fatalf("a wrong phone number = %d:\n%s", resp.StatusCode, body)
					}
					resp, _ = b.Submit(form, url.Values{"action": {"skip"}})
					if resp.StatusCode != http.StatusSeeOther {
						t.Fatalf("skip = %d", resp.StatusCode)
					}
					next = servertest.Location(t, resp)
				}
				cb := completeInBrowser(t, srv, b, next)
				if !strings.HasPrefix(cb.String(), srv.Confidential.RedirectURI) || cb.Query().Get("code") == "" || cb.Query().Get("state") != state {
					t.Fatalf("sign-in %d ended at %s", n, cb)
				}
			}
			if n := eventCount(t, srv, events.TypeProfileSkipped); n != 1 {
				t.Errorf("%d profile.skipped events, want 1", n)
			}
			u, err := srv.DB.GetUser(context.Background(), srv.Tenant, srv.User.ID)
			if err != nil || u.SignIns != 4 || u.ProfileSkips["phone_number"] != 3 || u.Profile.Claims["phone_number"] != nil {
				t.Errorf("user: %d sign-ins, skips %v, claims %v, %v", u.SignIns, u.ProfileSkips, u.Profile.Claims, err)
			}
		})
	}
}

// TestCompleteProfileOnSSO: a browser whose session's user lacks a client-required field is not given a
// code at once: authorize hands the request to the pages, which ask first; prompt=none answers
// interaction_required; once the field is given, the session alone gets codes again.
func TestCompleteProfileOnSSO(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := profileServer(t, backend)
			b := srv.NewBrowser(t)
			if next := servertest.Location(t, signIn(t, srv, b, mustURL(t, srv.TenantURL("/login")))); !strings.HasSuffix(next.Path, "/account") {
				t.Fatalf("a direct sign-in went to %s", next)
			}

			t.Run("prompt=none is answered interaction_required", func(t *testing.T) {
				q := url.Values{"response_type": {"code"}, "client_id": {srv.FirstParty.ID}, "redirect_uri": {srv.FirstParty.RedirectURI},
					"scope": {"openid"}, "state": {"st"}, "prompt": {"none"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWuGJSWGNbT0k"},
					"code_challenge_method": {"S256"}}
				resp, _ := b.Get(srv.TenantURL("/authorize?" + q.Encode()))
				loc := servertest.Location(t, resp)
				if !strings.HasPrefix(loc.String(), srv.FirstParty.RedirectURI) || loc.Query().Get("error") != "interaction_required" ||
					loc.Query().Get("code") != "" {
					t.Fatalf("prompt=none went to %s", loc)
				}
			})

			login, state, verifier := pendingAuthorize(t, srv, b, srv.FirstParty)
			resp, _ := b.Get(login.String())
			next := servertest.Location(t, resp)
			if !strings.HasSuffix(next.Path, "/complete-profile") {
				t.Fatalf("the session went to %s, want the complete-profile page", next)
			}
			form, _, _ := b.GetForm(next.String(), "/complete-profile")
			resp, body := b.Submit(form, url.Values{"action": {"save"}, "company": {"Acme"}})
			if claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier); claims["company"] != "Acme" {
				t.Errorf("ID token claims = %v", claims)
			}

			// Complete now: the session alone answers with a code.
			q := url.Values{"response_type": {"code"}, "client_id": {srv.FirstParty.ID}, "redirect_uri": {srv.FirstParty.RedirectURI},
				"scope": {"openid"}, "state": {"again"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWuGJSWGNbT0k"},
				"code_challenge_method": {"S256"}}
			resp, _ = b.Get(srv.TenantURL("/authorize?" + q.Encode()))
			if loc := servertest.Location(t, resp); !strings.HasPrefix(loc.String(), srv.FirstParty.RedirectURI) || loc.Query().Get("code") == "" {
				t.Errorf("SSO after completing went to %s, want a code", loc)
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestCompleteProfileAfterRegistration: registering from an authorization request of a client that
// requires a field the form does not ask for stops at the complete-profile page, then consent, then the
// client gets a code and the claim.
func TestCompleteProfileAfterRegistration(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			noVerification := false
			srv := profileServer(t, backend, func(s *config.TenantSeed) {
				s.Registration = &config.Registration{Enabled: true, RequireEmailVerification: &noVerification}
				for i := range s.Clients {
					if s.Clients[i].ClientID == servertest.ConfidentialClientID {
						s.Clients[i].RequiredProfileFields = []string{"company"}
					}
				}
			})
			b := srv.NewBrowser(t)
			login, state, verifier := pendingAuthorize(t, srv, b, srv.Confidential)
			resp, body := registerFrom(t, b, login, url.Values{"email": {"grace@example.org"}, "password": {regPassword}})
			next := servertest.Location(t, resp)
			if !strings.HasSuffix(next.Path, "/complete-profile") {
				t.Fatalf("registration went to %s:\n%s", next, body)
			}
			form, _, _ := b.GetForm(next.String(), "/complete-profile")
			resp, _ = b.Submit(form, url.Values{"action": {"save"}, "company": {"Navy"}})
			if loc := servertest.Location(t, resp); !strings.HasSuffix(loc.Path, "/consent") {
				t.Fatalf("after the profile the browser went to %s, want consent", loc)
			}
			claims := finishAtClient(t, srv, b, resp, "", srv.Confidential, state, verifier)
			if claims["company"] != "Navy" || claims["email"] != "grace@example.org" {
				t.Errorf("ID token claims = %v", claims)
			}
			u, err := srv.Identity.FindUserByEmail(context.Background(), srv.Tenant, "grace@example.org")
			if err != nil || u.SignIns != 1 {
				t.Errorf("the new account: %d sign-ins, %v; want 1", u.SignIns, err)
			}
		})
	}
}

// TestCompleteProfileOnTheDeviceFlow: a signed-in browser approving a device for a client that requires a
// field the user lacks is asked for it before the approval page.
func TestCompleteProfileOnTheDeviceFlow(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := profileServer(t, backend, func(s *config.TenantSeed) {
				for i := range s.Clients {
					if s.Clients[i].ClientID == servertest.PublicClientID {
						s.Clients[i].RequiredProfileFields = []string{"company"}
					}
				}
			})
			b := srv.NewBrowser(t)
			signIn(t, srv, b, mustURL(t, srv.TenantURL("/login")))
			resp, body := postClient(t, srv, "/device_authorization", srv.Public, url.Values{"scope": {"openid profile"}})
			var da struct {
				UserCode string `json:"user_code"`
			}
			if err := json.Unmarshal([]byte(body), &da); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("device authorization = %d:\n%s", resp.StatusCode, body)
			}
			form, _, _ := b.GetForm(srv.TenantURL("/device"), "/device")
			resp, _ = b.Submit(form, url.Values{"user_code": {da.UserCode}})
			next := servertest.Location(t, resp)
			if !strings.HasSuffix(next.Path, "/complete-profile") {
				t.Fatalf("the user code went to %s, want the complete-profile page", next)
			}
			form, _, _ = b.GetForm(next.String(), "/complete-profile")
			resp, _ = b.Submit(form, url.Values{"action": {"save"}, "company": {"Acme"}})
			next = servertest.Location(t, resp)
			form, _, body = b.GetForm(next.String(), "/device")
			if !strings.Contains(body, `name="decision"`) {
				t.Fatalf("after the profile %s is no approval page:\n%s", next, body)
			}
			resp, _ = b.Submit(form, url.Values{"decision": {"allow"}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("approval = %d", resp.StatusCode)
			}
			if n := eventCount(t, srv, events.TypeDeviceCodeApproved); n != 1 {
				t.Errorf("%d device_code.approved events, want 1", n)
			}
		})
	}
}

// TestCompleteProfileMixed: a page asking for a client-required field and a due progressive one offers no
// skip; the progressive field may be left empty, which skips it until after_sign_ins more sign-ins.
func TestCompleteProfileMixed(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := profileServer(t, backend, func(s *config.TenantSeed) { s.Profile.Progressive[0].AfterSignIns = 1 })
			b := srv.NewBrowser(t)
			login, state, verifier := pendingAuthorize(t, srv, b, srv.FirstParty)
			form, _, body := b.GetForm(servertest.Location(t, signIn(t, srv, b, login)).String(), "/complete-profile")
			if !strings.Contains(body, `<input id="company" name="company" type="text" value="" required>`) ||
				!strings.Contains(body, `<input id="phone_number" name="phone_number" type="tel" value="" autocomplete="tel" inputmode="tel">`) ||
				strings.Contains(body, `value="skip"`) {
				t.Fatalf("the mixed page:\n%s", body)
			}
			resp, body := b.Submit(form, url.Values{"action": {"save"}, "company": {""}, "phone_number": {""}})
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-describedby="company-error"`) ||
				strings.Contains(body, `aria-describedby="phone_number-error"`) {
				t.Fatalf("an empty required field = %d:\n%s", resp.StatusCode, body)
			}
			if n := eventCount(t, srv, events.TypeProfileSkipped); n != 0 {
				t.Fatalf("%d profile.skipped events after a refused form", n)
			}
			resp, body = b.Submit(form, url.Values{"action": {"save"}, "company": {"Acme"}, "phone_number": {""}})
			if claims := finishAtClient(t, srv, b, resp, body, srv.FirstParty, state, verifier); claims["company"] != "Acme" {
				t.Errorf("ID token claims = %v", claims)
			}
			if n := eventCount(t, srv, events.TypeProfileSkipped); n != 1 {
				t.Errorf("%d profile.skipped events, want 1 (phone_number left empty)", n)
			}

			// after_sign_ins 1: the next sign-in asks for the skipped field again, now skippable.
			b2 := srv.NewBrowser(t)
			login, _, _ = pendingAuthorize(t, srv, b2, srv.FirstParty)
			next := servertest.Location(t, signIn(t, srv, b2, login))
			_, body = b2.Get(next.String())
			if !strings.HasSuffix(next.Path, "/complete-profile") || !strings.Contains(body, `value="skip"`) || strings.Contains(body, `id="company"`) {
				t.Fatalf("the second sign-in went to %s:\n%s", next, body)
			}
		})
	}
}
