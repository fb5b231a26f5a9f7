package federation

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

const (
	samlTestACS      = "https://umm.example/t/acme/connections/corp/saml/acs"
	samlTestSPEntity = "https://umm.example/t/acme/connections/corp/saml/metadata"
	samlTestIdP      = "https://idp.example/saml/metadata"
	samlTestSSO      = "https://idp.example/saml/sso"
)

// Keys are generated once for the package: RSA key generation is the slow part of these tests.
var (
	samlIdPKey   = sync.OnceValue(func() *rsa.PrivateKey { return samlTestKey() })
	samlEvilKey  = sync.OnceValue(func() *rsa.PrivateKey { return samlTestKey() })
	samlSPKey    = sync.OnceValue(func() *rsa.PrivateKey { return samlTestKey() })
	samlTestTime = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
)

func samlTestKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func samlTestCert(t testing.TB, key *rsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    samlTestTime.Add(-24 * time.Hour),
		NotAfter:     samlTestTime.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// samlPeer is an upstream IdP (crewjam's IdentityProvider) and our SP connector for it, with a clock
// both share.
type samlPeer struct {
	t    *testing.T
	idp  *saml.IdentityProvider
	conn *samlConnector
	now  atomic.Pointer[time.Time]
}

type samlPeerOpts struct {
	conn config.Connection // ID, Attributes, TrustEmail, SignRequests; metadata is filled in
	sign bool              // give the SP the tenant's key and certificate
	key  *rsa.PrivateKey   // the IdP's signing key (default samlIdPKey)
}

func newSAMLPeer(t *testing.T, db *store.DB, tenantID string, o samlPeerOpts) *samlPeer {
	t.Helper()
	p := &samlPeer{t: t}
	now := samlTestTime
	p.now.Store(&now)
	key := o.key
	if key == nil {
		key = samlIdPKey()
	}
	md, _ := url.Parse(samlTestIdP)
	sso, _ := url.Parse(samlTestSSO)
	p.idp = &saml.IdentityProvider{
		Key:           key,
		Certificate:   samlTestCert(t, key, "idp.example"),
		MetadataURL:   *md,
		SSOURL:        *sso,
		Clock:         dsig.NewFakeClockAt(samlTestTime),
		NameIDFormats: []saml.NameIDFormat{saml.PersistentNameIDFormat, saml.EmailAddressNameIDFormat},
	}
	c := o.conn
	if c.ID == "" {
		c.ID = "corp"
	}
	c.Type = config.ConnSAML
	if c.MetadataXML == "" && c.MetadataURL == "" {
		// The IdP metadata always carries the trusted IdP key, even when the peer signs with another.
		trusted := *p.idp
		trusted.Key, trusted.Certificate = samlIdPKey(), samlTestCert(t, samlIdPKey(), "idp.example")
		raw, err := xml.Marshal(trusted.Metadata())
		if err != nil {
			t.Fatal(err)
		}
		c.MetadataXML = string(raw)
	}
	env := Env{TenantID: tenantID, ACSURL: samlTestACS, MetadataURL: samlTestSPEntity,
		HTTP: http.DefaultClient, DB: db, Now: func() time.Time { return *p.now.Load() }}
	if o.sign {
		env.Signer, env.Certificate = samlSPKey(), samlTestCert(t, samlSPKey(), "umm.example")
	}
	impl, err := newSAML(context.Background(), env, c)
	if err != nil {
		t.Fatalf("newSAML: %v", err)
	}
	p.conn = impl.(*samlConnector)
	spMeta, err := p.conn.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(spMeta, &ed); err != nil {
		t.Fatalf("our SP metadata: %v", err)
	}
	p.idp.ServiceProviderProvider = samlOneSP{&ed}
	return p
}

type samlOneSP struct{ ed *saml.EntityDescriptor }

func (s samlOneSP) GetServiceProvider(r *http.Request, id string) (*saml.EntityDescriptor, error) {
	if id != s.ed.EntityID {
		return nil, os.ErrNotExist
	}
	return s.ed, nil
}

func (p *samlPeer) advance(d time.Duration) {
	n := p.now.Load().Add(d)
	p.now.Store(&n)
}

func samlRandomState(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// begin starts a sign-in as the login page would and hands the AuthnRequest to the IdP as the browser
// would, through the redirect URL.
func (p *samlPeer) begin() (Begin, *saml.IdpAuthnRequest) {
	p.t.Helper()
	b := Begin{State: samlRandomState(p.t)}
	u, err := p.conn.AuthURL(context.Background(), &b)
	if err != nil {
		p.t.Fatalf("AuthURL: %v", err)
	}
	if b.RequestID == "" {
		p.t.Fatal("AuthURL set no RequestID")
	}
	if !strings.HasPrefix(u, samlTestSSO+"?") {
		p.t.Fatalf("AuthURL %s does not go to the IdP's SSO service", u)
	}
	r := httptest.NewRequest(http.MethodGet, u, nil)
	req, err := saml.NewIdpAuthnRequest(p.idp, r)
	if err != nil {
		p.t.Fatalf("IdP reading the request: %v", err)
	}
	if err := req.Validate(); err != nil {
		p.t.Fatalf("IdP validating the request: %v", err)
	}
	if req.Request.ID != b.RequestID {
		p.t.Fatalf("request id %q, Begin has %q", req.Request.ID, b.RequestID)
	}
	if req.RelayState != b.State {
		p.t.Fatalf("RelayState %q, want the state %q", req.RelayState, b.State)
	}
	return b, req
}

func samlSession() *saml.Session {
	return &saml.Session{
		ID: "s1", CreateTime: samlTestTime.Add(-time.Minute), ExpireTime: samlTestTime.Add(time.Hour), Index: "idx-42",
		NameID: "u-1234", NameIDFormat: string(saml.PersistentNameIDFormat),
		UserEmail: "alice@corp.example", UserGivenName: "Alice", UserSurname: "Liddell", UserCommonName: "Alice Liddell",
		CustomAttributes: []saml.Attribute{{Name: "memberOf", Values: []saml.AttributeValue{{Value: "admins"}, {Value: "staff"}}},
			{Name: "department", Values: []saml.AttributeValue{{Value: "R&D"}}}},
	}
}

// respond has the IdP answer req for session; edit, when set, changes the assertion before the IdP
// signs it.
func (p *samlPeer) respond(req *saml.IdpAuthnRequest, s *saml.Session, edit func(*saml.Assertion)) []byte {
	p.t.Helper()
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, s); err != nil {
		p.t.Fatalf("MakeAssertion: %v", err)
	}
	if edit != nil {
		edit(req.Assertion)
	}
	if err := req.MakeResponse(); err != nil {
		p.t.Fatalf("MakeResponse: %v", err)
	}
	return samlDocBytes(p.t, req.ResponseEl)
}

func samlDocBytes(t *testing.T, el *etree.Element) []byte {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (p *samlPeer) post(b Begin, response []byte, relay string) (Identity, error) {
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(response)}, "RelayState": {relay}}
	r := httptest.NewRequest(http.MethodPost, samlTestACS, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return p.conn.Exchange(context.Background(), r, b)
}

// samlParse reads a response for tampering.
func samlParse(t *testing.T, raw []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	return doc
}

func samlWrite(t *testing.T, doc *etree.Document) []byte {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// samlStrip removes the ds:Signature children of el.
func samlStrip(el *etree.Element) {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" {
			el.RemoveChild(c)
		}
	}
}

