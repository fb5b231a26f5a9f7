package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Authorization claims a client's tokens (clients[].token_claims) or an API's access tokens
// (apis[].claims) may carry.
var TokenClaims = []string{"roles", "permissions", "groups", "org_id", "org_roles"}

// MaxTokenLifetime bounds an API's token_lifetime.
const MaxTokenLifetime = 24 * time.Hour

// APISeed is an API (resource server) of the tenant (tenants[].apis[]).
type APISeed struct {
	Identifier    string          `yaml:"identifier" json:"identifier"`
	Name          string          `yaml:"name" json:"name,omitempty"`
	Permissions   []PermissionDef `yaml:"permissions" json:"permissions,omitempty"`
	TokenLifetime Duration        `yaml:"token_lifetime" json:"token_lifetime,omitempty"`
	Claims        []string        `yaml:"claims" json:"claims,omitempty"`
}

// PermissionDef is a permission an API defines: written as its name alone, or as {name, description}.
type PermissionDef struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description,omitempty"`
}

// setScalar lets a permission be written as its name alone.
func (p *PermissionDef) setScalar(s string) { p.Name = s }

// RoleSeed is a role of the tenant (tenants[].roles[]) with the API permissions it grants.
type RoleSeed struct {
	Name        string          `yaml:"name" json:"name"`
	Description string          `yaml:"description" json:"description,omitempty"`
	Permissions []PermissionRef `yaml:"permissions" json:"permissions,omitempty"`
}

// PermissionRef names a permission of an API by the API's identifier.
type PermissionRef struct {
	API        string `yaml:"api" json:"api"`
	Permission string `yaml:"permission" json:"permission"`
}

// GroupSeed is a group (tenants[].groups[]): its members (by email) hold its roles.
type GroupSeed struct {
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description" json:"description,omitempty"`
	Roles       []string `yaml:"roles" json:"roles,omitempty"`
	Members     []string `yaml:"members" json:"members,omitempty"`
}

// OrganizationSeed is an organization (tenants[].organizations[]).
type OrganizationSeed struct {
	ID          string      `yaml:"id" json:"id"`
	Name        string      `yaml:"name" json:"name"`
	DisplayName string      `yaml:"display_name" json:"display_name,omitempty"`
	Connections []string    `yaml:"connections" json:"connections,omitempty"`
	Members     []OrgMember `yaml:"members" json:"members,omitempty"`
	// Branding applies to the hosted pages of a sign-in to the organization, over the tenant's; absent,
	// the seed leaves the organization's branding as it is.
	Branding *Branding `yaml:"branding" json:"branding,omitempty"`
}

// OrgMember is a member of a seeded organization and the roles it holds there.
type OrgMember struct {
	Email string   `yaml:"email" json:"email"`
	Roles []string `yaml:"roles" json:"roles,omitempty"`
}

// CheckAPIIdentifier reports whether s can identify an API: an absolute URI without a fragment
// (RFC 8707 §2), which is what clients send as resource and what tokens carry as aud.
func CheckAPIIdentifier(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return fmt.Errorf("is required: an absolute URI such as https://api.example.com")
	case len(s) > 2048:
		return fmt.Errorf("is longer than 2048 characters")
	case err != nil || !u.IsAbs() || (u.Host == "" && u.Opaque == ""):
		return fmt.Errorf("%q must be an absolute URI such as https://api.example.com", s)
	case strings.Contains(s, "#"):
		return fmt.Errorf("%q must not have a fragment (#...)", s)
	case strings.ContainsAny(s, " \t\r\n"):
		return fmt.Errorf("%q must not contain spaces", s)
	}
	return nil
}

// CheckPermissionName reports whether s can name a permission. It becomes an OAuth scope value, so it
// has only the characters a scope may have (RFC 6749 §3.3) and no spaces.
func CheckPermissionName(s string) error {
	if s == "" {
		return fmt.Errorf("is required, for example orders:read")
	}
	if len(s) > 200 {
		return fmt.Errorf("%q is longer than 200 characters", s)
	}
	for _, c := range []byte(s) {
		if c <= 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return fmt.Errorf("%q may hold only visible ASCII characters, without spaces, quotes or backslashes", s)
		}
	}
	return nil
}

// CheckRoleName reports whether s can name a role (it appears in tokens' roles claim).
func CheckRoleName(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("is required")
	case len(s) > 100 || !utf8.ValidString(s) || strings.ContainsAny(s, "\t\r\n"):
		return fmt.Errorf("%q must be up to 100 characters on one line", s)
	}
	return nil
}

var orgIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// CheckOrganizationID reports whether id can name an organization (it is sent as organization=ID).
func CheckOrganizationID(id string) error {
	if !orgIDPattern.MatchString(id) {
		return fmt.Errorf("%q must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit", id)
	}
	return nil
}

// CheckTokenClaims reports the first of claims that is not an authorization claim UMM can add.
func CheckTokenClaims(claims []string) error {
	for _, c := range claims {
		if !slices.Contains(TokenClaims, c) {
			return fmt.Errorf("%q is not one of %s", c, strings.Join(TokenClaims, ", "))
		}
	}
	return nil
}

