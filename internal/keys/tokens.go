package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strings"
	"unicode"
)

// NewToken returns 32 random bytes in base64url without padding (43 characters): refresh tokens,
// authorization codes, device codes, session cookies. Store only HashToken of it.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns 16 random bytes in lower-case base32 without padding (26 characters): ids of users,
// sessions, grants, login requests.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// HashToken returns SHA-256 of token, the form in which tokens, codes and cookies are stored. The tokens
// hashed here are 256-bit random values, so a fast unkeyed hash is enough.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// UserCodeAlphabet is the alphabet of device user codes: upper-case consonants without vowels (no words)
// and without Y.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// NewUserCode returns a device-flow user code (RFC 8628 §6.1): 8 characters from UserCodeAlphabet, shown as
// XXXX-XXXX (20^8, about 34 bits, enough with the device code's short life and per-IP limits).
func NewUserCode() string {
	const n = len(UserCodeAlphabet)
	limit := byte(256 - 256%n) // reject bytes >= limit: no modulo bias
	out := make([]byte, 0, 9)
	var buf [16]byte
	for len(out) < 9 {
		_, _ = rand.Read(buf[:])
		for _, c := range buf {
			if c >= limit {
				continue
			}
			if len(out) == 4 {
				out = append(out, '-')
			}
			out = append(out, UserCodeAlphabet[int(c)%n])
			if len(out) == 9 {
				break
			}
		}
	}
	return string(out)
}

// NormalizeUserCode turns what a user typed into the canonical form that is hashed and compared: upper
// case, with every white space character and hyphen removed wherever it is (a code typed or pasted with
// a tab or a non-breaking space is the same code). Nothing else is mapped (no O to 0 or similar), so a
// wrong character stays wrong. Normalising a normal form changes nothing.
func NormalizeUserCode(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
}
