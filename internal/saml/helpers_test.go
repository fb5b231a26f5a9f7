package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// fixture is one tenant's IdP served on a loopback listener, on a real database.
type fixture struct {
	db     *store.DB
	idp    *IdP
	srv    *httptest.Server
	tenant string
	client *http.Client // follows no redirects
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := storetest.Open(t)
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	kr := keys.NewKeyring(master)
	f := &fixture{db: db, tenant: storetest.Tenant(t, db)}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	idp, err := New(Deps{DB: db, Keys: keys.NewManager(db, kr, config.Default().Keys, nil), Keyring: kr,
		Sessions: session.New(db, false, nil), PublicURL: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	idp.Routes(mux)
	f.idp = idp
	f.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

func (f *fixture) url(path string) string { return f.srv.URL + "/t/" + f.tenant + path }

func (f *fixture) get(t *testing.T, rawURL string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return f.do(t, req)
}

func (f *fixture) postForm(t *testing.T, rawURL string, v url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return f.do(t, req)
}

func (f *fixture) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// peer is a service provider built with crewjam/saml, registered in the fixture's tenant.
type peer struct {
	*crewjam.ServiceProvider
	key  *rsa.PrivateKey
	cert *x509.Certificate
	app  config.SAMLApp
}

func newCert(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// newPeer registers an SP named name with app's settings (entity id, ACS, SLO URL and certificate
// filled in unless withoutCert) and returns it, trusting the IdP's published metadata.
func (f *fixture) newPeer(t *testing.T, name string, app config.SAMLApp, withCert bool) *peer {
	t.Helper()
	key, cert := newCert(t, name)
	base := "https://" + name + ".example.test/saml"
	resp, body := f.get(t, f.url("/saml/metadata"))
	var md crewjam.EntityDescriptor
	if resp.StatusCode != http.StatusOK || xml.Unmarshal([]byte(body), &md) != nil {
		t.Fatalf("metadata: %d %s", resp.StatusCode, body)
	}
	mu := func(s string) url.URL { u, _ := url.Parse(s); return *u }
	sp := &crewjam.ServiceProvider{EntityID: base + "/metadata", Key: key, Certificate: cert,
		MetadataURL: mu(base + "/metadata"), AcsURL: mu(base + "/acs"), SloURL: mu(base + "/slo"),
		IDPMetadata: &md, SignatureMethod: dsig.RSASHA256SignatureMethod, AllowIDPInitiated: true,
		EncryptionKey: key, EncryptionCertificate: cert}
	app.EntityID, app.SLOURL = sp.EntityID, sp.SloURL.String()
	app.ACSURLs = append([]string{sp.AcsURL.String()}, app.ACSURLs...)
	if withCert {
		app.SPCertificate = certPEM(cert)
	}
	b, _ := json.Marshal(app)
	if err := f.db.UpsertSAMLApp(context.Background(), store.SAMLApp{TenantID: f.tenant, EntityID: app.EntityID, Name: name,
		Config: string(b)}); err != nil {
		t.Fatal(err)
	}
	return &peer{ServiceProvider: sp, key: key, cert: cert, app: app}
}

// samlErr is err with the private detail crewjam/saml keeps out of its message.
func samlErr(err error) error {
	var ivr *crewjam.InvalidResponseError
	if errors.As(err, &ivr) && ivr.PrivateErr != nil {
		return fmt.Errorf("%w: %v", err, ivr.PrivateErr)
	}
	return err
}
