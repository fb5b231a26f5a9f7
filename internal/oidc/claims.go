package oidc

import (
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
)

// claimsSupported lists, for discovery, every claim UMM can put in an ID token or a UserInfo response;
// tenantClaims adds the tenant's custom fields released as claims.
var claimsSupported = []string{
	"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
	"name", "given_name", "family_name", "nickname", "preferred_username", "picture", "website", "gender",
	"birthdate", "zoneinfo", "locale", "updated_at", "email", "email_verified", "phone_number",
	"phone_number_verified", "address", "roles",
}

// profileScopeClaims are the standard claims kept in a user's profile that the profile scope releases
// (OIDC Core §5.4), besides the names and updated_at, which come from the user's columns.
var profileScopeClaims = []string{"nickname", "preferred_username", "picture", "website", "gender", "birthdate",
	"zoneinfo", "locale"}

// acrPassword is the class of a sign-in with one factor (a password): the weakest of
// acr_values_supported (session.ACRs).
const acrPassword = session.ACROneFactor

// userClaims returns the claims about user u that the granted scopes release (OIDC Core §5.4): sub always;
// profile: name, given_name, family_name, nickname, preferred_username, picture, website, gender,
// birthdate, zoneinfo, locale, updated_at; email: email, email_verified; phone: phone_number,
// phone_number_verified; address: address (a JSON object, §5.1.1); roles: roles; and each custom field of
// the tenant's schema with claim.scope among the scopes, under its own name. Empty values are left out
// rather than sent as "". Both the ID token (oidc-token's issuer) and UserInfo use it, so the two never
// disagree.
func userClaims(u store.User, scopes []string, schema config.ProfileSchema) map[string]any {
	c := map[string]any{"sub": u.ID}
	if slices.Contains(scopes, scopeProfile) {
		name, _ := u.Profile.Claims["name"].(string)
		if name == "" {
			name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
		}
		if name != "" {
			c["name"] = name
		}
		if u.GivenName != "" {
			c["given_name"] = u.GivenName
		}
		if u.FamilyName != "" {
			c["family_name"] = u.FamilyName
		}
		for _, k := range profileScopeClaims {
			if v, ok := u.Profile.Claims[k]; ok && v != nil {
				c[k] = v
			}
		}
		if !u.UpdatedAt.IsZero() {
			c["updated_at"] = u.UpdatedAt.Unix()
		}
	}
	if slices.Contains(scopes, scopeEmail) {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	if slices.Contains(scopes, scopePhone) {
		if v, ok := u.Profile.Claims["phone_number"].(string); ok && v != "" {
			c["phone_number"] = v
			verified, _ := u.Profile.Claims["phone_number_verified"].(bool)
			c["phone_number_verified"] = verified
		}
	}
	if slices.Contains(scopes, scopeAddress) {
		if v, ok := u.Profile.Claims["address"]; ok && v != nil {
			c["address"] = v
		}
	}
	if slices.Contains(scopes, scopeRoles) {
		roles := u.Roles
		if roles == nil {
			roles = []string{}
		}
		c["roles"] = roles
	}
	for _, f := range schema.Fields {
		if f.Claim == nil || !slices.Contains(scopes, f.Claim.Scope) {
			continue
		}
		// The schema's validation keeps custom fields off standard and reserved names; a stored schema that
		// predates a new reserved name still never overrides a claim set above.
		if _, taken := c[f.Name]; taken || slices.Contains(claimsSupported, f.Name) {
			continue
		}
		if v, ok := u.Profile.Attributes[f.Name]; ok && v != nil {
			c[f.Name] = v
		}
	}
	return c
}

// tenantClaims is claims_supported for a tenant: the standard list, then its custom fields released as
// claims, in schema order.
func tenantClaims(schema config.ProfileSchema) []string {
	out := slices.Clone(claimsSupported)
	for _, f := range schema.Fields {
		if f.Claim != nil && !slices.Contains(out, f.Name) {
			out = append(out, f.Name)
		}
	}
	return out
}