func samlWantRefused(t *testing.T, id Identity, err error, sentinel error, check string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, subject %q; want refused (%s)", id.Subject, check)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
	if !strings.Contains(err.Error(), check) {
		t.Fatalf("error %q does not name the check %q", err, check)
	}
	if strings.Contains(err.Error(), "<") {
		t.Fatalf("error %q quotes XML", err)
	}
}

func TestSAMLSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tenant := storetest.Tenant(t, db)

		t.Run("signed response gives the subject, email, profile and groups", func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, db, tenant, samlPeerOpts{conn: config.Connection{TrustEmail: true,
				Attributes: map[string]string{"department": "department"}}})
			b, req := p.begin()
			id, err := p.post(b, p.respond(req, samlSession(), nil), b.State)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if id.Subject != "u-1234" || id.Connection != "corp" {
				t.Errorf("subject %q of %q, want u-1234 of corp", id.Subject, id.Connection)
			}
			if id.Email != "alice@corp.example" || !id.EmailVerified {
				t.Errorf("email %q verified %v, want alice@corp.example, verified (trust_email)", id.Email, id.EmailVerified)
			}
			if strings.Join(id.Groups, ",") != "admins,staff" {
				t.Errorf("groups %v, want [admins staff]", id.Groups)
			}
			want := map[string]string{"given_name": "Alice", "family_name": "Liddell", "name": "Alice Liddell", "department": "R&D"}
			for k, v := range want {
				if id.Profile[k] != v {
					t.Errorf("profile %s = %q, want %q (profile %v)", k, id.Profile[k], v, id.Profile)
				}
			}
			if strings.Join(id.AMR, ",") != "pwd" {
				t.Errorf("amr %v, want [pwd] for PasswordProtectedTransport", id.AMR)
			}
			if id.Claims["name_id"] != "u-1234" || id.Claims["name_id_format"] != string(saml.PersistentNameIDFormat) ||
				id.Claims["session_index"] != "idx-42" {
				t.Errorf("claims %v lack the NameID and session index", id.Claims)
			}
			if v, _ := id.Claims["memberOf"].([]string); len(v) != 2 {
				t.Errorf("claims memberOf = %#v, want both values", id.Claims["memberOf"])
			}
		})

		t.Run("without trust_email the address is unverified", func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, db, tenant, samlPeerOpts{})
			b, req := p.begin()
			id, err := p.post(b, p.respond(req, samlSession(), nil), b.State)
			if err != nil {
				t.Fatal(err)
			}
			if id.Email != "alice@corp.example" || id.EmailVerified {
				t.Errorf("email %q verified %v, want unverified", id.Email, id.EmailVerified)
			}
		})

		t.Run("the persistent NameID format is asked for when the IdP offers it", func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, db, tenant, samlPeerOpts{})
			_, req := p.begin()
			if req.Request.NameIDPolicy == nil || req.Request.NameIDPolicy.Format == nil ||
				*req.Request.NameIDPolicy.Format != string(saml.PersistentNameIDFormat) {
				t.Errorf("NameIDPolicy %+v, want persistent", req.Request.NameIDPolicy)
			}
		})

		t.Run("mapped attributes win over the usual names, and an email NameID gives the address", func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, db, tenant, samlPeerOpts{conn: config.Connection{
				Attributes: map[string]string{"groups": "department", "given_name": "urn:oid:2.5.4.4"}}})
			b, req := p.begin()
			s := samlSession()
			s.UserEmail = ""
			s.NameID, s.NameIDFormat = "bob@corp.example", string(saml.EmailAddressNameIDFormat)
			id, err := p.post(b, p.respond(req, s, nil), b.State)
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != "bob@corp.example" || id.Email != "bob@corp.example" {
				t.Errorf("subject %q email %q, want bob@corp.example for both", id.Subject, id.Email)
			}
			if strings.Join(id.Groups, ",") != "R&D" || id.Profile["given_name"] != "Liddell" {
				t.Errorf("groups %v given_name %q, want the mapped attributes", id.Groups, id.Profile["given_name"])
			}
		})

		t.Run("a response signed only on the assertion is accepted", func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, db, tenant, samlPeerOpts{})
			b, req := p.begin()
			doc := samlParse(t, p.respond(req, samlSession(), nil))
			samlStrip(doc.Root())
			id, err := p.post(b, samlWrite(t, doc), b.State)
			if err != nil || id.Subject != "u-1234" {
				t.Fatalf("subject %q, err %v; want u-1234", id.Subject, err)
			}
		})

		t.Run("a response signed only on the Response is accepted", func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, db, tenant, samlPeerOpts{})
			b, req := p.begin()
			if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, samlSession()); err != nil {
				t.Fatal(err)
			}
			if err := req.MakeAssertionEl(); err != nil {
				t.Fatal(err)
			}
			samlStrip(req.AssertionEl)
			if err := req.MakeResponse(); err != nil {
				t.Fatal(err)
			}
			id, err := p.post(b, samlDocBytes(t, req.ResponseEl), b.State)
			if err != nil || id.Subject != "u-1234" {
				t.Fatalf("subject %q, err %v; want u-1234", id.Subject, err)
			}
		})

		t.Run("the same response twice is a replay", func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, db, tenant, samlPeerOpts{})
			b, req := p.begin()
			resp := p.respond(req, samlSession(), nil)
			if _, err := p.post(b, resp, b.State); err != nil {
				t.Fatalf("first use: %v", err)
			}
			id, err := p.post(b, resp, b.State)
			samlWantRefused(t, id, err, ErrInvalidResponse, "replayed assertion")
		})

		t.Run("signed requests, and an assertion encrypted to our certificate", func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, db, tenant, samlPeerOpts{sign: true, conn: config.Connection{SignRequests: true}})
			b, req := p.begin()
			q, _ := url.Parse(req.HTTPRequest.URL.String())
			if q.Query().Get("Signature") == "" || q.Query().Get("SigAlg") != dsig.RSASHA256SignatureMethod {
				t.Fatalf("the AuthnRequest redirect is not signed: %s", q.RawQuery)
			}
			resp := p.respond(req, samlSession(), nil)
			if !strings.Contains(string(resp), "EncryptedAssertion") {
				t.Fatal("the IdP did not encrypt the assertion to the certificate in our metadata")
			}
			id, err := p.post(b, resp, b.State)
			if err != nil || id.Subject != "u-1234" {
				t.Fatalf("subject %q, err %v; want u-1234", id.Subject, err)
			}
		})

		t.Run("a transient NameID is refused unless an attribute is the subject", func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, db, tenant, samlPeerOpts{})
			b, req := p.begin()
			s := samlSession()
			s.NameIDFormat = string(saml.TransientNameIDFormat)
			id, err := p.post(b, p.respond(req, s, nil), b.State)
			samlWantRefused(t, id, err, ErrInvalidResponse, "transient NameID")

			p = newSAMLPeer(t, db, tenant, samlPeerOpts{conn: config.Connection{Attributes: map[string]string{"subject": "employeeNumber"}}})
			b, req = p.begin()
			s.CustomAttributes = append(s.CustomAttributes, saml.Attribute{Name: "employeeNumber", Values: []saml.AttributeValue{{Value: "E-77"}}})
			id, err = p.post(b, p.respond(req, s, nil), b.State)
			if err != nil || id.Subject != "E-77" {
				t.Fatalf("subject %q, err %v; want the mapped attribute E-77", id.Subject, err)
			}
		})
	})
}

