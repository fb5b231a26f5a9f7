package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// The SAML tests sign in through a SAML 2.0 identity provider run in the test process (crewjam/saml's
// IdentityProvider): the browser carries the AuthnRequest to it and posts its signed response to the
// ACS, as with a real IdP's HTTP-POST binding.

const (
	samlConnection = "corp-saml"
	samlName       = "Corp SAML"
	samlIdPMeta    = "https://idp.corp.example/saml/metadata"
	samlIdPSSO     = "https://idp.corp.example/saml/sso"
	samlIdPOrigin  = "https://idp.corp.example"
)

// The IdP key is made once for the package: RSA key generation is the slow part.
var samlKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// samlIdP is the upstream IdP, configured as the seeded tenant's connection samlConnection.
type samlIdP struct {
	idp *saml.IdentityProvider
	srv *servertest.Server
}

type samlSP struct{ ed *saml.EntityDescriptor }

func (s samlSP) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if id != s.ed.EntityID {
		return nil, os.ErrNotExist
	}
	return s.ed, nil
}

// samlServer starts a server whose tenant has a SAML connection to a new IdP, and registers the
// server's SP metadata (as served at .../saml/metadata) at the IdP.
func samlServer(t *testing.T, backend string) *samlIdP {
	t.Helper()
	key := samlKey()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp.corp.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	md, _ := url.Parse(samlIdPMeta)
	sso, _ := url.Parse(samlIdPSSO)
	idp := &saml.IdentityProvider{Key: key, Certificate: cert, MetadataURL: *md, SSOURL: *sso,
		NameIDFormats: []saml.NameIDFormat{saml.PersistentNameIDFormat}}
	raw, err := xml.Marshal(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithSeed(func(ts *config.TenantSeed) {
		ts.Connections = append(ts.Connections, config.Connection{ID: samlConnection, Type: config.ConnSAML,
			DisplayName: samlName, MetadataXML: string(raw), TrustEmail: true})
	}))
	resp, body := srv.NewBrowser(t).Get(srv.TenantURL("/connections/" + samlConnection + "/saml/metadata"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SP metadata answered %d:\n%s", resp.StatusCode, body)
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal([]byte(body), &ed); err != nil {
		t.Fatalf("SP metadata: %v\n%s", err, body)
	}
	idp.ServiceProviderProvider = samlSP{&ed}
	return &samlIdP{idp: idp, srv: srv}
}

// answer has the IdP read the AuthnRequest the browser was sent to (loc) and sign in session: it
// returns the form the IdP's page would post to the ACS.
func (p *samlIdP) answer(t *testing.T, loc *url.URL, s *saml.Session) url.Values {
	t.Helper()
	if !strings.HasPrefix(loc.String(), samlIdPSSO+"?") {
		t.Fatalf("the browser went to %s, want the IdP's SSO service", loc)
	}
	req, err := saml.NewIdpAuthnRequest(p.idp, httptest.NewRequest(http.MethodGet, loc.String(), nil))
	if err != nil {
		t.Fatalf("the IdP cannot read the request: %v", err)
	}
	if err := req.Validate(); err != nil {
		t.Fatalf("the IdP refuses the request: %v", err)
	}
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, s); err != nil {
		t.Fatal(err)
	}
	if err := req.MakeResponse(); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(req.ResponseEl.Copy())
	raw, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(raw)}, "RelayState": {req.RelayState}}
}

// postACS posts form to the ACS from the IdP's page, a cross-site POST.
func (p *samlIdP) postACS(t *testing.T, b *servertest.Browser, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.srv.TenantURL("/connections/"+samlConnection+"/saml/acs"), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", samlIdPOrigin)
	return b.Do(req)
}

// start opens an authorization request in b and clicks the SAML button; it returns where the browser
// was sent and the request's state and verifier.
func (p *samlIdP) start(t *testing.T, b *servertest.Browser) (*url.URL, string, string) {
	t.Helper()
	authz, state, verifier := authorizeURL(p.srv, nil)
	resp, _ := b.Get(authz)
	login := servertest.Location(t, resp)
	_, page := b.Get(login.String())
	href := connectionButton(page, samlName)
	if href == "" {
		t.Fatalf("the sign-in page has no %q button:\n%s", samlName, page)
	}
	u, _ := url.Parse(href)
	resp, body := b.Get(login.ResolveReference(u).String())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start answered %d:\n%s", resp.StatusCode, body)
	}
	return servertest.Location(t, resp), state, verifier
}

func samlPerson(nameID, email string) *saml.Session {
	now := time.Now()
	return &saml.Session{ID: "s-" + nameID, CreateTime: now.Add(-time.Minute), ExpireTime: now.Add(time.Hour), Index: "idx-" + nameID,
		NameID: nameID, NameIDFormat: string(saml.PersistentNameIDFormat),
		UserEmail: email, UserGivenName: "Carol", UserSurname: "Saml", UserCommonName: "Carol Saml"}
}

