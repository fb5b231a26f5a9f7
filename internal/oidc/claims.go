package oidc

import (
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/store"
)

// claimsSupported lists, for discovery, every claim UMM can put in an ID token or a UserInfo response.
var claimsSupported = []string{
	"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
	"name", "given_name", "family_name", "updated_at", "email", "email_verified", "roles",
}

// acrPassword is the only authentication context class UMM asserts today: a password sign-in (the
// session's acr). It is what acr_values_supported lists; a request for another value is recorded but
// answered with this one (acr_values is voluntary, OIDC Core §3.1.2.1).
const acrPassword = "1"

// userClaims returns the claims about user u that the granted scopes release (OIDC Core §5.4): sub always;
// profile: name, given_name, family_name, updated_at; email: email, email_verified; roles: roles.
// Empty profile values are left out rather than sent as "". Both the ID token (oidc-token's issuer) and
// UserInfo use it, so the two never disagree.
func userClaims(u store.User, scopes []string) map[string]any {
	c := map[string]any{"sub": u.ID}
	if slices.Contains(scopes, scopeProfile) {
		if name := strings.TrimSpace(u.GivenName + " " + u.FamilyName); name != "" {
			c["name"] = name
		}
		if u.GivenName != "" {
			c["given_name"] = u.GivenName
		}
		if u.FamilyName != "" {
			c["family_name"] = u.FamilyName
		}
		if !u.UpdatedAt.IsZero() {
			c["updated_at"] = u.UpdatedAt.Unix()
		}
	}
	if slices.Contains(scopes, scopeEmail) {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	if slices.Contains(scopes, scopeRoles) {
		roles := u.Roles
		if roles == nil {
			roles = []string{}
		}
		c["roles"] = roles
	}
	return c
}
