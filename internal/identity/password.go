package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/umm-project/umm/internal/config"
)

// Argon2id output sizes (RFC 9106 §4 recommends a 128-bit salt; a 256-bit tag).
const (
	saltLen = 16
	keyLen  = 32
)

// Bounds on parameters read back from a stored hash, so that a corrupted or hostile row cannot make one
// verification allocate unbounded memory or run for minutes.
const (
	maxMemoryKiB   = 4 << 20 // 4 GiB
	maxIterations  = 64
	minStoredKey   = 16
	maxStoredKey   = 64
	maxStoredSalt  = 64
	argon2idPrefix = "$argon2id$"
)

// errMalformedHash: a stored hash is not an argon2id PHC string we can verify.
var errMalformedHash = errors.New("malformed password hash")

// argonParams are the parameters encoded in a PHC string.
type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
}

func paramsOf(sec config.Security) argonParams {
	p := argonParams{memory: sec.Argon2MemoryKiB, time: sec.Argon2Iterations, threads: sec.Argon2Parallelism}
	// Zero values (an unvalidated config in a test) fall back to the defaults rather than a useless hash.
	d := config.Default().Security
	if p.memory == 0 {
		p.memory = d.Argon2MemoryKiB
	}
	if p.time == 0 {
		p.time = d.Argon2Iterations
	}
	if p.threads == 0 {
		p.threads = d.Argon2Parallelism
	}
	return p
}

// HashPassword returns the argon2id PHC string of password with sec's parameters, a random 16-byte salt and a
// 32-byte key: $argon2id$v=19$m=<KiB>,t=<iterations>,p=<parallelism>$<salt>$<key> (base64 without padding).
// It does not wait for the Service's semaphore; use (*Service).HashPassword in request paths.
func HashPassword(password string, sec config.Security) string { return hashPassword(password, sec) }

func hashPassword(password string, sec config.Security) string {
	p := paramsOf(sec)
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, keyLen)
	return formatPHC(p, salt, key)
}

func formatPHC(p argonParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// dummyPHC is a PHC string with sec's parameters and random salt and key: verifying any password against it
// costs exactly one argon2id computation and never matches (no password hashes to 32 random bytes), and
// making it costs nothing, so start-up does not pay for a hash.
func dummyPHC(sec config.Security) string {
	salt, key := make([]byte, saltLen), make([]byte, keyLen)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	return formatPHC(paramsOf(sec), salt, key)
}

// VerifyPassword reports whether password matches the PHC string phc. The parameters are read from phc, so
// hashes made with older parameters keep verifying after the configuration changes. The comparison is in
// constant time. A malformed phc is an error (and no match).
func VerifyPassword(phc, password string) (bool, error) {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether phc was made with parameters other than sec's (or is not argon2id at all),
// so that a successful sign-in should store a fresh hash.
func NeedsRehash(phc string, sec config.Security) bool {
	p, salt, key, err := parsePHC(phc)
	return err != nil || p != paramsOf(sec) || len(salt) != saltLen || len(key) != keyLen
}

func parsePHC(phc string) (argonParams, []byte, []byte, error) {
	var p argonParams
	rest, ok := strings.CutPrefix(phc, argon2idPrefix)
	if !ok {
		return p, nil, nil, fmt.Errorf("%w: not argon2id", errMalformedHash)
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 4 {
		return p, nil, nil, fmt.Errorf("%w: want 4 fields after the algorithm", errMalformedHash)
	}
	var version int
	if _, err := fmt.Sscanf(parts[0], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: version %q", errMalformedHash, parts[0])
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[1], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.memory, p.time, threads) != parts[1] {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", errMalformedHash, parts[1])
	}
	if p.memory < 8 || p.memory > maxMemoryKiB || p.time < 1 || p.time > maxIterations || threads < 1 || threads > 255 ||
		p.memory < 8*threads {
		return p, nil, nil, fmt.Errorf("%w: parameters %q out of range", errMalformedHash, parts[1])
	}
	p.threads = uint8(threads)
	salt, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(salt) < 8 || len(salt) > maxStoredSalt {
		return p, nil, nil, fmt.Errorf("%w: salt", errMalformedHash)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[3])
	if err != nil || len(key) < minStoredKey || len(key) > maxStoredKey {
		return p, nil, nil, fmt.Errorf("%w: key", errMalformedHash)
	}
	return p, salt, key, nil
}

// acquire takes a hashing slot, waiting until one is free or ctx ends. Bounding concurrent argon2id runs
// keeps memory flat (each run allocates Argon2MemoryKiB) however many sign-ins arrive at once.
func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a password hashing slot: %w", ctx.Err())
	}
}

func (s *Service) release() { <-s.sem }

// HashPassword hashes password with the configured parameters, waiting for a hashing slot.
func (s *Service) HashPassword(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	s.hashes.Add(1)
	return hashPassword(password, s.sec), nil
}

// VerifyPassword checks password against phc, waiting for a hashing slot.
func (s *Service) VerifyPassword(ctx context.Context, phc, password string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	s.verifies.Add(1)
	return VerifyPassword(phc, password)
}
