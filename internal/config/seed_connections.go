package config

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Connection types (tenants[].connections[].type). The presets are OIDC or OAuth 2.0 providers whose
// endpoints, scopes and claim mapping UMM knows; oidc and oauth2 are any other provider.
const (
	ConnOIDC      = "oidc"
	ConnOAuth2    = "oauth2"
	ConnSAML      = "saml"
	ConnLDAP      = "ldap"
	ConnGoogle    = "google"
	ConnApple     = "apple"
	ConnMicrosoft = "microsoft"
	ConnGitHub    = "github"
	ConnGitLab    = "gitlab"
	ConnFacebook  = "facebook"
	ConnLinkedIn  = "linkedin"
)

// ConnectionTypes are the accepted types; Presets the social presets among them.
var (
	Presets         = []string{ConnGoogle, ConnApple, ConnMicrosoft, ConnGitHub, ConnGitLab, ConnFacebook, ConnLinkedIn}
	ConnectionTypes = append([]string{ConnOIDC, ConnOAuth2, ConnSAML, ConnLDAP}, Presets...)
)

// LDAP connection modes.
const (
	LDAPFederated = "federated" // the directory checks the password at every sign-in and keeps the profile
	LDAPImport    = "import"    // lazy migration: the first good bind stores the password; the user is local after
)

// Strings is a list that a seed may also write as its one item (role_mapping: {admins: admin}).
type Strings []string

// Connection is an upstream identity provider of a tenant (tenants[].connections[]): a social preset, any
// OpenID provider or OAuth 2.0 server, a SAML 2.0 IdP, or an LDAP directory. Which keys apply depends on
// Type; Validate says which are missing or do not belong. The JSON form (without the secrets, which are
// sealed apart) is how the store keeps it.
type Connection struct {
	ID          string `yaml:"id" json:"id"`
	Type        string `yaml:"type" json:"type"`
	DisplayName string `yaml:"display_name" json:"display_name,omitempty"`
	// Logo is the button's icon (an https URL, or a data: URL of an image); presets have their own.
	Logo string `yaml:"logo" json:"logo,omitempty"`
	// Disabled keeps the connection stored but off the sign-in page and refuses its callbacks.
	Disabled bool `yaml:"disabled" json:"disabled,omitempty"`
	// Domains route addresses @domain typed on the identifier page to this connection (home-realm discovery).
	Domains []string `yaml:"domains" json:"domains,omitempty"`
	// TrustEmail links an upstream identity to the account with its address without asking the person to
	// prove that account, but only when the upstream says the address is verified.
	TrustEmail bool `yaml:"trust_email" json:"trust_email,omitempty"`
	// TrustAMR adds what the upstream reports it checked (OIDC amr, SAML AuthnContext) to the session, so
	// an upstream sign-in with MFA counts as two factors and UMM does not ask again.
	TrustAMR bool `yaml:"trust_amr" json:"trust_amr,omitempty"`
	// RoleMapping maps an upstream group or role (a value of the groups claim or attribute, or an LDAP
	// group DN) to UMM roles.
	RoleMapping map[string]Strings `yaml:"role_mapping" json:"role_mapping,omitempty"`

	// OpenID Connect and OAuth 2.0 (and the presets).
	Issuer       string `yaml:"issuer" json:"issuer,omitempty"`
	ClientID     string `yaml:"client_id" json:"client_id,omitempty"`
	ClientSecret string `yaml:"client_secret" json:"-"`
	// Scopes replace the type's default scopes.
	Scopes []string `yaml:"scopes" json:"scopes,omitempty"`
	// Claims maps a profile field (email, name, given_name, ... or a custom field of the tenant's schema,
	// and "groups") to the upstream claim holding it; for oauth2 the claim is a JSON pointer into the
	// userinfo document ("/data/email"). Unmapped fields take the standard claim of the same name.
	Claims map[string]string `yaml:"claims" json:"claims,omitempty"`
	// StoreTokens keeps the upstream access and refresh tokens, sealed, on the linked identity.
	StoreTokens bool `yaml:"store_tokens" json:"store_tokens,omitempty"`
	// AuthorizationURL, TokenURL and UserinfoURL are the endpoints of an oauth2 connection.
	AuthorizationURL string `yaml:"authorization_url" json:"authorization_url,omitempty"`
	TokenURL         string `yaml:"token_url" json:"token_url,omitempty"`
	UserinfoURL      string `yaml:"userinfo_url" json:"userinfo_url,omitempty"`
	// SubjectClaim names the claim (JSON pointer for oauth2) that identifies the upstream account ("/id").
	SubjectClaim string `yaml:"subject_claim" json:"subject_claim,omitempty"`
	// Apple: the client secret is a JWT signed with the .p8 key (PrivateKey, PEM) of KeyID in TeamID.
	TeamID     string `yaml:"team_id" json:"team_id,omitempty"`
	KeyID      string `yaml:"key_id" json:"key_id,omitempty"`
	PrivateKey string `yaml:"private_key" json:"-"`
	// Microsoft: the Entra ID tenant (common, organizations, consumers, or a tenant id or domain).
	Tenant string `yaml:"tenant" json:"tenant,omitempty"`

	// SAML 2.0: the IdP's metadata by URL or inline XML; Attributes map a profile field to the SAML
	// attribute holding it.
	MetadataURL string            `yaml:"metadata_url" json:"metadata_url,omitempty"`
	MetadataXML string            `yaml:"metadata_xml" json:"metadata_xml,omitempty"`
	Attributes  map[string]string `yaml:"attributes" json:"attributes,omitempty"`
	// SignRequests signs the AuthnRequests UMM sends (with the tenant's signing key).
	SignRequests bool `yaml:"sign_requests" json:"sign_requests,omitempty"`

	// LDAP and Active Directory.
	URL          string   `yaml:"url" json:"url,omitempty"`
	StartTLS     bool     `yaml:"start_tls" json:"start_tls,omitempty"`
	CACert       string   `yaml:"ca_cert" json:"ca_cert,omitempty"` // PEM of the directory's CA, when not a public one
	BindDN       string   `yaml:"bind_dn" json:"bind_dn,omitempty"`
	BindPassword string   `yaml:"bind_password" json:"-"`
	BaseDN       string   `yaml:"base_dn" json:"base_dn,omitempty"`
	UserFilter   string   `yaml:"user_filter" json:"user_filter,omitempty"`
	LoginAttr    string   `yaml:"login_attribute" json:"login_attribute,omitempty"`
	GroupBaseDN  string   `yaml:"group_base_dn" json:"group_base_dn,omitempty"`
	GroupFilter  string   `yaml:"group_filter" json:"group_filter,omitempty"`
	Mode         string   `yaml:"mode" json:"mode,omitempty"`
	Fallback     bool     `yaml:"fallback" json:"fallback,omitempty"`
	Timeout      Duration `yaml:"timeout" json:"timeout,omitempty"`
	SyncInterval Duration `yaml:"sync_interval" json:"sync_interval,omitempty"`
}

