package config

import "fmt"

// Admin configures the management API (/admin/api/v1).
type Admin struct {
	// Tenant is the operator tenant: its clients, granted management scopes, may manage every tenant.
	// It is created at first start with a bootstrap client whose secret is printed once.
	Tenant string `yaml:"tenant"`
	// RateLimit bounds the requests of one calling client (per node).
	RateLimit RateLimit `yaml:"rate_limit"`
}

// RateLimit is a token bucket: Burst requests at once, refilled at PerSecond.
type RateLimit struct {
	PerSecond int `yaml:"per_second"`
	Burst     int `yaml:"burst"`
}

// DefaultAdminTenant is the operator tenant's id when admin.tenant is not set.
const DefaultAdminTenant = "admin"

func defaultAdmin() Admin {
	return Admin{Tenant: DefaultAdminTenant, RateLimit: RateLimit{PerSecond: 50, Burst: 100}}
}

func validateAdmin(a Admin) Problems {
	var p Problems
	if err := CheckTenantID(a.Tenant); err != nil {
		p = append(p, fmt.Sprintf("admin.tenant: %v", err))
	}
	if a.RateLimit.PerSecond < 1 || a.RateLimit.PerSecond > 1_000_000 {
		p = append(p, "admin.rate_limit.per_second: must be a whole number of requests per second of at least 1 (for example 50)")
	}
	if a.RateLimit.Burst < 1 || a.RateLimit.Burst > 1_000_000 {
		p = append(p, "admin.rate_limit.burst: must be a whole number of requests of at least 1 (for example 100)")
	}
	return p
}
