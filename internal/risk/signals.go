package risk

import (
	"math"
	"net/netip"
	"strconv"
	"time"
)

// Impossible travel: a move faster than an airliner between two sign-ins. Short moves are left out,
// since the geo database places an address only to within tens or hundreds of kilometres.
const (
	maxSpeedKmH      = 1000
	minTravelKm      = 500
	earthRadiusKm    = 6371.0
	failureKeyPrefix = "risk:ip:"
)

// networkOf is the network an address is remembered by: its IPv4 /24 or IPv6 /64, the block one
// subscriber, office or hosting customer usually holds.
func networkOf(addr netip.Addr) string {
	bits := 24
	if addr.Is6() {
		bits = 64
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return addr.String()
	}
	return p.String()
}

// failureKey is the throttles key of an address's failed sign-ins: an IPv4 address as it is, an IPv6
// address by its /64 (one host usually holds a whole /64, which would otherwise give it 2^64 counts).
func failureKey(addr netip.Addr) string {
	if addr.Is4() {
		return failureKeyPrefix + addr.String()
	}
	p, err := addr.Prefix(64)
	if err != nil {
		return failureKeyPrefix + addr.String()
	}
	return failureKeyPrefix + p.String()
}

// distanceKm is the great-circle distance between two places (haversine formula).
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(s)))
}

// impossibleTravel reports whether going from the last sign-in's place at then to here at now would need
// more than maxSpeedKmH over more than minTravelKm, and says how far in how long ("870 km in 5 min").
func impossibleTravel(lat1, lon1 float64, then time.Time, lat2, lon2 float64, now time.Time) (string, bool) {
	km := distanceKm(lat1, lon1, lat2, lon2)
	if km <= minTravelKm {
		return "", false
	}
	dt := now.Sub(then)
	if dt > 0 && km/dt.Hours() <= maxSpeedKmH {
		return "", false
	}
	return strconv.Itoa(int(math.Round(km))) + " km in " + span(max(dt, 0)), true
}
