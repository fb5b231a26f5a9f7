package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Registration is a tenant's self-service sign-up: whether it is open, whether an address must be proven
// before the account can sign in, and which email domains may register.
type Registration struct {
	// Enabled shows the "Create account" link; off (the default), /register answers 404.
	Enabled bool `yaml:"enabled" json:"enabled,omitempty"`
	// RequireEmailVerification (default true): no sign-in or token until the address is proven. A pointer,
	// so that leaving it out keeps the safe default instead of turning it off.
	RequireEmailVerification *bool `yaml:"require_email_verification" json:"require_email_verification,omitempty"`
	// AllowedEmailDomains, when not empty, is the allow-list of domains whose addresses may register.
	AllowedEmailDomains []string `yaml:"allowed_email_domains" json:"allowed_email_domains,omitempty"`
	// VerificationTTL is how long the emailed link and code are valid (default 15m).
	VerificationTTL Duration `yaml:"verification_ttl" json:"verification_ttl,omitempty"`
	// UnverifiedRetention is how long a self-registered account that never verified its address is kept
	// before garbage collection deletes it (default 168h, 7 days).
	UnverifiedRetention Duration `yaml:"unverified_retention" json:"unverified_retention,omitempty"`
	// Limits bound registrations and verification emails per hour (0: the default).
	Limits RegistrationLimits `yaml:"limits" json:"limits,omitzero"`
}

// RegistrationLimits are the hourly abuse limits of registration, shared by every node.
type RegistrationLimits struct {
	// PerIPPerHour: registrations from one client IP (IPv6: its /64) per hour (default 20).
	PerIPPerHour int `yaml:"per_ip_per_hour" json:"per_ip_per_hour,omitempty"`
	// EmailsPerAddressPerHour: verification and notice emails to one address per hour (default 5).
	EmailsPerAddressPerHour int `yaml:"emails_per_address_per_hour" json:"emails_per_address_per_hour,omitempty"`
}

// Defaults of the registration block.
const (
	DefaultVerificationTTL         = 15 * time.Minute
	DefaultUnverifiedRetention     = 7 * 24 * time.Hour
	DefaultRegistrationsPerIP      = 20
	DefaultEmailsPerAddressPerHour = 5
)

// VerificationTTLD is VerificationTTL with its default applied.
func (r Registration) VerificationTTLD() time.Duration {
	if r.VerificationTTL <= 0 {
		return DefaultVerificationTTL
	}
	return r.VerificationTTL.D()
}

// UnverifiedRetentionD is UnverifiedRetention with its default applied.
func (r Registration) UnverifiedRetentionD() time.Duration {
	if r.UnverifiedRetention <= 0 {
		return DefaultUnverifiedRetention
	}
	return r.UnverifiedRetention.D()
}

// PerIP is Limits.PerIPPerHour with its default applied.
func (r Registration) PerIP() int {
	if r.Limits.PerIPPerHour <= 0 {
		return DefaultRegistrationsPerIP
	}
	return r.Limits.PerIPPerHour
}

// EmailsPerAddress is Limits.EmailsPerAddressPerHour with its default applied.
func (r Registration) EmailsPerAddress() int {
	if r.Limits.EmailsPerAddressPerHour <= 0 {
		return DefaultEmailsPerAddressPerHour
	}
	return r.Limits.EmailsPerAddressPerHour
}

// EmailVerificationRequired applies the default (true) when the key was left out.
func (r Registration) EmailVerificationRequired() bool {
	return r.RequireEmailVerification == nil || *r.RequireEmailVerification
}

// IsZero reports a block that sets nothing (stored settings leave it out).
func (r Registration) IsZero() bool {
	return !r.Enabled && r.RequireEmailVerification == nil && len(r.AllowedEmailDomains) == 0 &&
		r.VerificationTTL == 0 && r.UnverifiedRetention == 0 && r.Limits == RegistrationLimits{}
}

// IsZero reports a schema without fields (stored settings leave it out).
func (s ProfileSchema) IsZero() bool { return len(s.Fields) == 0 && len(s.Progressive) == 0 }

// ProfileSchema is a tenant's profile: entries for standard OIDC claims (to make them required, ask for them
// at registration or let users edit them) and custom attributes, plus the fields asked for after some
// sign-ins (progressive profiling). The same type is the seed's YAML and the JSON stored with the tenant.
type ProfileSchema struct {
	Fields      []ProfileField     `yaml:"fields" json:"fields,omitempty"`
	Progressive []ProgressiveField `yaml:"progressive" json:"progressive,omitempty"`
}

