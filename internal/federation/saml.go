package federation

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

// samlMaxResponse bounds the SAMLResponse form field (base64). Real responses are a few kilobytes; a
// larger one is refused before any XML is parsed, so a hostile post cannot make the server chew on it.
const samlMaxResponse = 512 << 10

// samlConnector is UMM acting as a SAML 2.0 service provider toward one upstream identity provider of
// a connection: it sends the browser there with an AuthnRequest and checks the Response the IdP posts
// back to the connection's assertion consumer service (ACS).
//
// What an operator should know:
//   - The account is linked by the NameID, so the IdP must send a persistent (or otherwise stable)
//     one. A transient NameID is refused, unless attributes maps "subject" to an attribute that is
//     stable (an employee number, an immutable object id); that attribute then identifies the account.
//   - attributes maps a profile field (email, name, given_name, family_name, a custom field) or
//     "groups" to the attribute holding it, by its Name or FriendlyName; unmapped fields take the usual
//     LDAP, OID and Microsoft claim names.
//   - SAML says nothing about whether an address is verified: trust_email is the operator's word that
//     this IdP only asserts addresses its users own.
//   - Only responses to a request UMM sent are accepted (no IdP-initiated sign-in), each assertion
//     once. The Response or the Assertion must be signed by a certificate of the IdP's metadata; UMM
//     checks the Response itself (saml_verify.go), and messages with comments, processing
//     instructions or a DTD are refused.
//   - For compatibility with common IdPs, SHA-1 signatures and AES-CBC encrypted assertions inside an
//     unsigned Response are still accepted, as are IdP certificates past their dates (metadata
//     certificates are only carriers of a key).
type samlConnector struct {
	env  Env
	conn config.Connection
	// sp holds what never changes between requests; every call works on a copy with its own clock
	// (env.Now) and, for Exchange, its own replay check bound to the request's context.
	sp saml.ServiceProvider
}

// newSAML builds the connector from the IdP's metadata (inline, or fetched and cached) and the tenant's
// key, when the server has one.
func newSAML(ctx context.Context, env Env, c config.Connection) (any, error) {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.HTTP == nil {
		env.HTTP = http.DefaultClient
	}
	idp, err := samlIdPMetadata(ctx, env, c)
	if err != nil {
		return nil, err
	}
	acs, err := url.Parse(env.ACSURL)
	if err != nil || acs.Scheme == "" || acs.Host == "" {
		return nil, fmt.Errorf("saml: ACS URL %q is not an absolute URL", env.ACSURL)
	}
	md, err := url.Parse(env.MetadataURL)
	if err != nil || md.Scheme == "" || md.Host == "" {
		return nil, fmt.Errorf("saml: metadata URL %q is not an absolute URL", env.MetadataURL)
	}
	sp := saml.ServiceProvider{
		// Our entity id is the URL of our metadata for this connection, so an IdP administrator can
		// paste one URL and the IdP finds everything else there.
		EntityID:    env.MetadataURL,
		MetadataURL: *md,
		AcsURL:      *acs,
		IDPMetadata: idp,
		// Only the HTTP-POST binding is served at the ACS: the artifact binding would have UMM call
		// the IdP back, which this connection type does not do.
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		AuthnNameIDFormat:                samlNameIDFormat(idp),
		HTTPClient:                       env.HTTP,
		// Many IdPs publish long-expired self-signed certificates in their metadata; the metadata is
		// what the operator trusts, and the key in it is what is checked.
		IgnoreCertificateExpiry: true,
	}
	if env.Signer != nil && env.Certificate != nil {
		if c.SignRequests {
			method, err := samlSignatureMethod(env)
			if err != nil {
				return nil, err
			}
			sp.Key, sp.Certificate, sp.SignatureMethod = env.Signer, env.Certificate, method
		}
		// An RSA key can also open assertions the IdP encrypted to us, so the metadata offers it for
		// encryption; other keys (ECDSA, or a key held elsewhere) cannot do XML decryption.
		if k, ok := env.Signer.(*rsa.PrivateKey); ok {
			sp.EncryptionKey, sp.EncryptionCertificate = k, env.Certificate
		}
	}
	return &samlConnector{env: env, conn: c, sp: sp}, nil
}

// samlNameIDFormat asks for a persistent NameID when the IdP says it can issue one (a stable id of the
// account is what a linked identity needs), and otherwise lets the IdP choose.
func samlNameIDFormat(idp *saml.EntityDescriptor) saml.NameIDFormat {
	for _, d := range idp.IDPSSODescriptors {
		if slices.Contains(d.NameIDFormats, saml.PersistentNameIDFormat) {
			return saml.PersistentNameIDFormat
		}
	}
	return saml.UnspecifiedNameIDFormat
}

