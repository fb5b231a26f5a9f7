package config

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// GrantTypes UMM implements.
var GrantTypes = []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"}

// AuthMethods are the token endpoint authentication methods UMM implements.
var AuthMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}

func validateTenants(ts []TenantSeed) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	seen := map[string]bool{}
	for i, t := range ts {
		tp := fmt.Sprintf("tenants[%d]", i)
		if err := CheckTenantID(t.ID); err != nil {
			add("%s.id: %v", tp, err)
		} else if seen[t.ID] {
			add("%s.id: %q appears twice", tp, t.ID)
		}
		seen[t.ID] = true
		clients := map[string]bool{}
		for j, c := range t.Clients {
			cp := fmt.Sprintf("%s.clients[%d]", tp, j)
			if err := CheckClientID(c.ClientID); err != nil {
				add("%s.client_id: %v", cp, err)
			} else if clients[c.ClientID] {
				add("%s.client_id: %q appears twice", cp, c.ClientID)
			}
			clients[c.ClientID] = true
			for _, g := range c.GrantTypes {
				if !slices.Contains(GrantTypes, g) {
					add("%s.grant_types: %q is not one of %s", cp, g, strings.Join(GrantTypes, ", "))
				}
			}
			m := c.TokenEndpointAuthMethod
			if m != "" && !slices.Contains(AuthMethods, m) {
				add("%s.token_endpoint_auth_method: %q is not one of %s", cp, m, strings.Join(AuthMethods, ", "))
			}
			switch {
			case m == "none" && c.ClientSecret != "":
				add("%s.client_secret: a client with token_endpoint_auth_method none has no secret", cp)
			case (m == "client_secret_basic" || m == "client_secret_post") && c.ClientSecret == "":
				add("%s.client_secret: required for %s", cp, m)
			case m == "private_key_jwt" && c.JWKS == "" && c.JWKSURI == "":
				add("%s.jwks: private_key_jwt needs jwks or jwks_uri", cp)
			}
			if c.ClientSecret != "" && len(c.ClientSecret) < 8 {
				add("%s.client_secret: must be at least 8 characters", cp)
			}
			if slices.Contains(c.GrantTypes, "client_credentials") && c.ClientSecret == "" && m != "private_key_jwt" {
				add("%s.grant_types: client_credentials needs a confidential client (a secret or private_key_jwt)", cp)
			}
			for k, u := range c.RedirectURIs {
				if err := CheckRedirectURI(u); err != nil {
					add("%s.redirect_uris[%d]: %v", cp, k, err)
				}
			}
			for k, u := range c.PostLogoutRedirectURIs {
				if err := CheckRedirectURI(u); err != nil {
					add("%s.post_logout_redirect_uris[%d]: %v", cp, k, err)
				}
			}
			for k, o := range c.AllowedOrigins {
				if _, err := CheckOrigin(o); err != nil {
					add("%s.allowed_origins[%d]: %v", cp, k, err)
				}
			}
			if slices.Contains(c.GrantTypes, "authorization_code") && len(c.RedirectURIs) == 0 {
				add("%s.redirect_uris: authorization_code needs at least one redirect URI", cp)
			}
			p = append(p, validateClientLogout(cp, c)...)
			switch c.IDTokenSignedResponseAlg {
			case "", "RS256", "ES256":
			default:
				add("%s.id_token_signed_response_alg: %q must be RS256 or ES256", cp, c.IDTokenSignedResponseAlg)
			}
		}
		if st := t.Settings; st != nil {
			for _, d := range []struct {
				key string
				v   Duration
			}{
				{"session_idle", st.SessionIdle}, {"session_absolute", st.SessionAbsolute},
				{"access_token_ttl", st.AccessTokenTTL}, {"id_token_ttl", st.IDTokenTTL},
				{"refresh_token_ttl", st.RefreshTokenTTL}, {"code_ttl", st.CodeTTL},
				{"device_code_ttl", st.DeviceCodeTTL}, {"login_request_ttl", st.LoginRequestTTL},
			} {
				if d.v < 0 {
					add("%s.settings.%s: must not be negative (0 takes the default)", tp, d.key)
				}
			}
		}
		p = append(p, validatePasswordPolicy(tp, t.PasswordPolicy)...)
		p = append(p, validateTenantProfile(tp, t)...)
		p = append(p, t.Look().Validate(tp)...)
		if t.MFA != nil {
			p = append(p, CheckMFA(tp+".mfa.", *t.MFA)...)
		}
		if t.Login != nil {
			p = append(p, CheckLogin(tp+".login.", *t.Login)...)
		}
		if t.WebAuthn != nil {
			p = append(p, CheckWebAuthn(tp+".webauthn.", *t.WebAuthn)...)
		}
		if t.Risk != nil {
			// An override's zero fields keep the global values: check it as merged over the defaults.
			p = append(p, DefaultRisk().RiskPolicy.Merge(*t.Risk).Validate(tp+".risk")...)
		}
		p = append(p, validateConnections(tp, t.Connections)...)
		p = append(p, validateSAMLApps(tp, t.SAMLApps)...)
		p = append(p, validateAuthz(tp, t)...)
		if t.Email != nil && t.Email.From != "" {
			if err := CheckFrom(t.Email.From); err != nil {
				add("%s.email.from: %v", tp, err)
			}
		}
		emails := map[string]bool{}
		for j, u := range t.Users {
			up := fmt.Sprintf("%s.users[%d]", tp, j)
			if !strings.Contains(u.Email, "@") {
				add("%s.email: %q is not an email address", up, u.Email)
			} else if e := sameEmail(u.Email); emails[e] {
				add("%s.email: %q appears twice (addresses are compared ignoring case and Unicode width)", up, u.Email)
			} else {
				emails[e] = true
			}
		}
	}
	return p
}

// sameEmail is the form in which two seed addresses are the same account: the comparison identity uses
// for uniqueness (NFKC, then Unicode case folding). Two entries for one account would each undo the other
// at every start.
func sameEmail(s string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(strings.TrimSpace(s))))
}
