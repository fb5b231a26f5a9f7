package identity

import (
	_ "embed"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Password length bounds in characters (runes). NIST SP 800-63B §5.1.1.2: at least 8, allow at least 64.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// PolicyError says why a password was refused. Reason is a sentence fragment fit to show the user
// ("must be at least 8 characters").
type PolicyError struct {
	Reason string
}

func (e *PolicyError) Error() string { return "password " + e.Reason }

//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// CheckPasswordPolicy returns a *PolicyError when password may not be set for the account with address
// email: fewer than 8 or more than 128 characters, equal (ignoring case) to the address or to its local
// part, or one of the most common passwords (NIST SP 800-63B §5.1.1.2 blocklist). No composition rules.
func CheckPasswordPolicy(password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return &PolicyError{Reason: "must be valid text"}
	case n < MinPasswordLen:
		return &PolicyError{Reason: "must be at least 8 characters"}
	case n > MaxPasswordLen:
		return &PolicyError{Reason: "must be at most 128 characters"}
	}
	folded := norm.NFKC.String(cases.Fold().String(norm.NFKC.String(password)))
	if email != "" {
		e, err := NormalizeEmail(email)
		if err != nil {
			e = cases.Fold().String(strings.TrimSpace(email))
		}
		if folded == e || folded == localPart(e) {
			return &PolicyError{Reason: "must not be your email address"}
		}
	}
	if commonPasswords[folded] || commonPasswords[strings.ToLower(password)] {
		return &PolicyError{Reason: "is too common: choose one that is harder to guess"}
	}
	return nil
}
