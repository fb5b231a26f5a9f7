package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRiskDefaults(t *testing.T) {
	r := Default().Risk
	w := r.Weights
	if w.NewDevice != 35 || w.NewNetwork != 20 || w.NewCountry != 25 || w.ImpossibleTravel != 40 || w.IPFailures != 30 ||
		w.BreachedPassword != 25 || w.Dormant != 10 || w.DenyList != 100 {
		t.Errorf("weights = %+v", w)
	}
	if r.Thresholds != (RiskThresholds{Medium: 30, High: 70}) {
		t.Errorf("thresholds = %+v", r.Thresholds)
	}
	if r.IPFailuresWindow.D() != 10*time.Minute || r.IPFailuresThreshold != 10 || r.DormantAfter.D() != 2160*time.Hour {
		t.Errorf("failure and dormancy settings = %v %d %v", r.IPFailuresWindow, r.IPFailuresThreshold, r.DormantAfter)
	}
	if r.GeoIPDB != "" || r.Allow != nil || r.Deny != nil {
		t.Errorf("geoip_db, allow and deny must be empty by default: %+v", r)
	}
}

func TestRiskFromYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "umm.yaml")
	yaml := `
risk:
  weights: {new_device: 50, deny_list: 90}
  thresholds: {medium: 40, high: 90}
  allow: [10.0.0.0/8]
  deny: ["198.51.100.0/24", "2001:db8:bad::/48"]
  ip_failures_window: 5m
  dormant_after: 720h
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Risk
	if r.Weights.NewDevice != 50 || r.Weights.DenyList != 90 || r.Weights.NewNetwork != 20 {
		t.Errorf("weights = %+v: the keys set replace the defaults, the others stay", r.Weights)
	}
	if r.Thresholds.Medium != 40 || r.Thresholds.High != 90 || r.IPFailuresWindow.D() != 5*time.Minute ||
		r.DormantAfter.D() != 720*time.Hour || r.IPFailuresThreshold != 10 {
		t.Errorf("risk = %+v", r)
	}
	if !slices.Equal(r.Allow, []string{"10.0.0.0/8"}) || len(r.Deny) != 2 {
		t.Errorf("allow %q, deny %q", r.Allow, r.Deny)
	}

	t.Run("an unknown key under risk names the policy's keys too", func(t *testing.T) {
		if err := os.WriteFile(path, []byte("risk:\n  weight: {}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, nil)
		if err == nil || !strings.Contains(err.Error(), "risk.weight: unknown key") ||
			!strings.Contains(err.Error(), "geoip_db") || !strings.Contains(err.Error(), "weights") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRiskValidation(t *testing.T) {
	readable := filepath.Join(t.TempDir(), "geo.mmdb")
	if err := os.WriteFile(readable, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(r *Risk)
		want   []string // every problem expected, in order
	}{
		{"the defaults are valid", func(*Risk) {}, nil},
		{"a readable geo database is accepted", func(r *Risk) { r.GeoIPDB = readable }, nil},
		{"weights of 0 and 100 are accepted", func(r *Risk) { r.Weights.Dormant, r.Weights.NewDevice = 0, 100 }, nil},
		{"a missing geo database is refused", func(r *Risk) { r.GeoIPDB = filepath.Join(t.TempDir(), "absent.mmdb") },
			[]string{"risk.geoip_db: open "}},
		{"weights outside 0..100 are refused, each by its key", func(r *Risk) { r.Weights.NewDevice, r.Weights.DenyList = -1, 101 },
			[]string{"risk.weights.new_device: -1 must be between 0 and 100", "risk.weights.deny_list: 101 must be between 0 and 100"}},
		{"medium must be above 0", func(r *Risk) { r.Thresholds.Medium = 0 },
			[]string{"risk.thresholds.medium: 0 must be above 0"}},
		{"medium must be below high", func(r *Risk) { r.Thresholds.Medium = 70 },
			[]string{"risk.thresholds.medium: 70 must be below thresholds.high (70)"}},
		{"high may be 100 but not more", func(r *Risk) { r.Thresholds.High = 101 },
			[]string{"risk.thresholds.high: 101 must be at most 100"}},
		{"CIDRs must parse", func(r *Risk) { r.Allow = []string{"10.0.0.0/8", "office"}; r.Deny = []string{"192.0.2.1"} },
			[]string{`risk.allow[1]: "office" is not a CIDR`, `risk.deny[0]: "192.0.2.1" is not a CIDR`}},
		{"the failure and dormancy settings must be positive", func(r *Risk) {
			r.IPFailuresWindow, r.IPFailuresThreshold, r.DormantAfter = 0, 0, 0
		}, []string{"risk.ip_failures_window: must be at least 1s", "risk.ip_failures_threshold: must be at least 1",
			"risk.dormant_after: must be at least 1h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c.Risk)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			p, ok := err.(Problems)
			if !ok {
				t.Fatalf("Validate = %v, want Problems", err)
			}
			var risk []string
			for _, s := range p {
				if strings.HasPrefix(s, "risk.") {
					risk = append(risk, s)
				}
			}
			if len(risk) != len(tt.want) {
				t.Fatalf("problems %q, want %d of them: %q", risk, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(risk[i], w) {
					t.Errorf("problem %d = %q, want it to start with %q", i, risk[i], w)
				}
			}
		})
	}
}

func TestRiskPolicyMerge(t *testing.T) {
	global := DefaultRisk().RiskPolicy
	global.Allow = []string{"10.0.0.0/8"}
	t.Run("an empty override changes nothing", func(t *testing.T) {
		got := global.Merge(RiskPolicy{})
		if got.Weights != global.Weights || got.Thresholds != global.Thresholds || !slices.Equal(got.Allow, global.Allow) ||
			got.IPFailuresWindow != global.IPFailuresWindow || got.DormantAfter != global.DormantAfter ||
			got.IPFailuresThreshold != global.IPFailuresThreshold {
			t.Fatalf("got %+v, want %+v", got, global)
		}
	})
	t.Run("the fields an override sets replace, the others stay", func(t *testing.T) {
		got := global.Merge(RiskPolicy{
			Weights:          RiskWeights{NewDevice: 50},
			Thresholds:       RiskThresholds{High: 90},
			Deny:             []string{"198.51.100.0/24"},
			IPFailuresWindow: Duration(time.Minute),
		})
		want := global
		want.Weights.NewDevice = 50
		want.Thresholds.High = 90
		want.Deny = []string{"198.51.100.0/24"}
		want.IPFailuresWindow = Duration(time.Minute)
		if got.Weights != want.Weights || got.Thresholds != want.Thresholds || !slices.Equal(got.Deny, want.Deny) ||
			!slices.Equal(got.Allow, want.Allow) || got.IPFailuresWindow != want.IPFailuresWindow || got.DormantAfter != want.DormantAfter {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		if global.Weights.NewDevice != 35 {
			t.Fatal("Merge changed the policy it was called on")
		}
	})
	t.Run("a list in the override replaces the global one", func(t *testing.T) {
		got := global.Merge(RiskPolicy{Allow: []string{"192.0.2.0/24"}})
		if !slices.Equal(got.Allow, []string{"192.0.2.0/24"}) {
			t.Fatalf("allow = %q", got.Allow)
		}
	})
}

// TestRiskPolicyJSON: a tenant's override is stored as JSON; an empty one is {} and only what is set
// appears, so that laying it over the global policy changes only that.
func TestRiskPolicyJSON(t *testing.T) {
	b, err := json.Marshal(RiskPolicy{})
	if err != nil || string(b) != "{}" {
		t.Fatalf("empty policy = %s, %v", b, err)
	}
	b, err = json.Marshal(RiskPolicy{Weights: RiskWeights{NewDevice: 50}, Deny: []string{"198.51.100.0/24"}, DormantAfter: Duration(time.Hour)})
	if want := `{"weights":{"new_device":50},"deny":["198.51.100.0/24"],"dormant_after":"1h0m0s"}`; err != nil || string(b) != want {
		t.Fatalf("policy = %s, %v; want %s", b, err, want)
	}
	def := DefaultRisk()
	b, err = json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	var back Risk
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Weights != def.Weights || back.Thresholds != def.Thresholds || back.IPFailuresWindow != def.IPFailuresWindow ||
		back.IPFailuresThreshold != def.IPFailuresThreshold || back.DormantAfter != def.DormantAfter {
		t.Fatalf("round trip of %s = %+v", b, back)
	}
}
