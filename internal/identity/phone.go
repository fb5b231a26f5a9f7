package identity

import (
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// PhoneError is what is wrong with a phone number as a person typed it. Its text says what to fix, fit
// to show beside the field; the values below are the only ones, so callers compare with errors.Is or ==.
type PhoneError string

func (e PhoneError) Error() string { return string(e) }

// The refusals of NormalizePhone.
const (
	ErrPhoneEmpty         PhoneError = "enter a phone number, e.g. +44 20 7946 0958"
	ErrPhoneCharacters    PhoneError = "use only digits, spaces, dashes, dots and parentheses, after a + and the country code, e.g. +44 20 7946 0958"
	ErrPhoneNoCountryCode PhoneError = "enter the number with its country code, e.g. +44 20 7946 0958"
	ErrPhoneCountryCode   PhoneError = "the country code is not one in use: enter the number with its country code, e.g. +44 20 7946 0958"
	ErrPhoneInvalid       PhoneError = "the number has too many or too few digits for its country, or is not in use there: check it, with its country code, e.g. +44 20 7946 0958"
	// ErrPhoneRegion is the caller's mistake, not the person's: a default region that is no ISO 3166 code
	// the numbering plan knows.
	ErrPhoneRegion PhoneError = "the default region is not a country code such as GB or US"
)

// maxPhoneDigits bounds the digits read: E.164 has at most 15, and a national number written with a
// trunk or international prefix a few more.
const maxPhoneDigits = 20

var e164Form = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// NormalizePhone returns the number s in E.164, "+" and the digits (+442079460958), after checking it
// against the numbering plan of its country (github.com/nyaruka/phonenumbers, Google's libphonenumber
// data): the country code exists and the number has a length and prefix in use there. s may be written
// with spaces, dashes, dots, slashes and parentheses, start with + or 00 and the country code, or,
// when defaultRegion (ISO 3166, such as "GB") is given, be a national number of that country
// (020 7946 0958). Without a default region a number must name its country. Letters (vanity numbers),
// extensions and anything else are refused rather than guessed at. A number it returns normalizes to
// itself.
func NormalizePhone(s string, defaultRegion string) (string, error) {
	out, err := normalizePhone(s, defaultRegion)
	if err != nil {
		return "", err
	}
	// The numbering plan's parser strips national prefixes: a number whose E.164 form would read as
	// another number is refused, so that what is stored is what a second look confirms.
	if again, err := normalizePhone(out, ""); err != nil || again != out {
		return "", ErrPhoneInvalid
	}
	return out, nil
}

func normalizePhone(s, defaultRegion string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrPhoneEmpty
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region != "" && phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return "", ErrPhoneRegion
	}
	var digits strings.Builder
	plus := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			if digits.Len() == maxPhoneDigits {
				return "", ErrPhoneInvalid
			}
			digits.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case strings.ContainsRune(" \t\u00a0-.()/\u2010\u2011\u2012\u2013\u2014\u2212", r):
		default:
			return "", ErrPhoneCharacters
		}
	}
	d := digits.String()
	international := plus
	if !plus && strings.HasPrefix(d, "00") {
		// 00 is the international prefix of most of the world; the + stands for it.
		international, d = true, d[2:]
	}
	if d == "" {
		return "", ErrPhoneInvalid
	}
	if !international && region == "" {
		return "", ErrPhoneNoCountryCode
	}
	in := d
	if international {
		if d[0] == '0' {
			return "", ErrPhoneCountryCode
		}
		in, region = "+"+d, ""
	}
	num, err := phonenumbers.Parse(in, orUnknown(region))
	if err != nil {
		if err == phonenumbers.ErrInvalidCountryCode {
			if international {
				return "", ErrPhoneCountryCode
			}
			return "", ErrPhoneNoCountryCode
		}
		return "", ErrPhoneInvalid
	}
	if !phonenumbers.IsValidNumber(num) {
		if cc := int(num.GetCountryCode()); len(phonenumbers.GetRegionCodesForCountryCode(cc)) == 0 {
			return "", ErrPhoneCountryCode
		}
		return "", ErrPhoneInvalid
	}
	out := phonenumbers.Format(num, phonenumbers.E164)
	if !e164Form.MatchString(out) {
		return "", ErrPhoneInvalid
	}
	return out, nil
}

// orUnknown is region, or the library's code for none ("ZZ"), with which only +-numbers parse.
func orUnknown(region string) string {
	if region == "" {
		return "ZZ"
	}
	return region
}
