package bench

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
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
)

// rsaSHA256Method is how a signature made with RSA-SHA256 names its method. A Response whose Response
// and Assertion are both signed names it twice; one that names it less often skipped a signature, and
// would post a figure for less work than the benchmark claims to measure.
const rsaSHA256Method = `SignatureMethod Algorithm="` + dsig.RSASHA256SignatureMethod + `"`

// benchSP is the service provider both identity providers answer: a crewjam/saml ServiceProvider with
// its own key, which checks every Response the benchmark's setup lets through.
type benchSP struct {
	sp  *saml.ServiceProvider // trusts UMM's published metadata
	der []byte                // its certificate, as the app registration and the peer's metadata carry it
}

func newBenchSP(b *testing.B, umm *servertest.Server) benchSP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench-sp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.Get(umm.TenantURL("/saml/metadata"))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var md saml.EntityDescriptor
	if resp.StatusCode != http.StatusOK || xml.Unmarshal(body, &md) != nil {
		b.Fatalf("UMM's IdP metadata: %d %.300s", resp.StatusCode, body)
	}
	base := "https://bench.sp.example.test/saml"
	sp := &saml.ServiceProvider{
		EntityID: base + "/metadata", Key: key, Certificate: cert,
		MetadataURL: mustURL(base + "/metadata"), AcsURL: mustURL(base + "/acs"), SloURL: mustURL(base + "/slo"), IDPMetadata: &md, SignatureMethod: dsig.RSASHA256SignatureMethod,
		// Both variants send unsolicited (IdP-initiated) Responses, so there is no request id to match.
		AllowIDPInitiated: true,
	}
	return benchSP{sp: sp, der: der}
}

// accepts posts samlResponse to a copy of the SP that trusts idp, as the SP's ACS handler would receive
// it, and says why the SP refused it, if it did. It also insists on two RSA-SHA256 signatures.
func (s benchSP) accepts(idp *saml.EntityDescriptor, samlResponse string) error {
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	if err != nil {
		return fmt.Errorf("SAMLResponse is not base64: %w", err)
	}
	if n := strings.Count(string(raw), rsaSHA256Method); n != 2 {
		return fmt.Errorf("the Response carries %d RSA-SHA256 signatures, want 2 (Response and Assertion)", n)
	}
	if !strings.Contains(string(raw), dsig.CanonicalXML10ExclusiveAlgorithmId.String()) {
		return errors.New("the Response is not signed with exclusive canonicalization")
	}
	sp := *s.sp
	sp.IDPMetadata = idp
	form := url.Values{"SAMLResponse": {samlResponse}}
	req := httptest.NewRequest(http.MethodPost, sp.AcsURL.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := req.ParseForm(); err != nil { // ParseResponse reads the parsed form, as an ACS handler has it
		return err
	}
	a, err := sp.ParseResponse(req, nil)
	if err != nil {
		var ivr *saml.InvalidResponseError
		if errors.As(err, &ivr) && ivr.PrivateErr != nil {
			err = fmt.Errorf("%w: %v", err, ivr.PrivateErr)
		}
		return fmt.Errorf("the SP refused the Response: %w", err)
	}
	if a.Subject == nil || a.Subject.NameID == nil || a.Subject.NameID.Value != servertest.UserEmail {
		return fmt.Errorf("the SP accepted an assertion about someone else: %+v", a.Subject)
	}
	return nil
}

// peerIdP is github.com/crewjam/saml's own IdentityProvider, configured as UMM signs: RSA-SHA256 with
// exclusive canonicalization, a key of the same size as the tenant's, the Assertion and the Response
// both signed (MakeResponse always signs both), for the same user and the same SP.
type peerIdP struct {
	idp        *saml.IdentityProvider
	spID       string
	spMetadata *saml.EntityDescriptor
	session    *saml.Session
	httpReq    *http.Request // the browser's request an IdP-initiated Response answers; only read
}

// GetServiceProvider is the peer's registry of SPs: the one SP, as UMM has it registered.
func (p *peerIdP) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if id != p.spID {
		return nil, os.ErrNotExist
	}
	return p.spMetadata, nil
}

