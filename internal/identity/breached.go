package identity

import (
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The breached-password list: the 200,000 most common distinct passwords (folded, at least 4 characters)
// of a public corpus of 10 million leaked passwords, kept as 38-bit fingerprints in 650 KiB
// (breached_passwords.md says where the list comes from; breached_gen.go builds the table). A lookup reads
// the embedded bytes in place: nothing is copied to the heap at start and a lookup allocates nothing.
//
// A fingerprint is the first 38 bits of SHA-256(breachedKey + folded entry): 14 bits choose a bucket, 24
// bits are stored. A password that is not on the list matches a fingerprint by chance with probability
// 200,000 / 2^38 ≈ 7.3e-7 per form looked up, so at most about 3e-6 for the up to four forms of one password.
//
//go:embed breached_passwords.bin
var breachedData string

const (
	breachedKey    = "umm breached-password list v1\x00"
	breachedMagic  = "UMMBPL1\n"
	breachedRemLen = 3 // bytes per stored fingerprint remainder
	// minCoreLen is the shortest core (a password less leading and trailing digits and symbols) looked
	// up: shorter words are too many to refuse every password built on them.
	minCoreLen = 4
)

// breachedTable is the parsed header of the embedded table; its slices point into breachedData.
type breachedTable struct {
	bucketBits uint
	starts     string // (1<<bucketBits)+1 little-endian uint32 indexes into rems
	rems       string // count big-endian 24-bit remainders, sorted within each bucket
	count      int
}

var breached = mustParseBreached(breachedData)

// mustParseBreached checks the table's header and sizes. A damaged table stops the program at start rather
// than letting every password pass the check.
func mustParseBreached(data string) breachedTable {
	t, err := parseBreached(data)
	if err != nil {
		panic(fmt.Sprintf("identity: embedded breached-password list: %v", err))
	}
	return t
}

func parseBreached(data string) (breachedTable, error) {
	var t breachedTable
	rest, ok := strings.CutPrefix(data, breachedMagic)
	if !ok || len(rest) < 8 {
		return t, fmt.Errorf("bad header")
	}
	bits := binary.LittleEndian.Uint32([]byte(rest[:4]))
	count := binary.LittleEndian.Uint32([]byte(rest[4:8]))
	if bits < 1 || bits > 24 {
		return t, fmt.Errorf("bucket bits %d out of range", bits)
	}
	rest = rest[8:]
	startsLen := ((1 << bits) + 1) * 4
	if len(rest) != startsLen+int(count)*breachedRemLen {
		return t, fmt.Errorf("size %d does not match %d entries", len(data), count)
	}
	t = breachedTable{bucketBits: uint(bits), starts: rest[:startsLen], rems: rest[startsLen:], count: int(count)}
	if t.start(0) != 0 || t.start(1<<bits) != t.count {
		return t, fmt.Errorf("bucket indexes do not cover the entries")
	}
	return t, nil
}

func (t breachedTable) start(bucket int) int {
	s := t.starts[bucket*4:]
	return int(uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24)
}

func (t breachedTable) rem(i int) uint32 {
	s := t.rems[i*breachedRemLen:]
	return uint32(s[0])<<16 | uint32(s[1])<<8 | uint32(s[2])
}

// contains reports whether the folded string s is on the list (or shares a fingerprint with an entry).
func (t breachedTable) contains(s string) bool {
	var buf [256]byte
	b := append(append(buf[:0], breachedKey...), s...)
	sum := sha256.Sum256(b)
	fp := binary.BigEndian.Uint64(sum[:8]) >> (64 - t.bucketBits - 24)
	bucket, want := int(fp>>24), uint32(fp&(1<<24-1))
	lo, hi := t.start(bucket), t.start(bucket+1)
	for lo < hi { // binary search within the bucket (about a dozen entries)
		mid := int(uint(lo+hi) >> 1)
		if t.rem(mid) < want {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < t.start(bucket+1) && t.rem(lo) == want
}

// isBreached reports whether a password, given in folded form, is on the list or is a listed password
// dressed up. Looked up, in order:
//
//  1. the folded password itself ("password123!");
//  2. its core: the folded password less leading and trailing characters that are not letters, when that
//     leaves at least 4 characters ("Password123!" → "password", "2024Welcome!" → "welcome");
//  3. the core with common character substitutions undone ("P@ssw0rd1" → "password": @ and 4 → a,
//     0 → o, 1 and ! → i, 3 → e, $ and 5 → s, 7 → t).
//
// So a listed word or name with digits, a year or symbols around it is refused, the way people most often
// meet a composition rule; a passphrase of several words, or random characters, is not.
func isBreached(folded string) bool {
	if breached.contains(folded) {
		return true
	}
	core := strings.TrimFunc(folded, func(r rune) bool { return !unicode.IsLetter(r) })
	if core != "" && core != folded && utf8.RuneCountInString(core) >= minCoreLen && breached.contains(core) {
		return true
	}
	if core == "" || utf8.RuneCountInString(core) < minCoreLen {
		return false
	}
	plain := strings.Map(unleet, core)
	return plain != core && breached.contains(plain)
}

// unleet undoes the common look-alike substitutions inside a password's core.
func unleet(r rune) rune {
	switch r {
	case '@', '4':
		return 'a'
	case '0':
		return 'o'
	case '1', '!':
		return 'i'
	case '3':
		return 'e'
	case '$', '5':
		return 's'
	case '7':
		return 't'
	}
	return r
}

// Breached reports whether password is on the breached list (or a listed one dressed up): a right
// password that is breached still signs in, but the risk engine weighs it.
func Breached(password string) bool { return isBreached(foldPassword(password)) }
