package config

import (
	"strings"
	"testing"
)

func TestTenantIDRule(t *testing.T) {
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"lower-case letters and digits pass", "acme2", true},
		{"a hyphen inside passes", "acme-eu", true},
		{"63 characters pass", strings.Repeat("a", 63), true},
		{"64 characters are refused", strings.Repeat("a", 64), false},
		{"an empty id is refused", "", false},
		{"upper case is refused", "Acme", false},
		{"a leading hyphen is refused", "-acme", false},
		{"a slash is refused", "a/b", false},
		{"a NUL byte is refused", "a\x00b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTenantID(tt.id)
			if (err == nil) != tt.ok || ValidTenantID(tt.id) != tt.ok {
				t.Errorf("CheckTenantID(%q) = %v, ValidTenantID = %v; want ok=%v", tt.id, err, ValidTenantID(tt.id), tt.ok)
			}
		})
	}
}

func TestClientIDRule(t *testing.T) {
	tests := []struct {
		name, id string
		want     string // substring of the error; "" means valid
	}{
		{"a short id passes", "web", ""},
		{"visible ASCII punctuation passes", "app.example.com:spa_1", ""},
		{"MaxClientIDLen characters pass", strings.Repeat("c", MaxClientIDLen), ""},
		{"one more character is refused", strings.Repeat("c", MaxClientIDLen+1), "1-128 characters"},
		{"an empty id is refused", "", "1-128 characters"},
		{"a space is refused", "my app", "visible ASCII"},
		{"a control character is refused", "a\x01", "visible ASCII"},
		{"non-ASCII is refused", "café", "visible ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckClientID(tt.id)
			if tt.want == "" {
				if err != nil || !ValidClientID(tt.id) {
					t.Errorf("CheckClientID(%q) = %v, want valid", tt.id, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || ValidClientID(tt.id) {
				t.Errorf("CheckClientID(%q) = %v, want an error containing %q", tt.id, err, tt.want)
			}
		})
	}
}

func TestCheckRedirectURI(t *testing.T) {
	tests := []struct {
		name, uri string
		want      string // substring of the error; "" means valid
	}{
		{"an https URI passes", "https://app.example/cb", ""},
		{"a loopback http URI passes", "http://127.0.0.1:8080/cb", ""},
		{"a private-use scheme of a native app passes", "com.example.app:/cb", ""},
		{"a relative URI is refused", "/cb", "absolute"},
		{"a fragment is refused", "https://app.example/cb#x", "fragment"},
		{"an empty fragment is refused", "https://app.example/cb#", "fragment"},
		{"javascript: is refused", "javascript:alert(1)", "scheme"},
		{"upper-case JavaScript: is refused", "JavaScript:alert(1)", "scheme"},
		{"data: is refused", "data:text/html,x", "scheme"},
		{"vbscript: is refused", "vbscript:x", "scheme"},
		{"file: is refused", "file:///etc/passwd", "scheme"},
		{"blob: is refused", "blob:https://app.example/1", "scheme"},
		{"filesystem: is refused", "filesystem:https://app.example/temporary/x", "scheme"},
		{"https without a host is refused", "https:///cb", "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRedirectURI(tt.uri)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckRedirectURI(%q) = %v, want %q", tt.uri, err, tt.want)
			}
		})
	}
}

func TestCheckOrigin(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // the canonical origin
		err      string // substring of the error; "" means valid
	}{
		{"an https origin passes as it is", "https://app.example.com", "https://app.example.com", ""},
		{"a port is kept", "https://app.example.com:8443", "https://app.example.com:8443", ""},
		{"the default port is dropped as browsers do", "https://app.example.com:443", "https://app.example.com", ""},
		{"upper case is lowered as browsers do", "HTTPS://App.Example.COM", "https://app.example.com", ""},
		{"a trailing slash is dropped", "https://app.example.com/", "https://app.example.com", ""},
		{"http on 127.0.0.1 passes for development", "http://127.0.0.1:5173", "http://127.0.0.1:5173", ""},
		{"http on localhost passes for development", "http://localhost:3000", "http://localhost:3000", ""},
		{"http on [::1] passes for development", "http://[::1]:3000", "http://[::1]:3000", ""},
		{"http on another host is refused", "http://app.example.com", "", "https"},
		{"a path is refused", "https://app.example.com/spa", "", "without path"},
		{"a query is refused", "https://app.example.com?x=1", "", "without path"},
		{"a wildcard is refused", "https://*.example.com", "", "wildcard"},
		{"a lone wildcard is refused", "*", "", "origin"},
		{"null is refused", "null", "", "origin"},
		{"a bare host is refused", "app.example.com", "", "origin"},
		{"user information is refused", "https://u:p@app.example.com", "", "user information"},
		{"a custom scheme is refused", "com.example.app://x", "", "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckOrigin(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("CheckOrigin(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("CheckOrigin(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestOriginOfRedirectURI(t *testing.T) {
	tests := []struct {
		name, uri, want string
		ok              bool
	}{
		{"an https redirect URI gives its origin", "https://spa.example/cb?x=1", "https://spa.example", true},
		{"the port is part of the origin", "http://127.0.0.1:5173/callback", "http://127.0.0.1:5173", true},
		{"the default port is not", "https://spa.example:443/cb", "https://spa.example", true},
		{"a native app's private-use scheme has no web origin", "com.example.app:/cb", "", false},
		{"plain http to a public host is no browser-app origin", "http://spa.example/cb", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := OriginOf(tt.uri)
			if got != tt.want || ok != tt.ok {
				t.Errorf("OriginOf(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestWebOrigin(t *testing.T) {
	tests := []struct{ name, uri, want string }{
		{"scheme and host are lowered", "HTTPS://ID.Example.com/t/a", "https://id.example.com"},
		{"the https default port is dropped", "https://id.example.com:443/x", "https://id.example.com"},
		{"the http default port is dropped", "http://id.example.com:80", "http://id.example.com"},
		{"another port is kept", "http://id.example.com:8080/", "http://id.example.com:8080"},
		{"an IPv6 host keeps its brackets", "http://[::1]:8080/cb", "http://[::1]:8080"},
		{"a URL with user information has none", "https://u@id.example.com", ""},
		{"another scheme has none", "ftp://id.example.com", ""},
		{"a relative URL has none", "/t/a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WebOrigin(tt.uri); got != tt.want {
				t.Errorf("WebOrigin(%q) = %q, want %q", tt.uri, got, tt.want)
			}
		})
	}
}
