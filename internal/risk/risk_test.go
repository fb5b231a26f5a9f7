package risk

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/risk/risktest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

var t0 = time.Unix(1_800_000_000, 0)

// The test geo database: one network per place, IPv4 and IPv6, and one with a country but no place.
var geoEntries = []risktest.GeoEntry{
	risktest.Berlin.At("203.0.113.0/24"),
	risktest.Paris.At("198.51.100.0/24"),
	risktest.Lyon.At("192.0.2.0/24"),
	risktest.NewYork.At("2001:db8:1::/48"),
	{CIDR: "100.64.0.0/24", Country: "NL"},
}

type fixture struct {
	db  *store.DB
	e   *Engine
	tid string
}

// setup opens backend, creates a tenant with the users ann and bob, and an engine on cfg (with the test
// geo database when geo is set).
func setup(t *testing.T, backend string, geo bool, change func(*config.Risk)) fixture {
	t.Helper()
	db := storetest.OpenBackend(t, backend)
	tid := storetest.Tenant(t, db)
	for _, u := range []string{"ann", "bob"} {
		if err := db.CreateUser(context.Background(), store.User{TenantID: tid, ID: u, Email: u + "@example.com", EmailNorm: u + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.DefaultRisk()
	if geo {
		cfg.GeoIPDB = filepath.Join(t.TempDir(), "geo.mmdb")
		risktest.WriteGeoDB(t, cfg.GeoIPDB, geoEntries)
	}
	if change != nil {
		change(&cfg)
	}
	e, err := New(cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return fixture{db: db, e: e, tid: tid}
}

func (f fixture) success(t *testing.T, user, ip string, at time.Time) {
	t.Helper()
	err := f.db.InTx(context.Background(), func(tx *store.Tx) error {
		return f.e.RecordSuccess(context.Background(), tx, f.tid, user, ip, at)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f fixture) fail(t *testing.T, ip string, at time.Time) {
	t.Helper()
	if err := f.e.RecordFailure(context.Background(), f.tid, ip, at); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) eval(t *testing.T, at Attempt) Assessment {
	t.Helper()
	if at.TenantID == "" {
		at.TenantID = f.tid
	}
	if at.Now.IsZero() {
		at.Now = t0
	}
	a, err := f.e.Evaluate(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// want checks score, level and the reasons (code or code=detail) of an assessment.
func want(t *testing.T, a Assessment, score int, level Level, reasons ...string) {
	t.Helper()
	var got []string
	for _, r := range a.Reasons {
		if r.Detail == "" {
			got = append(got, r.Code)
		} else {
			got = append(got, r.Code+"="+r.Detail)
		}
	}
	if a.Score != score || a.Level != level || !slices.Equal(got, reasons) {
		t.Fatalf("got score %d, %s, reasons %q; want %d, %s, %q", a.Score, a.Level, got, score, level, reasons)
	}
}

func TestSignals(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := setup(t, backend, false, nil)

			t.Run("a first sign-in from an unknown browser is new_device only", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.5"}), 35, Medium, NewDevice)
			})
			t.Run("a first sign-in from a known browser scores 0", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.5", DeviceKnown: true}), 0, Low)
			})
			t.Run("an attempt on an unknown account scores like a first sign-in", func(t *testing.T) {
				want(t, f.eval(t, Attempt{IP: "203.0.113.5"}), 35, Medium, NewDevice)
				want(t, f.eval(t, Attempt{IP: "203.0.113.5", DeviceKnown: true}), 35, Medium, NewDevice)
			})

			f.success(t, "ann", "203.0.113.5", t0.Add(-time.Hour))
			f.success(t, "ann", "2001:db8:1:2::1", t0.Add(-2*time.Hour))

			t.Run("a known browser on a known network scores 0", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.200", DeviceKnown: true}), 0, Low)
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "2001:db8:1:2:abcd::9", DeviceKnown: true}), 0, Low)
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "::ffff:203.0.113.9", DeviceKnown: true}), 0, Low)
			})
			t.Run("an unknown browser on a known network is new_device", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.200"}), 35, Medium, NewDevice)
			})
			t.Run("another /24 or /64 is a new network", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "203.0.114.5", DeviceKnown: true}), 20, Low, "new_network=203.0.114.0/24")
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "2001:db8:1:3::1", DeviceKnown: true}), 20, Low, "new_network=2001:db8:1:3::/64")
			})
			t.Run("an unknown browser on a new network is 55, medium", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "198.51.100.1"}), 55, Medium, NewDevice, "new_network=198.51.100.0/24")
			})
			t.Run("another user's networks are not this user's", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "bob", IP: "203.0.113.5", DeviceKnown: true}), 0, Low)
				f.success(t, "bob", "10.1.2.3", t0.Add(-time.Hour))
				want(t, f.eval(t, Attempt{UserID: "bob", IP: "203.0.113.5", DeviceKnown: true}), 20, Low, "new_network=203.0.113.0/24")
			})
			t.Run("a breached password adds its weight", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.5", DeviceKnown: true, BreachedPassword: true}), 25, Low, BreachedPassword)
			})
			t.Run("an account without a sign-in for dormant_after is dormant", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.5", DeviceKnown: true, LastSignIn: t0.Add(-91 * 24 * time.Hour)}),
					10, Low, "dormant=91 days")
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.5", DeviceKnown: true, LastSignIn: t0.Add(-89 * 24 * time.Hour)}), 0, Low)
			})
		})
	}
}

