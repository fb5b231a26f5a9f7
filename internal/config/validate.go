package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// The rules below are the one definition of what a tenant id, a client_id, a redirect URI and a browser
// origin may be. The seed, the admin service, the CLI and the protocol surfaces all call them, so a value
// one of them accepts is never refused by another.

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidTenantID reports whether id can name a tenant (it appears in URLs: /t/{id}).
func ValidTenantID(id string) bool { return tenantIDPattern.MatchString(id) }

// CheckTenantID reports what is wrong with a tenant id, or nil.
func CheckTenantID(id string) error {
	if !ValidTenantID(id) {
		return fmt.Errorf("%q must be 1-63 lower-case letters, digits or hyphens, starting with a letter or digit", id)
	}
	return nil
}

// MaxClientIDLen bounds a client_id, at registration and wherever a request names one.
const MaxClientIDLen = 128

// ValidClientID reports whether id can name a client: 1 to MaxClientIDLen visible ASCII characters.
// Request parsers use it to refuse malformed ids before any lookup.
func ValidClientID(id string) bool { return CheckClientID(id) == nil }

// CheckClientID reports what is wrong with a client_id, or nil.
func CheckClientID(id string) error {
	if id == "" || len(id) > MaxClientIDLen {
		return fmt.Errorf("must be 1-%d characters", MaxClientIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%q may contain only visible ASCII characters (no spaces)", id)
		}
	}
	return nil
}

// ScriptScheme reports whether a URI scheme makes a browser run code or read local data
// (javascript:, data:, ...): such a URI is never a redirect, form or navigation target.
func ScriptScheme(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "javascript", "data", "vbscript", "file", "blob", "filesystem":
		return true
	}
	return false
}

// CheckRedirectURI reports why u cannot be registered as a redirect URI (RFC 6749 §3.1.2: absolute, no
// fragment), nor as a post-logout redirect URI.
func CheckRedirectURI(u string) error {
	pu, err := url.Parse(u)
	if err != nil || !pu.IsAbs() {
		return fmt.Errorf("%q must be an absolute URI", u)
	}
	if pu.Fragment != "" || strings.Contains(u, "#") {
		return fmt.Errorf("%q must not contain a fragment", u)
	}
	if ScriptScheme(pu.Scheme) {
		return fmt.Errorf("%q uses the %s: scheme, which can never be a redirect target", u, pu.Scheme)
	}
	if (pu.Scheme == "http" || pu.Scheme == "https") && pu.Host == "" {
		return fmt.Errorf("%q has no host", u)
	}
	return nil
}

// LoopbackHost reports whether host (without port) is localhost or a loopback IP address: plain http to it
// never leaves the machine, so development setups may use it where https is otherwise required.
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// CheckOrigin reports whether s is a web origin a browser app may call the token endpoints from
// (RFC 6454: scheme://host[:port], no path, query or wildcard; https, or http on a loopback host), and
// returns it in the form browsers send in the Origin header: lower case, without the scheme's default port.
func CheckOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("%q must be an origin such as https://app.example.com (scheme://host[:port])", s)
	case strings.Contains(s, "*"):
		return "", fmt.Errorf("%q must name one origin: wildcards are not allowed", s)
	case u.User != nil:
		return "", fmt.Errorf("%q must not contain user information", s)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#"):
		return "", fmt.Errorf("%q must be an origin only, without path, query or fragment (try %s://%s)", s, u.Scheme, u.Host)
	}
	o, ok := OriginOf(s)
	if !ok {
		return "", fmt.Errorf("%q must use https (http only for localhost or a loopback address)", s)
	}
	return o, nil
}

// OriginOf returns the origin of an absolute URI as browsers write it in the Origin header, and whether it
// is one a browser app may call from: https, or http on a loopback host. The origin of a public client's
// redirect URI is where its code runs in the browser.
func OriginOf(uri string) (string, bool) {
	o := WebOrigin(uri)
	if o == "" {
		return "", false
	}
	if scheme, host, _ := strings.Cut(o, "://"); scheme == "http" {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !LoopbackHost(host) {
			return "", false
		}
	}
	return o, true
}

// WebOrigin returns the origin (RFC 6454) of an absolute http or https URL as browsers write it in the
// Origin header: scheme and host in lower case, the port only when it is not the scheme's default. It
// returns "" for anything else. Comparing two origins is comparing these strings.
func WebOrigin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.User != nil {
		return ""
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	switch {
	case host == "":
		return ""
	case scheme == "https" && port == "443", scheme == "http" && port == "80":
		port = ""
	case scheme != "https" && scheme != "http":
		return ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port
	}
	return scheme + "://" + host
}