// ConnectionSecrets are the parts of a connection sealed at rest.
type ConnectionSecrets struct {
	ClientSecret string `json:"client_secret,omitempty"`
	PrivateKey   string `json:"private_key,omitempty"`
	BindPassword string `json:"bind_password,omitempty"`
}

// Secrets returns c's secrets.
func (c Connection) Secrets() ConnectionSecrets {
	return ConnectionSecrets{ClientSecret: c.ClientSecret, PrivateKey: c.PrivateKey, BindPassword: c.BindPassword}
}

// WithSecrets returns c with s's secrets.
func (c Connection) WithSecrets(s ConnectionSecrets) Connection {
	c.ClientSecret, c.PrivateKey, c.BindPassword = s.ClientSecret, s.PrivateKey, s.BindPassword
	return c
}

// IsPreset reports whether c is one of the social presets.
func (c Connection) IsPreset() bool { return slices.Contains(Presets, c.Type) }

// Redirecting reports whether c signs in by sending the browser upstream (everything but LDAP).
func (c Connection) Redirecting() bool { return c.Type != ConnLDAP }

// ModeOr is the LDAP mode with its default (federated).
func (c Connection) ModeOr() string {
	if c.Mode == "" {
		return LDAPFederated
	}
	return c.Mode
}

// HasDomain reports whether addresses at domain (lower case) route to c.
func (c Connection) HasDomain(domain string) bool {
	for _, d := range c.Domains {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

var connectionIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// CheckConnectionID reports whether id can name a connection (it appears in callback URLs).
func CheckConnectionID(id string) error {
	if !connectionIDPattern.MatchString(id) {
		return fmt.Errorf("%q must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit", id)
	}
	return nil
}

// checkUpstreamURL accepts an https URL, or http only to a loopback host (development and tests).
func checkUpstreamURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	if slices.Contains(schemes, u.Scheme) {
		return nil
	}
	if (u.Scheme == "http" || u.Scheme == "ldap") && LoopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%q must use %s (plain %s only on a loopback host)", s, strings.Join(schemes, " or "),
		map[string]string{"https": "http", "ldaps": "ldap"}[schemes[0]])
}