// newPeerIdP builds the peer for sp with a fresh RSA key of bits bits.
func newPeerIdP(sp benchSP, bits int) (*peerIdP, error) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "crewjam-idp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	base := "https://crewjam-idp.example.test/saml"
	meta, sso := mustURL(base+"/metadata"), mustURL(base+"/sso")
	p := &peerIdP{spID: sp.sp.EntityID}
	p.idp = &saml.IdentityProvider{Key: key, Certificate: cert, MetadataURL: meta, SSOURL: sso,
		SignatureMethod: dsig.RSASHA256SignatureMethod, ServiceProviderProvider: p}
	// The SP's metadata as the peer would have it registered: its ACS URL (HTTP-POST) and its signing
	// certificate, no encryption key, so the assertion is signed and not encrypted, as UMM's is.
	p.spMetadata = &saml.EntityDescriptor{EntityID: sp.sp.EntityID, SPSSODescriptors: []saml.SPSSODescriptor{{
		SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
			ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
			KeyDescriptors: []saml.KeyDescriptor{{Use: "signing", KeyInfo: saml.KeyInfo{
				X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(sp.der)}}}}}},
		}},
		AssertionConsumerServices: []saml.IndexedEndpoint{{Binding: saml.HTTPPostBinding, Location: sp.sp.AcsURL.String(), Index: 1}},
	}}}
	p.session = &saml.Session{ID: "bench-session", Index: "bench-session", CreateTime: time.Now(),
		ExpireTime: time.Now().Add(time.Hour), NameID: servertest.UserEmail,
		NameIDFormat: string(saml.EmailAddressNameIDFormat), UserEmail: servertest.UserEmail, UserGivenName: "Alice"}
	p.httpReq = httptest.NewRequest(http.MethodGet, base+"/init", nil)
	return p, nil
}

// mustURL parses one of the benchmark's own constant URLs.
func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return *u
}

// response makes and signs one Response as crewjam's IdP-initiated handler does (without writing the
// HTML page): the request resolved to the SP's ACS, the assertion made from the session, the Assertion
// and then the Response signed, and the Response encoded for the HTTP-POST binding.
func (p *peerIdP) response() (string, error) {
	req, err := p.idp.NewIdpInitiatedRequest(p.httpReq, p.spID, "")
	if err != nil {
		return "", err
	}
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, p.session); err != nil {
		return "", err
	}
	form, err := req.PostBinding()
	if err != nil {
		return "", err
	}
	return form.SAMLResponse, nil
}

