package admin

import (
	"fmt"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

// PasswordPolicyFromConfig converts a seed's password policy to the stored form (nil is the default policy).
func PasswordPolicyFromConfig(p *config.PasswordPolicy) store.PasswordPolicy {
	if p == nil {
		return store.PasswordPolicy{}
	}
	return store.PasswordPolicy{MinLength: p.MinLength, History: p.History}
}

// checkPasswordPolicy adds the problems of a tenant's password policy, with the bounds config.Validate
// applies to the seed, so a policy set through the API or the CLI is held to the same rules.
func checkPasswordPolicy(p *problems, pp store.PasswordPolicy) {
	if pp.MinLength != 0 && (pp.MinLength < config.PasswordMinLengthFloor || pp.MinLength > config.PasswordMaxLength) {
		p.add("password_policy.min_length", fmt.Sprintf("must be between %d and %d (0 takes the default, 8)",
			config.PasswordMinLengthFloor, config.PasswordMaxLength))
	}
	if pp.History < 0 || pp.History > config.PasswordHistoryMax {
		p.add("password_policy.history", fmt.Sprintf("must be between 0 and %d", config.PasswordHistoryMax))
	}
}
