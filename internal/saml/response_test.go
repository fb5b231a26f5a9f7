package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp, body := f.get(t, f.url("/saml/metadata"))
	var md crewjam.EntityDescriptor
	if resp.StatusCode != http.StatusOK || xml.Unmarshal([]byte(body), &md) != nil || len(md.IDPSSODescriptors) != 1 {
		t.Fatalf("metadata %d: %s", resp.StatusCode, body)
	}
	if md.EntityID != f.url("/saml/metadata") {
		t.Errorf("entityID %q is not the metadata URL", md.EntityID)
	}
	idp := md.IDPSSODescriptors[0]
	_, cert, err := f.idp.keys.SAMLCredentials(context.Background(), f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(idp.KeyDescriptors) == 0 || idp.KeyDescriptors[0].Use != "signing" ||
		idp.KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data != base64.StdEncoding.EncodeToString(cert.Raw) {
		t.Errorf("the first signing key is not the current SAML certificate: %+v", idp.KeyDescriptors)
	}
	for _, e := range append(idp.SingleSignOnServices, idp.SingleLogoutServices...) {
		if e.Location != f.url("/saml/sso") && e.Location != f.url("/saml/slo") {
			t.Errorf("endpoint %+v", e)
		}
	}
	if len(idp.SingleSignOnServices) != 2 || len(idp.SingleLogoutServices) != 2 || len(idp.NameIDFormats) != 4 {
		t.Errorf("descriptor %+v", idp)
	}
}

