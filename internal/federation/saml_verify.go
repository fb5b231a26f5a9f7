package federation

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"
	dsig "github.com/russellhaering/goxmldsig"
)

// UMM checks an IdP's Response itself rather than through the SAML library's service provider, whose
// assertion checks have a known flaw without a fixed release (GO-2026-6909: a signed assertion without
// an Issuer panics it, and it takes a NameID of any XML namespace). What is read is only ever what a
// signature covered: the signed Response (or the signed Assertion inside an unsigned one) replaces what
// was posted before anything is taken from it, so wrapped elements are never seen.

const (
	samlAssertionNS = "urn:oasis:names:tc:SAML:2.0:assertion"
	samlProtocolNS  = "urn:oasis:names:tc:SAML:2.0:protocol"
	samlSuccess     = "urn:oasis:names:tc:SAML:2.0:status:Success"
	samlBearer      = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	samlSkew        = 3 * time.Minute // how far apart the IdP's clock and ours may be
)

// samlRefused is a Response that failed check msg (the message names the check; no XML).
func samlRefused(msg string) error { return fmt.Errorf("%w: saml: %s", ErrInvalidResponse, msg) }

// samlParseXML reads a SAML message. A Response never needs a DTD, comments or processing instructions,
// and each has been a way to make a signature checker and a reader see different text (comment
// injection in a NameID), so any of them refuses it.
func samlParseXML(raw []byte) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, err
	}
	if err := samlOnlyElementsAndText(&doc.Element); err != nil {
		return nil, err
	}
	if doc.Root() == nil {
		return nil, errors.New("no root element")
	}
	return doc.Root(), nil
}

func samlOnlyElementsAndText(el *etree.Element) error {
	for _, tok := range el.Child {
		switch c := tok.(type) {
		case *etree.Element:
			if err := samlOnlyElementsAndText(c); err != nil {
				return err
			}
		case *etree.CharData:
		case *etree.ProcInst:
			if c.Target != "xml" || el.Parent() != nil {
				return errors.New("processing instruction")
			}
		default:
			return fmt.Errorf("%T in the message", tok)
		}
	}
	return nil
}

// samlChild is el's only child element tag in namespace ns (nil when none); more than one is an error.
func samlChild(el *etree.Element, ns, tag string) (*etree.Element, error) {
	var found *etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			if found != nil {
				return nil, fmt.Errorf("more than one %s", tag)
			}
			found = c
		}
	}
	return found, nil
}

// samlSigned is el's enveloped ds:Signature, or nil.
func samlSigned(el *etree.Element) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == dsig.Namespace {
			return c
		}
	}
	return nil
}

// idpCertificates are the signing certificates of the IdP's metadata.
func (s *samlConnector) idpCertificates() ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, d := range s.sp.IDPMetadata.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err != nil {
					return nil, fmt.Errorf("saml: IdP certificate: %w", err)
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, fmt.Errorf("saml: IdP certificate: %w", err)
				}
				out = append(out, cert)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("saml: the IdP's metadata has no signing certificate")
	}
	return out, nil
}

// verifySignature checks el's enveloped signature with one of certs and returns exactly the element the
// signature covers. The metadata's certificates are carriers of the key the operator trusts, so their
// dates are not checked (many IdPs publish long-expired self-signed ones).
func verifySignature(el *etree.Element, certs []*x509.Certificate) (*etree.Element, error) {
	var last error
	for _, cert := range certs {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		vc.Clock = dsig.NewFakeClockAt(cert.NotBefore)
		verified, err := vc.Validate(el)
		if err == nil {
			return verified, nil
		}
		last = err
	}
	return nil, last
}

