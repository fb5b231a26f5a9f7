package config

import (
	"fmt"
	"net/netip"
	"os"
	"time"
)

// Risk configures the sign-in risk engine (package risk): every sign-in attempt is scored 0-100 from
// explainable signals, and the score's level decides whether a second factor is asked or the attempt is
// refused.
type Risk struct {
	// GeoIPDB is the path of a MaxMind-format database (GeoLite2-City or GeoLite2-Country .mmdb). Empty: no
	// geographic signals (new_country, impossible_travel); a Country database gives new_country only.
	GeoIPDB string `yaml:"geoip_db" json:"geoip_db,omitempty"`
	// RiskPolicy is the global policy; a tenant may later override parts of it (RiskPolicy.Merge).
	RiskPolicy `yaml:",inline"`
}

// RiskPolicy is what the engine scores with: the weight of each signal, the levels' thresholds, the
// allow and deny lists, and the settings of the failure and dormancy signals. A zero field means "not
// set", so that a tenant's partial policy can be laid over the global one with Merge.
type RiskPolicy struct {
	Weights    RiskWeights    `yaml:"weights" json:"weights,omitzero"`
	Thresholds RiskThresholds `yaml:"thresholds" json:"thresholds,omitzero"`
	// Allow are CIDRs (trusted office networks) whose addresses score 0, unless they are also in Deny.
	Allow []string `yaml:"allow" json:"allow,omitempty"`
	// Deny are CIDRs whose addresses are always high (refused), scoring weights.deny_list.
	Deny []string `yaml:"deny" json:"deny,omitempty"`
	// IPFailuresWindow is how long failed sign-ins from one address (IPv6: its /64), any account, are
	// counted together for the ip_failures signal (default 10m).
	IPFailuresWindow Duration `yaml:"ip_failures_window" json:"ip_failures_window,omitzero"`
	// IPFailuresThreshold is how many such failures in the window make the signal fire (default 10).
	IPFailuresThreshold int `yaml:"ip_failures_threshold" json:"ip_failures_threshold,omitempty"`
	// DormantAfter is how long without a sign-in makes an account dormant (default 2160h, 90 days).
	DormantAfter Duration `yaml:"dormant_after" json:"dormant_after,omitzero"`
}

// RiskWeights are the points each signal adds to the score (0-100; the sum is capped at 100). Zero in a
// tenant's override keeps the global weight.
type RiskWeights struct {
	NewDevice        int `yaml:"new_device" json:"new_device,omitempty"`               // default 35: the browser never signed in to the account
	NewNetwork       int `yaml:"new_network" json:"new_network,omitempty"`             // default 20: the /24 (IPv6 /64) is new for the account
	NewCountry       int `yaml:"new_country" json:"new_country,omitempty"`             // default 25: the country is new for the account
	ImpossibleTravel int `yaml:"impossible_travel" json:"impossible_travel,omitempty"` // default 40: faster than 1000 km/h since the last sign-in
	IPFailures       int `yaml:"ip_failures" json:"ip_failures,omitempty"`             // default 30: the address failed often, on any account
	BreachedPassword int `yaml:"breached_password" json:"breached_password,omitempty"` // default 25: the password is on the breached list
	Dormant          int `yaml:"dormant" json:"dormant,omitempty"`                     // default 10: no sign-in for dormant_after
	DenyList         int `yaml:"deny_list" json:"deny_list,omitempty"`                 // default 100: the score of an address in deny (always high)
}

// RiskThresholds turn a score into a level: below Medium low, from Medium medium (a second factor is
// asked), from High high (refused). 0 < medium < high <= 100.
type RiskThresholds struct {
	Medium int `yaml:"medium" json:"medium,omitempty"` // default 30
	High   int `yaml:"high" json:"high,omitempty"`     // default 70
}

// DefaultRisk is the risk section when nothing is set. With it, a known browser on a known network
// scores 0 (low); an unknown browser alone 35 (medium); an unknown browser on a new network 55 (medium);
// an address in deny 100 (high).
func DefaultRisk() Risk {
	return Risk{RiskPolicy: RiskPolicy{
		Weights: RiskWeights{NewDevice: 35, NewNetwork: 20, NewCountry: 25, ImpossibleTravel: 40, IPFailures: 30,
			BreachedPassword: 25, Dormant: 10, DenyList: 100},
		Thresholds:          RiskThresholds{Medium: 30, High: 70},
		IPFailuresWindow:    Duration(10 * time.Minute),
		IPFailuresThreshold: 10,
		DormantAfter:        Duration(90 * 24 * time.Hour),
	}}
}

