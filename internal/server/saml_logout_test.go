package server_test

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/crewjam/saml"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

var iframeSrc = regexp.MustCompile(`<iframe src="([^"]+)"`)

// TestSAMLLogoutFromTheAccountConsole: signing out on UMM's own pages after a SAML sign-in tells the SAML
// app too. The signed-out page frames UMM's logout frame for the app, which answers only once the
// session has ended and frames a LogoutRequest to the app's SLO URL, signed with the key of the IdP's
// metadata, for that session.
func TestSAMLLogoutFromTheAccountConsole(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			sp := newPeerSP(t, srv, "wiki", config.SAMLApp{})
			b := srv.NewBrowser(t)
			req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
			if err != nil {
				t.Fatal(err)
			}
			redirect, err := req.Redirect("", sp)
			if err != nil {
				t.Fatal(err)
			}
			acs, _ := toACS(t, srv, b, redirect, sp)
			a, err := sp.ParseResponse(acs, []string{req.ID})
			if err != nil {
				t.Fatalf("the SP refused the response: %v", samlErr(err))
			}
			sid := a.AuthnStatements[0].SessionIndex
			frameURL := srv.TenantURL("/saml/logout-frame?" + url.Values{"sid": {sid}, "sp": {sp.EntityID}}.Encode())
			if resp, _ := b.Get(frameURL); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("the logout frame of a live session answered %d", resp.StatusCode)
			}

			f, _, _ := b.GetForm(srv.TenantURL("/account/profile"), "/account/logout")
			resp, body := b.Submit(f, nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, html.EscapeString(frameURL)) {
				t.Fatalf("the signed-out page (%d) does not frame %s:\n%s", resp.StatusCode, frameURL, body)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "/saml/logout-frame") {
				t.Errorf("the signed-out page's policy %q does not allow the frame", csp)
			}

			resp, body = b.Get(frameURL)
			m := iframeSrc.FindStringSubmatch(body)
			if resp.StatusCode != http.StatusOK || m == nil || resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
				t.Fatalf("logout frame: %d %q %s", resp.StatusCode, resp.Header.Get("X-Frame-Options"), body)
			}
			target, err := url.Parse(html.UnescapeString(m[1]))
			if err != nil || target.Scheme+"://"+target.Host+target.Path != sp.SloURL.String() {
				t.Fatalf("the frame goes to %q, want the SP's SLO URL %s", m[1], sp.SloURL.String())
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, sp.SloURL.Host) || !strings.Contains(csp, "/saml/slo") {
				t.Errorf("the frame's policy %q does not allow the SP and its answer at UMM's SLO endpoint", csp)
			}
			// The HTTP-Redirect binding signs the query up to the signature (saml-bindings §3.4.4.1).
			raw := target.RawQuery
			cut := strings.Index(raw, "&Signature=")
			sig, err := base64.StdEncoding.DecodeString(target.Query().Get("Signature"))
			if cut < 0 || err != nil {
				t.Fatalf("unsigned LogoutRequest: %s", raw)
			}
			digest := sha256.Sum256([]byte(raw[:cut]))
			idpKey := sp.IDPMetadata.IDPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data
			cert := parseCertBase64(t, idpKey)
			if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
				t.Fatalf("the LogoutRequest's signature does not verify with the IdP's metadata key: %v", err)
			}
			deflated, _ := base64.StdEncoding.DecodeString(target.Query().Get("SAMLRequest"))
			xmlBytes, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflated)))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(xmlBytes), "LogoutRequest") || !strings.Contains(string(xmlBytes), ">"+sid+"<") {
				t.Errorf("the LogoutRequest does not name the session %s: %s", sid, xmlBytes)
			}

			other := srv.NewBrowser(t)
			other.Get(srv.TenantURL("/login"))
			if resp, _ := other.Get(srv.TenantURL("/saml/logout-frame?" + url.Values{"sid": {sid}, "sp": {"https://other.example/saml"}}.Encode())); resp.StatusCode != http.StatusNotFound {
				t.Errorf("the frame of an app that was not in the session answered %d", resp.StatusCode)
			}
		})
	}
}

// parseCertBase64 parses a certificate as metadata carries it (base64 DER, perhaps with line breaks).
func parseCertBase64(t *testing.T, b64 string) *x509.Certificate {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