func TestIPFailures(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := setup(t, backend, false, nil)
			f.success(t, "ann", "203.0.113.5", t0.Add(-time.Hour))
			known := func(ip string, now time.Time) Attempt {
				return Attempt{UserID: "ann", IP: ip, DeviceKnown: true, Now: now}
			}
			// Nine failures a minute apart, on any account: below the threshold of 10.
			for i := range 9 {
				f.fail(t, "203.0.113.66", t0.Add(time.Duration(i)*time.Minute))
			}
			now := t0.Add(9 * time.Minute)
			t.Run("below the threshold nothing fires", func(t *testing.T) {
				want(t, f.eval(t, known("203.0.113.66", now)), 0, Low)
			})
			f.fail(t, "203.0.113.66", now)
			t.Run("the threshold fires the signal with the count", func(t *testing.T) {
				a := f.eval(t, known("203.0.113.66", now))
				want(t, a, 30, Medium, "ip_failures=10")
				if got := a.Explain(); got != "10 failed attempts from this IP in 9 min" {
					t.Fatalf("Explain = %q", got)
				}
			})
			t.Run("other addresses of the /24 have their own count", func(t *testing.T) {
				want(t, f.eval(t, known("203.0.113.67", now)), 0, Low)
			})
			t.Run("the count ends a window after the last failure", func(t *testing.T) {
				want(t, f.eval(t, known("203.0.113.66", now.Add(9*time.Minute))), 30, Medium, "ip_failures=10")
				want(t, f.eval(t, known("203.0.113.66", now.Add(10*time.Minute))), 0, Low)
				f.fail(t, "203.0.113.66", now.Add(10*time.Minute))
				want(t, f.eval(t, known("203.0.113.66", now.Add(10*time.Minute))), 0, Low)
			})
			t.Run("an IPv6 host is counted by its /64", func(t *testing.T) {
				for i := range 10 {
					f.fail(t, "2001:db8:9:9::"+strconv.FormatInt(int64(i), 16), t0)
				}
				a := f.eval(t, Attempt{UserID: "ann", IP: "2001:db8:9:9::1", DeviceKnown: true, Now: t0})
				if !a.Has(IPFailures) || a.Reasons[len(a.Reasons)-1].Detail != "10" {
					t.Fatalf("got %+v", a)
				}
				if got := a.Explain(); !strings.HasSuffix(got, "10 failed attempts from this IP within a minute") {
					t.Fatalf("Explain = %q", got)
				}
			})
			t.Run("another tenant's failures do not count", func(t *testing.T) {
				other := storetest.Tenant(t, f.db)
				a := f.eval(t, Attempt{TenantID: other, IP: "2001:db8:9:9::1", DeviceKnown: true, Now: t0})
				if a.Has(IPFailures) {
					t.Fatalf("got %+v", a)
				}
			})
			t.Run("a tenant's policy sets its own threshold", func(t *testing.T) {
				p := config.RiskPolicy{IPFailuresThreshold: 3}
				a := f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.66", DeviceKnown: true, Now: now.Add(10 * time.Minute), Policy: p})
				want(t, a, 0, Low) // the count started again at 1
				f.fail(t, "203.0.113.66", now.Add(11*time.Minute))
				f.fail(t, "203.0.113.66", now.Add(12*time.Minute))
				a = f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.66", DeviceKnown: true, Now: now.Add(12 * time.Minute), Policy: p})
				want(t, a, 30, Medium, "ip_failures=3")
			})
		})
	}
}

