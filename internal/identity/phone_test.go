package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	valid := []struct {
		in, region, want string
	}{
		{"+442079460958", "", "+442079460958"},
		{"+44 20 7946 0958", "", "+442079460958"},
		{" +44 (0)20 7946-0958 ", "", "+442079460958"},
		{"+44.20.7946.0958", "", "+442079460958"},
		{"+44\u00a020\u00a07946\u00a00958", "", "+442079460958"},
		{"0044 20 7946 0958", "", "+442079460958"},
		{"0044 20 7946 0958", "US", "+442079460958"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"020 7946 0958", "gb", "+442079460958"},
		{"44 20 7946 0958", "GB", "+442079460958"},
		{"011 44 20 7946 0958", "US", "+442079460958"},
		{"(202) 555-0143", "US", "+12025550143"},
		{"+1 202-555-0143", "", "+12025550143"},
		{"+1 (202) 555-0143", "DE", "+12025550143"},
		{"+49 (30) 123-456", "", "+4930123456"},
		{"+49 030 123456", "", "+4930123456"},
		{"030/123456", "DE", "+4930123456"},
		{"+49 151 12345678", "", "+4915112345678"},
		{"+33 6 12 34 56 78", "", "+33612345678"},
		{"+39 06 6982 1234", "", "+390669821234"}, // Italy keeps the leading 0 of a fixed line
		{"+800 1234 5678", "", "+80012345678"},    // a global number, of no country
	}
	for _, tt := range valid {
		got, err := NormalizePhone(tt.in, tt.region)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.in, tt.region, got, err, tt.want)
			continue
		}
		if again, err := NormalizePhone(got, ""); err != nil || again != got {
			t.Errorf("NormalizePhone(%q) = %q, %v: not itself", got, again, err)
		}
	}

	invalid := []struct {
		in, region string
		want       PhoneError
	}{
		{"", "", ErrPhoneEmpty},
		{"   ", "GB", ErrPhoneEmpty},
		{"020 7946 0958", "", ErrPhoneNoCountryCode},
		{"44 20 7946 0958", "", ErrPhoneNoCountryCode},
		{"442079460958", "", ErrPhoneNoCountryCode},
		{"+0 20 7946 0958", "", ErrPhoneCountryCode},
		{"000 20 7946 0958", "", ErrPhoneCountryCode},
		{"+999 123 456 789", "", ErrPhoneCountryCode},
		{"+44 20 7946 095", "", ErrPhoneInvalid},      // a digit short
		{"+44 20 7946 09581", "", ErrPhoneInvalid},    // a digit too many
		{"+1 234 567 8901 2345", "", ErrPhoneInvalid}, // 16 digits: longer than E.164 allows
		{"+1 555 0100", "", ErrPhoneInvalid},          // too short for the North American plan
		{"+4930", "", ErrPhoneInvalid},
		{"+", "", ErrPhoneInvalid},
		{"+()", "", ErrPhoneInvalid},
		{"+49 30 CALLME", "", ErrPhoneCharacters}, // letters are not dialled for the person
		{"+1-800-FLOWERS", "", ErrPhoneCharacters},
		{"+44 20 7946 0958 ext. 12", "", ErrPhoneCharacters},
		{"+44 20 7946 0958;ext=12", "", ErrPhoneCharacters},
		{"tel:+442079460958", "", ErrPhoneCharacters},
		{"44+2079460958", "", ErrPhoneCharacters},
		{"++442079460958", "", ErrPhoneCharacters},
		{"+44 20 7946 0958\n", "", ""}, // trailing space is trimmed: valid
		{"+44\x0020 7946 0958", "", ErrPhoneCharacters},
		{"+４４ 20 7946 0958", "", ErrPhoneCharacters}, // full-width digits
		{"+442079460958", "XX", ErrPhoneRegion},
		{"020 7946 0958", "UK", ErrPhoneRegion}, // the ISO code is GB
		{"+44 " + strings.Repeat("1", 30), "", ErrPhoneInvalid},
	}
	for _, tt := range invalid {
		got, err := NormalizePhone(tt.in, tt.region)
		if tt.want == "" {
			if err != nil {
				t.Errorf("NormalizePhone(%q, %q): %v", tt.in, tt.region, err)
			}
			continue
		}
		if got != "" || !errors.Is(err, tt.want) {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.in, tt.region, got, err, tt.want)
		}
		var pe PhoneError
		if !errors.As(err, &pe) {
			t.Errorf("NormalizePhone(%q): %T is not a PhoneError", tt.in, err)
		}
	}
}

func TestPhoneErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	if got := ErrPhoneNoCountryCode.Error(); got != "enter the number with its country code, e.g. +44 20 7946 0958" {
		t.Errorf("ErrPhoneNoCountryCode = %q", got)
	}
	for _, e := range []PhoneError{ErrPhoneEmpty, ErrPhoneCharacters, ErrPhoneNoCountryCode, ErrPhoneCountryCode, ErrPhoneInvalid} {
		// The example itself must be accepted.
		if !strings.Contains(e.Error(), "e.g. +44 20 7946 0958") {
			t.Errorf("%q has no example", e)
		}
	}
	if got, err := NormalizePhone("+44 20 7946 0958", ""); err != nil || got != "+442079460958" {
		t.Errorf("the example: %q, %v", got, err)
	}
}

// FuzzNormalizePhone: whatever a person types, NormalizePhone does not panic, answers either E.164 or a
// PhoneError, and what it returns normalizes to itself, with or without a default region.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+44 20 7946 0958", "020 7946 0958", "0044 20 7946 0958", "(202) 555-0143", "+49 (30) 123-456",
		"+39 06 6982 1234", "+800 1234 5678", "+330612345678", "+1-800-FLOWERS", "", "+", "00", "0", "+0", "\xff", "+٤٤",
		"+1234567890123456", "011 44 20 7946 0958", "+262 269 12 34 56", "+7 840 123 4567"} {
		for _, r := range []string{"", "GB", "US", "DE", "IT", "ZZ"} {
			f.Add(s, r)
		}
	}
	f.Fuzz(func(t *testing.T, s, region string) {
		got, err := NormalizePhone(s, region)
		if err != nil {
			var pe PhoneError
			if got != "" || !errors.As(err, &pe) {
				t.Fatalf("NormalizePhone(%q, %q) = %q, %v", s, region, got, err)
			}
			return
		}
		if !e164Form.MatchString(got) {
			t.Fatalf("NormalizePhone(%q, %q) = %q: not E.164", s, region, got)
		}
		for _, r := range []string{"", region} {
			if again, err := NormalizePhone(got, r); err != nil || again != got {
				t.Fatalf("NormalizePhone(%q, %q) = %q, but that normalizes (region %q) to %q, %v", s, region, got, r, again, err)
			}
		}
	})
}
