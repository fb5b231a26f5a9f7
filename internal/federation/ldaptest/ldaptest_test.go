package ldaptest

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func directory(t *testing.T, opts Options) *Server {
	return StartWith(t, opts,
		NewEntry("dc=example,dc=org", "objectClass", "domain", "dc", "example"),
		NewEntry("uid=ada,ou=people,dc=example,dc=org", "objectClass", "person", "uid", "ada",
			"mail", "ada@example.org", "cn", "Ada Lovelace", "userPassword", "analytical"),
		NewEntry("uid=bob,ou=people,dc=example,dc=org", "objectClass", "person", "uid", "bob",
			"mail", "bob@example.org", "cn", "Bob", "userPassword", "builder"),
	)
}

func TestLDAPTestServerBindAndSearch(t *testing.T) {
	t.Parallel()
	s := directory(t, Options{})
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 0, 0, false,
		"(uid=ada)", nil, nil)); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("anonymous search: %v, want insufficientAccessRights", err)
	}
	if err := c.Bind("uid=ada,ou=people,dc=example,dc=org", "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := c.Bind("uid=ada, ou=People,dc=example,dc=org", "analytical"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for filter, want := range map[string]string{
		"(&(objectClass=person)(mail=ADA@example.org))": "uid=ada",
		"(|(uid=nobody)(cn=bo*))":                       "uid=bob",
		"(&(uid=*)(!(uid=ada)))":                        "uid=bob",
		"(cn=*love*)":                                   "uid=ada",
		"(uid=*)":                                       "uid=ada,uid=bob",
		"(uid=\\2a)":                                    "",
	} {
		res, err := c.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 0, 0, false,
			filter, []string{"uid"}, nil))
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		var got []string
		for _, e := range res.Entries {
			got = append(got, "uid="+e.GetAttributeValue("uid"))
			if e.GetAttributeValue("mail") != "" {
				t.Errorf("%s: mail returned though only uid was asked for", filter)
			}
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%s: got %v, want %s", filter, got, want)
		}
	}
	res, err := c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 1, 0, false, "(uid=*)", nil, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || len(res.Entries) != 1 {
		t.Fatalf("size limit: %v, %d entries", err, len(res.Entries))
	}
	s.Remove("uid=ada,ou=people,dc=example,dc=org")
	_, err = c.Search(ldap.NewSearchRequest("uid=ada,ou=people,dc=example,dc=org", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Fatalf("removed entry: %v", err)
	}
	if s.Binds() != 2 || s.BindsAs("UID=ada,ou=people,dc=example,dc=org") != 2 {
		t.Fatalf("binds %d, as ada %d", s.Binds(), s.BindsAs("uid=ada,ou=people,dc=example,dc=org"))
	}
}

func TestLDAPTestServerTLS(t *testing.T) {
	t.Parallel()
	for _, mode := range []TLSMode{LDAPS, StartTLS} {
		s := directory(t, Options{TLS: mode})
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(s.CAPEM())
		cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
		c, err := ldap.DialURL(s.URL(), ldap.DialWithTLSConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		if mode == StartTLS {
			if err := c.Bind("uid=bob,ou=people,dc=example,dc=org", "builder"); !ldap.IsErrorWithCode(err, ldap.LDAPResultConfidentialityRequired) {
				t.Fatalf("bind before StartTLS: %v", err)
			}
			if err := c.StartTLS(cfg); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Bind("uid=bob,ou=people,dc=example,dc=org", "builder"); err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		c.Close()
	}
}