// ProfileField describes one profile value: its type and limits, its labels, and where it appears.
type ProfileField struct {
	Name string `yaml:"name" json:"name"`
	// Type is one of FieldTypes; empty: string for a custom field, the claim's own type for a standard one.
	Type  string            `yaml:"type" json:"type,omitempty"`
	Label map[string]string `yaml:"label" json:"label,omitempty"` // per language tag: en, de, ...
	// Required: a form asking for the field does not accept an empty value.
	Required bool `yaml:"required" json:"required,omitempty"`
	// Registration: the registration form asks for it. Editable: the user may change it on the profile page.
	Registration bool `yaml:"registration" json:"registration,omitempty"`
	Editable     bool `yaml:"editable" json:"editable,omitempty"`
	// Limits: lengths in characters for text types, Min/Max for integers, Pattern (Go RE2 syntax, matched
	// against the whole value) for text types.
	MinLength *int   `yaml:"min_length" json:"min_length,omitempty"`
	MaxLength *int   `yaml:"max_length" json:"max_length,omitempty"`
	Pattern   string `yaml:"pattern" json:"pattern,omitempty"`
	Min       *int64 `yaml:"min" json:"min,omitempty"`
	Max       *int64 `yaml:"max" json:"max,omitempty"`
	// Options are the values a select field accepts (shown as they are written).
	Options []string `yaml:"options" json:"options,omitempty"`
	// Claim releases a custom field in the ID token and UserInfo, under its own name, to grants with Scope.
	Claim *FieldClaim `yaml:"claim" json:"claim,omitempty"`
}

// FieldClaim names the scope that releases a custom field as a claim.
type FieldClaim struct {
	Scope string `yaml:"scope" json:"scope"`
}

// ProgressiveField asks a signed-in user for a field once they have signed in AfterSignIns times.
type ProgressiveField struct {
	Field        string `yaml:"field" json:"field"`
	AfterSignIns int    `yaml:"after_sign_ins" json:"after_sign_ins"`
}

// Field types of profile values.
const (
	FieldString  = "string"
	FieldEmail   = "email"
	FieldPhone   = "phone" // E.164
	FieldDate    = "date"  // YYYY-MM-DD
	FieldBoolean = "boolean"
	FieldInteger = "integer"
	FieldSelect  = "select"
	FieldURL     = "url"
	// FieldAddress is the type of the standard address claim only (OIDC Core §5.1.1), not of custom fields.
	FieldAddress = "address"
)

// FieldTypes are the types a custom field may have.
var FieldTypes = []string{FieldString, FieldEmail, FieldPhone, FieldDate, FieldBoolean, FieldInteger, FieldSelect, FieldURL}

// StandardClaims are the OIDC Core §5.1 claims UMM keeps in a profile, with their types. email and
// email_verified are not among them: the address is the account's identifier, changed on its own path.
var StandardClaims = map[string]string{
	"given_name": FieldString, "family_name": FieldString, "name": FieldString, "nickname": FieldString,
	"preferred_username": FieldString, "picture": FieldURL, "website": FieldURL, "gender": FieldString,
	"birthdate": FieldDate, "zoneinfo": FieldString, "locale": FieldString, "phone_number": FieldPhone,
	"address": FieldAddress,
}

// StandardClaimNames lists StandardClaims in the order of OIDC Core §5.1.
var StandardClaimNames = []string{"name", "given_name", "family_name", "nickname", "preferred_username",
	"picture", "website", "gender", "birthdate", "zoneinfo", "locale", "phone_number", "address"}

// ReservedClaims may not name a custom field: a field of that name would be released next to, or instead
// of, a claim with a protocol meaning.
var ReservedClaims = []string{"sub", "iss", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "acr",
	"amr", "azp", "sid", "at_hash", "c_hash", "s_hash", "email", "email_verified", "phone_number_verified",
	"updated_at", "middle_name", "profile", "roles", "scope", "client_id", "cnf", "gid", "events", "groups",
	"permissions", "org_id", "tenant", "password"}

// Field returns the schema's entry for name, if any.
func (s ProfileSchema) Field(name string) (ProfileField, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return ProfileField{}, false
}

// Knows reports whether name is a profile value of this schema: a standard claim or a custom field.
func (s ProfileSchema) Knows(name string) bool {
	_, std := StandardClaims[name]
	_, custom := s.Field(name)
	return std || custom
}

