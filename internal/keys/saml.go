package keys

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// samlCertValidity is how long a SAML certificate claims to be valid. SAML peers trust the key in the
// IdP's metadata, not the certificate's dates, but some check the dates anyway: a long span keeps them
// quiet, and rotation replaces the key long before.
const samlCertValidity = 20 * 365 * 24 * time.Hour

// SAMLCredentials returns the tenant's current RSA signing key (the RS256 key of its JWKS) and a
// self-signed X.509 certificate for it, which SAML metadata publishes and XML signatures carry. The
// tenant's keys are created on first use.
func (m *Manager) SAMLCredentials(ctx context.Context, tenantID string) (crypto.Signer, *x509.Certificate, error) {
	s, err := m.keys(ctx, tenantID, false)
	if err != nil {
		return nil, nil, fmt.Errorf("SAML credentials: %w", err)
	}
	k := s.current[RS256]
	if k == nil || k.priv == nil {
		return nil, nil, fmt.Errorf("SAML credentials: tenant %s has no current %s key", tenantID, RS256)
	}
	cert, err := k.samlCertificate(tenantID)
	if err != nil {
		return nil, nil, err
	}
	return k.priv, cert, nil
}

// SAMLCertificates returns the certificates of the tenant's current RSA key and of the next one when a
// rotation has announced it, current first: metadata lists both, so SPs that refresh it trust the next
// key before it signs anything.
func (m *Manager) SAMLCertificates(ctx context.Context, tenantID string) ([]*x509.Certificate, error) {
	_, cur, err := m.SAMLCredentials(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := []*x509.Certificate{cur}
	s, err := m.keys(ctx, tenantID, false)
	if err != nil {
		return nil, fmt.Errorf("SAML certificates: %w", err)
	}
	for _, k := range s.byKid {
		if k.alg == RS256 && k.status == store.KeyStatusNext && k.priv != nil {
			c, err := k.samlCertificate(tenantID)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// samlCertificate makes the key's certificate once per process. Everything in it derives from the key
// (subject = tenant, serial and validity from the key's id and creation time), and RSA PKCS #1 v1.5
// signatures are deterministic, so every node and every restart publishes the very same certificate.
func (k *signingKey) samlCertificate(tenantID string) (*x509.Certificate, error) {
	if c := k.cert.Load(); c != nil {
		return c, nil
	}
	if k.priv == nil {
		return nil, errors.New("SAML certificate: the key's private half is not open")
	}
	serial := sha256.Sum256([]byte(tenantID + "|" + k.kid + "|" + k.created.UTC().Format(time.RFC3339)))
	serial[0] &= 0x7f // a positive serial of at most 20 octets (RFC 5280 §4.1.2.2)
	notBefore := k.created.UTC().Truncate(time.Second).Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial[:16]),
		Subject:               pkix.Name{CommonName: tenantID},
		Issuer:                pkix.Name{CommonName: tenantID},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(samlCertValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.pub, k.priv)
	if err != nil {
		return nil, fmt.Errorf("SAML certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("SAML certificate: %w", err)
	}
	k.cert.CompareAndSwap(nil, c)
	return k.cert.Load(), nil
}
