package saml

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
)

// assertionLifetime bounds the assertion's Conditions and its bearer confirmation: the browser posts it
// at once, and a short window limits what a stolen one is worth (saml-profiles §4.1.4.2).
const assertionLifetime = 5 * time.Minute

// Authentication context classes (saml-authn-context §3.4) and the REFEDS MFA profile, which SPs
// recognise for a sign-in with two factors.
const (
	acPasswordProtectedTransport = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	acUnspecified                = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
	acREFEDSMFA                  = "https://refeds.org/profile/mfa"
)

// assertionInput is who signed in, how, and for what: what a Response is made of.
type assertionInput struct {
	Tenant       string
	App          config.SAMLApp
	ACS          string
	InResponseTo string
	User         store.User
	SessionID    string
	AuthTime     time.Time
	AMR          []string
	ACR          string
}

// signer is the tenant's key and certificate for what the IdP signs.
type signer struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func (s signer) context() (*dsig.SigningContext, error) {
	ctx, err := dsig.NewSigningContext(s.key, [][]byte{s.cert.Raw})
	if err != nil {
		return nil, err
	}
	// Exclusive canonicalization, so an assertion keeps verifying once it is taken out of its Response.
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	return ctx, nil
}

// signEnveloped signs el and returns its ds:Signature element.
func (s signer) signEnveloped(el *etree.Element) (*etree.Element, error) {
	ctx, err := s.context()
	if err != nil {
		return nil, err
	}
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		return nil, err
	}
	return signed.Child[len(signed.Child)-1].(*etree.Element), nil
}

// newID is a SAML ID: an xs:ID must not start with a digit, so it starts with an underscore.
func newID() string { return "_" + keys.NewID() }

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// buildResponse makes the base64 SAMLResponse for in: a Response (signed when sign_response) with one
// Assertion (signed when sign_assertion, then encrypted to the SP's certificate when encrypt_assertion).
func (h *IdP) buildResponse(in assertionInput, s signer, now time.Time) (string, error) {
	issuer := h.entityID(in.Tenant)
	a := &crewjam.Assertion{
		ID: newID(), IssueInstant: now, Version: "2.0",
		Issuer: crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: issuer},
		Subject: &crewjam.Subject{
			NameID: h.nameID(in, issuer),
			SubjectConfirmations: []crewjam.SubjectConfirmation{{
				Method: "urn:oasis:names:tc:SAML:2.0:cm:bearer",
				SubjectConfirmationData: &crewjam.SubjectConfirmationData{
					NotOnOrAfter: now.Add(assertionLifetime), Recipient: in.ACS, InResponseTo: in.InResponseTo,
				},
			}},
		},
		Conditions: &crewjam.Conditions{
			// A little slack before now for SPs whose clocks run behind.
			NotBefore: now.Add(-30 * time.Second), NotOnOrAfter: now.Add(assertionLifetime),
			AudienceRestrictions: []crewjam.AudienceRestriction{{Audience: crewjam.Audience{Value: in.App.EntityID}}},
		},
		AuthnStatements: []crewjam.AuthnStatement{{
			AuthnInstant: in.AuthTime, SessionIndex: in.SessionID,
			AuthnContext: crewjam.AuthnContext{AuthnContextClassRef: &crewjam.AuthnContextClassRef{Value: authnContextClass(in.AMR, in.ACR)}},
		}},
	}
	if attrs := attributes(in.App, in.User); len(attrs) > 0 {
		a.AttributeStatements = []crewjam.AttributeStatement{{Attributes: attrs}}
	}
	if boolOr(in.App.SignAssertion, true) {
		sig, err := s.signEnveloped(a.Element())
		if err != nil {
			return "", fmt.Errorf("sign assertion: %w", err)
		}
		a.Signature = sig
	}
	resp := &crewjam.Response{
		ID: newID(), InResponseTo: in.InResponseTo, Version: "2.0", IssueInstant: now, Destination: in.ACS,
		Issuer: &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: issuer},
		Status: crewjam.Status{StatusCode: crewjam.StatusCode{Value: crewjam.StatusSuccess}},
	}
	if in.App.EncryptAssertion {
		enc, err := encryptAssertion(in.App, a.Element())
		if err != nil {
			return "", err
		}
		resp.EncryptedAssertion = enc
	} else {
		resp.Assertion = a
	}
	return h.finishResponse(resp, s, boolOr(in.App.SignResponse, true))
}