// TypeOf returns the field's effective type: the standard claim's own, the declared one, or string.
func (f ProfileField) TypeOf() string {
	if t, ok := StandardClaims[f.Name]; ok {
		return t
	}
	if f.Type == "" {
		return FieldString
	}
	return f.Type
}

var fieldNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
var scopeTokenPattern = regexp.MustCompile(`^[\x21\x23-\x5b\x5d-\x7e]+$`)

// textTypes take length limits and a pattern.
var textTypes = []string{FieldString, FieldEmail, FieldPhone, FieldURL}

// CheckProfileSchema lists every problem of a schema, each prefixed with prefix and the key path.
func CheckProfileSchema(prefix string, s ProfileSchema) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, prefix+fmt.Sprintf(format, args...)) }
	seen := map[string]bool{}
	for i, f := range s.Fields {
		fp := fmt.Sprintf("fields[%d]", i)
		stdType, standard := StandardClaims[f.Name]
		switch {
		case f.Name == "":
			add("%s.name: is required", fp)
		case slices.Contains(ReservedClaims, f.Name):
			add("%s.name: %q is a reserved claim name; choose another name", fp, f.Name)
		case !fieldNamePattern.MatchString(f.Name):
			add("%s.name: %q must be 1-63 of a-z, 0-9 and _, starting with a letter", fp, f.Name)
		case seen[f.Name]:
			add("%s.name: %q appears twice", fp, f.Name)
		}
		seen[f.Name] = true
		typ := f.TypeOf()
		if standard {
			if f.Type != "" && f.Type != stdType {
				add("%s.type: %q is the standard claim %s of type %s; a custom field needs another name", fp, f.Name, f.Name, stdType)
			}
			if f.Claim != nil {
				add("%s.claim: %q is a standard claim, released by its standard scope; a custom field needs another name", fp, f.Name)
			}
		} else if f.Type != "" && !slices.Contains(FieldTypes, f.Type) {
			add("%s.type: %q is not one of %s", fp, f.Type, strings.Join(FieldTypes, ", "))
		}
		if typ == FieldSelect && len(f.Options) == 0 {
			add("%s.options: a select field needs at least one option", fp)
		}
		if typ != FieldSelect && len(f.Options) > 0 {
			add("%s.options: only a select field has options", fp)
		}
		opts := map[string]bool{}
		for k, o := range f.Options {
			if strings.TrimSpace(o) == "" {
				add("%s.options[%d]: must not be empty", fp, k)
			} else if opts[o] {
				add("%s.options[%d]: %q appears twice", fp, k, o)
			}
			opts[o] = true
		}
		text := slices.Contains(textTypes, typ)
		if f.Pattern != "" {
			if !text {
				add("%s.pattern: only text fields (%s) take a pattern", fp, strings.Join(textTypes, ", "))
			} else if _, err := regexp.Compile(f.Pattern); err != nil {
				add("%s.pattern: not a valid regular expression: %v", fp, err)
			}
		}
		if (f.MinLength != nil || f.MaxLength != nil) && !text {
			add("%s.min_length: only text fields (%s) take min_length and max_length", fp, strings.Join(textTypes, ", "))
		}
		if f.MinLength != nil && *f.MinLength < 0 {
			add("%s.min_length: must not be negative", fp)
		}
		if f.MaxLength != nil && *f.MaxLength < 1 {
			add("%s.max_length: must be at least 1", fp)
		}
		if f.MinLength != nil && f.MaxLength != nil && *f.MinLength > *f.MaxLength {
			add("%s.min_length: %d is greater than max_length %d", fp, *f.MinLength, *f.MaxLength)
		}
		if (f.Min != nil || f.Max != nil) && typ != FieldInteger {
			add("%s.min: only integer fields take min and max", fp)
		}
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			add("%s.min: %d is greater than max %d", fp, *f.Min, *f.Max)
		}
		if f.Claim != nil && !standard {
			switch {
			case f.Claim.Scope == "":
				add("%s.claim.scope: is required (the scope that releases the claim, for example profile)", fp)
			case f.Claim.Scope == "openid":
				add("%s.claim.scope: openid releases no profile claims; use profile or a scope of your own", fp)
			case !scopeTokenPattern.MatchString(f.Claim.Scope):
				add("%s.claim.scope: %q is not a scope token", fp, f.Claim.Scope)
			}
		}
		langs := make([]string, 0, len(f.Label))
		for lang := range f.Label {
			langs = append(langs, lang)
		}
		sort.Strings(langs)
		for _, lang := range langs {
			if _, err := language.Parse(lang); err != nil {
				add("%s.label.%s: %q is not a language tag (en, de, pt-BR, ...)", fp, lang, lang)
			} else if strings.TrimSpace(f.Label[lang]) == "" {
				add("%s.label.%s: the text must not be empty", fp, lang)
			}
		}
	}
	prog := map[string]bool{}
	for i, g := range s.Progressive {
		gp := fmt.Sprintf("progressive[%d]", i)
		switch {
		case !s.Knows(g.Field):
			add("%s.field: %q is neither a standard claim nor a field of profile.fields", gp, g.Field)
		case prog[g.Field]:
			add("%s.field: %q appears twice", gp, g.Field)
		}
		prog[g.Field] = true
		if g.AfterSignIns < 1 {
			add("%s.after_sign_ins: must be at least 1", gp)
		}
	}
	return p
}

