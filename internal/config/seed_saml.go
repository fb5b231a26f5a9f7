package config

import (
	"fmt"
	"slices"
	"strings"
)

// NameID formats of a SAML app (tenants[].saml_apps[].nameid_format).
const (
	NameIDEmail       = "email"
	NameIDPersistent  = "persistent"
	NameIDTransient   = "transient"
	NameIDUnspecified = "unspecified"
)

// NameIDFormats are the accepted nameid_format values.
var NameIDFormats = []string{NameIDEmail, NameIDPersistent, NameIDTransient, NameIDUnspecified}

// SAMLApp is a service provider the tenant signs users in to as a SAML 2.0 IdP (tenants[].saml_apps[]).
// Either its settings are given here, or MetadataURL names the SP's metadata, which supplies the entity
// id, ACS URLs, SLO URL and certificate not given here.
type SAMLApp struct {
	EntityID    string   `yaml:"entity_id" json:"entity_id"`
	Name        string   `yaml:"name" json:"name,omitempty"`
	MetadataURL string   `yaml:"metadata_url" json:"metadata_url,omitempty"`
	ACSURLs     []string `yaml:"acs_urls" json:"acs_urls,omitempty"`
	SLOURL      string   `yaml:"slo_url" json:"slo_url,omitempty"`
	// NameIDFormat is email (default), persistent, transient or unspecified.
	NameIDFormat string `yaml:"nameid_format" json:"nameid_format,omitempty"`
	// Attributes maps a SAML attribute name to the profile field (or "roles") whose value it carries.
	Attributes map[string]string `yaml:"attributes" json:"attributes,omitempty"`
	// SignResponse and SignAssertion default to true; nil is the default.
	SignResponse  *bool `yaml:"sign_response" json:"sign_response,omitempty"`
	SignAssertion *bool `yaml:"sign_assertion" json:"sign_assertion,omitempty"`
	// EncryptAssertion encrypts the assertion to SPCertificate.
	EncryptAssertion bool `yaml:"encrypt_assertion" json:"encrypt_assertion,omitempty"`
	// SPCertificate is the SP's certificate (PEM): it checks signed AuthnRequests and logout messages,
	// and encrypts assertions.
	SPCertificate           string `yaml:"sp_certificate" json:"sp_certificate,omitempty"`
	WantAuthnRequestsSigned bool   `yaml:"want_authn_requests_signed" json:"want_authn_requests_signed,omitempty"`
	// MFAPolicy replaces the tenant's MFA policy for sign-ins to this app, like clients[].mfa_policy.
	MFAPolicy string `yaml:"mfa_policy" json:"mfa_policy,omitempty"`
}

// NameIDFormatOr is the NameID format with its default (email).
func (a SAMLApp) NameIDFormatOr() string {
	if a.NameIDFormat == "" {
		return NameIDEmail
	}
	return a.NameIDFormat
}

// Validate lists what is wrong with a, each problem prefixed with path.
func (a SAMLApp) Validate(path string) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, path+"."+fmt.Sprintf(format, args...)) }
	if a.MetadataURL != "" {
		if err := checkUpstreamURL(a.MetadataURL, "https"); err != nil {
			add("metadata_url: %v", err)
		}
	} else {
		if a.EntityID == "" {
			add("entity_id: required (or give metadata_url)")
		}
		if len(a.ACSURLs) == 0 {
			add("acs_urls: at least one is required (or give metadata_url)")
		}
	}
	for i, u := range a.ACSURLs {
		if err := checkUpstreamURL(u, "https"); err != nil {
			add("acs_urls[%d]: %v", i, err)
		}
	}
	if a.SLOURL != "" {
		if err := checkUpstreamURL(a.SLOURL, "https"); err != nil {
			add("slo_url: %v", err)
		}
	}
	if a.NameIDFormat != "" && !slices.Contains(NameIDFormats, a.NameIDFormat) {
		add("nameid_format: %q is not one of %s", a.NameIDFormat, strings.Join(NameIDFormats, ", "))
	}
	if a.EncryptAssertion && a.SPCertificate == "" && a.MetadataURL == "" {
		add("sp_certificate: required to encrypt_assertion")
	}
	if a.WantAuthnRequestsSigned && a.SPCertificate == "" && a.MetadataURL == "" {
		add("sp_certificate: required to check signed AuthnRequests (want_authn_requests_signed)")
	}
	if a.MFAPolicy != "" && !slices.Contains(MFAPolicies, a.MFAPolicy) {
		add("mfa_policy: %q is not one of %s", a.MFAPolicy, strings.Join(MFAPolicies, ", "))
	}
	return p
}

// validateSAMLApps checks a tenant's SAML apps and that their entity ids are unique.
func validateSAMLApps(tp string, apps []SAMLApp) Problems {
	var p Problems
	seen := map[string]bool{}
	for i, a := range apps {
		ap := fmt.Sprintf("%s.saml_apps[%d]", tp, i)
		p = append(p, a.Validate(ap)...)
		if a.EntityID != "" && seen[a.EntityID] {
			p = append(p, fmt.Sprintf("%s.entity_id: %q appears twice", ap, a.EntityID))
		}
		seen[a.EntityID] = true
	}
	return p
}
