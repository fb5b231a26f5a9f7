// Package webauthntest is a software WebAuthn authenticator for tests: it answers the options UMM hands to
// navigator.credentials.create and .get the way a browser and an authenticator would together, with a
// P-256 key, "none" attestation, and clientDataJSON and authenticator data built as WebAuthn Level 3
// §5.8.1 and §6.1 describe them. Its fields let a test break one thing at a time (origin, RP ID, user
// verification, the signature counter).
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Authenticator flags (WebAuthn §6.1, "flags").
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
)

// Authenticator holds one credential (after Create) and answers ceremonies with it.
type Authenticator struct {
	// Origin is the origin the client data names (the page's origin as the browser would report it).
	Origin string
	// RPID, when set, replaces the options' RP ID in the RP ID hash (a phishing site's answer).
	RPID string
	// NoUV leaves the UV flag out (an authenticator that did not verify the user).
	NoUV bool
	// Attachment is reported as authenticatorAttachment: "platform" (default) or "cross-platform".
	Attachment string
	// Counter is the signature counter; each signature adds one first. A test may set it back.
	Counter uint32
	// IgnoreExclusions creates a credential even when the options exclude it (a broken or hostile client).
	IgnoreExclusions bool
	// AAGUID is the authenticator model (zero: none).
	AAGUID [16]byte

	Key          *ecdsa.PrivateKey
	CredentialID []byte
	UserHandle   []byte
	rpID         string // the RP ID the credential was created for
}

// New returns an authenticator for pages served from origin, with a fresh key and credential id.
func New(origin string) *Authenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &Authenticator{Origin: origin, Attachment: "platform", Key: k, CredentialID: id}
}

var b64 = base64.RawURLEncoding

// options is the part of the creation and request options the authenticator reads.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

// ErrExcluded is Create's answer when the options exclude this authenticator's credential.
var ErrExcluded = errors.New("webauthntest: credential excluded")

// ErrNotAllowed is Get's answer when the options allow other credentials only.
var ErrNotAllowed = errors.New("webauthntest: credential not allowed")

// clientData is the CollectedClientData JSON (WebAuthn §5.8.1).
func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// authData is the authenticator data (WebAuthn §6.1): RP ID hash, flags, counter, then attested
// credential data when attested is not nil.
func (a *Authenticator) authData(rpID string, attested []byte) []byte {
	if a.RPID != "" {
		rpID = a.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	flags := byte(flagUP)
	if !a.NoUV {
		flags |= flagUV
	}
	if attested != nil {
		flags |= flagAT
	}
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.Counter)
	return append(out, attested...)
}

// Create answers creation options (JSON, {"publicKey": ...}) with a PublicKeyCredential as JSON.
func (a *Authenticator) Create(optionsJSON []byte) ([]byte, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, err
	}
	for _, c := range o.PublicKey.ExcludeCredentials {
		if c.ID == b64.EncodeToString(a.CredentialID) && !a.IgnoreExclusions {
			return nil, ErrExcluded
		}
	}
	uh, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user id: %w", err)
	}
	a.UserHandle, a.rpID = uh, o.PublicKey.RP.ID
	// Attested credential data (§6.5.2): AAGUID, credential id length and id, the COSE public key.
	att := append([]byte{}, a.AAGUID[:]...)
	att = binary.BigEndian.AppendUint16(att, uint16(len(a.CredentialID)))
	att = append(att, a.CredentialID...)
	att = append(att, a.coseKey()...)
	authData := a.authData(o.PublicKey.RP.ID, att)
	// The attestation object with the "none" format (§8.7): {"fmt": "none", "attStmt": {}, "authData": ...}.
	var obj []byte
	obj = cborHead(obj, 5, 3)
	obj = cborText(obj, "fmt")
	obj = cborText(obj, "none")
	obj = cborText(obj, "attStmt")
	obj = cborHead(obj, 5, 0)
	obj = cborText(obj, "authData")
	obj = cborBytes(obj, authData)
	cd := a.clientData("webauthn.create", o.PublicKey.Challenge)
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"authenticatorAttachment": a.Attachment,
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(obj),
			"transports": []string{"internal"},
		},
		"clientExtensionResults": map[string]any{"credProps": map[string]any{"rk": true}},
	})
}

// Get answers request options (JSON, {"publicKey": ...}) with a PublicKeyCredential as JSON: a signature
// over the authenticator data and the hash of the client data, after adding one to the counter.
func (a *Authenticator) Get(optionsJSON []byte) ([]byte, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, err
	}
	if allow := o.PublicKey.AllowCredentials; len(allow) > 0 {
		ok := false
		for _, c := range allow {
			ok = ok || c.ID == b64.EncodeToString(a.CredentialID)
		}
		if !ok {
			return nil, ErrNotAllowed
		}
	}
	a.Counter++
	rpID := o.PublicKey.RPID
	if rpID == "" {
		rpID = a.rpID
	}
	authData := a.authData(rpID, nil)
	cd := a.clientData("webauthn.get", o.PublicKey.Challenge)
	sig, err := a.Sign(authData, cd)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"authenticatorAttachment": a.Attachment,
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(authData),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(a.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

// Sign is the assertion signature (§6.3.3): ECDSA with SHA-256, ASN.1 DER, over authenticator data
// followed by the SHA-256 of the client data.
func (a *Authenticator) Sign(authData, clientData []byte) ([]byte, error) {
	h := sha256.Sum256(clientData)
	msg := sha256.Sum256(append(append([]byte{}, authData...), h[:]...))
	return ecdsa.SignASN1(rand.Reader, a.Key, msg[:])
}

// coseKey is the public key as a COSE_Key (RFC 9053 §7.1.1): {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256),
// -2: x, -3: y}.
func (a *Authenticator) coseKey() []byte {
	pub, err := a.Key.PublicKey.Bytes() // 0x04 || x || y
	if err != nil {
		panic(err)
	}
	x, y := pub[1:33], pub[33:65]
	var k []byte
	k = cborHead(k, 5, 5)
	k = cborInt(k, 1)
	k = cborInt(k, 2)
	k = cborInt(k, 3)
	k = cborInt(k, -7)
	k = cborInt(k, -1)
	k = cborInt(k, 1)
	k = cborInt(k, -2)
	k = cborBytes(k, x)
	k = cborInt(k, -3)
	k = cborBytes(k, y)
	return k
}

// cborHead appends a CBOR item head (RFC 8949 §3): major type and argument.
func cborHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n < 1<<8:
		return append(b, m|24, byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
}

func cborInt(b []byte, n int64) []byte {
	if n < 0 {
		return cborHead(b, 1, uint64(-1-n))
	}
	return cborHead(b, 0, uint64(n))
}

func cborBytes(b, v []byte) []byte { return append(cborHead(b, 2, uint64(len(v))), v...) }

func cborText(b []byte, s string) []byte { return append(cborHead(b, 3, uint64(len(s))), s...) }
