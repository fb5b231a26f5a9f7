package risk

import (
	"fmt"
	"net/netip"
)

// parseList parses the CIDRs of an allow or deny list.
func parseList(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for i, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %q is not a CIDR", i, c)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// inList returns the CIDR of cidrs that holds addr. When cidrs is the global list (the same slice, as
// Merge leaves it when a tenant sets none) the prefixes parsed at start are used; a tenant's own list is
// parsed on the way, which allocates nothing. Entries that do not parse are skipped: config validation
// refuses them.
func (e *Engine) inList(cidrs []string, parsed []netip.Prefix, global []string, addr netip.Addr) (string, bool) {
	if len(cidrs) == 0 {
		return "", false
	}
	if len(cidrs) == len(global) && &cidrs[0] == &global[0] && len(parsed) == len(cidrs) {
		for i, p := range parsed {
			if p.Contains(addr) {
				return cidrs[i], true
			}
		}
		return "", false
	}
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Masked().Contains(addr) {
			return c, true
		}
	}
	return "", false
}