func TestLists(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := setup(t, backend, true, func(r *config.Risk) {
				r.Allow = []string{"10.0.0.0/8", "203.0.113.0/24"}
				r.Deny = []string{"10.66.0.0/16", "2001:db8:bad::/48"}
			})
			for i := range 20 {
				f.fail(t, "10.1.1.1", t0.Add(-time.Duration(i)*time.Second))
			}
			t.Run("an allowed address scores 0 whatever else is true", func(t *testing.T) {
				a := f.eval(t, Attempt{UserID: "ann", IP: "10.1.1.1", BreachedPassword: true})
				want(t, a, 0, Low, "allow_list=10.0.0.0/8")
				if a.Explain() != "address on the allow list: 10.0.0.0/8" {
					t.Fatalf("Explain = %q", a.Explain())
				}
			})
			t.Run("an allowed address still gets its country", func(t *testing.T) {
				if a := f.eval(t, Attempt{UserID: "ann", IP: "203.0.113.1"}); a.Country != "DE" || a.Level != Low {
					t.Fatalf("got %+v", a)
				}
			})
			t.Run("a denied address scores 100, high", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "2001:db8:bad:1::1", DeviceKnown: true}), 100, High, "deny_list=2001:db8:bad::/48")
			})
			t.Run("deny wins over allow", func(t *testing.T) {
				a := f.eval(t, Attempt{UserID: "ann", IP: "10.66.1.1", DeviceKnown: true})
				want(t, a, 100, High, "deny_list=10.66.0.0/16")
				if a.Explain() != "address on the deny list: 10.66.0.0/16" {
					t.Fatalf("Explain = %q", a.Explain())
				}
			})
			t.Run("a denied address is high whatever the deny_list weight", func(t *testing.T) {
				p := config.RiskPolicy{Weights: config.RiskWeights{DenyList: 50}}
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "10.66.1.1", Policy: p}), 50, High, "deny_list=10.66.0.0/16")
			})
			t.Run("Denied answers from the lists alone, as Evaluate would", func(t *testing.T) {
				a, ok := f.e.Denied("10.66.1.1", config.RiskPolicy{})
				if !ok {
					t.Fatal("10.66.1.1 is not denied")
				}
				want(t, a, 100, High, "deny_list=10.66.0.0/16")
				if _, ok := f.e.Denied("10.1.1.1", config.RiskPolicy{}); ok {
					t.Error("an allowed address is denied")
				}
				if _, ok := f.e.Denied("not an address", config.RiskPolicy{}); ok {
					t.Error("a malformed address is denied")
				}
				p := config.RiskPolicy{Deny: []string{"198.51.100.0/24"}}
				if a, ok := f.e.Denied("198.51.100.7", p); !ok || a.Reasons[0].Detail != "198.51.100.0/24" {
					t.Errorf("the tenant's deny list: %+v, %v", a, ok)
				}
				if _, ok := f.e.Denied("10.66.1.1", p); ok {
					t.Error("the tenant's list did not replace the global one")
				}
			})
			t.Run("an address on neither list is scored", func(t *testing.T) {
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "198.51.100.1"}), 35, Medium, NewDevice)
			})
			t.Run("a tenant's lists replace the global ones", func(t *testing.T) {
				p := config.RiskPolicy{Deny: []string{"198.51.100.0/24"}, Allow: []string{"192.0.2.0/24"}}
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "198.51.100.1", Policy: p}), 100, High, "deny_list=198.51.100.0/24")
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "192.0.2.1", Policy: p}), 0, Low, "allow_list=192.0.2.0/24")
				want(t, f.eval(t, Attempt{UserID: "ann", IP: "10.1.1.1", DeviceKnown: true, Policy: p}), 30, Medium, "ip_failures=20")
			})
		})
	}
}

