package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestSAMLCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		tenant := storetest.Tenant(t, db)
		m := newTestManager(db, clk)
		signer, cert, err := m.SAMLCredentials(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("the certificate names the tenant and holds the RSA signing key", func(t *testing.T) {
			pub, ok := cert.PublicKey.(*rsa.PublicKey)
			if !ok || !pub.Equal(signer.Public()) || cert.Subject.CommonName != tenant {
				t.Fatalf("certificate %v for %T", cert.Subject, cert.PublicKey)
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Errorf("the certificate is not self-signed by its key: %v", err)
			}
			digest := sha256.Sum256([]byte("signed info"))
			sig, err := signer.Sign(nil, digest[:], crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
				t.Errorf("a signature by the key does not verify with the certificate: %v", err)
			}
		})

		t.Run("another node, or a restart, publishes the very same certificate", func(t *testing.T) {
			other := newTestManager(db, clk)
			_, again, err := other.SAMLCredentials(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Raw, cert.Raw) {
				t.Error("a second manager made a different certificate for the same key")
			}
		})

		t.Run("another tenant gets another key and certificate", func(t *testing.T) {
			_, oc, err := m.SAMLCredentials(ctx, storetest.Tenant(t, db))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(oc.Raw, cert.Raw) || oc.Subject.CommonName == tenant {
				t.Error("two tenants share a SAML certificate")
			}
		})

		t.Run("metadata lists the current certificate first and the next key's too", func(t *testing.T) {
			certs, err := m.SAMLCertificates(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != 2 || !bytes.Equal(certs[0].Raw, cert.Raw) || bytes.Equal(certs[1].Raw, cert.Raw) {
				t.Errorf("%d certificates; want the current one, then the next one", len(certs))
			}
		})
	})
}