// Validate lists what is wrong with c, each problem prefixed with path ("tenants[0].connections[1]").
func (c Connection) Validate(path string) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, path+"."+fmt.Sprintf(format, args...)) }
	if err := CheckConnectionID(c.ID); err != nil {
		add("id: %v", err)
	}
	if !slices.Contains(ConnectionTypes, c.Type) {
		add("type: %q is not one of %s", c.Type, strings.Join(ConnectionTypes, ", "))
		return p
	}
	for i, d := range c.Domains {
		if d == "" || strings.ContainsAny(d, "@/ ") || !strings.Contains(d, ".") {
			add("domains[%d]: %q is not a domain name", i, d)
		}
	}
	if c.Logo != "" && !strings.HasPrefix(c.Logo, "data:image/") {
		if err := checkUpstreamURL(c.Logo, "https"); err != nil {
			add("logo: %v", err)
		}
	}
	for k, v := range c.RoleMapping {
		if k == "" || len(v) == 0 {
			add("role_mapping: %q must map a non-empty upstream group to at least one role", k)
		}
	}
	need := func(key, v string) {
		if v == "" {
			add("%s: required for type %s", key, c.Type)
		}
	}
	switch c.Type {
	case ConnOIDC:
		need("issuer", c.Issuer)
		need("client_id", c.ClientID)
		if c.Issuer != "" {
			if err := checkUpstreamURL(c.Issuer, "https"); err != nil {
				add("issuer: %v", err)
			}
		}
	case ConnOAuth2:
		need("client_id", c.ClientID)
		need("authorization_url", c.AuthorizationURL)
		need("token_url", c.TokenURL)
		need("userinfo_url", c.UserinfoURL)
		for _, kv := range [][2]string{{"authorization_url", c.AuthorizationURL}, {"token_url", c.TokenURL}, {"userinfo_url", c.UserinfoURL}} {
			if kv[1] != "" {
				if err := checkUpstreamURL(kv[1], "https"); err != nil {
					add("%s: %v", kv[0], err)
				}
			}
		}
		for f, ptr := range c.Claims {
			if !strings.HasPrefix(ptr, "/") {
				add("claims.%s: %q must be a JSON pointer (\"/email\")", f, ptr)
			}
		}
		if c.SubjectClaim != "" && !strings.HasPrefix(c.SubjectClaim, "/") {
			add("subject_claim: %q must be a JSON pointer (\"/id\")", c.SubjectClaim)
		}
	case ConnApple:
		need("client_id", c.ClientID)
		if c.ClientSecret == "" {
			need("team_id", c.TeamID)
			need("key_id", c.KeyID)
			need("private_key", c.PrivateKey)
		}
	case ConnSAML:
		if (c.MetadataURL == "") == (c.MetadataXML == "") {
			add("metadata_url: give the IdP's metadata_url or its metadata_xml, one of them")
		}
		if c.MetadataURL != "" {
			if err := checkUpstreamURL(c.MetadataURL, "https"); err != nil {
				add("metadata_url: %v", err)
			}
		}
	case ConnLDAP:
		need("url", c.URL)
		need("base_dn", c.BaseDN)
		need("user_filter", c.UserFilter)
		if c.URL != "" {
			u, err := url.Parse(c.URL)
			switch {
			case err != nil || u.Host == "":
				add("url: %q is not an ldap:// or ldaps:// URL", c.URL)
			case u.Scheme == "ldaps":
				if c.StartTLS {
					add("start_tls: not with ldaps:// (the connection is TLS from the start)")
				}
			case u.Scheme == "ldap":
				if !c.StartTLS && !LoopbackHost(u.Hostname()) {
					add("url: %q needs start_tls: true or ldaps:// (plain LDAP only on a loopback host)", c.URL)
				}
			default:
				add("url: %q is not an ldap:// or ldaps:// URL", c.URL)
			}
		}
		if c.UserFilter != "" && !strings.Contains(c.UserFilter, "{login}") {
			add("user_filter: %q must contain {login}", c.UserFilter)
		}
		if c.Mode != "" && c.Mode != LDAPFederated && c.Mode != LDAPImport {
			add("mode: %q is not federated or import", c.Mode)
		}
		if c.BindDN != "" && c.BindPassword == "" {
			add("bind_password: required with bind_dn")
		}
		if c.GroupFilter != "" && c.GroupBaseDN == "" {
			add("group_base_dn: required with group_filter")
		}
		if c.Timeout < 0 || c.SyncInterval < 0 {
			add("timeout: must not be negative")
		}
	default: // the other presets
		need("client_id", c.ClientID)
		need("client_secret", c.ClientSecret)
	}
	if c.IsPreset() {
		// A preset's endpoints may be replaced (a regional or self-hosted installation, a test double),
		// but the secret and the codes must still travel over TLS.
		for _, kv := range [][2]string{{"issuer", c.Issuer}, {"authorization_url", c.AuthorizationURL}, {"token_url", c.TokenURL}, {"userinfo_url", c.UserinfoURL}} {
			if kv[1] != "" {
				if err := checkUpstreamURL(kv[1], "https"); err != nil {
					add("%s: %v", kv[0], err)
				}
			}
		}
	}
	if c.Type == ConnOIDC || c.Type == ConnOAuth2 {
		if c.ClientSecret != "" && len(c.ClientSecret) < 8 {
			add("client_secret: must be at least 8 characters")
		}
	}
	if c.Fallback && c.Type != ConnLDAP {
		add("fallback: only LDAP connections are tried for addresses without an account")
	}
	return p
}