// ummResponse is one Response from UMM as a signed-in browser gets it, IdP-initiated: GET /saml/init
// (the app looked up, a login request written), GET /login (the SSO session recognised, the request
// marked authenticated), GET /saml/resume (the request, app, user and key loaded, the Response built
// and signed, the request consumed with its saml.response_sent event in one transaction, and the page
// that posts it to the SP rendered). total is the time of the three requests, resume that of the last.
// The page is read for its SAMLResponse after the clock stops.
func ummResponse(srv *servertest.Server, br *servertest.Browser, initURL, acs string) (samlResponse string, total, resume time.Duration, err error) {
	start := time.Now()
	resp, _ := br.Get(initURL)
	if resp.StatusCode != http.StatusFound {
		return "", 0, 0, fmt.Errorf("/saml/init answered %d", resp.StatusCode)
	}
	resp, _ = br.Get(srv.URL + strings.TrimPrefix(resp.Header.Get("Location"), srv.URL))
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/saml/resume") {
		return "", 0, 0, fmt.Errorf("with a session, /login answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resumeURL := srv.URL + strings.TrimPrefix(resp.Header.Get("Location"), srv.URL)
	mid := time.Now()
	resp, body := br.Get(resumeURL)
	end := time.Now()
	if resp.StatusCode != http.StatusOK {
		return "", 0, 0, fmt.Errorf("/saml/resume answered %d: %.300s", resp.StatusCode, body)
	}
	for _, f := range servertest.ParseForms(resp.Request.URL, body) {
		if f.Action == acs && f.Values.Get("SAMLResponse") != "" {
			return f.Values.Get("SAMLResponse"), end.Sub(start), end.Sub(mid), nil
		}
	}
	return "", 0, 0, fmt.Errorf("/saml/resume did not answer the page that posts to the SP: %.300s", body)
}

// BenchmarkSAMLResponse measures SAML Responses signed per second: UMM and, as the peer in the same run,
// github.com/crewjam/saml's IdentityProvider, each making a Response with a signed Assertion for the
// same user and SP, the Response signed too (RSA-SHA256, exclusive canonicalization, RSA keys of the
// same size), in alternating rounds of one Response each, the order flipped every round.
//
// UMM has no exported way to build a Response outside its handlers, so its figure is the full HTTP path
// of an IdP-initiated sign-in for a browser that has an SSO session (three requests on loopback, three
// transactions on the database; see ummResponse); the resume request alone, where the Response is made,
// is reported beside it. The peer's figure is the in-process work of crewjam's IdP-initiated handler
// up to the encoded Response: no HTTP, no database, no page. The ratio is therefore what a Response
// costs UMM's server end to end against the bare making and signing of one.
//
// Before the clock starts, a crewjam ServiceProvider must accept one Response from each, so that
// neither can post a fast figure for a broken Response; every timed Response must carry both
// signatures. A peer that fails is reported as "peer failed: reason", and no ratio is reported.
func BenchmarkSAMLResponse(b *testing.B) {
	srv := servertest.New(b, servertest.WithBackend(benchBackend()),
		servertest.WithSeed(func(ts *config.TenantSeed) { ts.Users[0].GivenName = "Alice" }),
		servertest.WithConfig(func(c *config.Config) { c.Security.IPLimitPerMinute = 1 << 30 }))
	ctx := context.Background()
	sp := newBenchSP(b, srv)
	// The defaults are what is measured: sign_response and sign_assertion unset (true), no encryption.
	app := config.SAMLApp{EntityID: sp.sp.EntityID, Name: "Bench SP", ACSURLs: []string{sp.sp.AcsURL.String()},
		SLOURL: sp.sp.SloURL.String(), SPCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sp.der})),
		Attributes: map[string]string{"mail": "email", "givenName": "given_name"}}
	if _, err := srv.Admin.UpsertSAMLApp(ctx, srv.Tenant, app, "bench"); err != nil {
		b.Fatal(err)
	}
	br := srv.NewBrowser(b)
	f, _, _ := br.GetForm(srv.TenantURL("/login"))
	if resp, body := br.Submit(f, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}}); resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("login: %d %.300s", resp.StatusCode, body)
	}
	initURL := srv.TenantURL("/saml/init?sp=" + url.QueryEscape(sp.sp.EntityID))
	acs := sp.sp.AcsURL.String()

	// UMM must produce a Response the SP accepts, or there is nothing to measure.
	first, _, _, err := ummResponse(srv, br, initURL, acs)
	if err != nil {
		b.Fatal(err)
	}
	if err := sp.accepts(sp.sp.IDPMetadata, first); err != nil {
		b.Fatalf("UMM: %v", err)
	}
	key, _, err := srv.Keys.SAMLCredentials(ctx, srv.Tenant)
	if err != nil {
		b.Fatal(err)
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		b.Fatalf("the tenant's SAML key is a %T, not RSA", key.Public())
	}
	bits := pub.N.BitLen()

	// The peer must do the same; if it cannot, UMM is still measured and the peer's reason reported.
	var peerFailed string
	peer, err := newPeerIdP(sp, bits)
	if err == nil {
		var r string
		if r, err = peer.response(); err == nil {
			err = sp.accepts(peer.idp.Metadata(), r)
		}
	}
	if err != nil {
		peerFailed = err.Error()
	}

	var ummTotal, ummResume, peerTotal time.Duration
	var ummMallocs, peerMallocs uint64
	var ummN, peerN int
	var ms runtime.MemStats
	mallocs := func() uint64 { runtime.ReadMemStats(&ms); return ms.Mallocs }
	runUMM := func() {
		m := mallocs()
		r, total, resume, err := ummResponse(srv, br, initURL, acs)
		ummMallocs += mallocs() - m
		if err != nil {
			b.Fatal(err)
		}
		if raw, _ := base64.StdEncoding.DecodeString(r); strings.Count(string(raw), rsaSHA256Method) != 2 {
			b.Fatal("UMM sent a Response without both signatures")
		}
		ummTotal, ummResume, ummN = ummTotal+total, ummResume+resume, ummN+1
	}
	runPeer := func() {
		if peerFailed != "" {
			return
		}
		m := mallocs()
		start := time.Now()
		r, err := peer.response()
		d := time.Since(start)
		peerMallocs += mallocs() - m
		if err != nil {
			peerFailed = err.Error()
			return
		}
		if raw, _ := base64.StdEncoding.DecodeString(r); strings.Count(string(raw), rsaSHA256Method) != 2 {
			peerFailed = "a Response without both signatures"
			return
		}
		peerTotal, peerN = peerTotal+d, peerN+1
	}
	round := 0
	for b.Loop() {
		// Neither variant always runs right after the other, whose garbage the collector may be clearing.
		if round%2 == 0 {
			runUMM()
			runPeer()
		} else {
			runPeer()
			runUMM()
		}
		round++
	}

	ummNs := float64(ummTotal.Nanoseconds()) / float64(ummN)
	b.ReportMetric(ummNs, "umm-ns/response")
	b.ReportMetric(1e9/ummNs, "umm-responses/s")
	b.ReportMetric(float64(ummResume.Nanoseconds())/float64(ummN), "umm-resume-ns/response")
	b.ReportMetric(float64(ummMallocs)/float64(ummN), "umm-allocs/response")
	b.ReportMetric(float64(bits), "rsa-bits")
	b.ReportMetric(0, "ns/op") // the loop's time mixes both variants: the per-variant figures are the result
	if peerFailed != "" {
		b.Logf("peer failed: %s", peerFailed)
		return
	}
	peerNs := float64(peerTotal.Nanoseconds()) / float64(peerN)
	b.ReportMetric(peerNs, "peer-ns/response")
	b.ReportMetric(1e9/peerNs, "peer-responses/s")
	b.ReportMetric(float64(peerMallocs)/float64(peerN), "peer-allocs/response")
	b.ReportMetric(peerNs/ummNs, "umm/peer")
	b.ReportMetric(peerNs/(float64(ummResume.Nanoseconds())/float64(ummN)), "umm-resume/peer")
}
