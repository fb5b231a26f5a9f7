package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/i18n"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// newPeerSP builds a SAML service provider with crewjam/saml, the peer library that checks what UMM
// sends, with its own key and certificate, and registers it in srv's tenant as app (entity id, ACS, SLO
// URL and certificate filled in). It trusts the IdP metadata UMM publishes.
func newPeerSP(t *testing.T, srv *servertest.Server, name string, app config.SAMLApp) *saml.ServiceProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	base := "https://" + name + ".sp.example.test/saml"
	mustURL := func(s string) url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return *u
	}
	resp, err := http.Get(srv.TenantURL("/saml/metadata"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var md saml.EntityDescriptor
	if resp.StatusCode != http.StatusOK || xml.Unmarshal(body, &md) != nil {
		t.Fatalf("IdP metadata: %d %s", resp.StatusCode, body)
	}
	sp := &saml.ServiceProvider{
		EntityID: base + "/metadata", Key: key, Certificate: cert,
		MetadataURL: mustURL(base + "/metadata"), AcsURL: mustURL(base + "/acs"), SloURL: mustURL(base + "/slo"),
		IDPMetadata: &md, SignatureMethod: dsig.RSASHA256SignatureMethod, AllowIDPInitiated: true,
		EncryptionKey: key, EncryptionCertificate: cert,
	}
	app.EntityID, app.Name = sp.EntityID, "Peer "+name
	app.ACSURLs, app.SLOURL = []string{sp.AcsURL.String()}, sp.SloURL.String()
	app.SPCertificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if _, err := srv.Admin.UpsertSAMLApp(context.Background(), srv.Tenant, app, "test"); err != nil {
		t.Fatal(err)
	}
	return sp
}

// toACS follows b from next through UMM (signing in on the sign-in form when it is shown) to the page
// that posts to the SP, and gives that POST to the SP as the SP's ACS handler would receive it.
func toACS(t *testing.T, srv *servertest.Server, b *servertest.Browser, next *url.URL, sp *saml.ServiceProvider) (*http.Request, url.Values) {
	req, form, _, _ := toACSFrom(t, srv, b, next, sp)
	return req, form
}

// toACSFrom is toACS that also returns the address and the body of the page that posted to the SP.
func toACSFrom(t *testing.T, srv *servertest.Server, b *servertest.Browser, next *url.URL, sp *saml.ServiceProvider) (*http.Request, url.Values, *url.URL, string) {
	t.Helper()
	for range 10 {
		resp, body := b.Get(next.String())
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			next = servertest.Location(t, resp)
			continue
		}
		for _, f := range servertest.ParseForms(resp.Request.URL, body) {
			if _, ok := f.Values["password"]; ok {
				resp, _ = b.Submit(f, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
				next = servertest.Location(t, resp)
				break
			}
			if f.Action == sp.AcsURL.String() {
				if f.Method != http.MethodPost || !strings.Contains(resp.Header.Get("Content-Security-Policy"), sp.AcsURL.Host) {
					t.Fatalf("the answer is a %s form under CSP %q", f.Method, resp.Header.Get("Content-Security-Policy"))
				}
				req := httptest.NewRequest(http.MethodPost, sp.AcsURL.String(), strings.NewReader(f.Values.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if err := req.ParseForm(); err != nil {
					t.Fatal(err)
				}
				return req, f.Values, resp.Request.URL, body
			}
		}
		if resp.StatusCode == http.StatusOK && !strings.Contains(body, "password") {
			t.Fatalf("stuck at %s: %d %.400s", next, resp.StatusCode, body)
		}
	}
	t.Fatalf("the browser did not reach the SP's ACS (at %s)", next)
	return nil, nil, nil, ""
}

// decodeResponse is the XML of the SAMLResponse in form.
func decodeResponse(t *testing.T, form url.Values) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func attributeValues(a *saml.Assertion, name string) []string {
	var out []string
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if at.Name == name {
				for _, v := range at.Values {
					out = append(out, v.Value)
				}
			}
		}
	}
	return out
}

func TestSAMLSingleSignOn(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithSeed(func(ts *config.TenantSeed) {
				ts.Users[0].GivenName, ts.Users[0].Roles = "Alice", []string{"admin", "staff"}
			}))
			ctx := context.Background()
			spA := newPeerSP(t, srv, "a", config.SAMLApp{WantAuthnRequestsSigned: true,
				Attributes: map[string]string{"mail": "email", "givenName": "given_name", "role": "roles"}})
			spB := newPeerSP(t, srv, "b", config.SAMLApp{NameIDFormat: config.NameIDPersistent, EncryptAssertion: true})
			b := srv.NewBrowser(t)
			var sessionIndex string
			var resumeURL *url.URL

			t.Run("an SP-initiated sign-in posts a signed assertion the SP accepts, with the NameID and attributes", func(t *testing.T) {
				req, err := spA.MakeAuthenticationRequest(spA.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
				if err != nil {
					t.Fatal(err)
				}
				redirect, err := req.Redirect("relay-a", spA)
				if err != nil {
					t.Fatal(err)
				}
				if redirect.Query().Get("Signature") == "" {
					t.Fatal("the peer SP did not sign its AuthnRequest")
				}
				acs, form, from, _ := toACSFrom(t, srv, b, redirect, spA)
				resumeURL = from
				if form.Get("RelayState") != "relay-a" {
					t.Errorf("RelayState = %q", form.Get("RelayState"))
				}
				a, err := spA.ParseResponse(acs, []string{req.ID})
				if err != nil {
					t.Fatalf("the SP refused the response: %v", samlErr(err))
				}
				if a.Subject == nil || a.Subject.NameID == nil || a.Subject.NameID.Value != srv.User.Email ||
					a.Subject.NameID.Format != string(saml.EmailAddressNameIDFormat) {
					t.Errorf("NameID = %+v", a.Subject)
				}
				if got := attributeValues(a, "mail"); !slices.Equal(got, []string{srv.User.Email}) {
					t.Errorf("mail = %v", got)
				}
				if got := attributeValues(a, "givenName"); !slices.Equal(got, []string{"Alice"}) {
					t.Errorf("givenName = %v", got)
				}
				if got := attributeValues(a, "role"); !slices.Equal(got, []string{"admin", "staff"}) {
					t.Errorf("role = %v", got)
				}
				if len(a.AuthnStatements) != 1 || a.AuthnStatements[0].AuthnContext.AuthnContextClassRef == nil ||
					a.AuthnStatements[0].AuthnContext.AuthnContextClassRef.Value != "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport" {
					t.Errorf("AuthnStatements = %+v", a.AuthnStatements)
				}
				sessionIndex = a.AuthnStatements[0].SessionIndex
				if _, err := spA.ParseResponse(acs, []string{"another-request"}); err == nil {
					t.Error("the SP accepted the response for another request id")
				}
			})

			t.Run("the response is recorded once and a replayed resume link gets no second one", func(t *testing.T) {
				if resumeURL == nil || !strings.Contains(resumeURL.Path, "/saml/resume") {
					t.Fatalf("the response came from %v", resumeURL)
				}
				resp, body := b.Get(resumeURL.String())
				if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "SAMLResponse") {
					t.Errorf("a replayed resume answered %d", resp.StatusCode)
				}
				other := srv.NewBrowser(t)
				if resp, body := other.Get(resumeURL.String()); resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "SAMLResponse") {
					t.Errorf("another browser's resume answered %d", resp.StatusCode)
				}
				evs, err := srv.DB.ListEvents(ctx, srv.Tenant, 0, events.TypeSAMLResponseSent, 10)
				if err != nil || len(evs) != 1 || evs[0].Subject != srv.User.ID {
					t.Fatalf("saml.response_sent events = %+v, %v", evs, err)
				}
			})

			t.Run("a second SP on the same browser signs in without a password, with an encrypted assertion", func(t *testing.T) {
				req, err := spB.MakeAuthenticationRequest(spB.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
				if err != nil {
					t.Fatal(err)
				}
				redirect, _ := req.Redirect("", spB)
				resp, _ := b.Get(redirect.String())
				login := servertest.Location(t, resp)
				resp, _ = b.Get(login.String())
				if resp.StatusCode != http.StatusSeeOther || !strings.Contains(servertest.Location(t, resp).Path, "/saml/resume") {
					t.Fatalf("with a session, the sign-in page answered %d to %v", resp.StatusCode, resp.Header.Get("Location"))
				}
				acs, form := toACS(t, srv, b, servertest.Location(t, resp), spB)
				if x := decodeResponse(t, form); !strings.Contains(x, "EncryptedAssertion") || strings.Contains(x, srv.User.Email) {
					t.Error("the response to an app with encrypt_assertion is not encrypted")
				}
				a, err := spB.ParseResponse(acs, []string{req.ID})
				if err != nil {
					t.Fatalf("the SP refused the response: %v", samlErr(err))
				}
				if a.Subject.NameID.Format != string(saml.PersistentNameIDFormat) || a.Subject.NameID.Value == srv.User.Email ||
					len(a.Subject.NameID.Value) < 20 {
					t.Errorf("persistent NameID = %+v", a.Subject.NameID)
				}
				if a.AuthnStatements[0].SessionIndex != sessionIndex {
					t.Errorf("the SSO session differs: %q, then %q", sessionIndex, a.AuthnStatements[0].SessionIndex)
				}
			})

			t.Run("IdP-initiated sign-in sends an unsolicited response the SP accepts", func(t *testing.T) {
				start, _ := url.Parse(srv.TenantURL("/saml/init?sp=" + url.QueryEscape(spA.EntityID) + "&RelayState=deep-link"))
				acs, form := toACS(t, srv, b, start, spA)
				if form.Get("RelayState") != "deep-link" {
					t.Errorf("RelayState = %q", form.Get("RelayState"))
				}
				a, err := spA.ParseResponse(acs, nil)
				if err != nil {
					t.Fatalf("the SP refused the response: %v", samlErr(err))
				}
				if a.Subject.NameID.Value != srv.User.Email {
					t.Errorf("NameID = %+v", a.Subject.NameID)
				}
			})

			t.Run("an unknown SP and an unregistered ACS URL get an error page, not a SAML message", func(t *testing.T) {
				resp, body := b.Get(srv.TenantURL("/saml/init?sp=https://unknown.example.test"))
				if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "SAMLResponse") {
					t.Errorf("unknown SP: %d", resp.StatusCode)
				}
				req, _ := spA.MakeAuthenticationRequest(spA.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
				req.AssertionConsumerServiceURL = "https://attacker.example.test/acs"
				redirect, _ := req.Redirect("", spA)
				resp, body = b.Get(redirect.String())
				if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "attacker.example.test") {
					t.Errorf("unregistered ACS: %d", resp.StatusCode)
				}
			})

			t.Run("single logout from an SP ends the UMM session and answers at the SP's SLO URL", func(t *testing.T) {
				lr, err := spA.MakeLogoutRequest(spA.GetSLOBindingLocation(saml.HTTPRedirectBinding), srv.User.Email, saml.WithSessionIndex(sessionIndex))
				if err != nil {
					t.Fatal(err)
				}
				u, err := spA.RedirectLogoutRequestURL(lr, "bye")
				if err != nil {
					t.Fatal(err)
				}
				resp, body := b.Get(u.String())
				// The page signs the person out of the other SP of the session in a frame, then goes on.
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, `src="`+html.EscapeString(spB.SloURL.String())+`?SAMLRequest=`) {
					t.Fatalf("SLO answered %d: %.600s", resp.StatusCode, body)
				}
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src") || !strings.Contains(csp, spB.SloURL.Host) {
					t.Errorf("the page's CSP does not allow the frame: %q", csp)
				}
				_, rest, _ := strings.Cut(body, `id="logout-continue" href="`)
				cont, _, _ := strings.Cut(rest, `"`)
				back, err := url.Parse(html.UnescapeString(cont))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(back.String(), spA.SloURL.String()+"?") || back.Query().Get("RelayState") != "bye" {
					t.Fatalf("SLO sent the browser to %s", back)
				}
				if resp, err := spA.ParseLogoutResponse(httptest.NewRequest(http.MethodGet, back.String(), nil), []string{lr.ID}); err != nil {
					t.Errorf("the SP refused the LogoutResponse: %v", samlErr(err))
				} else if resp.Status.StatusCode.Value != saml.StatusSuccess {
					t.Errorf("LogoutResponse status %+v", resp.Status)
				}
				s, err := srv.DB.GetSession(ctx, srv.Tenant, sessionIndex)
				if err != nil || s.EndedAt.IsZero() {
					t.Errorf("the session is not ended: %+v, %v", s, err)
				}
				// Signed out: the next SP-initiated sign-in shows the sign-in form again.
				req, _ := spB.MakeAuthenticationRequest(spB.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
				redirect, _ := req.Redirect("", spB)
				resp, _ = b.Get(redirect.String())
				resp, body = b.Get(servertest.Location(t, resp).String())
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
					t.Errorf("after logout the sign-in page answered %d", resp.StatusCode)
				}
			})
		})
	}
}

