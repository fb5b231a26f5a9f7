package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckLogoutURI reports why u cannot be registered as a client's backchannel_logout_uri or
// frontchannel_logout_uri (OpenID Connect Back-Channel Logout 1.0 §2.2, Front-Channel Logout 1.0 §2): an
// absolute https URL without fragment; http only on a loopback host (127.0.0.1, [::1], localhost), for
// development.
func CheckLogoutURI(u string) error {
	pu, err := url.Parse(u)
	if err != nil || !pu.IsAbs() || pu.Host == "" || pu.Opaque != "" {
		return fmt.Errorf("%q must be an absolute https URL", u)
	}
	if pu.Fragment != "" || strings.Contains(u, "#") {
		return fmt.Errorf("%q must not contain a fragment", u)
	}
	if pu.User != nil {
		return fmt.Errorf("%q must not contain a user name or password", u)
	}
	if strings.ContainsAny(u, " \t\r\n\"'<>\\") {
		return fmt.Errorf("%q contains spaces, quotes or angle brackets; percent-encode them", u)
	}
	switch pu.Scheme {
	case "https":
		return nil
	case "http":
		host := pu.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%q must use https (http only for 127.0.0.1, [::1] or localhost)", u)
	}
	return fmt.Errorf("%q must be an https URL", u)
}

// validateClientLogout checks a seed client's logout URIs; cp is the client's path in the file.
func validateClientLogout(cp string, c ClientSeed) Problems {
	var p Problems
	for _, f := range []struct{ key, uri string }{
		{"backchannel_logout_uri", c.BackchannelLogoutURI}, {"frontchannel_logout_uri", c.FrontchannelLogoutURI},
	} {
		if f.uri == "" {
			continue
		}
		if err := CheckLogoutURI(f.uri); err != nil {
			p = append(p, fmt.Sprintf("%s.%s: %v", cp, f.key, err))
		}
	}
	if c.BackchannelLogoutSessionRequired && c.BackchannelLogoutURI == "" {
		p = append(p, cp+".backchannel_logout_session_required: needs backchannel_logout_uri")
	}
	if c.FrontchannelLogoutSessionRequired && c.FrontchannelLogoutURI == "" {
		p = append(p, cp+".frontchannel_logout_session_required: needs frontchannel_logout_uri")
	}
	return p
}