// verifyResponse checks a posted Response against the IdP's metadata, our ACS URL and entity id, the
// request it answers and the clock, and returns its one assertion.
func (s *samlConnector) verifyResponse(raw []byte, requestID string, replay *samlReplay) (*saml.Assertion, error) {
	now := s.env.Now()
	acs, entityID := s.sp.AcsURL.String(), s.sp.EntityID
	idpEntityID := s.sp.IDPMetadata.EntityID
	root, err := samlParseXML(raw)
	if err != nil {
		return nil, samlRefused("malformed message")
	}
	if root.Tag != "Response" || root.NamespaceURI() != samlProtocolNS {
		return nil, samlRefused("malformed message: not a SAML Response")
	}
	certs, err := s.idpCertificates()
	if err != nil {
		return nil, err
	}
	responseSigned := samlSigned(root) != nil
	if responseSigned {
		if root, err = verifySignature(root, certs); err != nil {
			return nil, samlRefused("signature: the response is not signed by the IdP's certificate")
		}
	}
	// Status first: a refusal upstream is reported as such, whatever else the answer says.
	if top, second := samlStatusOf(root); top != samlSuccess {
		switch second {
		case saml.StatusAuthnFailed, saml.StatusRequestDenied:
			return nil, fmt.Errorf("%w: saml: status %s", ErrDenied, samlShort(second))
		}
		return nil, samlRefused("status " + samlShort(top) + " " + samlShort(second))
	}
	if d := root.SelectAttrValue("Destination", ""); d != "" && d != acs {
		return nil, samlRefused("destination: the response is addressed to another ACS URL")
	}
	if irt := root.SelectAttrValue("InResponseTo", ""); irt != requestID {
		return nil, samlRefused("InResponseTo does not match the request of this sign-in")
	}
	if iss, err := samlChild(root, samlAssertionNS, "Issuer"); err != nil || (iss != nil && strings.TrimSpace(iss.Text()) != idpEntityID) {
		return nil, samlRefused("issuer is not the IdP of the connection")
	}

	plain, err := samlChild(root, samlAssertionNS, "Assertion")
	if err != nil {
		return nil, samlRefused("malformed message: " + err.Error())
	}
	encrypted, err := samlChild(root, samlAssertionNS, "EncryptedAssertion")
	if err != nil {
		return nil, samlRefused("malformed message: " + err.Error())
	}
	var el *etree.Element
	switch {
	case plain != nil && encrypted != nil, plain == nil && encrypted == nil:
		return nil, samlRefused("a required element is missing: the response must hold exactly one assertion")
	case encrypted != nil:
		if el, err = s.decryptAssertion(encrypted); err != nil {
			return nil, samlRefused("encrypted assertion cannot be decrypted")
		}
	default:
		el = plain
	}
	if samlSigned(el) != nil {
		if el, err = verifySignature(el, certs); err != nil {
			return nil, samlRefused("signature: the assertion is not signed by the IdP's certificate")
		}
	} else if !responseSigned {
		return nil, samlRefused("signature: neither the response nor its assertion is signed")
	}
	if el.Tag != "Assertion" || el.NamespaceURI() != samlAssertionNS {
		return nil, samlRefused("malformed message: not an assertion")
	}
	if err := samlCheckNames(el); err != nil {
		return nil, samlRefused("malformed message: " + err.Error())
	}
	a, err := samlUnmarshalAssertion(el)
	if err != nil {
		return nil, samlRefused("malformed message")
	}
	if strings.TrimSpace(a.Issuer.Value) != idpEntityID {
		return nil, samlRefused("issuer is not the IdP of the connection")
	}
	notOnOrAfter, err := samlCheckConditions(el, a, entityID, now)
	if err != nil {
		return nil, err
	}
	if err := samlCheckBearer(a, acs, requestID, now); err != nil {
		return nil, err
	}
	if a.ID == "" {
		return nil, samlRefused("a required element is missing: the assertion has no ID")
	}
	if err := replay.Consume(a.ID, notOnOrAfter.Add(samlSkew)); err != nil {
		if replay.err != nil {
			return nil, replay.err
		}
		return nil, samlRefused("replayed assertion")
	}
	return a, nil
}

// samlCheckNames refuses an assertion whose Issuer or Subject holds an element named like a SAML one in
// another namespace: an XML reader matching by name alone would take it for the real one.
func samlCheckNames(el *etree.Element) error {
	for _, c := range el.ChildElements() {
		if c.Tag == "Issuer" && c.NamespaceURI() != samlAssertionNS {
			return errors.New("an Issuer outside the SAML namespace")
		}
	}
	subject, err := samlChild(el, samlAssertionNS, "Subject")
	if err != nil || subject == nil {
		return errors.New("the assertion has no Subject")
	}
	for _, c := range subject.ChildElements() {
		if (c.Tag == "NameID" || c.Tag == "SubjectConfirmation") && c.NamespaceURI() != samlAssertionNS {
			return fmt.Errorf("a %s outside the SAML namespace", c.Tag)
		}
	}
	return nil
}