func TestSAMLRefuses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tenant := storetest.Tenant(t, db)
		tests := []struct {
			name     string
			opts     samlPeerOpts
			run      func(t *testing.T, p *samlPeer) (Identity, error)
			sentinel error
			check    string
		}{
			{name: "an unsigned response", check: "signature", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				doc := samlParse(t, p.respond(req, samlSession(), nil))
				samlStrip(doc.Root())
				samlStrip(doc.FindElement("/Response/Assertion"))
				return p.post(b, samlWrite(t, doc), b.State)
			}},
			{name: "a response signed by another key", opts: samlPeerOpts{key: samlEvilKey()}, check: "signature",
				run: func(t *testing.T, p *samlPeer) (Identity, error) {
					b, req := p.begin()
					return p.post(b, p.respond(req, samlSession(), nil), b.State)
				}},
			{name: "a signed assertion altered after signing", check: "signature", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				raw := p.respond(req, samlSession(), nil)
				raw = []byte(strings.Replace(string(raw), "u-1234", "u-0001", 1))
				return p.post(b, raw, b.State)
			}},
			{name: "an assertion for another audience", check: "audience", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				return p.post(b, p.respond(req, samlSession(), func(a *saml.Assertion) {
					a.Conditions.AudienceRestrictions[0].Audience.Value = "https://other-sp.example/metadata"
				}), b.State)
			}},
			{name: "an expired response", check: "expired", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				resp := p.respond(req, samlSession(), nil)
				p.advance(10 * time.Minute)
				return p.post(b, resp, b.State)
			}},
			{name: "an assertion whose conditions are not valid yet", check: "not yet valid", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				return p.post(b, p.respond(req, samlSession(), func(a *saml.Assertion) {
					a.Conditions.NotBefore = samlTestTime.Add(time.Hour)
				}), b.State)
			}},
			{name: "a recipient other than our ACS", check: "destination", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				return p.post(b, p.respond(req, samlSession(), func(a *saml.Assertion) {
					a.Subject.SubjectConfirmations[0].SubjectConfirmationData.Recipient = "https://other-sp.example/acs"
				}), b.State)
			}},
			{name: "a wrong RelayState", check: "RelayState", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				return p.post(b, p.respond(req, samlSession(), nil), b.State+"x")
			}},
			{name: "a response to another request", check: "InResponseTo", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				other, _ := p.begin()
				resp := p.respond(req, samlSession(), nil)
				other.State = b.State
				return p.post(other, resp, b.State)
			}},
			{name: "an unsolicited response", check: "InResponseTo", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				req.Request.ID = "" // the IdP answers no request: IdP-initiated
				return p.post(b, p.respond(req, samlSession(), nil), b.State)
			}},
			{name: "a response when the flow has no request id", check: "InResponseTo", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				resp := p.respond(req, samlSession(), nil)
				b.RequestID = ""
				return p.post(b, resp, b.State)
			}},
			{name: "an AuthnFailed status", sentinel: ErrDenied, check: "AuthnFailed", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				if err := req.MakeErrorResponse(saml.StatusResponder, saml.StatusAuthnFailed, "wrong password"); err != nil {
					t.Fatal(err)
				}
				return p.post(b, samlDocBytes(t, req.ResponseEl), b.State)
			}},
			{name: "another failure status", check: "status Responder", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, req := p.begin()
				if err := req.MakeErrorResponse(saml.StatusResponder, "", ""); err != nil {
					t.Fatal(err)
				}
				return p.post(b, samlDocBytes(t, req.ResponseEl), b.State)
			}},
			{name: "a post without SAMLResponse", check: "no SAMLResponse", run: func(t *testing.T, p *samlPeer) (Identity, error) {
				b, _ := p.begin()
				return p.post(b, nil, b.State)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				p := newSAMLPeer(t, db, tenant, tt.opts)
				id, err := tt.run(t, p)
				sentinel := tt.sentinel
				if sentinel == nil {
					sentinel = ErrInvalidResponse
				}
				samlWantRefused(t, id, err, sentinel, tt.check)
			})
		}
	})
}

