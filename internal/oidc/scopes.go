package oidc

import (
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/store"
)

// Standard scopes UMM understands (OIDC Core §5.4 and §11, plus "roles").
const (
	scopeOpenID        = "openid"
	scopeProfile       = "profile"
	scopeEmail         = "email"
	scopeOfflineAccess = "offline_access"
	scopeRoles         = "roles"
	scopePhone         = "phone"
	scopeAddress       = "address"
)

// standardScopes are always listed in discovery, and are what a client registered without a scope list may
// request.
var standardScopes = []string{scopeOpenID, scopeProfile, scopeEmail, scopePhone, scopeAddress, scopeOfflineAccess, scopeRoles}

// maxScopeLen bounds the scope parameter; longer requests are refused rather than parsed.
const maxScopeLen = 2048

// parseScope splits a scope parameter (RFC 6749 §3.3: space-delimited, case-sensitive), dropping
// repeated values and keeping the first-seen order. It reports false when a value holds a character
// outside scope-token (%x21 / %x23-5B / %x5D-7E).
func parseScope(s string) ([]string, bool) {
	if len(s) > maxScopeLen {
		return nil, false
	}
	var out []string
	for _, v := range strings.Split(s, " ") {
		if v == "" {
			continue
		}
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
				return nil, false
			}
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, true
}

// allowedScopes are the scopes client c may request: its registered list, or the standard scopes when it
// registered none.
func allowedScopes(c store.Client) []string {
	if len(c.Scopes) > 0 {
		return c.Scopes
	}
	return standardScopes
}

// disallowedScopes returns the requested scopes that client c may not ask for (nil when all are allowed).
func disallowedScopes(c store.Client, requested []string) []string {
	allowed := allowedScopes(c)
	var bad []string
	for _, s := range requested {
		if !slices.Contains(allowed, s) {
			bad = append(bad, s)
		}
	}
	return bad
}

// grantableScopes returns the requested scopes that client c may request, in the order requested; the
// others (unknown, or not registered for c) are left out.
func grantableScopes(c store.Client, requested []string) []string {
	allowed := allowedScopes(c)
	var out []string
	for _, s := range requested {
		if slices.Contains(allowed, s) {
			out = append(out, s)
		}
	}
	return out
}

// tenantScopes lists what discovery advertises: the standard scopes, then every other scope registered by
// the tenant's clients, sorted.
func tenantScopes(clients []store.Client) []string {
	out := slices.Clone(standardScopes)
	var custom []string
	for _, c := range clients {
		for _, s := range c.Scopes {
			if !slices.Contains(standardScopes, s) && !slices.Contains(custom, s) {
				custom = append(custom, s)
			}
		}
	}
	slices.Sort(custom)
	return append(out, custom...)
}