func TestGeoSignals(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := setup(t, backend, true, nil)
			known := func(ip string, now time.Time) Attempt {
				return Attempt{UserID: "ann", IP: ip, DeviceKnown: true, Now: now}
			}

			t.Run("a first sign-in has no new network nor new country", func(t *testing.T) {
				a := f.eval(t, known("198.51.100.7", t0))
				want(t, a, 0, Low)
				if a.Country != "FR" {
					t.Fatalf("country = %q", a.Country)
				}
			})
			// ann signed in from Berlin an hour before t0.
			f.success(t, "ann", "203.0.113.5", t0.Add(-time.Hour))
			t.Run("the same country from another network is new_network only", func(t *testing.T) {
				f.success(t, "bob", "203.0.113.5", t0.Add(-time.Hour))
				want(t, f.eval(t, Attempt{UserID: "bob", IP: "203.0.113.9", DeviceKnown: true}), 0, Low)
			})
			t.Run("another country is new_country", func(t *testing.T) {
				// Paris is 877 km from Berlin: three hours later is a train ride.
				a := f.eval(t, known("198.51.100.7", t0.Add(2*time.Hour)))
				want(t, a, 45, Medium, "new_network=198.51.100.0/24", "new_country=FR")
				if a.Country != "FR" {
					t.Fatalf("country = %q", a.Country)
				}
			})
			t.Run("877 km in 5 minutes is impossible travel", func(t *testing.T) {
				a := f.eval(t, known("198.51.100.7", t0.Add(-55*time.Minute)))
				want(t, a, 85, High, "new_network=198.51.100.0/24", "new_country=FR", "impossible_travel=877 km in 5 min")
				if got := a.Explain(); got != "new network: 198.51.100.0/24; new country: FR; impossible travel: 877 km in 5 min" {
					t.Fatalf("Explain = %q", got)
				}
			})
			t.Run("a sign-in at the same second from far away is impossible travel", func(t *testing.T) {
				a := f.eval(t, known("2001:db8:1:5::1", t0.Add(-time.Hour)))
				if !a.Has(ImpossibleTravel) || a.Reasons[len(a.Reasons)-1].Detail != "6385 km in 0 s" || a.Country != "US" {
					t.Fatalf("got %+v", a)
				}
			})
			f.success(t, "ann", "198.51.100.7", t0)
			t.Run("a known country is not new, and short moves are no travel", func(t *testing.T) {
				// Lyon is 391 km from Paris: fast, but within the geo database's noise.
				want(t, f.eval(t, known("192.0.2.1", t0.Add(5*time.Minute))), 20, Low, "new_network=192.0.2.0/24")
			})
			t.Run("the last place is the newest sign-in's", func(t *testing.T) {
				// New York is 5837 km from Paris (the last place) and 6385 km from Berlin.
				a := f.eval(t, known("2001:db8:1:5::1", t0.Add(3*time.Hour)))
				want(t, a, 85, High, "new_network=2001:db8:1:5::/64", "new_country=US", "impossible_travel=5837 km in 3 h")
			})
			t.Run("a country without a place is new_country without travel", func(t *testing.T) {
				a := f.eval(t, known("100.64.0.9", t0.Add(time.Minute)))
				want(t, a, 45, Medium, "new_network=100.64.0.0/24", "new_country=NL")
			})
			t.Run("an address the database does not know has no geo signals", func(t *testing.T) {
				a := f.eval(t, known("172.16.0.1", t0.Add(time.Minute)))
				want(t, a, 20, Low, "new_network=172.16.0.0/24")
				if a.Country != "" {
					t.Fatalf("country = %q", a.Country)
				}
			})
			t.Run("a network recorded without a place leaves no place to travel from", func(t *testing.T) {
				f.success(t, "ann", "172.16.0.1", t0.Add(2*time.Minute))
				a := f.eval(t, known("2001:db8:1:5::1", t0.Add(3*time.Minute)))
				want(t, a, 45, Medium, "new_network=2001:db8:1:5::/64", "new_country=US")
			})
		})
	}
}

