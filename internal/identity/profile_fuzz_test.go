package identity

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzValidateProfile: whatever a form posts, the validator does not panic, never accepts invalid UTF-8 or
// control characters into a text value, and what it returns validates again to itself (so a value read
// back and written again does not change).
func FuzzValidateProfile(f *testing.F) {
	for _, s := range []string{"", "Acme", " +49 (30) 123-456 ", "1990-12-10", "on", "42", "-1", "pro",
		"https://a.example/x", "en-us", "Europe/Berlin", "a\x00b", "\xff", "+1234567890123456", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, fl := range testSchema.Fields {
			for _, name := range []string{fl.Name, "zoneinfo", "locale", "birthdate", "address.locality"} {
				got, errs := ValidateProfile(testSchema, PurposeAdmin, map[string]any{name: v}, testNow)
				if errs != nil {
					continue
				}
				for k, out := range got {
					if s, ok := out.(string); ok && (!utf8.ValidString(s) || hasControl(s)) {
						t.Fatalf("%s=%q accepted as %q", k, v, s)
					}
				}
				again, errs := ValidateProfile(testSchema, PurposeAdmin, got, testNow)
				if errs != nil || !reflect.DeepEqual(again, got) {
					t.Fatalf("%s=%q: %#v validates again to %#v, %v", name, v, got, again, errs)
				}
			}
		}
	})
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}