func samlUnmarshalAssertion(el *etree.Element) (*saml.Assertion, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	var a saml.Assertion
	if err := xml.Unmarshal(b, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// samlCheckConditions checks the assertion's validity window and audience (every AudienceRestriction
// must name us among its Audiences), and returns when it ends.
func samlCheckConditions(el *etree.Element, a *saml.Assertion, entityID string, now time.Time) (time.Time, error) {
	c := a.Conditions
	if c == nil || c.NotOnOrAfter.IsZero() {
		return time.Time{}, samlRefused("a required element is missing: the assertion has no validity window")
	}
	if !c.NotBefore.IsZero() && now.Add(samlSkew).Before(c.NotBefore) {
		return time.Time{}, samlRefused("assertion not yet valid")
	}
	if !now.Add(-samlSkew).Before(c.NotOnOrAfter) {
		return time.Time{}, samlRefused("assertion expired")
	}
	conditions, _ := samlChild(el, samlAssertionNS, "Conditions")
	restrictions := 0
	if conditions != nil {
		for _, ar := range conditions.ChildElements() {
			if ar.Tag != "AudienceRestriction" || ar.NamespaceURI() != samlAssertionNS {
				continue
			}
			restrictions++
			ok := false
			for _, au := range ar.ChildElements() {
				ok = ok || (au.Tag == "Audience" && au.NamespaceURI() == samlAssertionNS && strings.TrimSpace(au.Text()) == entityID)
			}
			if !ok {
				return time.Time{}, samlRefused("audience: the assertion is not for this service provider")
			}
		}
	}
	if restrictions == 0 {
		return time.Time{}, samlRefused("audience: the assertion names no audience")
	}
	return c.NotOnOrAfter, nil
}

// samlCheckBearer requires a bearer confirmation for our ACS, in answer to our request, not expired.
func samlCheckBearer(a *saml.Assertion, acs, requestID string, now time.Time) error {
	if a.Subject == nil {
		return samlRefused("a required element is missing: the assertion has no Subject")
	}
	var why string
	for _, sc := range a.Subject.SubjectConfirmations {
		d := sc.SubjectConfirmationData
		switch {
		case sc.Method != samlBearer || d == nil:
			why = "a required element is missing: no bearer confirmation"
		case d.Recipient != acs:
			why = "destination: the assertion is addressed to another ACS URL"
		case d.InResponseTo != requestID:
			why = "InResponseTo does not match the request of this sign-in"
		case d.NotOnOrAfter.IsZero() || !now.Add(-samlSkew).Before(d.NotOnOrAfter):
			why = "assertion expired"
		default:
			return nil
		}
	}
	if why == "" {
		why = "a required element is missing: no bearer confirmation"
	}
	return samlRefused(why)
}

// decryptAssertion opens an EncryptedAssertion with our RSA key (the IdP encrypted it to the certificate
// of our metadata) and returns the assertion inside.
func (s *samlConnector) decryptAssertion(encrypted *etree.Element) (*etree.Element, error) {
	key := s.sp.EncryptionKey
	if key == nil {
		return nil, errors.New("no decryption key")
	}
	data, err := samlChild(encrypted, "http://www.w3.org/2001/04/xmlenc#", "EncryptedData")
	if err != nil || data == nil {
		return nil, errors.New("no EncryptedData")
	}
	plain, err := xmlenc.Decrypt(key, data)
	if err != nil {
		return nil, err
	}
	return samlParseXML(bytes.TrimSpace(plain))
}

// samlStatusOf is the top and second-level status codes of a Response.
func samlStatusOf(root *etree.Element) (top, second string) {
	st, _ := samlChild(root, samlProtocolNS, "Status")
	if st == nil {
		return "", ""
	}
	code, _ := samlChild(st, samlProtocolNS, "StatusCode")
	if code == nil {
		return "", ""
	}
	top = code.SelectAttrValue("Value", "")
	if sub, _ := samlChild(code, samlProtocolNS, "StatusCode"); sub != nil {
		second = sub.SelectAttrValue("Value", "")
	}
	return top, second
}