func TestResponse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	key, cert, err := f.idp.keys.SAMLCredentials(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	s := signer{key, cert}
	now := time.Now().Truncate(time.Second)
	no := false
	user := store.User{ID: "u1", Email: "ada@example.com", GivenName: "Ada", FamilyName: "Lovelace", Roles: []string{"admin", "ops"}}
	attrs := map[string]string{"mail": "email", "urn:oid:2.5.4.42": "given_name", "name": "name", "roles": "roles", "missing": "nickname"}
	peers := map[string]*peer{
		"email":       f.newPeer(t, "email", config.SAMLApp{Attributes: attrs}, true),
		"persistent":  f.newPeer(t, "persistent", config.SAMLApp{NameIDFormat: config.NameIDPersistent}, true),
		"persistent2": f.newPeer(t, "persistent2", config.SAMLApp{NameIDFormat: config.NameIDPersistent}, true),
		"transient":   f.newPeer(t, "transient", config.SAMLApp{NameIDFormat: config.NameIDTransient}, true),
		"assertion":   f.newPeer(t, "assertion", config.SAMLApp{SignResponse: &no}, true),
		"response":    f.newPeer(t, "response", config.SAMLApp{SignAssertion: &no}, true),
		"encrypted":   f.newPeer(t, "encrypted", config.SAMLApp{EncryptAssertion: true}, true),
	}
	// respond makes a response of p for u and has p's library check it as its ACS would.
	respond := func(t *testing.T, p *peer, u store.User, acr string) (string, *crewjam.Assertion) {
		t.Helper()
		enc, err := f.idp.buildResponse(assertionInput{Tenant: f.tenant, App: p.app, ACS: p.AcsURL.String(), InResponseTo: "id-req",
			User: u, SessionID: "sess-1", AuthTime: now.Add(-time.Minute), AMR: []string{"pwd"}, ACR: acr}, s, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(enc)
		a, err := p.ParseXMLResponse(raw, []string{"id-req"}, p.AcsURL)
		if err != nil {
			t.Fatalf("the SP refused the response: %v\n%s", samlErr(err), raw)
		}
		return string(raw), a
	}

	t.Run("the assertion carries the subject, audience, confirmation, session and attributes", func(t *testing.T) {
		p := peers["email"]
		_, a := respond(t, p, user, "1")
		if a.Subject.NameID.Value != "ada@example.com" || a.Subject.NameID.Format != string(crewjam.EmailAddressNameIDFormat) {
			t.Errorf("NameID %+v", a.Subject.NameID)
		}
		sc := a.Subject.SubjectConfirmations[0]
		if sc.Method != "urn:oasis:names:tc:SAML:2.0:cm:bearer" || sc.SubjectConfirmationData.Recipient != p.AcsURL.String() ||
			sc.SubjectConfirmationData.InResponseTo != "id-req" || sc.SubjectConfirmationData.NotOnOrAfter.After(time.Now().Add(assertionLifetime+time.Second)) {
			t.Errorf("SubjectConfirmation %+v %+v", sc, sc.SubjectConfirmationData)
		}
		if aud := a.Conditions.AudienceRestrictions[0].Audience.Value; aud != p.EntityID {
			t.Errorf("audience %q", aud)
		}
		st := a.AuthnStatements[0]
		if st.SessionIndex != "sess-1" || !st.AuthnInstant.Equal(now.Add(-time.Minute)) || st.AuthnContext.AuthnContextClassRef.Value != acPasswordProtectedTransport {
			t.Errorf("AuthnStatement %+v", st)
		}
		want := map[string][]string{"mail": {"ada@example.com"}, "urn:oid:2.5.4.42": {"Ada"}, "name": {"Ada Lovelace"}, "roles": {"admin", "ops"}}
		got := map[string][]string{}
		for _, at := range a.AttributeStatements[0].Attributes {
			for _, v := range at.Values {
				got[at.Name] = append(got[at.Name], v.Value)
			}
		}
		for k, v := range want {
			if !slices.Equal(got[k], v) {
				t.Errorf("attribute %s = %v, want %v", k, got[k], v)
			}
		}
		if _, ok := got["missing"]; ok || len(got) != len(want) {
			t.Errorf("attributes %v", got)
		}
	})

	t.Run("a sign-in with two factors is asserted as multi-factor", func(t *testing.T) {
		_, a := respond(t, peers["email"], user, "2")
		if v := a.AuthnStatements[0].AuthnContext.AuthnContextClassRef.Value; v != acREFEDSMFA {
			t.Errorf("AuthnContextClassRef %q", v)
		}
	})

	t.Run("a persistent NameID is stable per SP and user, and differs between SPs and users", func(t *testing.T) {
		_, a1 := respond(t, peers["persistent"], user, "1")
		_, a2 := respond(t, peers["persistent"], user, "1")
		_, other := respond(t, peers["persistent2"], user, "1")
		u2 := user
		u2.ID = "u2"
		_, otherUser := respond(t, peers["persistent"], u2, "1")
		v := a1.Subject.NameID.Value
		if a1.Subject.NameID.Format != string(crewjam.PersistentNameIDFormat) || v != a2.Subject.NameID.Value ||
			v == other.Subject.NameID.Value || v == otherUser.Subject.NameID.Value || strings.Contains(v, "u1") {
			t.Errorf("persistent ids %q %q %q %q", v, a2.Subject.NameID.Value, other.Subject.NameID.Value, otherUser.Subject.NameID.Value)
		}
	})

	t.Run("a transient NameID is new every time", func(t *testing.T) {
		_, a1 := respond(t, peers["transient"], user, "1")
		_, a2 := respond(t, peers["transient"], user, "1")
		if a1.Subject.NameID.Format != string(crewjam.TransientNameIDFormat) || a1.Subject.NameID.Value == a2.Subject.NameID.Value {
			t.Errorf("transient ids %+v %+v", a1.Subject.NameID, a2.Subject.NameID)
		}
	})

	t.Run("sign_response and sign_assertion choose what is signed, and signatures verify with the metadata certificate", func(t *testing.T) {
		mdCert := metadataCert(t, f)
		for name, want := range map[string][2]bool{"email": {true, true}, "assertion": {false, true}, "response": {true, false}} {
			raw, _ := respond(t, peers[name], user, "1")
			doc := etree.NewDocument()
			if err := doc.ReadFromString(raw); err != nil {
				t.Fatal(err)
			}
			resp := doc.Root()
			assertion := resp.FindElement("./Assertion")
			if (xmlSignature(resp) != nil) != want[0] || (xmlSignature(assertion) != nil) != want[1] {
				t.Errorf("%s: response signed %v, assertion signed %v; want %v", name, xmlSignature(resp) != nil, xmlSignature(assertion) != nil, want)
			}
			vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{mdCert}})
			for _, el := range []*etree.Element{resp, assertion} {
				if xmlSignature(el) == nil {
					continue
				}
				if _, err := vc.Validate(el); err != nil {
					t.Errorf("%s: the %s signature does not verify with the metadata certificate: %v", name, el.Tag, err)
				}
			}
		}
	})

	t.Run("a changed NameID breaks the signature and the SP refuses it", func(t *testing.T) {
		raw, _ := respond(t, peers["email"], user, "1")
		forged := strings.Replace(raw, "ada@example.com</saml:NameID>", "eve@example.com</saml:NameID>", 1)
		if forged == raw {
			t.Fatal("no NameID to change")
		}
		if _, err := peers["email"].ParseXMLResponse([]byte(forged), []string{"id-req"}, peers["email"].AcsURL); err == nil {
			t.Error("the SP accepted a changed assertion")
		}
	})

	t.Run("an assertion for an app with encrypt_assertion is encrypted to its certificate", func(t *testing.T) {
		raw, a := respond(t, peers["encrypted"], user, "1")
		if !strings.Contains(raw, "EncryptedAssertion") || strings.Contains(raw, "ada@example.com") || a.Subject.NameID.Value != "ada@example.com" {
			t.Errorf("encrypted response %s", raw)
		}
	})
}