// TestSAMLSignatureWrapping moves the IdP's signed assertion around a response and adds an unsigned
// one for another account (XML signature wrapping): the evil account must never sign in.
func TestSAMLSignatureWrapping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tenant := storetest.Tenant(t, db)
		evil := func(t *testing.T, signed *etree.Element) *etree.Element {
			e := signed.Copy()
			samlStrip(e)
			e.CreateAttr("ID", "id-evil")
			nameID := e.FindElement("./Subject/NameID")
			if nameID == nil {
				t.Fatal("no NameID in the assertion")
			}
			nameID.SetText("admin")
			return e
		}
		tests := []struct {
			name   string
			tamper func(t *testing.T, resp *etree.Element, signed *etree.Element)
		}{
			{"evil assertion first, signed one after", func(t *testing.T, resp, signed *etree.Element) {
				samlStrip(resp)
				resp.InsertChildAt(signed.Index(), evil(t, signed))
			}},
			{"evil assertion first, response signature kept", func(t *testing.T, resp, signed *etree.Element) {
				resp.InsertChildAt(signed.Index(), evil(t, signed))
			}},
			{"signed assertion moved into the evil one's signature object", func(t *testing.T, resp, signed *etree.Element) {
				samlStrip(resp)
				e := evil(t, signed)
				sig := signed.FindElement("./Signature")
				wrapper := sig.Copy()
				obj := wrapper.CreateElement("ds:Object")
				resp.RemoveChild(signed)
				obj.AddChild(signed)
				e.AddChild(wrapper)
				resp.AddChild(e)
			}},
			{"signed assertion moved into Extensions of the response", func(t *testing.T, resp, signed *etree.Element) {
				samlStrip(resp)
				resp.RemoveChild(signed)
				ext := etree.NewElement("samlp:Extensions")
				ext.AddChild(signed)
				resp.InsertChildAt(1, ext)
				resp.AddChild(evil(t, signed))
			}},
			{"evil assertion with the signed one's ID, signed one in its Subject", func(t *testing.T, resp, signed *etree.Element) {
				samlStrip(resp)
				e := evil(t, signed)
				e.CreateAttr("ID", signed.SelectAttrValue("ID", ""))
				resp.RemoveChild(signed)
				e.FindElement("./Subject").AddChild(signed)
				resp.AddChild(e)
			}},
			{"signed response wrapped, evil response outside", func(t *testing.T, resp, signed *etree.Element) {
				// The whole signed Response goes into an Extensions of a copy carrying the evil assertion.
				orig := resp.Copy()
				for _, c := range resp.ChildElements() {
					if c.Tag == "Assertion" || c.Tag == "Signature" {
						resp.RemoveChild(c)
					}
				}
				resp.CreateAttr("ID", "id-evil-response")
				ext := etree.NewElement("samlp:Extensions")
				ext.AddChild(orig)
				resp.InsertChildAt(1, ext)
				resp.AddChild(evil(t, signed))
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				p := newSAMLPeer(t, db, tenant, samlPeerOpts{})
				b, req := p.begin()
				doc := samlParse(t, p.respond(req, samlSession(), nil))
				signed := doc.FindElement("/Response/Assertion")
				tt.tamper(t, doc.Root(), signed)
				id, err := p.post(b, samlWrite(t, doc), b.State)
				if id.Subject == "admin" || strings.Contains(id.Subject, "admin") {
					t.Fatalf("the wrapped evil assertion signed in as %q", id.Subject)
				}
				if err == nil {
					t.Fatalf("a tampered response was accepted (subject %q)", id.Subject)
				}
				if !errors.Is(err, ErrInvalidResponse) {
					t.Fatalf("error %v, want ErrInvalidResponse", err)
				}
				t.Logf("refused: %v", err)
			})
		}
	})
}

