package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
)

// trustedProxies holds the prefixes set by SetTrustedProxies.
var trustedProxies atomic.Pointer[[]netip.Prefix]

// SetTrustedProxies sets the networks of the reverse proxies in front of UMM (security.trusted_proxies).
// Only a request whose peer is in one of them has its X-Forwarded-For believed. It is safe to call at any
// time; nil trusts nobody (the default).
func SetTrustedProxies(prefixes []netip.Prefix) {
	p := make([]netip.Prefix, 0, len(prefixes))
	for _, pr := range prefixes {
		p = append(p, pr.Masked())
	}
	trustedProxies.Store(&p)
}

// ParseTrustedProxies parses CIDRs (or single addresses) such as "10.0.0.0/8" for SetTrustedProxies.
func ParseTrustedProxies(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(c)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not a CIDR or an address", c)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func isTrusted(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client's IP address (host part only, no port). It is the peer address unless the
// peer is a trusted proxy (SetTrustedProxies): then X-Forwarded-For is read from the right, skipping
// trusted hops, and the first untrusted hop is the client. Hops further left were written by the client
// itself and are never believed. A malformed hop stops the walk at the last trusted address.
func ClientIP(r *http.Request) string {
	peer, ok := parseHostAddr(r.RemoteAddr)
	if !ok {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	tp := trustedProxies.Load()
	if tp == nil || len(*tp) == 0 || !isTrusted(peer, *tp) {
		return peer.String()
	}
	hops := forwardedFor(r.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHostAddr(hops[i])
		if !ok {
			break
		}
		client = a
		if !isTrusted(a, *tp) {
			break
		}
	}
	return client.String()
}

// forwardedFor lists the X-Forwarded-For hops of every such header, in order.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

// parseHostAddr parses "ip", "ip:port" or "[ipv6]:port" into an address without zone, IPv4-mapped IPv6
// addresses unmapped.
func parseHostAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(s)
		if err2 != nil {
			if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
				a, err = netip.ParseAddr(s[1 : len(s)-1])
			}
			if err != nil {
				return netip.Addr{}, false
			}
		} else {
			a = ap.Addr()
		}
	}
	return a.Unmap().WithZone(""), true
}