// metadataCert is the first signing certificate of the IdP's published metadata.
func metadataCert(t *testing.T, f *fixture) *x509.Certificate {
	t.Helper()
	_, body := f.get(t, f.url("/saml/metadata"))
	var md crewjam.EntityDescriptor
	if err := xml.Unmarshal([]byte(body), &md); err != nil {
		t.Fatal(err)
	}
	der, _ := base64.StdEncoding.DecodeString(md.IDPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data)
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResume(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := f.newPeer(t, "rp", config.SAMLApp{}, true)
	now := time.Now()
	if err := f.db.CreateUser(ctx, store.User{TenantID: f.tenant, ID: "u1", Email: "ada@example.com", EmailNorm: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	cookie := &http.Cookie{Name: "umm_browser", Value: strings.Repeat("c", 43)}
	// newRequest stores a saml login request of this browser in status, expiring at exp.
	newRequest := func(t *testing.T, status string, exp time.Time) string {
		t.Helper()
		lr := store.LoginRequest{TenantID: f.tenant, ID: keys.NewID(), Kind: store.LoginKindSAML, ClientID: p.EntityID,
			Params:      store.AuthorizeParams{RedirectURI: p.AcsURL.String(), State: "rs", SAMLRequestID: "id-1", MaxAge: -1},
			BrowserHash: keys.HashToken(cookie.Value), Status: status, UserID: "u1", SessionID: "s1", AuthTime: now,
			AMR: []string{"pwd"}, ACR: "1", CreatedAt: now, ExpiresAt: exp}
		if err := f.db.CreateLoginRequest(ctx, lr); err != nil {
			t.Fatal(err)
		}
		return f.url("/saml/resume?lr=" + url.QueryEscape(lr.ID))
	}

	t.Run("an authenticated request posts the response once to the ACS with RelayState", func(t *testing.T) {
		u := newRequest(t, store.LoginAuthenticated, now.Add(time.Minute))
		resp, body := f.get(t, u, cookie)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="`+p.AcsURL.String()+`"`) ||
			!strings.Contains(body, `name="RelayState" value="rs"`) {
			t.Fatalf("answered %d: %.500s", resp.StatusCode, body)
		}
		if _, err := p.ParseXMLResponse([]byte(formValue(t, body, "SAMLResponse")), []string{"id-1"}, p.AcsURL); err != nil {
			t.Errorf("the SP refused the response: %v", samlErr(err))
		}
		again, body := f.get(t, u, cookie)
		if again.StatusCode != http.StatusBadRequest || strings.Contains(body, "SAMLResponse") {
			t.Errorf("a second resume answered %d", again.StatusCode)
		}
		evs, err := f.db.ListEvents(ctx, f.tenant, 0, events.TypeSAMLResponseSent, 10)
		if err != nil || len(evs) != 1 {
			t.Errorf("saml.response_sent events %+v, %v", evs, err)
		}
	})

	refusals := []struct {
		name   string
		status string
		exp    time.Time
		cookie *http.Cookie
		before func(t *testing.T)
	}{
		{"another browser is refused", store.LoginAuthenticated, now.Add(time.Minute), &http.Cookie{Name: "umm_browser", Value: strings.Repeat("d", 43)}, nil},
		{"no browser cookie is refused", store.LoginAuthenticated, now.Add(time.Minute), nil, nil},
		{"an expired request is refused", store.LoginAuthenticated, now.Add(-time.Second), cookie, nil},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			u := newRequest(t, tt.status, tt.exp)
			var cs []*http.Cookie
			if tt.cookie != nil {
				cs = append(cs, tt.cookie)
			}
			resp, body := f.get(t, u, cs...)
			if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "SAMLResponse") {
				t.Errorf("answered %d: %.300s", resp.StatusCode, body)
			}
		})
	}

	t.Run("a request whose multi-factor context cannot be reached is answered NoAuthnContext", func(t *testing.T) {
		resp, body := f.get(t, newRequest(t, store.LoginUnmet, now.Add(time.Minute)), cookie)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("answered %d: %.300s", resp.StatusCode, body)
		}
		if x := formValue(t, body, "SAMLResponse"); !strings.Contains(x, "status:NoAuthnContext") || strings.Contains(x, "Assertion") {
			t.Errorf("response %s", x)
		}
	})

	t.Run("a pending request goes back to the sign-in page", func(t *testing.T) {
		resp, _ := f.get(t, newRequest(t, store.LoginPending, now.Add(time.Minute)), cookie)
		if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/login?lr=") {
			t.Errorf("answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("an ACS URL removed from the app meanwhile gets no response", func(t *testing.T) {
		u := newRequest(t, store.LoginAuthenticated, now.Add(time.Minute))
		moved := p.app
		moved.ACSURLs = []string{"https://rp.example.test/saml/new-acs"}
		b, _ := json.Marshal(moved)
		if err := f.db.UpsertSAMLApp(ctx, store.SAMLApp{TenantID: f.tenant, EntityID: p.EntityID, Config: string(b)}); err != nil {
			t.Fatal(err)
		}
		resp, body := f.get(t, u, cookie)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "SAMLResponse") || bytes.Contains([]byte(body), []byte(p.AcsURL.String())) {
			t.Errorf("answered %d: %.300s", resp.StatusCode, body)
		}
	})
}