// TestSAMLNameIDComment inserts an XML comment in a signed NameID (canonicalization drops comments, so
// the signature stays valid): the account must be the whole value, never the part before the comment.
func TestSAMLNameIDComment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tenant := storetest.Tenant(t, db)
		for _, where := range []string{"response and assertion signed", "assertion signed"} {
			t.Run(where, func(t *testing.T) {
				t.Parallel()
				p := newSAMLPeer(t, db, tenant, samlPeerOpts{})
				b, req := p.begin()
				s := samlSession()
				s.NameID, s.NameIDFormat = "admin@good.example.evil.example", string(saml.EmailAddressNameIDFormat)
				s.UserEmail = ""
				raw := p.respond(req, s, nil)
				if where == "assertion signed" {
					doc := samlParse(t, raw)
					samlStrip(doc.Root())
					raw = samlWrite(t, doc)
				}
				tampered := strings.Replace(string(raw), "admin@good.example.evil.example", "admin@good.example<!---->.evil.example", 1)
				if tampered == string(raw) {
					t.Fatal("the NameID is not in the response")
				}
				id, err := p.post(b, []byte(tampered), b.State)
				if err != nil {
					t.Logf("refused: %v", err) // refusing is fine
					return
				}
				if id.Subject != "admin@good.example.evil.example" || id.Email != "admin@good.example.evil.example" {
					t.Fatalf("subject %q email %q: the comment changed the identity", id.Subject, id.Email)
				}
				t.Logf("accepted as %q", id.Subject)
			})
		}
	})
}

