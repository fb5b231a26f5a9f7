package e2e

import (
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
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// The tenant whose IdP TestSAMLServiceProviderInBrowser signs in to, and the secret of its OpenID Connect
// client web.
const (
	samlTenantID = "samlsso"
	samlSecret   = "saml-web-secret-0123456789ab"
)

// peerSP is a SAML service provider in the test process, built on crewjam/saml (the peer library that
// judges what UMM sends). It behaves like a small web application: a protected page that starts an
// SP-initiated sign-in when there is no session, an ACS that checks the Response and opens a session
// kept in its own cookie, a sign-out link that sends a signed LogoutRequest to UMM, and an SLO endpoint
// that checks UMM's LogoutResponse before it ends its session. It is served on "localhost" while UMM is
// on 127.0.0.1, so the browser treats the two as different sites, as it would in production.
type peerSP struct {
	URL     string // http://localhost:port
	certPEM string
	// cookie names the SP's session cookie: browsers share cookies between the ports of one host, so each
	// SP on localhost needs its own name, as SPs on their own hosts would not.
	cookie string

	mu       sync.Mutex
	sp       *saml.ServiceProvider
	pending  map[string]bool // AuthnRequest ids the SP sent and still expects an answer to
	logouts  map[string]bool // LogoutRequest ids likewise
	sessions map[string]*spSession
	refused  []string // why the ACS or SLO endpoint refused a message, for failure messages
	stray    int      // requests that reached the decoy ACS URL that is not registered with UMM
	// idpLogouts counts the valid LogoutRequests UMM sent when the person signed out at another app.
	idpLogouts int
}

// spSession is what the SP learnt from an accepted assertion.
type spSession struct {
	NameID, SessionIndex string
	AuthnContext         string // the AuthnContextClassRef: how UMM says the person signed in
	Unsolicited          bool   // the Response answered no AuthnRequest (IdP-initiated)
	Encrypted            bool   // the assertion came encrypted to the SP's certificate
	Attributes           map[string][]string
}

// newPeerSP starts the SP with its own RSA key and self-signed certificate. It knows UMM's IdP only once
// trustIdP has given it the metadata.
func newPeerSP(t *testing.T, name string) *peerSP {
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
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &peerSP{certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		cookie: "sp_session_" + name, pending: map[string]bool{}, logouts: map[string]bool{}, sessions: map[string]*spSession{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /app", p.handleApp)
	mux.HandleFunc("POST /saml/acs", p.handleACS)
	mux.HandleFunc("GET /logout", p.handleLogout)
	mux.HandleFunc("GET /saml/slo", p.handleSLO)
	mux.HandleFunc("GET /wrong-acs", p.handleWrongACS)
	mux.HandleFunc("GET /signin-post", p.handleSignInPost)
	mux.HandleFunc("GET /signin-force", func(w http.ResponseWriter, r *http.Request) { p.startSignIn(w, r, "", true) })
	mux.HandleFunc("/decoy-acs", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.stray++
		p.mu.Unlock()
		http.Error(w, "decoy", http.StatusTeapot)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	mustURL := func(s string) url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return *u
	}
	p.sp = &saml.ServiceProvider{
		EntityID: p.URL + "/saml/metadata", Key: key, Certificate: cert,
		MetadataURL: mustURL(p.URL + "/saml/metadata"), AcsURL: mustURL(p.URL + "/saml/acs"), SloURL: mustURL(p.URL + "/saml/slo"),
		SignatureMethod: dsig.RSASHA256SignatureMethod, AllowIDPInitiated: true,
		EncryptionKey: key, EncryptionCertificate: cert,
	}
	return p
}

// appConfig is the SP's entry in the tenant's saml_apps (YAML at that list's indentation), with the
// settings in extra (YAML at the entry's indentation). UMM checks its signed LogoutRequests against its
// certificate, and encrypts to it when asked to.
func (p *peerSP) appConfig(name, extra string) string {
	return fmt.Sprintf(`      - entity_id: %q
        name: %s
        acs_urls: [%q]
        slo_url: %q
        sp_certificate: %q
%s`, p.sp.EntityID, name, p.sp.AcsURL.String(), p.sp.SloURL.String(), p.certPEM, extra)
}

// trustIdP fetches the IdP metadata UMM publishes for tenant, as an administrator setting up the SP would.
func (p *peerSP) trustIdP(t *testing.T, s *server, tenant string) {
	t.Helper()
	resp, err := httpClient().Get(s.Issuer(tenant) + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var md saml.EntityDescriptor
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP metadata: %s\n%s", resp.Status, snippet(string(body)))
	}
	if err := xml.Unmarshal(body, &md); err != nil {
		t.Fatalf("IdP metadata: %v\n%s", err, snippet(string(body)))
	}
	if want := s.Issuer(tenant) + "/saml/metadata"; md.EntityID != want {
		t.Fatalf("the IdP's entity id is %q, want its metadata URL %q", md.EntityID, want)
	}
	p.mu.Lock()
	p.sp.IDPMetadata = &md
	p.mu.Unlock()
}

// refusal records why the SP refused a message and answers the browser with it.
func (p *peerSP) refuse(w http.ResponseWriter, what string, err error) {
	var ivr *saml.InvalidResponseError
	if errors.As(err, &ivr) && ivr.PrivateErr != nil {
		err = fmt.Errorf("%w: %v", err, ivr.PrivateErr)
	}
	msg := fmt.Sprintf("%s: %v", what, err)
	p.mu.Lock()
	p.refused = append(p.refused, msg)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "<!doctype html><title>Peer SP</title><p id=sp-refused>%s</p>", html.EscapeString(msg))
}

// problems is what the SP refused so far, for failure messages.
func (p *peerSP) problems() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.refused) == 0 {
		return "the SP refused nothing"
	}
	return "the SP refused: " + strings.Join(p.refused, "; ")
}