// Merge returns p with every non-zero field of over in its place: a tenant's override replaces only what
// it sets. Lists replace rather than extend, so a tenant can narrow the global allow list. A weight cannot
// be lowered to 0 by an override (0 means "not set"); give it 1 to make a signal nearly silent.
func (p RiskPolicy) Merge(over RiskPolicy) RiskPolicy {
	pick := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	w, ow := &p.Weights, over.Weights
	pick(&w.NewDevice, ow.NewDevice)
	pick(&w.NewNetwork, ow.NewNetwork)
	pick(&w.NewCountry, ow.NewCountry)
	pick(&w.ImpossibleTravel, ow.ImpossibleTravel)
	pick(&w.IPFailures, ow.IPFailures)
	pick(&w.BreachedPassword, ow.BreachedPassword)
	pick(&w.Dormant, ow.Dormant)
	pick(&w.DenyList, ow.DenyList)
	pick(&p.Thresholds.Medium, over.Thresholds.Medium)
	pick(&p.Thresholds.High, over.Thresholds.High)
	pick(&p.IPFailuresThreshold, over.IPFailuresThreshold)
	if len(over.Allow) > 0 {
		p.Allow = over.Allow
	}
	if len(over.Deny) > 0 {
		p.Deny = over.Deny
	}
	if over.IPFailuresWindow != 0 {
		p.IPFailuresWindow = over.IPFailuresWindow
	}
	if over.DormantAfter != 0 {
		p.DormantAfter = over.DormantAfter
	}
	return p
}

// validateRisk checks the risk section.
func validateRisk(r Risk) Problems {
	p := r.RiskPolicy.Validate("risk")
	if r.GeoIPDB != "" {
		if f, err := os.Open(r.GeoIPDB); err != nil {
			p = append(p, fmt.Sprintf("risk.geoip_db: %v (a GeoLite2-City or GeoLite2-Country .mmdb file)", err))
		} else {
			f.Close()
		}
	}
	return p
}

// Validate checks a complete policy (the global one, or a tenant's after Merge) and names each problem
// under prefix (for example "risk" or "tenants[0].risk").
func (p RiskPolicy) Validate(prefix string) Problems {
	var out Problems
	add := func(format string, args ...any) { out = append(out, prefix+"."+fmt.Sprintf(format, args...)) }
	w := p.Weights
	for _, v := range []struct {
		key string
		n   int
	}{
		{"new_device", w.NewDevice}, {"new_network", w.NewNetwork}, {"new_country", w.NewCountry},
		{"impossible_travel", w.ImpossibleTravel}, {"ip_failures", w.IPFailures},
		{"breached_password", w.BreachedPassword}, {"dormant", w.Dormant}, {"deny_list", w.DenyList},
	} {
		if v.n < 0 || v.n > 100 {
			add("weights.%s: %d must be between 0 and 100", v.key, v.n)
		}
	}
	m, h := p.Thresholds.Medium, p.Thresholds.High
	if m <= 0 {
		add("thresholds.medium: %d must be above 0 (a score of 0 is always low)", m)
	}
	if h > 100 {
		add("thresholds.high: %d must be at most 100 (the highest score)", h)
	}
	if m > 0 && h <= 100 && m >= h {
		add("thresholds.medium: %d must be below thresholds.high (%d)", m, h)
	}
	for _, l := range []struct {
		key   string
		cidrs []string
	}{{"allow", p.Allow}, {"deny", p.Deny}} {
		for i, c := range l.cidrs {
			if _, err := netip.ParsePrefix(c); err != nil {
				add("%s[%d]: %q is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32", l.key, i, c)
			}
		}
	}
	if p.IPFailuresWindow < Duration(time.Second) {
		add("ip_failures_window: must be at least 1s (for example 10m)")
	}
	if p.IPFailuresThreshold < 1 {
		add("ip_failures_threshold: must be at least 1")
	}
	if p.DormantAfter < Duration(time.Hour) {
		add("dormant_after: must be at least 1h (for example 2160h, 90 days)")
	}
	return out
}