// finishResponse signs resp when sign is set and encodes it for the HTTP-POST binding.
func (h *IdP) finishResponse(resp *crewjam.Response, s signer, sign bool) (string, error) {
	if sign {
		sig, err := s.signEnveloped(resp.Element())
		if err != nil {
			return "", fmt.Errorf("sign response: %w", err)
		}
		resp.Signature = sig
	}
	doc := etree.NewDocument()
	doc.SetRoot(resp.Element())
	b, err := doc.WriteToBytes()
	if err != nil {
		return "", fmt.Errorf("encode response: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// encryptAssertion encrypts the (signed) assertion to the SP's certificate: RSA-OAEP for the key and
// AES-256-GCM for the content, which, unlike CBC, cannot be altered undetected.
func encryptAssertion(app config.SAMLApp, assertion *etree.Element) (*etree.Element, error) {
	cert, err := spCertificate(app)
	if err != nil || cert == nil {
		return nil, fmt.Errorf("encrypt assertion: the app has no usable certificate: %v", err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(assertion)
	plain, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("encrypt assertion: %w", err)
	}
	e := xmlenc.OAEP()
	e.BlockCipher = xmlenc.AES256GCM
	e.DigestMethod = &xmlenc.SHA1
	data, err := e.Encrypt(cert, plain, nil)
	if err != nil {
		return nil, fmt.Errorf("encrypt assertion: %w", err)
	}
	data.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	el := etree.NewElement("saml:EncryptedAssertion")
	el.AddChild(data)
	return el, nil
}

// nameID identifies the user to the SP in the app's format. persistent is pairwise: a keyed hash of
// tenant, SP and user, stable for that SP and unlinkable across SPs; transient is new every time.
func (h *IdP) nameID(in assertionInput, issuer string) *crewjam.NameID {
	switch in.App.NameIDFormatOr() {
	case config.NameIDPersistent:
		mac := h.keyring.MAC("saml persistent nameid", []byte(in.Tenant+"\x00"+in.App.EntityID+"\x00"+in.User.ID))
		return &crewjam.NameID{Format: string(crewjam.PersistentNameIDFormat), NameQualifier: issuer,
			SPNameQualifier: in.App.EntityID, Value: base64.RawURLEncoding.EncodeToString(mac)}
	case config.NameIDTransient:
		return &crewjam.NameID{Format: string(crewjam.TransientNameIDFormat), NameQualifier: issuer,
			SPNameQualifier: in.App.EntityID, Value: newID()}
	case config.NameIDUnspecified:
		return &crewjam.NameID{Format: string(crewjam.UnspecifiedNameIDFormat), Value: in.User.ID}
	}
	return &crewjam.NameID{Format: string(crewjam.EmailAddressNameIDFormat), Value: in.User.Email}
}

// authnContextClass says how the person signed in: the REFEDS MFA profile when the session proved two
// factors, PasswordProtectedTransport for a password (UMM is served over TLS), unspecified otherwise.
func authnContextClass(amr []string, acr string) string {
	switch {
	case session.Satisfies(acr, session.ACRTwoFactors):
		return acREFEDSMFA
	case slices.Contains(amr, "pwd"):
		return acPasswordProtectedTransport
	}
	return acUnspecified
}

// attributes are the app's attribute mapping applied to u, in attribute-name order; fields u has no
// value for are left out.
func attributes(app config.SAMLApp, u store.User) []crewjam.Attribute {
	names := make([]string, 0, len(app.Attributes))
	for n := range app.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []crewjam.Attribute
	for _, n := range names {
		vals := fieldValues(app.Attributes[n], u)
		if len(vals) == 0 {
			continue
		}
		a := crewjam.Attribute{Name: n, NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"}
		if strings.Contains(n, ":") {
			a.NameFormat = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
		}
		for _, v := range vals {
			a.Values = append(a.Values, crewjam.AttributeValue{Type: "xs:string", Value: v})
		}
		out = append(out, a)
	}
	return out
}

// fieldValues is the value of a profile field of u ("roles": one value per role).
func fieldValues(field string, u store.User) []string {
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	switch field {
	case "roles":
		return u.Roles
	case "sub", "user_id":
		return one(u.ID)
	case "email":
		return one(u.Email)
	case "email_verified":
		return one(fmt.Sprint(u.EmailVerified))
	case "given_name":
		return one(u.GivenName)
	case "family_name":
		return one(u.FamilyName)
	case "name":
		if v, ok := u.Profile.Claims["name"]; ok {
			return one(fmt.Sprint(v))
		}
		return one(strings.TrimSpace(u.GivenName + " " + u.FamilyName))
	}
	if v, ok := u.Profile.Claims[field]; ok {
		return one(fmt.Sprint(v))
	}
	if v, ok := u.Profile.Attributes[field]; ok {
		return one(fmt.Sprint(v))
	}
	return nil
}