func TestScoreAndLevel(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := setup(t, backend, true, nil)
			f.success(t, "ann", "203.0.113.5", t0.Add(-time.Hour))
			for i := range 14 {
				f.fail(t, "198.51.100.7", t0.Add(-10*time.Minute+time.Duration(i)*time.Second))
			}
			t.Run("every signal together is capped at 100", func(t *testing.T) {
				a := f.eval(t, Attempt{UserID: "ann", IP: "198.51.100.7", BreachedPassword: true, LastSignIn: t0.Add(-100 * 24 * time.Hour),
					Now: t0.Add(-55 * time.Minute)})
				want(t, a, 100, High, NewDevice, "new_network=198.51.100.0/24", "new_country=FR", "impossible_travel=877 km in 5 min",
					"ip_failures=14", BreachedPassword, "dormant=99 days")
				const explain = "new device; new network: 198.51.100.0/24; new country: FR; impossible travel: 877 km in 5 min; " +
					"14 failed attempts from this IP within a minute; breached password; dormant account: no sign-in for 99 days"
				if a.Explain() != explain {
					t.Fatalf("Explain = %q\nwant      %q", a.Explain(), explain)
				}
				if codes := a.Codes(); len(codes) != 7 || codes[0] != NewDevice || codes[6] != Dormant {
					t.Fatalf("Codes = %q", codes)
				}
				ev := a.Event(f.tid, "ann", "198.51.100.7", events.RiskDenied)
				if ev.Type != events.TypeRiskAssessed || ev.Subject != "ann" || ev.IP != "198.51.100.7" || ev.Data["score"] != 100 ||
					ev.Data["level"] != "high" || ev.Data["decision"] != "denied" || ev.Data["explain"] != explain ||
					!slices.Equal(ev.Data["reasons"].([]string), a.Codes()) {
					t.Fatalf("event %+v", ev)
				}
			})
			t.Run("a tenant's weights and thresholds take the place of the global ones", func(t *testing.T) {
				at := Attempt{UserID: "ann", IP: "203.0.113.5"}
				want(t, f.eval(t, at), 35, Medium, NewDevice)
				at.Policy = config.RiskPolicy{Thresholds: config.RiskThresholds{Medium: 40, High: 90}}
				want(t, f.eval(t, at), 35, Low, NewDevice)
				at.Policy = config.RiskPolicy{Weights: config.RiskWeights{NewDevice: 80}}
				want(t, f.eval(t, at), 80, High, NewDevice)
			})
		})
	}
}

