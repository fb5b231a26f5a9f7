package config

import (
	"strings"
	"testing"
)

func TestSeedPasswordPolicy(t *testing.T) {
	t.Parallel()
	seed := func(policy string) string {
		return "tenants:\n  - id: acme\n    name: Acme\n" + policy
	}
	tests := []struct {
		name   string
		yaml   string
		want   *PasswordPolicy // when the file loads
		errors []string        // substrings of the error, when it does not
	}{
		{"a tenant without a policy has none (the defaults)", seed(""), nil, nil},
		{"min_length and history are read", seed("    password_policy: {min_length: 10, history: 5}\n"), &PasswordPolicy{MinLength: 10, History: 5}, nil},
		{"zero values are allowed and take the defaults", seed("    password_policy:\n      min_length: 0\n      history: 0\n"), &PasswordPolicy{}, nil},
		{"the largest values are allowed", seed("    password_policy: {min_length: 128, history: 24}\n"), &PasswordPolicy{MinLength: 128, History: 24}, nil},
		{"a minimum below 8 is refused by its key", seed("    password_policy: {min_length: 6}\n"), nil,
			[]string{"tenants[0].password_policy.min_length", "between 8 and 128"}},
		{"a minimum above 128 is refused by its key", seed("    password_policy: {min_length: 129}\n"), nil,
			[]string{"tenants[0].password_policy.min_length"}},
		{"a negative history and a too long one are refused with the minimum, all at once", seed("    password_policy: {min_length: 7, history: -1}\n  - id: beta\n    name: Beta\n    password_policy: {history: 25}\n"), nil,
			[]string{"tenants[0].password_policy.min_length", "tenants[0].password_policy.history", "tenants[1].password_policy.history: 25 must be between 0 and 24"}},
		{"an unknown key in the policy is refused", seed("    password_policy: {min_lenght: 10}\n"), nil, []string{"min_lenght"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(writeFile(t, tt.yaml), nil)
			if tt.errors != nil {
				if err == nil {
					t.Fatalf("Load succeeded; want errors containing %q", tt.errors)
				}
				for _, w := range tt.errors {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not mention %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := c.Tenants[0].PasswordPolicy
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Fatalf("password_policy = %+v, want %+v", got, tt.want)
			}
		})
	}
}
