package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/config"
)

// Bounds on what an SP may send: a real AuthnRequest or LogoutRequest is a few kilobytes.
const (
	maxEncodedMessage = 64 << 10
	maxMessageXML     = 256 << 10
	maxRelayState     = 1024 // saml-bindings §3.4.3 says 80 bytes; SPs send longer ones, but not this long
)

// bouncedParam marks a GET that carries an HTTP-POST message (see bounceToGet).
const bouncedParam = "SAMLBinding"

// Bindings (saml-bindings §3.4, §3.5).
const (
	bindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	bindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// inbound is a SAML protocol message from an SP: its XML and RelayState, and where its signature is
// (checked later against the SP's certificate by verify).
type inbound struct {
	binding    string         // bindingRedirect or bindingPOST
	root       *etree.Element // the message's XML; after verify, the element the signature covers
	relayState string
	// querySigned and querySig are the signed octets and the signature of a signed HTTP-Redirect message
	// (saml-bindings §3.4.4.1); sigAlg names the algorithm.
	querySigned []byte
	querySig    []byte
	sigAlg      string
	signed      bool // verify checked a signature by the SP's certificate
}

// readMessage decodes the SAMLRequest or SAMLResponse (param) of r in either binding. Its error is the
// message key of the page to show.
func readMessage(r *http.Request, param string) (*inbound, string) {
	in := &inbound{binding: bindingRedirect}
	var v url.Values
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return nil, "saml.error.malformed"
		}
		v, in.binding = r.PostForm, bindingPOST
	} else {
		var err error
		if v, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			return nil, "saml.error.malformed"
		}
		if v.Get(bouncedParam) == "POST" {
			in.binding = bindingPOST
		}
	}
	if len(v[param]) != 1 || v.Get(param) == "" {
		return nil, "saml.error.missing"
	}
	enc := v.Get(param)
	if len(enc) > maxEncodedMessage || len(v["RelayState"]) > 1 || len(v.Get("RelayState")) > maxRelayState {
		return nil, "saml.error.malformed"
	}
	in.relayState = v.Get("RelayState")
	// HTTP-POST messages are often wrapped at 76 characters.
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(enc), ""))
	if err != nil {
		return nil, "saml.error.malformed"
	}
	if in.binding == bindingRedirect {
		// saml-bindings §3.4.4.1: DEFLATE without a zlib header; bounded, as a tiny input can inflate a lot.
		fr := flate.NewReader(bytes.NewReader(raw))
		raw, err = io.ReadAll(io.LimitReader(fr, maxMessageXML+1))
		if err != nil || len(raw) > maxMessageXML {
			return nil, "saml.error.malformed"
		}
		if v.Has("Signature") {
			if in.querySig, err = base64.StdEncoding.DecodeString(v.Get("Signature")); err != nil {
				return nil, "saml.error.malformed"
			}
			in.sigAlg = v.Get("SigAlg")
			in.querySigned = signedQuery(r.URL.RawQuery, param)
		}
	}
	if in.root, err = parseXML(raw); err != nil {
		return nil, "saml.error.malformed"
	}
	return in, ""
}

// signedQuery is what an HTTP-Redirect signature covers: the parameters as they were received, still
// URL-encoded, in this order (saml-bindings §3.4.4.1).
func signedQuery(rawQuery, param string) []byte {
	got := map[string]string{}
	for _, kv := range strings.Split(rawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if _, seen := got[k]; !seen {
			got[k] = kv
		}
	}
	var parts []string
	for _, k := range []string{param, "RelayState", "SigAlg"} {
		if kv, ok := got[k]; ok {
			parts = append(parts, kv)
		}
	}
	return []byte(strings.Join(parts, "&"))
}

