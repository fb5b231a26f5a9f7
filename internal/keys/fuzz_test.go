package keys

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzNormalizeUserCode: whatever a person types on the device page, the normal form is stable
// (normalising it again changes nothing) and holds no white space or hyphen; and a code the device shows,
// typed in any case with spaces, tabs or hyphens anywhere, normalises to that code.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdf ghjk", "  bc-df\tgh jk\n", "-\tBCDF", "0O1I-ghjk", "", "\xff\xfe", "ǅ", "ß", "\u00a0BCDF\u2003GHJK"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeUserCode(s)
		if again := NormalizeUserCode(n); again != n {
			t.Fatalf("NormalizeUserCode(%q) = %q, but normalising that gives %q", s, n, again)
		}
		if strings.ContainsFunc(n, func(r rune) bool { return unicode.IsSpace(r) || r == '-' }) {
			t.Fatalf("NormalizeUserCode(%q) = %q keeps white space or a hyphen", s, n)
		}
		if len(s) < 8 {
			return
		}
		// The fuzzer's bytes choose a code and how it is typed.
		var code, typed strings.Builder
		for i := range 8 {
			c := UserCodeAlphabet[int(s[i])%len(UserCodeAlphabet)]
			code.WriteByte(c)
			if s[i]&1 == 1 {
				c = byte(unicode.ToLower(rune(c)))
			}
			typed.WriteString([]string{"", " ", "-", "\t"}[s[i]>>1%4])
			typed.WriteByte(c)
		}
		typed.WriteString(" \n")
		if got := NormalizeUserCode(typed.String()); got != code.String() {
			t.Fatalf("the code %s typed as %q normalises to %q", code.String(), typed.String(), got)
		}
	})
}
