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
//
// It can hold previous master keys too (a master key rotation): the master key seals, every key opens.
// The keys of client secret hashes and MACs derive from the hash root, which is the first master key a
// database was used with (OpenKeyring keeps it sealed in the database), so that a new master key leaves
// every stored hash valid.
type Keyring struct {
	aead      cipher.AEAD   // seals; from the master key
	opens     []cipher.AEAD // aead, then those of the previous keys
	root      []byte        // hash root
	secretKey []byte
	macKeys   sync.Map // label -> []byte
}

// NewKeyring derives the at-rest AEAD key (AES-256-GCM) and the HMAC keys from master with HKDF-SHA256;
// previous keys are accepted for opening only. Keys must be the 32 bytes returned by LoadMasterKey;
// anything else is a programming error and panics. The hash root is master (OpenKeyring sets the stored one).
func NewKeyring(master []byte, previous ...[]byte) *Keyring {
	kr := &Keyring{aead: newAEAD(master)}
	kr.opens = append(kr.opens, kr.aead)
	for _, p := range previous {
		kr.opens = append(kr.opens, newAEAD(p))
	}
	kr.setRoot(master)
	return kr
}

func newAEAD(key []byte) cipher.AEAD {
	if len(key) != 32 {
		panic(fmt.Sprintf("keys: master key is %d bytes; it must be 32", len(key)))
	}
	block, err := aes.NewCipher(derive(key, labelAtRest))
	if err != nil {
		panic("keys: " + err.Error())
	}
	// A random 96-bit nonce per message, prefixed to the ciphertext by the AEAD itself.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic("keys: " + err.Error())
	}
	return aead
}

// setRoot sets the hash root; only before the keyring is shared.
func (kr *Keyring) setRoot(root []byte) {
	kr.root = append([]byte(nil), root...)
	kr.secretKey = derive(kr.root, labelClientSecret)
	kr.macKeys.Clear()
}

func derive(key []byte, label string) []byte {
	k, err := hkdf.Key(sha256.New, key, nil, label, 32)
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

// Open decrypts a value sealed by Seal with the same aad, under the master key or a previous one.
func (kr *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	plain, _, err := kr.open(sealed, aad)
	return plain, err
}

// open is Open that also reports whether the value is sealed under the master key (not a previous one).
func (kr *Keyring) open(sealed, aad []byte) (plain []byte, current bool, err error) {
	if len(sealed) < 1+kr.aead.Overhead() {
		return nil, false, fmt.Errorf("open: %w: too short", ErrOpen)
	}
	if sealed[0] != sealVersion {
		return nil, false, fmt.Errorf("open: %w: unknown format version %d", ErrOpen, sealed[0])
	}
	for i, a := range kr.opens {
		if plain, err := a.Open(nil, nil, sealed[1:], aad); err == nil {
			return plain, i == 0, nil
		}
	}
	return nil, false, fmt.Errorf("open: %w", ErrOpen)
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
		k, _ = kr.macKeys.LoadOrStore(label, derive(kr.root, labelMACPrefix+label))
	}
	m := hmac.New(sha256.New, k.([]byte))
	m.Write(data)
	return m.Sum(nil)
}