func TestLevel(t *testing.T) {
	th := config.RiskThresholds{Medium: 30, High: 70}
	for _, tt := range []struct {
		score int
		want  Level
	}{{0, Low}, {29, Low}, {30, Medium}, {69, Medium}, {70, High}, {100, High}} {
		if got := level(tt.score, th); got != tt.want {
			t.Errorf("level(%d) = %s, want %s", tt.score, got, tt.want)
		}
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name string
		a    Assessment
		want string
	}{
		{"nothing fired says nothing", Assessment{}, ""},
		{"the example of the documentation", Assessment{Reasons: []Reason{{NewDevice, ""}, {NewCountry, "DE"}, {IPFailures, "14"},
			{ImpossibleTravel, "870 km in 5 min"}}, failureSpan: 10 * time.Minute, failureSpanSet: true},
			"new device; new country: DE; 14 failed attempts from this IP in 10 min; impossible travel: 870 km in 5 min"},
		{"a count without its span", Assessment{Reasons: []Reason{{IPFailures, "12"}}}, "12 failed attempts from this IP"},
		{"an unknown code is written as words", Assessment{Reasons: []Reason{{"odd_hour", "03:00"}}}, "odd hour: 03:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Explain(); got != tt.want {
				t.Fatalf("Explain = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 s", 45 * time.Second: "45 s", 5 * time.Minute: "5 min", 3 * time.Hour: "3 h", 200 * time.Minute: "3 h 20 min",
		120 * 24 * time.Hour: "120 days",
	} {
		if got := span(d); got != want {
			t.Errorf("span(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b risktest.GeoEntry
		km   int
	}{
		{"Berlin-Paris", risktest.Berlin, risktest.Paris, 877},
		{"Berlin-New York", risktest.Berlin, risktest.NewYork, 6385},
		{"Paris-Lyon", risktest.Paris, risktest.Lyon, 391},
		{"Paris-New York", risktest.Paris, risktest.NewYork, 5837},
	} {
		if got := int(distanceKm(tt.a.Lat, tt.a.Lon, tt.b.Lat, tt.b.Lon) + 0.5); got != tt.km {
			t.Errorf("%s: %d km, want %d", tt.name, got, tt.km)
		}
	}
}

func TestNew(t *testing.T) {
	db := storetest.Open(t)
	t.Run("a missing geo database is an error", func(t *testing.T) {
		cfg := config.DefaultRisk()
		cfg.GeoIPDB = filepath.Join(t.TempDir(), "absent.mmdb")
		if _, err := New(cfg, db); err == nil || !strings.Contains(err.Error(), "risk.geoip_db") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a file that is no MaxMind database is an error", func(t *testing.T) {
		cfg := config.DefaultRisk()
		cfg.GeoIPDB = "risk.go"
		if _, err := New(cfg, db); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("an invalid CIDR is an error", func(t *testing.T) {
		cfg := config.DefaultRisk()
		cfg.Deny = []string{"nowhere"}
		if _, err := New(cfg, db); err == nil || !strings.Contains(err.Error(), "risk.deny") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("an address that does not parse is an error", func(t *testing.T) {
		e, err := New(config.DefaultRisk(), db)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Evaluate(context.Background(), Attempt{TenantID: "x", IP: "not-an-ip", Now: t0}); err == nil {
			t.Fatal("no error")
		}
		if e.HasGeo() {
			t.Fatal("HasGeo without a database")
		}
	})
}

// TestStatements: an evaluation runs two statements, whether or not the account exists (so the time
// taken does not tell), and none for an address on the deny or allow list.
func TestStatements(t *testing.T) {
	f := setup(t, "sqlite", true, func(r *config.Risk) {
		r.Allow = []string{"10.0.0.0/8"}
		r.Deny = []string{"10.66.0.0/16"}
	})
	f.success(t, "ann", "203.0.113.5", t0.Add(-time.Hour))
	for _, tt := range []struct {
		name string
		at   Attempt
		want int64
	}{
		{"a known account", Attempt{UserID: "ann", IP: "198.51.100.7"}, 2},
		{"an unknown account", Attempt{IP: "198.51.100.7"}, 2},
		{"a denied address", Attempt{UserID: "ann", IP: "10.66.0.1"}, 0},
		{"an allowed address", Attempt{UserID: "ann", IP: "10.1.0.1"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := f.db.Statements()
			f.eval(t, tt.at)
			if n := f.db.Statements() - before; n != tt.want {
				t.Fatalf("%d statements, want %d", n, tt.want)
			}
		})
	}
}
