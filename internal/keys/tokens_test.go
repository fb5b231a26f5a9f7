package keys

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

func TestRandomValues(t *testing.T) {
	tests := []struct {
		name string
		gen  func() string
		re   *regexp.Regexp
	}{
		{"a token is 43 base64url characters", NewToken, regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)},
		{"an id is 26 lower-case base32 characters", NewID, regexp.MustCompile(`^[a-z2-7]{26}$`)},
		{"a user code is XXXX-XXXX from the consonant alphabet", NewUserCode,
			regexp.MustCompile(`^[` + UserCodeAlphabet + `]{4}-[` + UserCodeAlphabet + `]{4}$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 200 {
				v := tt.gen()
				if !tt.re.MatchString(v) {
					t.Fatalf("%q does not match %s", v, tt.re)
				}
				if seen[v] {
					t.Fatalf("%q generated twice", v)
				}
				seen[v] = true
			}
		})
	}
	t.Run("a token decodes to 32 bytes", func(t *testing.T) {
		b, err := base64.RawURLEncoding.DecodeString(NewToken())
		if err != nil || len(b) != 32 {
			t.Fatalf("decoded %d bytes, err %v", len(b), err)
		}
	})
	t.Run("user codes use every letter of the alphabet and nothing else", func(t *testing.T) {
		counts := map[rune]int{}
		for range 2000 {
			for _, r := range strings.ReplaceAll(NewUserCode(), "-", "") {
				counts[r]++
			}
		}
		if len(counts) != len(UserCodeAlphabet) {
			t.Fatalf("saw %d distinct letters, want %d", len(counts), len(UserCodeAlphabet))
		}
		for r, n := range counts { // 16000 letters over 20: about 800 each
			if n < 550 || n > 1050 {
				t.Errorf("letter %c drawn %d times of 16000: biased", r, n)
			}
		}
	})
}

func TestHashToken(t *testing.T) {
	want := sha256.Sum256([]byte("abc"))
	if got := HashToken("abc"); !bytes.Equal(got, want[:]) {
		t.Fatalf("HashToken(abc) = %x, want SHA-256 %x", got, want)
	}
	if bytes.Equal(HashToken("abc"), HashToken("abd")) {
		t.Fatal("different tokens hash the same")
	}
}

func TestNormalizeUserCode(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"the displayed form loses its hyphen", "BCDF-GHJK", "BCDFGHJK"},
		{"lower case is upper-cased", "bcdf-ghjk", "BCDFGHJK"},
		{"spaces and surrounding white space are removed", "  bcdf ghjk\n", "BCDFGHJK"},
		{"several hyphens are removed", "bc-df-gh-jk", "BCDFGHJK"},
		{"look-alike characters are not mapped", "0O1I-ghjk", "0O1IGHJK"},
		{"an empty code stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeUserCode(tt.in); got != tt.want {
				t.Fatalf("NormalizeUserCode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("a new code normalizes to its 8 letters", func(t *testing.T) {
		c := NewUserCode()
		if got := NormalizeUserCode(c); got != strings.ReplaceAll(c, "-", "") || len(got) != 8 {
			t.Fatalf("NormalizeUserCode(%q) = %q", c, got)
		}
	})
}
