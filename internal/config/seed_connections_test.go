package config

import (
	"slices"
	"strings"
	"testing"
)

// TestConnectionsFromYAML: a role_mapping entry may name one role or a list, and a tenant's connections
// come through with their types and secrets.
func TestConnectionsFromYAML(t *testing.T) {
	c, err := Load("", []string{`UMM_TENANTS=[{id: acme, connections: [{id: corp, type: oidc, issuer: "https://login.corp.example",
		client_id: umm, client_secret: a-long-enough-secret, domains: [corp.example], role_mapping: {admins: admin, staff: [support, viewer]}}]}]`})
	if err != nil {
		t.Fatal(err)
	}
	conn := c.Tenants[0].Connections[0]
	if !slices.Equal(conn.RoleMapping["admins"], Strings{"admin"}) || !slices.Equal(conn.RoleMapping["staff"], Strings{"support", "viewer"}) {
		t.Errorf("role_mapping = %v", conn.RoleMapping)
	}
	granted, managed := conn.MapRoles([]string{"staff", "other"})
	if !slices.Equal(granted, []string{"support", "viewer"}) || !slices.Equal(managed, []string{"admin", "support", "viewer"}) {
		t.Errorf("MapRoles = %v, %v", granted, managed)
	}
	if conn.Secrets().ClientSecret != "a-long-enough-secret" || !conn.HasDomain("corp.example") {
		t.Errorf("connection = %+v", conn)
	}
}

// TestConnectionValidation lists what a connection must not be, each problem named by its key.
func TestConnectionValidation(t *testing.T) {
	tests := []struct {
		name string
		c    Connection
		want string // a substring of one problem
	}{
		{"unknown type", Connection{ID: "x", Type: "kerberos"}, "type: \"kerberos\" is not one of"},
		{"bad id", Connection{ID: "Corp SSO", Type: ConnGoogle, ClientID: "a", ClientSecret: "b"}, ".id:"},
		{"oidc without issuer", Connection{ID: "x", Type: ConnOIDC, ClientID: "a"}, "issuer: required"},
		{"plain http issuer off loopback", Connection{ID: "x", Type: ConnOIDC, ClientID: "a", Issuer: "http://login.example"}, "plain http only on a loopback host"},
		{"oauth2 claims not pointers", Connection{ID: "x", Type: ConnOAuth2, ClientID: "a", AuthorizationURL: "https://a.example/a",
			TokenURL: "https://a.example/t", UserinfoURL: "https://a.example/u", Claims: map[string]string{"email": "mail"}}, "must be a JSON pointer"},
		{"apple without key", Connection{ID: "x", Type: ConnApple, ClientID: "a"}, "team_id: required"},
		{"github without secret", Connection{ID: "x", Type: ConnGitHub, ClientID: "a"}, "client_secret: required"},
		{"saml without metadata", Connection{ID: "x", Type: ConnSAML}, "metadata_url"},
		{"plain ldap off loopback", Connection{ID: "x", Type: ConnLDAP, URL: "ldap://dc.corp.example", BaseDN: "dc=corp",
			UserFilter: "(mail={login})"}, "needs start_tls: true or ldaps://"},
		{"ldap filter without login", Connection{ID: "x", Type: ConnLDAP, URL: "ldaps://dc.corp.example", BaseDN: "dc=corp",
			UserFilter: "(objectClass=person)"}, "must contain {login}"},
		{"ldap bind without password", Connection{ID: "x", Type: ConnLDAP, URL: "ldaps://dc.corp.example", BaseDN: "dc=corp",
			UserFilter: "(mail={login})", BindDN: "cn=umm"}, "bind_password: required with bind_dn"},
		{"fallback off ldap", Connection{ID: "x", Type: ConnGoogle, ClientID: "a", ClientSecret: "b", Fallback: true}, "fallback: only LDAP"},
		{"a domain that is no domain", Connection{ID: "x", Type: ConnGoogle, ClientID: "a", ClientSecret: "b", Domains: []string{"@corp"}}, "domains[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.c.Validate("tenants[0].connections[0]")
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tt.want) }) {
				t.Errorf("problems %q, want one containing %q", p, tt.want)
			}
		})
	}
	ok := []Connection{
		{ID: "local", Type: ConnOIDC, ClientID: "a", Issuer: "http://127.0.0.1:8080/t/up"},
		{ID: "dir", Type: ConnLDAP, URL: "ldap://127.0.0.1:3389", BaseDN: "dc=corp", UserFilter: "(mail={login})"},
		{ID: "dc", Type: ConnLDAP, URL: "ldap://dc.corp.example", StartTLS: true, BaseDN: "dc=corp", UserFilter: "(mail={login})"},
	}
	for _, c := range ok {
		if p := c.Validate("c"); len(p) > 0 {
			t.Errorf("%s: %q, want no problem", c.ID, p)
		}
	}
	p := validateConnections("tenants[0]", []Connection{
		{ID: "a", Type: ConnGoogle, ClientID: "a", ClientSecret: "b", Domains: []string{"corp.example"}},
		{ID: "a", Type: ConnGitHub, ClientID: "a", ClientSecret: "b"},
		{ID: "b", Type: ConnGitLab, ClientID: "a", ClientSecret: "b", Domains: []string{"Corp.Example"}},
	})
	if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, `"a" appears twice`) }) ||
		!slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, "already routed") }) {
		t.Errorf("duplicate id and domain: %q", p)
	}
}
