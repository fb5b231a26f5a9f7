package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
)

// HKDF labels (info) of the keys derived from the master key. Changing one makes every value sealed or
// hashed with it unreadable.
const (
	labelAtRest       = "umm at-rest"
	labelClientSecret = "umm client secret"
	labelMACPrefix    = "umm mac: "
)

// sealVersion is the first byte of every sealed value, so the format (or the master key) can change later.
const sealVersion byte = 1

// Keyring holds the keys derived from the master key. It is safe for concurrent use.
type Keyring struct {
	master    []byte
	aead      cipher.AEAD
	secretKey []byte
	macKeys   sync.Map // label -> []byte
}

// NewKeyring derives the at-rest AEAD key (AES-256-GCM) and the HMAC keys from master with HKDF-SHA256.
// master must be the 32 bytes returned by LoadMasterKey; anything else is a programming error and panics.
func NewKeyring(master []byte) *Keyring {
	if len(master) != 32 {
		panic(fmt.Sprintf("keys: master key is %d bytes; it must be 32", len(master)))
	}
	kr := &Keyring{master: append([]byte(nil), master...)}
	block, err := aes.NewCipher(kr.derive(labelAtRest))
	if err != nil {
		panic("keys: " + err.Error())
	}
	// A random 96-bit nonce per message, prefixed to the ciphertext by the AEAD itself.
	if kr.aead, err = cipher.NewGCMWithRandomNonce(block); err != nil {
		panic("keys: " + err.Error())
	}
	kr.secretKey = kr.derive(labelClientSecret)
	return kr
}

func (kr *Keyring) derive(label string) []byte {
	k, err := hkdf.Key(sha256.New, kr.master, nil, label, 32)
	if err != nil {
		panic("keys: hkdf: " + err.Error()) // only for lengths out of range
	}
	return k
}

// Seal encrypts and authenticates plain, binding it to aad (for example "tenant|kid", so a sealed value
// copied to another row does not open).
func (kr *Keyring) Seal(plain, aad []byte) ([]byte, error) {
	out := make([]byte, 1, 1+len(plain)+kr.aead.Overhead())
	out[0] = sealVersion
	return kr.aead.Seal(out, nil, plain, aad), nil
}

// ErrOpen is returned by Open when a sealed value is damaged, was sealed with another master key or
// another aad.
var ErrOpen = errors.New("sealed value does not open (tampered, wrong master key or wrong aad)")

// Open decrypts a value sealed by Seal with the same aad.
func (kr *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+kr.aead.Overhead() {
		return nil, fmt.Errorf("open: %w: too short", ErrOpen)
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("open: %w: unknown format version %d", ErrOpen, sealed[0])
	}
	plain, err := kr.aead.Open(nil, nil, sealed[1:], aad)
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrOpen)
	}
	return plain, nil
}

// HashSecret returns HMAC-SHA256 of a client secret under a key derived from the master key: a stolen
// database alone does not allow offline guessing. UMM-generated secrets are 256-bit random, so a fast
// keyed hash is enough.
func (kr *Keyring) HashSecret(secret string) []byte {
	m := hmac.New(sha256.New, kr.secretKey)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// CheckSecret reports, in constant time, whether secret hashes to hash.
func (kr *Keyring) CheckSecret(secret string, hash []byte) bool {
	if len(hash) == 0 {
		return false
	}
	return hmac.Equal(kr.HashSecret(secret), hash)
}

// MAC returns HMAC-SHA256 of data under a key derived from the master key for label ("csrf", "seed", ...).
// Different labels give independent keys.
func (kr *Keyring) MAC(label string, data []byte) []byte {
	k, ok := kr.macKeys.Load(label)
	if !ok {
		k, _ = kr.macKeys.LoadOrStore(label, kr.derive(labelMACPrefix+label))
	}
	m := hmac.New(sha256.New, k.([]byte))
	m.Write(data)
	return m.Sum(nil)
}