func TestSAMLMetadataURL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tenant := storetest.Tenant(t, db)
		ref := newSAMLPeer(t, db, tenant, samlPeerOpts{})
		raw, err := xml.Marshal(ref.idp.Metadata())
		if err != nil {
			t.Fatal(err)
		}
		var hits atomic.Int32
		var down atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if down.Load() || r.URL.Path != "/metadata" {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/samlmetadata+xml")
			_, _ = w.Write(raw)
		}))
		t.Cleanup(srv.Close)

		now := samlTestTime
		env := Env{TenantID: tenant, ACSURL: samlTestACS, MetadataURL: samlTestSPEntity, HTTP: srv.Client(), DB: db,
			Now: func() time.Time { return now }}
		// Each storetest backend runs this with its own URL, so the process cache starts empty.
		c := config.Connection{ID: "corp", Type: config.ConnSAML, MetadataURL: srv.URL + "/metadata?" + t.Name()}
		impl, err := newSAML(context.Background(), env, c)
		if err != nil {
			t.Fatalf("newSAML with a live metadata URL: %v", err)
		}
		ref.conn = impl.(*samlConnector)
		b, req := ref.begin()
		id, err := ref.post(b, ref.respond(req, samlSession(), nil), b.State)
		if err != nil || id.Subject != "u-1234" {
			t.Fatalf("sign-in with fetched metadata: subject %q, err %v", id.Subject, err)
		}

		if _, err := newSAML(context.Background(), env, c); err != nil {
			t.Fatal(err)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("%d metadata fetches for two connectors within the hour, want 1 (cached)", n)
		}
		now = now.Add(2 * time.Hour)
		if _, err := newSAML(context.Background(), env, c); err != nil {
			t.Fatal(err)
		}
		if n := hits.Load(); n != 2 {
			t.Errorf("%d metadata fetches after the TTL, want 2", n)
		}
		down.Store(true)
		now = now.Add(2 * time.Hour)
		if _, err := newSAML(context.Background(), env, c); err != nil {
			t.Errorf("a down metadata endpoint with a recent copy: %v, want the copy used", err)
		}
		now = now.Add(48 * time.Hour)
		if _, err := newSAML(context.Background(), env, c); !errors.Is(err, ErrUnavailable) {
			t.Errorf("a down metadata endpoint without a usable copy: %v, want ErrUnavailable", err)
		}
		c.MetadataURL = srv.URL + "/missing"
		if _, err := newSAML(context.Background(), env, c); !errors.Is(err, ErrUnavailable) {
			t.Errorf("a metadata URL answering 503: %v, want ErrUnavailable", err)
		}
	})
}

