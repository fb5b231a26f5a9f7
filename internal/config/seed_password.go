package config

import "fmt"

// PasswordPolicy is a tenant's password policy in the seed (tenants[].password_policy), stored in the
// tenant's settings. Zero values take the defaults.
type PasswordPolicy struct {
	// MinLength is the least number of characters (not bytes) of a new password; 0 means 8.
	MinLength int `yaml:"min_length"`
	// History is how many of a user's most recent passwords, the current one included, a new password may
	// not repeat; 0 keeps no history.
	History int `yaml:"history"`
}

// Bounds of the password policy. NIST SP 800-63B §5.1.1.2 asks for at least 8 characters; passwords are
// at most 128 characters, so a longer minimum would refuse every password. Each remembered password costs
// one argon2id verification when a password is changed, so the history is bounded (24, as in Active
// Directory).
const (
	PasswordMinLengthFloor = 8
	PasswordMaxLength      = 128
	PasswordHistoryMax     = 24
)

// validatePasswordPolicy reports the problems of tenant tp's password policy (nil is the default policy).
func validatePasswordPolicy(tp string, p *PasswordPolicy) Problems {
	if p == nil {
		return nil
	}
	var out Problems
	if p.MinLength != 0 && (p.MinLength < PasswordMinLengthFloor || p.MinLength > PasswordMaxLength) {
		out = append(out, fmt.Sprintf("%s.password_policy.min_length: %d must be between %d and %d (0 takes the default, 8)",
			tp, p.MinLength, PasswordMinLengthFloor, PasswordMaxLength))
	}
	if p.History < 0 || p.History > PasswordHistoryMax {
		out = append(out, fmt.Sprintf("%s.password_policy.history: %d must be between 0 and %d", tp, p.History, PasswordHistoryMax))
	}
	return out
}