// session is the SP session of the request's cookie, if any.
func (p *peerSP) session(r *http.Request) *spSession {
	c, err := r.Cookie(p.cookie)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessions[c.Value]
}

// handleApp is the protected page: with a session it prints what the assertion said; without one it
// sends the browser to UMM with a signed AuthnRequest (HTTP-Redirect binding).
func (p *peerSP) handleApp(w http.ResponseWriter, r *http.Request) {
	if s := p.session(r); s != nil {
		var b strings.Builder
		fmt.Fprintf(&b, "<!doctype html><title>Peer SP</title><h1 id=sp-app>Protected page</h1><ul>")
		fmt.Fprintf(&b, "<li>NameID: %s</li>", html.EscapeString(s.NameID))
		kind := "SP-initiated"
		if s.Unsolicited {
			kind = "IdP-initiated"
		}
		fmt.Fprintf(&b, "<li>Sign-in: %s</li>", kind)
		fmt.Fprintf(&b, "<li>Encrypted: %t</li>", s.Encrypted)
		fmt.Fprintf(&b, "<li>AuthnContext: %s</li>", html.EscapeString(s.AuthnContext))
		names := make([]string, 0, len(s.Attributes))
		for n := range s.Attributes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "<li>%s: %s</li>", html.EscapeString(n), html.EscapeString(strings.Join(s.Attributes[n], ", ")))
		}
		fmt.Fprintf(&b, "</ul>")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, b.String())
		return
	}
	p.startSignIn(w, r, "", false)
}

