package identity

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// maxEmailLen bounds an address in bytes (RFC 5321 §4.5.3.1: 254 in practice).
const maxEmailLen = 254

// NormalizeEmail returns the form of an address that is compared and kept unique per tenant: surrounding
// space trimmed, Unicode NFKC (so fullwidth and other compatibility forms become their plain letters), then
// case folded (Unicode full case folding, stronger than lower-casing: "Straße" and "STRASSE" are equal).
// It returns ErrInvalidEmail when the result is not local@domain with a non-empty local part, a domain
// containing no spaces or control characters, and a length of at most 254 bytes. The address as given is
// what users see and where mail goes; only the normalised form is compared.
func NormalizeEmail(s string) (string, error) {
	n := norm.NFKC.String(strings.TrimSpace(s))
	n = cases.Fold().String(n)
	// Folding can produce sequences that are not NFKC again; normalise once more so the form is stable.
	n = norm.NFKC.String(n)
	if len(n) == 0 || len(n) > maxEmailLen {
		return "", fmt.Errorf("%w: %q", ErrInvalidEmail, s)
	}
	at := strings.LastIndexByte(n, '@')
	if at <= 0 || at == len(n)-1 {
		return "", fmt.Errorf("%w: %q", ErrInvalidEmail, s)
	}
	for _, r := range n {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", fmt.Errorf("%w: %q", ErrInvalidEmail, s)
		}
	}
	domain := n[at+1:]
	if strings.Contains(domain, "@") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") {
		return "", fmt.Errorf("%w: %q", ErrInvalidEmail, s)
	}
	return n, nil
}

// localPart returns what comes before the last @ of a normalised address.
func localPart(normalized string) string {
	if at := strings.LastIndexByte(normalized, '@'); at > 0 {
		return normalized[:at]
	}
	return normalized
}
