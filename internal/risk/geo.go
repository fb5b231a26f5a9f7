package risk

import (
	"fmt"
	"net/netip"
	"strings"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// geoRecord is the part of a GeoLite2-City or -Country record the engine reads; the decoder skips the
// rest (names in every language, subdivisions, postal codes), so a lookup stays small.
type geoRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	// RegisteredCountry stands in when the record has no country (some anycast and satellite networks).
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Location struct {
		Latitude       float64 `maxminddb:"latitude"`
		Longitude      float64 `maxminddb:"longitude"`
		AccuracyRadius uint16  `maxminddb:"accuracy_radius"`
	} `maxminddb:"location"`
}

// place is where the geo database puts an address.
type place struct {
	country     string
	lat, lon    float64
	hasLocation bool
}

// openGeo opens a MaxMind-format database and checks that its records can name a country.
func openGeo(path string) (*maxminddb.Reader, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("risk.geoip_db: %w", err)
	}
	if t := r.Metadata.DatabaseType; !strings.Contains(t, "City") && !strings.Contains(t, "Country") {
		r.Close()
		return nil, fmt.Errorf("risk.geoip_db: %s is a %q database; a GeoLite2-City or GeoLite2-Country one is needed", path, t)
	}
	return r, nil
}

// lookup returns the address's place; the zero place without a geo database or for an address it does
// not know.
func (e *Engine) lookup(addr netip.Addr) place {
	if e.geo == nil {
		return place{}
	}
	var rec geoRecord
	if err := e.geo.Lookup(addr).Decode(&rec); err != nil {
		// A record that does not decode is no place: the geographic signals stay silent rather than fail
		// the sign-in.
		return place{}
	}
	pl := place{country: rec.Country.ISOCode, lat: rec.Location.Latitude, lon: rec.Location.Longitude}
	if pl.country == "" {
		pl.country = rec.RegisteredCountry.ISOCode
	}
	// A Country database has no location; (0, 0) is open sea, where no record of a City database points.
	pl.hasLocation = rec.Location.AccuracyRadius > 0 || pl.lat != 0 || pl.lon != 0
	return pl
}

// Country is the ISO country code of ip by the geo database ("" without one, or for an address it does
// not know): the approximate place the account page shows for a device.
func (e *Engine) Country(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	return e.lookup(addr.Unmap()).country
}