// validateAuthz checks a tenant's apis, roles, groups and organizations, and the references between
// them and to its users and connections.
func validateAuthz(tp string, t TenantSeed) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	apis := map[string][]string{} // identifier -> permissions
	for i, a := range t.APIs {
		ap := fmt.Sprintf("%s.apis[%d]", tp, i)
		if err := CheckAPIIdentifier(a.Identifier); err != nil {
			add("%s.identifier: %v", ap, err)
		} else if _, dup := apis[a.Identifier]; dup {
			add("%s.identifier: %q appears twice", ap, a.Identifier)
		}
		var perms []string
		for j, perm := range a.Permissions {
			if err := CheckPermissionName(perm.Name); err != nil {
				add("%s.permissions[%d]: %v", ap, j, err)
			} else if slices.Contains(perms, perm.Name) {
				add("%s.permissions[%d]: %q appears twice", ap, j, perm.Name)
			}
			perms = append(perms, perm.Name)
		}
		apis[a.Identifier] = perms
		if a.TokenLifetime < 0 || a.TokenLifetime.D() > MaxTokenLifetime {
			add("%s.token_lifetime: must be between 0 (the tenant's access token lifetime) and %s", ap, MaxTokenLifetime)
		}
		if err := CheckTokenClaims(a.Claims); err != nil {
			add("%s.claims: %v", ap, err)
		}
	}
	roles := map[string]bool{}
	for _, u := range t.Users {
		for _, r := range u.Roles {
			roles[r] = true
		}
	}
	seenRoles := map[string]bool{}
	for i, r := range t.Roles {
		rp := fmt.Sprintf("%s.roles[%d]", tp, i)
		if err := CheckRoleName(r.Name); err != nil {
			add("%s.name: %v", rp, err)
		} else if seenRoles[r.Name] {
			add("%s.name: %q appears twice", rp, r.Name)
		}
		seenRoles[r.Name], roles[r.Name] = true, true
		for j, ref := range r.Permissions {
			perms, ok := apis[ref.API]
			switch {
			case !ok:
				add("%s.permissions[%d].api: %q is not the identifier of one of this tenant's apis", rp, j, ref.API)
			case !slices.Contains(perms, ref.Permission):
				add("%s.permissions[%d].permission: %q is not a permission of api %s (it has %s)", rp, j, ref.Permission,
					ref.API, strings.Join(perms, ", "))
			}
		}
	}
	emails := map[string]bool{}
	for _, u := range t.Users {
		emails[sameEmail(u.Email)] = true
	}
	checkRoles := func(path string, rs []string) {
		for k, r := range rs {
			if !roles[r] {
				add("%s[%d]: %q is not a role of this tenant: declare it under roles (or give it to a user)", path, k, r)
			}
		}
	}
	checkMember := func(path, email string) {
		if !emails[sameEmail(email)] {
			add("%s: %q is not one of this tenant's seeded users", path, email)
		}
	}
	groups := map[string]bool{}
	for i, g := range t.Groups {
		gp := fmt.Sprintf("%s.groups[%d]", tp, i)
		if strings.TrimSpace(g.Name) == "" {
			add("%s.name: is required", gp)
		} else if groups[g.Name] {
			add("%s.name: %q appears twice", gp, g.Name)
		}
		groups[g.Name] = true
		checkRoles(gp+".roles", g.Roles)
		for k, m := range g.Members {
			checkMember(fmt.Sprintf("%s.members[%d]", gp, k), m)
		}
	}
	conns := map[string]bool{}
	for _, c := range t.Connections {
		conns[c.ID] = true
	}
	orgIDs, orgNames := map[string]bool{}, map[string]bool{}
	for i, o := range t.Organizations {
		op := fmt.Sprintf("%s.organizations[%d]", tp, i)
		if err := CheckOrganizationID(o.ID); err != nil {
			add("%s.id: %v", op, err)
		} else if orgIDs[o.ID] {
			add("%s.id: %q appears twice", op, o.ID)
		}
		orgIDs[o.ID] = true
		if strings.TrimSpace(o.Name) == "" {
			add("%s.name: is required", op)
		} else if orgNames[o.Name] {
			add("%s.name: %q appears twice", op, o.Name)
		}
		orgNames[o.Name] = true
		if o.Branding != nil {
			p = append(p, TenantLook{Branding: *o.Branding}.Validate(op)...)
		}
		for k, c := range o.Connections {
			if !conns[c] {
				add("%s.connections[%d]: %q is not one of this tenant's connections", op, k, c)
			}
		}
		for k, m := range o.Members {
			mp := fmt.Sprintf("%s.members[%d]", op, k)
			checkMember(mp+".email", m.Email)
			checkRoles(mp+".roles", m.Roles)
		}
	}
	for j, c := range t.Clients {
		if err := CheckTokenClaims(c.TokenClaims); err != nil {
			add("%s.clients[%d].token_claims: %v", tp, j, err)
		}
	}
	return p
}