// CheckRegistration lists the problems of a tenant's registration block.
func CheckRegistration(prefix string, r Registration) Problems {
	var p Problems
	if r.VerificationTTL != 0 && (r.VerificationTTL.D() < time.Minute || r.VerificationTTL.D() > 24*time.Hour) {
		p = append(p, fmt.Sprintf("%sverification_ttl: %s must lie between 1m and 24h", prefix, r.VerificationTTL))
	}
	if r.UnverifiedRetention != 0 && r.UnverifiedRetention.D() < time.Hour {
		p = append(p, fmt.Sprintf("%sunverified_retention: %s must be at least 1h", prefix, r.UnverifiedRetention))
	}
	if r.Limits.PerIPPerHour < 0 {
		p = append(p, fmt.Sprintf("%slimits.per_ip_per_hour: must not be negative", prefix))
	}
	if r.Limits.EmailsPerAddressPerHour < 0 {
		p = append(p, fmt.Sprintf("%slimits.emails_per_address_per_hour: must not be negative", prefix))
	}
	for i, d := range r.AllowedEmailDomains {
		switch {
		case d != strings.ToLower(d):
			p = append(p, fmt.Sprintf("%sallowed_email_domains[%d]: %q must be written in lower case", prefix, i, d))
		case !validDomain(d):
			p = append(p, fmt.Sprintf("%sallowed_email_domains[%d]: %q is not a domain name (write example.com, without @)", prefix, i, d))
		}
	}
	return p
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.ContainsAny(d, "@/: ") || d != strings.ToLower(d) {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
	}
	return true
}

// CheckInitiateLoginURI checks a client's initiate_login_uri (OIDC Registration §2): an absolute https URL
// (http only to a loopback host, for development), without a fragment.
func CheckInitiateLoginURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("%q must not have a fragment", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("%q must use https (http only for localhost)", s)
}

// validateTenantProfile checks a tenant's registration, profile and the profile keys of its clients and
// users, against the tenant's own schema.
func validateTenantProfile(tp string, t TenantSeed) Problems {
	var p Problems
	if t.Registration != nil {
		p = append(p, CheckRegistration(tp+".registration.", *t.Registration)...)
	}
	var schema ProfileSchema
	if t.Profile != nil {
		schema = *t.Profile
		p = append(p, CheckProfileSchema(tp+".profile.", schema)...)
	}
	for j, c := range t.Clients {
		cp := fmt.Sprintf("%s.clients[%d]", tp, j)
		for k, f := range c.RequiredProfileFields {
			if !schema.Knows(f) {
				p = append(p, fmt.Sprintf("%s.required_profile_fields[%d]: %q is neither a standard claim nor a field of profile.fields", cp, k, f))
			}
		}
		if c.InitiateLoginURI != "" {
			if err := CheckInitiateLoginURI(c.InitiateLoginURI); err != nil {
				p = append(p, fmt.Sprintf("%s.initiate_login_uri: %v", cp, err))
			}
		}
	}
	for j, u := range t.Users {
		up := fmt.Sprintf("%s.users[%d]", tp, j)
		names := make([]string, 0, len(u.Attributes))
		for k := range u.Attributes {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			switch {
			case k == "given_name" || k == "family_name":
				p = append(p, fmt.Sprintf("%s.attributes.%s: set it with %s.%s", up, k, up, k))
			case !schema.Knows(k):
				p = append(p, fmt.Sprintf("%s.attributes.%s: neither a standard claim nor a field of profile.fields", up, k))
			}
		}
	}
	return p
}
