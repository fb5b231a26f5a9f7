package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"without trusted proxies the peer is the client", nil, "203.0.113.5:4711", nil, "203.0.113.5"},
		{"without trusted proxies X-Forwarded-For is ignored", nil, "203.0.113.5:4711", []string{"198.51.100.1"}, "203.0.113.5"},
		{"an IPv6 peer is returned without port or brackets", nil, "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"an IPv4-mapped IPv6 peer is returned as IPv4", nil, "[::ffff:203.0.113.5]:80", nil, "203.0.113.5"},
		{"an untrusted peer cannot spoof X-Forwarded-For", proxies, "203.0.113.5:1", []string{"10.1.1.1"}, "203.0.113.5"},
		{"a trusted proxy's hop is believed", proxies, "10.0.0.2:1", []string{"198.51.100.7"}, "198.51.100.7"},
		{"the rightmost untrusted hop wins over client-written hops", proxies, "10.0.0.2:1", []string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{"trusted hops are skipped from the right", proxies, "10.0.0.2:1", []string{"198.51.100.7, 10.9.9.9, 192.0.2.1"}, "198.51.100.7"},
		{"a spoofed trusted address on the left does not help", proxies, "10.0.0.2:1", []string{"10.5.5.5, 198.51.100.7"}, "198.51.100.7"},
		{"several X-Forwarded-For headers are read as one list", proxies, "10.0.0.2:1", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},
		{"a hop with a port is returned without it", proxies, "10.0.0.2:1", []string{"198.51.100.7:5555"}, "198.51.100.7"},
		{"an IPv6 hop in brackets is unbracketed", proxies, "10.0.0.2:1", []string{"[2001:db9::5]:80"}, "2001:db9::5"},
		{"a malformed hop stops at the last trusted address", proxies, "10.0.0.2:1", []string{"198.51.100.7, garbage"}, "10.0.0.2"},
		{"a trusted proxy without X-Forwarded-For is the client", proxies, "10.0.0.2:1", nil, "10.0.0.2"},
		{"when every hop is trusted the leftmost is the client", proxies, "10.0.0.2:1", []string{"10.3.3.3, 10.4.4.4"}, "10.3.3.3"},
		{"a single trusted address is matched exactly", proxies, "192.0.2.1:1", []string{"198.51.100.9"}, "198.51.100.9"},
		{"a neighbour of a single trusted address is not trusted", proxies, "192.0.2.2:1", []string{"198.51.100.9"}, "192.0.2.2"},
	}
	t.Cleanup(func() { SetTrustedProxies(nil) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			SetTrustedProxies(tt.trusted)
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		wantErr bool
	}{
		{"CIDRs and addresses parse", []string{"10.0.0.0/8", " 192.0.2.1 ", "::1", "fd00::/8"}, false},
		{"a host name is refused", []string{"proxy.internal"}, true},
		{"a bad mask is refused", []string{"10.0.0.0/33"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTrustedProxies(tt.in)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