// TestFederatedSAMLSignIn: the IdP's POST to the ACS is parked and continued at the GET callback in the
// same browser, which signs in with an account created just in time.
func TestFederatedSAMLSignIn(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := samlServer(t, backend)
			srv := p.srv
			before := userCount(t, srv)
			b := srv.NewBrowser(t)
			loc, state, verifier := p.start(t, b)
			resp, body := p.postACS(t, b, p.answer(t, loc, samlPerson("carol-1", "carol@corp.example")))
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("the ACS answered %d:\n%s", resp.StatusCode, body)
			}
			if cb := servertest.Location(t, resp); cb.Path != "/t/"+srv.Tenant+"/connections/"+samlConnection+"/callback" {
				t.Fatalf("the ACS went to %s, want the GET callback", cb)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("the ACS set cookies: %v", resp.Cookies())
			}
			resp, body = follow(t, srv, b, resp, body)
			claims := idClaims(t, redeem(t, srv, resp, body, state, verifier).IDToken)
			if claims["email"] != "carol@corp.example" || claims["given_name"] != "Carol" {
				t.Errorf("ID token claims = %v", claims)
			}
			if got := userCount(t, srv); got != before+1 {
				t.Errorf("%d accounts, want %d", got, before+1)
			}
			ok := tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)
			if len(ok) != 1 || asString(ok[0].Data["connection"]) != samlConnection {
				t.Errorf("login.succeeded = %+v", ok)
			}

			// The same response again (a replay) signs nobody in.
			b2 := srv.NewBrowser(t)
			loc2, _, _ := p.start(t, b2)
			form := p.answer(t, loc2, samlPerson("carol-1", "carol@corp.example"))
			resp, body = p.postACS(t, b2, form)
			resp, body = follow(t, srv, b2, resp, body)
			if resp.StatusCode < 300 || resp.StatusCode > 399 {
				t.Fatalf("a second sign-in answered %d:\n%s", resp.StatusCode, body)
			}
			resp, body = p.postACS(t, b2, form)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the response posted twice answered %d:\n%s", resp.StatusCode, body)
			}
		})
	}
}

// TestFederatedSAMLRelayStateOfAnotherBrowser: a response posted with a RelayState that another browser started
// does not sign in the browser that posted it: an attacker posting a victim's answer gets nothing, and a
// victim made to post an attacker's answer is not signed in as the attacker, while the victim's own
// answer still works.
func TestFederatedSAMLRelayStateOfAnotherBrowser(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := samlServer(t, backend)
			srv := p.srv
			before := userCount(t, srv)
			// refused checks that poster's post of form ends in the expired page and signs nothing in.
			refused := func(what string, poster *servertest.Browser, form url.Values) {
				t.Helper()
				resp, body := p.postACS(t, poster, form)
				if resp.StatusCode == http.StatusSeeOther {
					resp, body = follow(t, srv, poster, resp, body)
				}
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("%s: answered %s %d, want 400:\n%s", what, resp.Request.URL, resp.StatusCode, body)
				}
				resp, _ = poster.Get(srv.TenantURL("/account"))
				if resp.StatusCode != http.StatusSeeOther || !strings.Contains(servertest.Location(t, resp).Path, "/login") {
					t.Errorf("%s: the posting browser reaches the account page (%d)", what, resp.StatusCode)
				}
			}

			victim, attacker := srv.NewBrowser(t), srv.NewBrowser(t)
			vloc, _, _ := p.start(t, victim)
			refused("attacker posts the victim's answer", attacker, p.answer(t, vloc, samlPerson("victim", "victim@corp.example")))

			aloc, _, _ := p.start(t, attacker)
			vloc2, state2, verifier2 := p.start(t, victim)
			refused("victim posts the attacker's answer", victim, p.answer(t, aloc, samlPerson("attacker", "attacker@corp.example")))
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)); n != 0 {
				t.Fatalf("%d sign-ins, want none", n)
			}
			if got := userCount(t, srv); got != before {
				t.Errorf("%d accounts, want %d", got, before)
			}

			// The victim's first flow was spent by the attacker's post; its second still signs in as itself.
			resp, body := p.postACS(t, victim, p.answer(t, vloc2, samlPerson("victim", "victim@corp.example")))
			resp, body = follow(t, srv, victim, resp, body)
			if claims := idClaims(t, redeem(t, srv, resp, body, state2, verifier2).IDToken); claims["email"] != "victim@corp.example" {
				t.Errorf("the victim signed in as %v", claims["email"])
			}
		})
	}
}

// TestFederatedSAMLResponseBoundToItsRequest: an answer is accepted only for the request it answers: one posted
// with the RelayState of another sign-in of the same browser (another tab), and an unsolicited one
// (IdP-initiated, without RelayState), sign nobody in.
func TestFederatedSAMLResponseBoundToItsRequest(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := samlServer(t, backend)
			srv := p.srv
			b := srv.NewBrowser(t)
			first, _, _ := p.start(t, b)
			second, _, _ := p.start(t, b)
			form := p.answer(t, first, samlPerson("tab", "tab@corp.example"))
			if second.Query().Get("RelayState") == "" || second.Query().Get("RelayState") == first.Query().Get("RelayState") {
				t.Fatalf("the two requests' RelayStates: %q, %q", first.Query().Get("RelayState"), second.Query().Get("RelayState"))
			}
			form.Set("RelayState", second.Query().Get("RelayState"))
			resp, body := p.postACS(t, b, form)
			resp, body = follow(t, srv, b, resp, body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("an answer to another tab's request answered %s %d:\n%s", resp.Request.URL, resp.StatusCode, body)
			}
			form.Del("RelayState")
			resp, body = p.postACS(t, b, form)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("an unsolicited answer answered %d:\n%s", resp.StatusCode, body)
			}
			if n := len(tenantEvents(t, srv, srv.Tenant, events.TypeLoginSucceeded)); n != 0 {
				t.Errorf("%d sign-ins, want none", n)
			}
		})
	}
}