// handleSignInPost starts a sign-in whatever the SP's session, with a signed AuthnRequest in the HTTP-POST
// binding: a form on the SP's page that posts itself to UMM, from another site. The request is passive
// (IsPassive): the SP asks to be told who is signed in, never to show a sign-in page.
func (p *peerSP) handleSignInPost(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	req, err := p.sp.MakeAuthenticationRequest(p.sp.GetSSOBindingLocation(saml.HTTPPostBinding), saml.HTTPPostBinding, saml.HTTPPostBinding)
	if err == nil {
		passive := true
		req.IsPassive, req.Signature = &passive, nil
		err = p.sp.SignAuthnRequest(req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if req.Signature == nil {
		http.Error(w, "the peer library did not sign the AuthnRequest", http.StatusInternalServerError)
		return
	}
	p.pending[req.ID] = true
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(req.Post("/app"))
}

// handleWrongACS starts a sign-in whose AuthnRequest, validly signed, asks for the answer at an address
// that was never registered with UMM: UMM must not send the assertion there.
func (p *peerSP) handleWrongACS(w http.ResponseWriter, r *http.Request) {
	p.startSignIn(w, r, p.URL+"/decoy-acs", false)
}

// startSignIn redirects to UMM's SSO endpoint with a signed AuthnRequest; acs replaces the registered
// ACS URL in it when not empty, and force asks UMM to authenticate the person again (ForceAuthn).
func (p *peerSP) startSignIn(w http.ResponseWriter, r *http.Request, acs string, force bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	req, err := p.sp.MakeAuthenticationRequest(p.sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err == nil && acs != "" {
		req.AssertionConsumerServiceURL = acs
	}
	if err == nil && force {
		req.ForceAuthn = &force
	}
	var u *url.URL
	if err == nil {
		u, err = req.Redirect("/app", p.sp)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	p.pending[req.ID] = true
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// handleACS checks UMM's Response with the peer library (signature, audience, destination, the request
// it answers or, unsolicited, that IdP-initiated sign-in is allowed) and opens the SP's session.
func (p *peerSP) handleACS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.refuse(w, "ACS form", err)
		return
	}
	p.mu.Lock()
	ids := make([]string, 0, len(p.pending))
	for id := range p.pending {
		ids = append(ids, id)
	}
	a, err := p.sp.ParseResponse(r, ids)
	p.mu.Unlock()
	var resp saml.Response
	raw, _ := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
	if xerr := xml.Unmarshal(raw, &resp); xerr != nil && err == nil {
		err = xerr
	}
	if err != nil {
		// The peer library names only the top-level status; the second level says why (NoPassive).
		if sc := resp.Status.StatusCode.StatusCode; sc != nil {
			err = fmt.Errorf("%w (status %s)", err, sc.Value)
		}
		p.refuse(w, "Response", err)
		return
	}
	// ParseResponse checked the Response; its InResponseTo tells an answer from an unsolicited one.
	s := &spSession{Unsolicited: resp.InResponseTo == "", Encrypted: resp.EncryptedAssertion != nil,
		Attributes: map[string][]string{}}
	if a.Subject != nil && a.Subject.NameID != nil {
		s.NameID = a.Subject.NameID.Value
	}
	if len(a.AuthnStatements) > 0 {
		s.SessionIndex = a.AuthnStatements[0].SessionIndex
		if ref := a.AuthnStatements[0].AuthnContext.AuthnContextClassRef; ref != nil {
			s.AuthnContext = ref.Value
		}
	}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			for _, v := range at.Values {
				s.Attributes[at.Name] = append(s.Attributes[at.Name], v.Value)
			}
		}
	}
	id := random()
	p.mu.Lock()
	delete(p.pending, resp.InResponseTo) // an answer counts once
	p.sessions[id] = s
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: p.cookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	next := r.PostForm.Get("RelayState")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/app"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleLogout sends the browser to UMM's SLO endpoint with a signed LogoutRequest that names the person
// and the session from the assertion: in the query (HTTP-Redirect binding), or with ?binding=post in a
// form that posts itself (HTTP-POST binding, the signature inside the XML).
func (p *peerSP) handleLogout(w http.ResponseWriter, r *http.Request) {
	s := p.session(r)
	if s == nil {
		p.refuse(w, "sign-out", errors.New("not signed in to the SP"))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.URL.Query().Get("binding") == "post" {
		lr, err := p.sp.MakeLogoutRequest(p.sp.GetSLOBindingLocation(saml.HTTPPostBinding), s.NameID, saml.WithSessionIndex(s.SessionIndex))
		if err != nil || lr.Signature == nil {
			http.Error(w, fmt.Sprintf("no signed LogoutRequest: %v", err), http.StatusInternalServerError)
			return
		}
		p.logouts[lr.ID] = true
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(lr.Post("signed-out"))
		return
	}
	lr, err := p.sp.MakeLogoutRequest(p.sp.GetSLOBindingLocation(saml.HTTPRedirectBinding), s.NameID, saml.WithSessionIndex(s.SessionIndex))
	var u *url.URL
	if err == nil {
		u, err = p.sp.RedirectLogoutRequestURL(lr, "signed-out")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if u.Query().Get("Signature") == "" {
		http.Error(w, "the peer library did not sign the LogoutRequest", http.StatusInternalServerError)
		return
	}
	p.logouts[lr.ID] = true
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// handleSLO takes UMM's LogoutResponse: only a valid, signed answer to a LogoutRequest the SP sent ends
// the SP's session. It also takes UMM's LogoutRequest when the person signed out at another app: that
// arrives in a frame of UMM's page, where the SP's own cookie is not sent (another site), so the SP ends
// the sessions the request names, as real SPs do: by SessionIndex, or every session of the NameID when
// it names none (saml-core §3.7.3.2), and answers UMM.
func (p *peerSP) handleSLO(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("SAMLRequest") {
		p.mu.Lock()
		req, err := p.sp.ValidateLogoutRequest(r)
		p.mu.Unlock()
		if err != nil {
			p.refuse(w, "LogoutRequest", err)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.idpLogouts++
		idx := req.AllSessionIndexes()
		for id, s := range p.sessions {
			if len(idx) == 0 && req.NameID != nil && req.NameID.Value == s.NameID {
				delete(p.sessions, id)
			}
			for _, i := range idx {
				if i.Value == s.SessionIndex {
					delete(p.sessions, id)
				}
			}
		}
		u, err := p.sp.MakeRedirectLogoutResponse(req.ID, r.URL.Query().Get("RelayState"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	p.mu.Lock()
	ids := make([]string, 0, len(p.logouts))
	for id := range p.logouts {
		ids = append(ids, id)
	}
	resp, err := p.sp.ParseLogoutResponse(r, ids)
	p.mu.Unlock()
	if err != nil {
		p.refuse(w, "LogoutResponse", err)
		return
	}
	if r.URL.Query().Get("Signature") == "" {
		p.refuse(w, "LogoutResponse", errors.New("not signed"))
		return
	}
	p.mu.Lock()
	delete(p.logouts, resp.InResponseTo)
	if c, err := r.Cookie(p.cookie); err == nil {
		delete(p.sessions, c.Value)
	}
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: p.cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Peer SP</title><p id=sp-signed-out>Signed out of the SP (%s)</p>",
		html.EscapeString(r.URL.Query().Get("RelayState")))
}

// samlTenant is a tenant with an OpenID Connect client web, alice (with roles) and the SAML apps: the
// first with signed AuthnRequests and attributes, the second with persistent NameIDs and encrypted
// assertions.
func samlTenant(rpURL string, first, second *peerSP) string {
	return fmt.Sprintf(`  - id: %[1]s
    name: SAML SSO
    login:
      new_device_email: false
    clients:
      - client_id: web
        client_secret: %[2]q
        name: SAML Tenant Web
        redirect_uris: [%[3]s/cb]
        grant_types: [authorization_code]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, email]
        first_party: true
    users:
      - email: %[4]s
        password: %[5]q
        given_name: Alice
        email_verified: true
        roles: [admin, staff]
    saml_apps:
%[6]s%[7]s`, samlTenantID, samlSecret, rpURL, aliceEmail, alicePassword,
		first.appConfig("Peer SP", `        want_authn_requests_signed: true
        attributes:
          email: email
          givenName: given_name
          role: roles
`),
		second.appConfig("Second SP", `        nameid_format: persistent
        encrypt_assertion: true
`))
}

// TestSAMLServiceProviderInBrowser drives Chromium through UMM as a SAML 2.0 IdP for two service
// providers built on the peer library crewjam/saml: SP-initiated sign-in with a password, IdP-initiated
// sign-in on the SSO session, a second SAML app (encrypted assertion, persistent NameID) and an OpenID
// Connect client of the same tenant riding that session, single logout started by one SP that signs the
// person out of the other in a frame, and the refusal of an unregistered ACS URL.
func TestSAMLServiceProviderInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			sp, sp2 := newPeerSP(t, "peer-"+backend), newPeerSP(t, "second-"+backend)
			s := newServer(t, backend)
			s.appendConfig(t, samlTenant(s.RP.URL, sp, sp2))
			if err := s.start(); err != nil {
				t.Fatal(err)
			}
			sp.trustIdP(t, s, samlTenantID)
			sp2.trustIdP(t, s, samlTenantID)
			iss := s.Issuer(samlTenantID)
			login := "/t/" + samlTenantID + "/login"
			p := b.newUser(t)

			// wantApp waits for the protected page of app and checks what the assertion told it.
			wantApp := func(t *testing.T, app *peerSP, want ...string) {
				t.Helper()
				if got := p.waitFor(t, 20*time.Second, "#sp-app", "#sp-refused"); got != "#sp-app" {
					t.Fatalf("the SP did not accept UMM's Response: %s\npage: %s", app.problems(), p.where())
				}
				p.wantText(t, want...)
			}
			aliceAt := func(kind string) []string {
				return []string{"NameID: " + aliceEmail, "Sign-in: " + kind, "Encrypted: false",
					"email: " + aliceEmail, "givenName: Alice", "role: admin, staff"}
			}
			// sessionIndex is the SessionIndex of app's only session.
			sessionIndex := func(t *testing.T, app *peerSP) string {
				t.Helper()
				app.mu.Lock()
				defer app.mu.Unlock()
				if len(app.sessions) != 1 {
					t.Fatalf("the SP has %d sessions, want 1", len(app.sessions))
				}
				for _, ss := range app.sessions {
					return ss.SessionIndex
				}
				return ""
			}
			var sid string

			t.Run("SP-initiated sign-in: the SP accepts the signed Response with the NameID and attributes", func(t *testing.T) {
				p.navigate(t, sp.URL+"/app")
				p.waitPath(t, login)
				p.waitFor(t, 15*time.Second, selUsername)
				p.wantText(t, "to continue to Peer SP")
				p.signIn(t, aliceEmail, alicePassword)
				wantApp(t, sp, aliceAt("SP-initiated")...)
				if sid = sessionIndex(t, sp); sid == "" {
					t.Fatal("the assertion carries no SessionIndex")
				}
			})

			t.Run("IdP-initiated sign-in on the SSO session: no password, an unsolicited Response", func(t *testing.T) {
				p.navigate(t, iss+"/saml/init?"+url.Values{"sp": {sp.sp.EntityID}, "RelayState": {"/app"}}.Encode())
				wantApp(t, sp, aliceAt("IdP-initiated")...)
			})

			t.Run("a passive AuthnRequest posted from the SP's site finds the SSO session", func(t *testing.T) {
				// The browser leaves UMM's SameSite=Lax cookies out of this cross-site POST; UMM must turn
				// it into a top-level GET that carries them, or it would answer NoPassive: not signed in.
				p.navigate(t, sp.URL+"/signin-post")
				wantApp(t, sp, aliceAt("SP-initiated")...)
				sp.mu.Lock()
				pending := len(sp.pending)
				sp.mu.Unlock()
				if pending != 0 {
					t.Fatalf("the SP has %d unanswered AuthnRequests, want 0", pending)
				}
			})

			t.Run("a second SAML app signs in on the same session without a password, with an encrypted assertion", func(t *testing.T) {
				p.navigate(t, sp2.URL+"/app")
				wantApp(t, sp2, "Sign-in: SP-initiated", "Encrypted: true")
				if text := p.text(t); strings.Contains(text, "NameID: "+aliceEmail) {
					t.Errorf("the persistent NameID is the email address\npage: %s", p.where())
				}
				if got := sessionIndex(t, sp2); got != sid {
					t.Errorf("the second app's SessionIndex %q differs from the first's %q: not one SSO session", got, sid)
				}
			})

			t.Run("an OpenID Connect client of the tenant signs in on the same session without a password", func(t *testing.T) {
				conf := &oauth2.Config{ClientID: "web", ClientSecret: samlSecret, RedirectURL: s.RP.URL + "/cb",
					Endpoint: oauth2.Endpoint{AuthURL: iss + "/authorize", TokenURL: iss + "/token", AuthStyle: oauth2.AuthStyleInHeader},
					Scopes:   []string{"openid", "email"}}
				state, verifier := random(), oauth2.GenerateVerifier()
				// prompt=none: the request fails rather than showing a sign-in form if the session is not shared.
				p.navigate(t, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")))
				cb := p.waitRP(t, s.RP, "/cb", state)
				if cb.Get("code") == "" {
					t.Fatalf("callback %v, want a code", cb)
				}
				var c mfaClaims
				exchangeVerified(t, testCtx(t, time.Minute), conf, iss, cb.Get("code"), verifier, &c)
				if c.SID != sid {
					t.Errorf("the ID token's sid %q differs from the assertion's SessionIndex %q: not one SSO session", c.SID, sid)
				}
			})

			t.Run("ForceAuthn asks for the password again on the session", func(t *testing.T) {
				p.navigate(t, sp.URL+"/signin-force")
				p.waitPath(t, login)
				p.waitFor(t, 15*time.Second, selPassword)
				p.signIn(t, aliceEmail, alicePassword)
				wantApp(t, sp, aliceAt("SP-initiated")...)
			})

			t.Run("single logout started by one SP ends the UMM session, signs the other SP out, and comes back signed", func(t *testing.T) {
				p.navigate(t, sp.URL+"/logout")
				// UMM's signed-out page frames a LogoutRequest to the second app, then returns to the first.
				if got := p.waitFor(t, 20*time.Second, "#sp-signed-out", "#sp-refused"); got != "#sp-signed-out" {
					t.Fatalf("the SP did not accept UMM's LogoutResponse: %s\npage: %s", sp.problems(), p.where())
				}
				p.wantText(t, "(signed-out)")
				sp2.mu.Lock()
				idpLogouts, left := sp2.idpLogouts, len(sp2.sessions)
				sp2.mu.Unlock()
				if idpLogouts != 1 || left != 0 {
					t.Fatalf("the second app got %d valid LogoutRequests and keeps %d sessions, want 1 and 0; %s",
						idpLogouts, left, sp2.problems())
				}
				// Every session is over: each app's protected page needs a password at UMM again.
				p.navigate(t, sp2.URL+"/app")
				p.waitPath(t, login)
				p.waitFor(t, 15*time.Second, selUsername)
				p.navigate(t, sp.URL+"/app")
				p.waitPath(t, login)
				p.signIn(t, aliceEmail, alicePassword)
				wantApp(t, sp, aliceAt("SP-initiated")...)
			})

			t.Run("an AuthnRequest naming an unregistered ACS URL gets UMM's error page, and nothing is posted", func(t *testing.T) {
				p.navigate(t, sp.URL+"/wrong-acs")
				p.waitPath(t, "/t/"+samlTenantID+"/saml/sso")
				p.wantText(t, "This SAML sign-in request cannot be used",
					"The application asked for the answer to go to an address that is not registered for it.")
				if p.has(`form[action*="decoy-acs"]`) || p.has(`input[name=SAMLResponse]`) {
					t.Fatalf("the error page carries a SAML answer\npage: %s", p.where())
				}
				sp.mu.Lock()
				stray := sp.stray
				sp.mu.Unlock()
				if stray != 0 {
					t.Fatalf("%d requests reached the unregistered ACS URL", stray)
				}
			})

			t.Run("IdP-initiated sign-in in a browser without a session asks for the password first", func(t *testing.T) {
				q := b.newUser(t)
				q.navigate(t, iss+"/saml/init?"+url.Values{"sp": {sp.sp.EntityID}, "RelayState": {"/app"}}.Encode())
				q.waitPath(t, login)
				q.signIn(t, aliceEmail, alicePassword)
				if got := q.waitFor(t, 20*time.Second, "#sp-app", "#sp-refused"); got != "#sp-app" {
					t.Fatalf("the SP did not accept UMM's Response: %s\npage: %s", sp.problems(), q.where())
				}
				q.wantText(t, aliceAt("IdP-initiated")...)
			})

			t.Run("single logout posted from the SP's site ends the UMM session too", func(t *testing.T) {
				// Cross-site POST again: without UMM's cookies the session could not be found and ended.
				p.navigate(t, sp.URL+"/logout?binding=post")
				if got := p.waitFor(t, 20*time.Second, "#sp-signed-out", "#sp-refused"); got != "#sp-signed-out" {
					t.Fatalf("the SP did not accept UMM's LogoutResponse: %s\npage: %s", sp.problems(), p.where())
				}
				p.navigate(t, sp.URL+"/app")
				p.waitPath(t, login)
				p.waitFor(t, 15*time.Second, selUsername)
			})

			t.Run("a passive AuthnRequest without a session is answered NoPassive at the ACS, with no sign-in page", func(t *testing.T) {
				p.navigate(t, sp.URL+"/signin-post")
				if got := p.waitFor(t, 20*time.Second, "#sp-app", "#sp-refused"); got != "#sp-refused" {
					t.Fatalf("signed out, a passive request signed the person in\npage: %s", p.where())
				}
				p.wantText(t, "urn:oasis:names:tc:SAML:2.0:status:NoPassive")
			})
		})
	}
}

// Authentication context classes UMM states in its assertions.
const (
	acPassword = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	acMFA      = "https://refeds.org/profile/mfa"
)

// TestSAMLMultiFactorContextInBrowser: an SP that asks for the REFEDS MFA authentication context, on a
// browser signed in with a password for another SP (whose mfa_policy off exempts it from the tenant's
// required policy), is taken to the second-factor page without being asked for the password again; the
// emailed code (the verified address is a factor under policy required) steps the same session up, and
// the peer library checks that the assertion states the context it asked for.
func TestSAMLMultiFactorContextInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			plain, strict, unreachable := newPeerSP(t, "plain-"+backend), newPeerSP(t, "strict-"+backend), newPeerSP(t, "unreachable-"+backend)
			for _, sp := range []*peerSP{strict, unreachable} {
				sp.sp.RequestedAuthnContext = &saml.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRef: acMFA}
				sp.sp.ValidateAuthnContextClassRef = true
			}
			relay := notifytest.New(t, notifytest.Options{})
			s := startMFAServer(t, backend, relay, nil, fmt.Sprintf(`  - id: samlmfa
    name: SAML MFA
    mfa:
      policy: required
      factors: [email]
    login:
      new_device_email: false
    users:
      - email: %s
        password: %q
        email_verified: true
    saml_apps:
%s%s%s`, aliceEmail, alicePassword, plain.appConfig("Plain SP", "        mfa_policy: \"off\"\n"), strict.appConfig("Strict SP", ""),
				unreachable.appConfig("Unreachable SP", "        mfa_policy: \"off\"\n")))
			for _, sp := range []*peerSP{plain, strict, unreachable} {
				sp.trustIdP(t, s, "samlmfa")
			}
			p := b.newUser(t)

			p.navigate(t, plain.URL+"/app")
			p.waitPath(t, "/t/samlmfa/login")
			p.signIn(t, aliceEmail, alicePassword)
			if got := p.waitFor(t, 20*time.Second, "#sp-app", "#sp-refused"); got != "#sp-app" {
				t.Fatalf("the SP did not accept UMM's Response: %s\npage: %s", plain.problems(), p.where())
			}
			p.wantText(t, "AuthnContext: "+acPassword)

			p.navigate(t, strict.URL+"/app")
			p.waitPath(t, "/login/mfa")
			if p.has(selPassword) {
				t.Fatalf("the step-up asks for the password\npage: %s", p.where())
			}
			emailSecondFactor(t, p, relay, 1, false)
			if got := p.waitFor(t, 20*time.Second, "#sp-app", "#sp-refused"); got != "#sp-app" {
				t.Fatalf("the SP did not accept UMM's Response: %s\npage: %s", strict.problems(), p.where())
			}
			p.wantText(t, "AuthnContext: "+acMFA)
			plain.mu.Lock()
			strict.mu.Lock()
			var first, second string
			for _, ss := range plain.sessions {
				first = ss.SessionIndex
			}
			for _, ss := range strict.sessions {
				second = ss.SessionIndex
			}
			strict.mu.Unlock()
			plain.mu.Unlock()
			if first == "" || first != second {
				t.Fatalf("SessionIndex %q after the step-up, want the session's %q", second, first)
			}

			// Under the app's mfa_policy off the address is no second factor, and alice has no other: an SP
			// asking for MFA is answered NoAuthnContext at once, without a page the person cannot get past.
			q := b.newUser(t)
			q.navigate(t, plain.URL+"/app")
			q.waitPath(t, "/t/samlmfa/login")
			q.signIn(t, aliceEmail, alicePassword)
			q.waitFor(t, 20*time.Second, "#sp-app")
			q.navigate(t, unreachable.URL+"/app")
			if got := q.waitFor(t, 20*time.Second, "#sp-app", "#sp-refused"); got != "#sp-refused" {
				t.Fatalf("an unreachable MFA context signed the person in\npage: %s", q.where())
			}
			q.wantText(t, "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext")
		})
	}
}
