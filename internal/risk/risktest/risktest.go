// Package risktest writes small MaxMind-format geo databases for tests and benchmarks of the risk
// engine and of the sign-in pages that call it.
package risktest

import (
	"net"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// GeoEntry places a network: its country (ISO 3166-1 alpha-2) and, unless both are 0, its latitude and
// longitude in degrees.
type GeoEntry struct {
	CIDR     string
	Country  string
	Lat, Lon float64
}

// Some places for tests, with their distances: Berlin-Paris 877 km, Berlin-New York 6385 km,
// Paris-Lyon 391 km.
var (
	Berlin  = GeoEntry{Country: "DE", Lat: 52.52, Lon: 13.405}
	Paris   = GeoEntry{Country: "FR", Lat: 48.8566, Lon: 2.3522}
	Lyon    = GeoEntry{Country: "FR", Lat: 45.764, Lon: 4.8357}
	NewYork = GeoEntry{Country: "US", Lat: 40.7128, Lon: -74.006}
)

// At returns the place e for the network cidr.
func (e GeoEntry) At(cidr string) GeoEntry { e.CIDR = cidr; return e }

// WriteGeoDB writes a GeoLite2-City-shaped database holding entries to path. Documentation and private
// ranges (192.0.2.0/24, 10.0.0.0/8, 2001:db8::/32) may be used: they are not left out as in real
// databases.
func WriteGeoDB(t testing.TB, path string, entries []GeoEntry) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoLite2-City",
		Description:             map[string]string{"en": "UMM test geo database"},
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		t.Fatalf("geo database: %v", err)
	}
	for _, e := range entries {
		_, network, err := net.ParseCIDR(e.CIDR)
		if err != nil {
			t.Fatalf("geo database: %q: %v", e.CIDR, err)
		}
		rec := mmdbtype.Map{
			"country":            mmdbtype.Map{"iso_code": mmdbtype.String(e.Country)},
			"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String(e.Country)},
		}
		if e.Lat != 0 || e.Lon != 0 {
			rec["location"] = mmdbtype.Map{
				"latitude":        mmdbtype.Float64(e.Lat),
				"longitude":       mmdbtype.Float64(e.Lon),
				"accuracy_radius": mmdbtype.Uint16(20),
			}
		}
		if err := tree.Insert(network, rec); err != nil {
			t.Fatalf("geo database: insert %s: %v", e.CIDR, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("geo database: %v", err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		t.Fatalf("geo database: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("geo database: %v", err)
	}
}