// samlErr is err with the private detail crewjam/saml keeps out of its message.
func samlErr(err error) error {
	var ivr *saml.InvalidResponseError
	if errors.As(err, &ivr) && ivr.PrivateErr != nil {
		return fmt.Errorf("%w: %v", err, ivr.PrivateErr)
	}
	return err
}

// TestSAMLPagesInEveryLanguage checks the IdP's pages (an error page, the page that posts to the SP) in
// each shipped language: translated, and no message key left raw.
func TestSAMLPagesInEveryLanguage(t *testing.T) {
	t.Parallel()
	srv := servertest.New(t)
	sp := newPeerSP(t, srv, "lang", config.SAMLApp{})
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			b := srv.NewBrowser(t)
			check := func(page, body, titleKey string) {
				t.Helper()
				if want := html.EscapeString(i18n.Builtin.Text(lang, titleKey)); !strings.Contains(body, want) {
					t.Errorf("%s: the page does not say %q", page, want)
				}
				if k := rawKey.FindString(body); k != "" {
					t.Errorf("%s: the message key %s is shown untranslated", page, k)
				}
			}
			req, _ := http.NewRequest(http.MethodGet, srv.TenantURL("/saml/init?sp=https://unknown.example.test"), nil)
			req.Header.Set("Accept-Language", lang)
			resp, body := b.Do(req)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("unknown SP: %d", resp.StatusCode)
			}
			check("error page", body, "saml.error.title")

			req, _ = http.NewRequest(http.MethodGet, srv.TenantURL("/saml/init?sp="+url.QueryEscape(sp.EntityID)), nil)
			req.Header.Set("Accept-Language", lang)
			resp, _ = b.Do(req)
			_, _, _, body = toACSFrom(t, srv, b, servertest.Location(t, resp), sp)
			check("post page", body, "saml.post.title")
		})
	}
}