// MapRoles is what c's role_mapping makes of upstream groups: the roles granted now, and every role the
// mapping can grant (which a sign-in keeps in step with the upstream, leaving other roles alone).
func (c Connection) MapRoles(groups []string) (granted, managed []string) {
	for group, roles := range c.RoleMapping {
		managed = append(managed, roles...)
		if slices.Contains(groups, group) {
			granted = append(granted, roles...)
		}
	}
	slices.Sort(granted)
	slices.Sort(managed)
	return slices.Compact(granted), slices.Compact(managed)
}

// validateConnections checks a tenant's connections and that their ids and domains are unique.
func validateConnections(tp string, cs []Connection) Problems {
	var p Problems
	ids, domains := map[string]bool{}, map[string]string{}
	for i, c := range cs {
		cp := fmt.Sprintf("%s.connections[%d]", tp, i)
		p = append(p, c.Validate(cp)...)
		if ids[c.ID] {
			p = append(p, fmt.Sprintf("%s.id: %q appears twice", cp, c.ID))
		}
		ids[c.ID] = true
		for _, d := range c.Domains {
			d = strings.ToLower(d)
			if other, ok := domains[d]; ok && other != c.ID {
				p = append(p, fmt.Sprintf("%s.domains: %q is already routed to connection %q", cp, d, other))
			}
			domains[d] = c.ID
		}
	}
	return p
}

// DecodeConnection reads one connection from YAML (what umm connections set takes from a file), with
// the same key checks as the configuration file. Validate runs where the stored secrets are known.
func DecodeConnection(data []byte) (Connection, error) {
	var c Connection
	return c, DecodeItem(data, &c)
}

// DecodeItem reads one seed item (a connection, a SAML app) from YAML into v, a pointer to its type,
// reporting unknown keys and bad values by their key paths as the configuration file does.
func DecodeItem(data []byte, v any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Problems{yamlHint(data, err)}
	}
	if len(root.Content) == 0 {
		return Problems{"the file is empty"}
	}
	var p Problems
	walkNode(root.Content[0], reflect.ValueOf(v).Elem(), "", &p)
	if len(p) > 0 {
		return p
	}
	return nil
}