func samlSignatureMethod(env Env) (string, error) {
	switch env.Signer.Public().(type) {
	case *rsa.PublicKey:
		return dsig.RSASHA256SignatureMethod, nil
	case *ecdsa.PublicKey:
		return dsig.ECDSASHA256SignatureMethod, nil
	default:
		return "", fmt.Errorf("saml: the tenant's key (%T) cannot sign requests", env.Signer.Public())
	}
}

// at is the service provider as of env.Now: everything the library dates or checks against the clock
// (request timestamps, assertion validity, certificate validity) uses it.
func (s *samlConnector) at() saml.ServiceProvider {
	sp := s.sp
	sp.Clock = dsig.NewFakeClockAt(s.env.Now())
	return sp
}

// AuthURL sends the browser to the IdP's single sign-on service with an AuthnRequest over the
// HTTP-Redirect binding; the RelayState is b.State, and b.RequestID the request's id, which the response
// must answer.
func (s *samlConnector) AuthURL(ctx context.Context, b *Begin) (string, error) {
	sp := s.at()
	dest := sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if dest == "" {
		return "", fmt.Errorf("saml: the IdP's metadata has no SingleSignOnService with the HTTP-Redirect binding (only that binding is supported)")
	}
	req, err := sp.MakeAuthenticationRequest(dest, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", fmt.Errorf("saml: authn request: %w", err)
	}
	u, err := req.Redirect(b.State, &sp)
	if err != nil {
		return "", fmt.Errorf("saml: authn request: %w", err)
	}
	b.RequestID = req.ID
	return u.String(), nil
}

// Metadata is our service provider metadata for this connection, for the IdP administrator.
func (s *samlConnector) Metadata(ctx context.Context) ([]byte, error) {
	sp := s.at()
	out, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("saml: metadata: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}

// Exchange checks the Response the IdP posted to the ACS and answers who signed in.
func (s *samlConnector) Exchange(ctx context.Context, r *http.Request, b Begin) (Identity, error) {
	if err := r.ParseForm(); err != nil {
		return Identity{}, fmt.Errorf("%w: saml: form: %v", ErrInvalidResponse, err)
	}
	if r.PostForm.Get("SAMLart") != "" {
		return Identity{}, fmt.Errorf("%w: saml: the artifact binding is not supported", ErrInvalidResponse)
	}
	// The RelayState ties the post to the browser's own flow; compared in constant time since it is
	// the secret of that flow.
	relay := r.PostForm.Get("RelayState")
	if b.State == "" || subtle.ConstantTimeCompare([]byte(relay), []byte(b.State)) != 1 {
		return Identity{}, fmt.Errorf("%w: saml: RelayState does not match the sign-in", ErrInvalidResponse)
	}
	// Only answers to a request we made are accepted: an unsolicited (IdP-initiated) response has no
	// request to tie it to and could be replayed into any browser's flow.
	if b.RequestID == "" {
		return Identity{}, fmt.Errorf("%w: saml: InResponseTo: the sign-in has no request id (unsolicited responses are refused)", ErrInvalidResponse)
	}
	enc := r.PostForm.Get("SAMLResponse")
	if enc == "" {
		return Identity{}, fmt.Errorf("%w: saml: no SAMLResponse in the post", ErrInvalidResponse)
	}
	if len(enc) > samlMaxResponse {
		return Identity{}, fmt.Errorf("%w: saml: SAMLResponse too large", ErrInvalidResponse)
	}
	// Some IdPs wrap the base64 in lines.
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(enc), ""))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: saml: SAMLResponse is not base64", ErrInvalidResponse)
	}

	replay := &samlReplay{ctx: ctx, db: s.env.DB, tenantID: s.env.TenantID}
	// The response must be addressed to the ACS URL itself, whatever URL the request came in on
	// behind proxies.
	assertion, err := s.verifyResponse(raw, b.RequestID, replay)
	if err != nil {
		if s.env.Log != nil {
			s.env.Log.Info("saml response refused", "tenant", s.env.TenantID, "connection", s.conn.ID, "err", err)
		}
		return Identity{}, err
	}
	return s.identity(assertion)
}

// samlShort is the last word of a status URN, which is what a log reader needs.
func samlShort(urn string) string {
	if i := strings.LastIndexByte(urn, ':'); i >= 0 {
		urn = urn[i+1:]
	}
	if len(urn) > 64 {
		urn = urn[:64]
	}
	return urn
}

// samlReplay records each accepted assertion id in the store until the assertion would expire, so a
// response captured on the way (browser history, a proxy log) cannot sign in a second time, on any
// server of the cluster.
type samlReplay struct {
	ctx      context.Context
	db       *store.DB
	tenantID string
	err      error // a store failure, which is ours and not the response's
}

func (r *samlReplay) Consume(id string, expires time.Time) error {
	if r.db == nil {
		r.err = errors.New("saml: no store to record the assertion id")
		return r.err
	}
	ok, err := r.db.UseAssertion(r.ctx, r.tenantID, id, expires)
	if err != nil {
		r.err = err
		return err
	}
	if !ok {
		return saml.ErrAssertionReplayed
	}
	return nil
}
