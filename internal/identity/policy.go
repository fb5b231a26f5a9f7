package identity

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/umm-project/umm/internal/store"
)

// Password length bounds in characters (runes). NIST SP 800-63B §5.1.1.2: at least 8, allow at least 64.
// The upper bound keeps the argon2id input small; a tenant's min_length lies between the two.
const (
	MinPasswordLen = store.DefaultPasswordMinLength
	MaxPasswordLen = 128
)

// minLocalPartLen is the shortest local part of an address that a password may not contain: a shorter
// one ("al" of al@example.com) is part of too many good passwords; the whole address is never allowed.
const minLocalPartLen = 4

// Reasons a password is refused (PasswordError.Reason): stable codes the pages translate.
const (
	ReasonInvalidText   = "invalid_text"
	ReasonTooShort      = "too_short"
	ReasonTooLong       = "too_long"
	ReasonContainsEmail = "contains_email"
	ReasonBreached      = "breached"
	ReasonReused        = "reused"
)

// PasswordError says why a password was refused: Reason is a stable code (Reason* constants), Message a
// plain sentence fit to show the person choosing it ("Use at least 10 characters.").
type PasswordError struct {
	Reason  string
	Message string
}

func (e *PasswordError) Error() string { return e.Message }

func refuse(reason, format string, args ...any) *PasswordError {
	return &PasswordError{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// foldPassword is the form in which passwords and list entries are compared: NFKC, Unicode case folding,
// NFKC (as addresses are compared), so "PASSWORD" and the full-width "ｐａｓｓｗｏｒｄ" are "password".
func foldPassword(s string) string { return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s))) }

// CheckPassword returns a *PasswordError when password may not be set under policy for the account with
// address email: fewer characters than the policy's minimum or more than 128, containing the address (or
// its local part, when that has at least 4 characters), or on the list of common and breached passwords
// (isBreached; NIST SP 800-63B §5.1.1.2). There are no composition rules. The history rule needs the
// database: Service.CheckNewPassword applies it after this one.
func CheckPassword(policy store.PasswordPolicy, password, email string) error {
	n := utf8.RuneCountInString(password)
	minLen := policy.MinLengthOrDefault()
	switch {
	case !utf8.ValidString(password):
		return refuse(ReasonInvalidText, "The password contains bytes that are not text.")
	case n < minLen:
		return refuse(ReasonTooShort, "Use at least %d characters.", minLen)
	case n > MaxPasswordLen:
		return refuse(ReasonTooLong, "Use at most %d characters.", MaxPasswordLen)
	}
	folded := foldPassword(password)
	if email != "" {
		e, err := NormalizeEmail(email)
		if err != nil {
			e = foldPassword(strings.TrimSpace(email))
		}
		local := localPart(e)
		if strings.Contains(folded, e) || (utf8.RuneCountInString(local) >= minLocalPartLen && strings.Contains(folded, local)) ||
			folded == local {
			return refuse(ReasonContainsEmail, "Do not use your email address, or its part before the @, in your password.")
		}
	}
	if isBreached(folded) {
		return refuse(ReasonBreached, "This password is too common: it is on a list of passwords that are widely used or known from data breaches. Choose one that is harder to guess, such as a few unrelated words.")
	}
	return nil
}