// parseXML reads one SAML message. A message never needs a DTD, comments or processing instructions, and
// each has been a way to make a signature checker and a reader see different text (comment injection
// in an Issuer or NameID), so any of them refuses the message.
func parseXML(raw []byte) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, err
	}
	if err := onlyElementsAndText(&doc.Element); err != nil {
		return nil, err
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

func onlyElementsAndText(el *etree.Element) error {
	for _, tok := range el.Child {
		switch c := tok.(type) {
		case *etree.Element:
			if err := onlyElementsAndText(c); err != nil {
				return err
			}
		case *etree.CharData:
		case *etree.ProcInst:
			if c.Target != "xml" || el.Parent() != nil {
				return errors.New("processing instruction in a SAML message")
			}
		default:
			return fmt.Errorf("%T in a SAML message", tok)
		}
	}
	return nil
}

// spCertificate parses the SP's PEM certificate; nil when the app has none.
func spCertificate(app config.SAMLApp) (*x509.Certificate, error) {
	if strings.TrimSpace(app.SPCertificate) == "" {
		return nil, nil
	}
	b, _ := pem.Decode([]byte(app.SPCertificate))
	if b == nil {
		return nil, errors.New("sp_certificate is not PEM")
	}
	return x509.ParseCertificate(b.Bytes)
}

// verify checks the message's signature against the app's certificate: the query signature of an
// HTTP-Redirect message, or the enveloped XML signature of the message's root element. A message
// signed in its XML is replaced by exactly the element the signature covers, so what is read next is
// what the SP signed (no signature wrapping). required refuses an unsigned message. Without a
// certificate nothing can be checked and the message counts as unsigned.
func (in *inbound) verify(app config.SAMLApp, required bool) error {
	cert, err := spCertificate(app)
	if err != nil {
		return fmt.Errorf("SP certificate: %w", err)
	}
	if cert == nil {
		if required {
			return errors.New("a signature is required but the app has no certificate")
		}
		return nil
	}
	switch {
	case in.querySig != nil:
		if err := verifyQuery(cert, in.sigAlg, in.querySigned, in.querySig); err != nil {
			return err
		}
		in.signed = true
	case xmlSignature(in.root) != nil:
		if alg := xmlSignatureMethod(in.root); alg == "" || strings.HasSuffix(alg, "sha1") {
			return fmt.Errorf("signature method %q is not accepted", alg)
		}
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		// SAML trusts the certificate the operator registered, not its dates: many SPs keep signing with
		// an expired self-signed one.
		vc.Clock = dsig.NewFakeClockAt(cert.NotBefore)
		verified, err := vc.Validate(in.root)
		if err != nil {
			return fmt.Errorf("XML signature: %w", err)
		}
		in.root, in.signed = verified, true
	case required:
		return errors.New("the message is not signed")
	}
	return nil
}

// xmlSignature is the ds:Signature child of el, or nil.
func xmlSignature(el *etree.Element) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == dsig.Namespace {
			return c
		}
	}
	return nil
}

func xmlSignatureMethod(el *etree.Element) string {
	sig := xmlSignature(el)
	if sig == nil {
		return ""
	}
	for _, si := range sig.ChildElements() {
		if si.Tag != "SignedInfo" {
			continue
		}
		for _, m := range si.ChildElements() {
			if m.Tag == "SignatureMethod" {
				return m.SelectAttrValue("Algorithm", "")
			}
		}
	}
	return ""
}

// verifyQuery checks an HTTP-Redirect signature (saml-bindings §3.4.4.1). SHA-1 is refused.
func verifyQuery(cert *x509.Certificate, sigAlg string, signed, sig []byte) error {
	var h crypto.Hash
	switch sigAlg {
	case dsig.RSASHA256SignatureMethod, dsig.ECDSASHA256SignatureMethod:
		h = crypto.SHA256
	case dsig.RSASHA384SignatureMethod, dsig.ECDSASHA384SignatureMethod:
		h = crypto.SHA384
	case dsig.RSASHA512SignatureMethod, dsig.ECDSASHA512SignatureMethod:
		h = crypto.SHA512
	default:
		return fmt.Errorf("signature algorithm %q is not accepted", sigAlg)
	}
	hh := h.New()
	hh.Write(signed)
	digest := hh.Sum(nil)
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if !strings.Contains(sigAlg, "rsa-") {
			return errors.New("the signature algorithm does not match the certificate's key")
		}
		return rsa.VerifyPKCS1v15(pub, h, digest, sig)
	case *ecdsa.PublicKey:
		if !strings.Contains(sigAlg, "ecdsa-") || !ecdsa.VerifyASN1(pub, digest, sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("the certificate's key (%T) cannot check signatures", cert.PublicKey)
}

// bounceToGet answers an HTTP-POST message that came without this browser's cookies with a 303 to the
// same endpoint as a GET carrying the same form (marked with SAMLBinding=POST). The SP's auto-submitted
// form posts from the SP's site, and the browser leaves UMM's SameSite=Lax cookies out of a cross-site
// POST: answering it directly would miss the SSO session and set a new browser-binding cookie in place
// of the browser's own. The GET is a top-level navigation, which carries them. The message is checked
// on the GET exactly as it would have been on the POST: its signature is inside its XML.
func bounceToGet(w http.ResponseWriter, r *http.Request, endpoint string) {
	v := url.Values{}
	for k, vs := range r.PostForm {
		if k == "SAMLRequest" || k == "SAMLResponse" || k == "RelayState" {
			v[k] = vs
		}
	}
	v.Set(bouncedParam, "POST")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", endpoint+"?"+v.Encode())
	w.WriteHeader(http.StatusSeeOther)
}
