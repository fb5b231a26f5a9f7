package risk

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/risk/risktest"
)

func TestLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	risktest.WriteGeoDB(t, path, geoEntries)
	cfg := config.DefaultRisk()
	cfg.GeoIPDB = path
	e, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !e.HasGeo() {
		t.Fatal("no geo database")
	}
	tests := []struct {
		ip   string
		want place
	}{
		{"203.0.113.77", place{country: "DE", lat: 52.52, lon: 13.405, hasLocation: true}},
		{"2001:db8:1:ffff::1", place{country: "US", lat: 40.7128, lon: -74.006, hasLocation: true}},
		{"100.64.0.1", place{country: "NL"}},
		{"172.16.0.1", place{}},
		{"::ffff:198.51.100.1", place{country: "FR", lat: 48.8566, lon: 2.3522, hasLocation: true}},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := e.lookup(netip.MustParseAddr(tt.ip).Unmap()); got != tt.want {
				t.Fatalf("lookup = %+v, want %+v", got, tt.want)
			}
			if got := e.Country(tt.ip); got != tt.want.country {
				t.Errorf("Country = %q, want %q", got, tt.want.country)
			}
		})
	}
}

// BenchmarkLookup is one geo database lookup decoded into the engine's small record.
func BenchmarkLookup(b *testing.B) {
	path := filepath.Join(b.TempDir(), "geo.mmdb")
	risktest.WriteGeoDB(b, path, geoEntries)
	cfg := config.DefaultRisk()
	cfg.GeoIPDB = path
	e, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	addr := netip.MustParseAddr("203.0.113.77")
	b.ReportAllocs()
	for b.Loop() {
		if e.lookup(addr).country != "DE" {
			b.Fatal("wrong place")
		}
	}
}
