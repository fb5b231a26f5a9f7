package config

import (
	"fmt"
	"net"
	"time"
)

// validateAbuse checks the keys of brute-force protection, row caps, event retention and the metrics
// endpoint.
func validateAbuse(c *Config) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	s := c.Security
	for _, v := range []struct {
		key string
		n   int
	}{
		{"security.device_lockout_threshold", s.DeviceLockoutThreshold},
		{"security.account_hard_lock_threshold", s.AccountHardLockThreshold},
		{"security.account_attack_threshold", s.AccountAttackThreshold},
		{"security.pending_login_requests_per_ip", s.PendingLoginRequestsPerIP},
		{"security.pending_login_requests_per_browser", s.PendingLoginRequestsPerBrowser},
		{"security.pending_device_codes_per_ip", s.PendingDeviceCodesPerIP},
		{"security.pending_device_codes_per_client", s.PendingDeviceCodesPerClient},
	} {
		if v.n < 1 {
			add("%s: must be at least 1", v.key)
		}
	}
	if s.DeviceLockoutThreshold >= 1 && s.DeviceLockoutThreshold < s.AccountLockoutThreshold {
		add("security.device_lockout_threshold: %d is below security.account_lockout_threshold (%d); a known browser's budget must be the larger",
			s.DeviceLockoutThreshold, s.AccountLockoutThreshold)
	}
	if s.AccountHardLockThreshold >= 1 && s.AccountHardLockThreshold <= s.AccountLockoutThreshold {
		add("security.account_hard_lock_threshold: %d must be far above security.account_lockout_threshold (%d), or one client locks everyone out",
			s.AccountHardLockThreshold, s.AccountLockoutThreshold)
	}
	if s.AccountAttackThreshold > s.AccountHardLockThreshold {
		add("security.account_attack_threshold: %d is above security.account_hard_lock_threshold (%d)",
			s.AccountAttackThreshold, s.AccountHardLockThreshold)
	}
	if s.AccountFailureWindow < Duration(time.Minute) {
		add("security.account_failure_window: must be at least 1m")
	}
	if s.DeviceCookieTTL < Duration(time.Hour) {
		add("security.device_cookie_ttl: must be at least 1h")
	}
	if c.Events.Retention < Duration(24*time.Hour) {
		add("events.retention: must be at least 24h (the audit log must outlive the flows it records)")
	}
	if a := c.Server.MetricsAddr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			add("server.metrics_addr: %q is not host:port (for example 127.0.0.1:9090)", a)
		} else if a == c.Server.Addr {
			add("server.metrics_addr: must differ from server.addr, or /metrics would be public")
		}
	}
	if t := c.Server.MetricsToken; t != "" && len(t) < 16 {
		add("server.metrics_token: must be at least 16 characters (for example openssl rand -hex 16)")
	}
	return p
}