func TestSAMLSPMetadata(t *testing.T) {
	t.Parallel()
	for _, signing := range []bool{false, true} {
		t.Run(map[bool]string{false: "unsigned requests", true: "signed requests"}[signing], func(t *testing.T) {
			t.Parallel()
			p := newSAMLPeer(t, nil, "t1", samlPeerOpts{sign: signing, conn: config.Connection{SignRequests: signing}})
			raw, err := p.conn.Metadata(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// Well-formed XML, through a plain decoder.
			dec := xml.NewDecoder(strings.NewReader(string(raw)))
			for {
				if _, err := dec.Token(); err != nil {
					if err.Error() != "EOF" {
						t.Fatalf("SP metadata is not well-formed XML: %v", err)
					}
					break
				}
			}
			var ed saml.EntityDescriptor
			if err := xml.Unmarshal(raw, &ed); err != nil {
				t.Fatal(err)
			}
			if ed.EntityID != samlTestSPEntity || len(ed.SPSSODescriptors) != 1 {
				t.Fatalf("entityID %q with %d SP roles, want %s with one", ed.EntityID, len(ed.SPSSODescriptors), samlTestSPEntity)
			}
			sp := ed.SPSSODescriptors[0]
			if len(sp.AssertionConsumerServices) != 1 || sp.AssertionConsumerServices[0].Location != samlTestACS ||
				sp.AssertionConsumerServices[0].Binding != saml.HTTPPostBinding {
				t.Errorf("ACS %+v, want one HTTP-POST at %s", sp.AssertionConsumerServices, samlTestACS)
			}
			if sp.WantAssertionsSigned == nil || !*sp.WantAssertionsSigned {
				t.Error("WantAssertionsSigned is not true")
			}
			if sp.AuthnRequestsSigned == nil || *sp.AuthnRequestsSigned != signing {
				t.Errorf("AuthnRequestsSigned %v, want %v", sp.AuthnRequestsSigned, signing)
			}
			var signingCert string
			for _, kd := range sp.KeyDescriptors {
				if kd.Use == "signing" && len(kd.KeyInfo.X509Data.X509Certificates) > 0 {
					signingCert = kd.KeyInfo.X509Data.X509Certificates[0].Data
				}
			}
			want := ""
			if signing {
				want = base64.StdEncoding.EncodeToString(p.conn.env.Certificate.Raw)
			}
			if signingCert != want {
				t.Errorf("signing certificate %q, want %q", signingCert, want)
			}
		})
	}
}

func TestSAMLConfigErrors(t *testing.T) {
	t.Parallel()
	env := Env{TenantID: "t1", ACSURL: samlTestACS, MetadataURL: samlTestSPEntity, Now: func() time.Time { return samlTestTime }}
	for name, c := range map[string]config.Connection{
		"no metadata":        {ID: "x", Type: config.ConnSAML},
		"not metadata":       {ID: "x", Type: config.ConnSAML, MetadataXML: "<html/>"},
		"no signing key":     {ID: "x", Type: config.ConnSAML, MetadataXML: `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/></IDPSSODescriptor></EntityDescriptor>`},
		"malformed metadata": {ID: "x", Type: config.ConnSAML, MetadataXML: "<EntityDescriptor"},
	} {
		if _, err := newSAML(context.Background(), env, c); err == nil {
			t.Errorf("%s: built a connector", name)
		}
	}
}

func TestSAMLAMR(t *testing.T) {
	t.Parallel()
	for class, want := range map[string]string{
		"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport": "pwd",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:Password":                   "pwd",
		"http://schemas.microsoft.com/claims/multipleauthn":                 "mfa",
		"https://refeds.org/profile/mfa":                                    "mfa",
		"urn:example:ac:MultiFactorContract":                                "mfa",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:X509":                       "",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified":                "",
	} {
		if got := strings.Join(samlAMR(class), ","); got != want {
			t.Errorf("amr of %s = %q, want %q", class, got, want)
		}
	}
}

func TestSAMLPostOnlyIdP(t *testing.T) {
	t.Parallel()
	p := newSAMLPeer(t, nil, "t1", samlPeerOpts{})
	md := p.idp.Metadata()
	for i := range md.IDPSSODescriptors {
		var sso []saml.Endpoint
		for _, e := range md.IDPSSODescriptors[i].SingleSignOnServices {
			if e.Binding != saml.HTTPRedirectBinding {
				sso = append(sso, e)
			}
		}
		md.IDPSSODescriptors[i].SingleSignOnServices = sso
	}
	raw, err := xml.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	env := Env{TenantID: "t1", ACSURL: samlTestACS, MetadataURL: samlTestSPEntity, Now: func() time.Time { return samlTestTime }}
	impl, err := newSAML(context.Background(), env, config.Connection{ID: "x", Type: config.ConnSAML, MetadataXML: string(raw)})
	if err != nil {
		t.Fatal(err)
	}
	b := Begin{State: "s"}
	if _, err := impl.(*samlConnector).AuthURL(context.Background(), &b); err == nil || !strings.Contains(err.Error(), "HTTP-Redirect") {
		t.Fatalf("AuthURL toward an IdP without a redirect SSO service: %v, want an error naming the binding", err)
	}
}

// TestSAMLKnownLibraryFlaws: the two flaws of the SAML library's own response checks (GO-2026-6909)
// reach nothing here. A signed assertion without an Issuer is refused (the library panicked on it), and
// an assertion whose Subject carries a NameID (or a SubjectConfirmation) outside the SAML namespace is
// refused (the library took it for the real one).
func TestSAMLKnownLibraryFlaws(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tenant := storetest.Tenant(t, db)
		p := newSAMLPeer(t, db, tenant, samlPeerOpts{})
		b, req := p.begin()
		raw := p.respond(req, samlSession(), func(a *saml.Assertion) { a.Issuer = saml.Issuer{} })
		id, err := p.post(b, raw, b.State)
		samlWantRefused(t, id, err, ErrInvalidResponse, "issuer")
	})
	for _, tt := range []struct{ name, subject string }{
		{"a foreign NameID", `<saml:Subject><x:NameID xmlns:x="urn:example:evil">admin@example.com</x:NameID></saml:Subject>`},
		{"a foreign SubjectConfirmation", `<saml:Subject><saml:NameID>a@example.com</saml:NameID><x:SubjectConfirmation xmlns:x="urn:example:evil"/></saml:Subject>`},
		{"no Subject", ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			el, err := samlParseXML([]byte(`<saml:Assertion xmlns:saml="` + samlAssertionNS + `"><saml:Issuer>idp</saml:Issuer>` + tt.subject + `</saml:Assertion>`))
			if err != nil {
				t.Fatal(err)
			}
			if err := samlCheckNames(el); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	el, err := samlParseXML([]byte(`<saml:Assertion xmlns:saml="` + samlAssertionNS + `"><saml:Issuer>idp</saml:Issuer><saml:Subject><saml:NameID>a@example.com</saml:NameID></saml:Subject></saml:Assertion>`))
	if err != nil || samlCheckNames(el) != nil {
		t.Fatalf("a well-formed assertion: %v, %v", err, samlCheckNames(el))
	}
}
