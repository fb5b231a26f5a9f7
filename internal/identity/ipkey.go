package identity

import "net/netip"

// IPKey is the key under which a client address is counted by every per-IP limit: an IPv4 address as it
// is, an IPv6 address as its /64 prefix ("2001:db8:1:2::/64"). One IPv6 subscriber or host usually holds a
// whole /64, so counting single addresses would give it 2^64 budgets. A string that is no address is
// returned unchanged.
func IPKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
