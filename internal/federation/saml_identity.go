package federation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crewjam/saml"
)

// Attribute names IdPs commonly use, tried in order for a profile field the connection does not map
// in attributes (the LDAP short name, the X.500/eduPerson OID, the Microsoft claim URI).
var samlDefaultAttributes = map[string][]string{
	"email": {"email", "mail", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		"urn:oid:0.9.2342.19200300.100.1.3"},
	"given_name": {"givenName", "urn:oid:2.5.4.42", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"},
	"family_name": {"sn", "surname", "urn:oid:2.5.4.4",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"},
	// The xmlsoap "name" claim is left out: Microsoft IdPs put the account's UPN there, not a name.
	"name": {"displayName", "cn", "name", "urn:oid:2.16.840.1.113730.3.1.241", "urn:oid:2.5.4.3",
		"http://schemas.microsoft.com/identity/claims/displayname"},
	"groups": {"groups", "memberOf", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", "Role",
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"},
}

// Keys of a connection's attributes that are not profile fields.
const (
	samlAttrSubject = "subject" // the attribute that identifies the account instead of the NameID
	samlAttrGroups  = "groups"
	samlAttrEmail   = "email"
)

// samlAttributes are an assertion's attributes by name, values in order.
type samlAttributes struct {
	byName     map[string][]string
	byFriendly map[string][]string
	order      []string
}

func newSAMLAttributes(a *saml.Assertion) samlAttributes {
	at := samlAttributes{byName: map[string][]string{}, byFriendly: map[string][]string{}}
	for _, st := range a.AttributeStatements {
		for _, attr := range st.Attributes {
			var vals []string
			for _, v := range attr.Values {
				vals = append(vals, v.Value)
			}
			if _, seen := at.byName[attr.Name]; !seen {
				at.order = append(at.order, attr.Name)
			}
			at.byName[attr.Name] = append(at.byName[attr.Name], vals...)
			if attr.FriendlyName != "" {
				at.byFriendly[attr.FriendlyName] = append(at.byFriendly[attr.FriendlyName], vals...)
			}
		}
	}
	return at
}

// get is the values of the attribute called name (its Name, else its FriendlyName).
func (at samlAttributes) get(name string) ([]string, bool) {
	if v, ok := at.byName[name]; ok {
		return v, true
	}
	v, ok := at.byFriendly[name]
	return v, ok
}

// field is the values of profile field f: the attribute the connection maps to it, else the first of
// the usual names present. A mapped attribute that is absent gives nothing: the operator said where
// the value is, and a guess elsewhere could be another value.
func (at samlAttributes) field(mapping map[string]string, f string) []string {
	if name, ok := mapping[f]; ok && name != "" {
		v, _ := at.get(name)
		return v
	}
	for _, name := range samlDefaultAttributes[f] {
		if v, ok := at.get(name); ok {
			return v
		}
	}
	return nil
}

func samlFirst(v []string) string {
	for _, s := range v {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// identity maps a checked assertion to who signed in.
func (s *samlConnector) identity(a *saml.Assertion) (Identity, error) {
	at := newSAMLAttributes(a)
	var nameID, format string
	if a.Subject != nil && a.Subject.NameID != nil {
		nameID, format = strings.TrimSpace(a.Subject.NameID.Value), a.Subject.NameID.Format
	}
	id := Identity{Connection: s.conn.ID, Profile: map[string]string{}, Claims: map[string]any{}}

	// The subject is what the account is linked by, so it must be the same at every sign-in. A
	// transient NameID is new each time; such an IdP needs an attribute mapped as "subject" (an
	// employee id, say).
	if name, ok := s.conn.Attributes[samlAttrSubject]; ok && name != "" {
		v, _ := at.get(name)
		id.Subject = samlFirst(v)
		if id.Subject == "" {
			return Identity{}, fmt.Errorf("%w: saml: the assertion has no attribute %q, mapped as the subject", ErrInvalidResponse, name)
		}
	} else {
		switch {
		case nameID == "":
			return Identity{}, fmt.Errorf("%w: saml: the assertion has no NameID", ErrInvalidResponse)
		case format == string(saml.TransientNameIDFormat):
			return Identity{}, fmt.Errorf("%w: saml: the IdP sent a transient NameID, which changes at every sign-in; "+
				"have it send a persistent one or map an attribute as \"subject\"", ErrInvalidResponse)
		}
		id.Subject = nameID
	}

	id.Email = samlFirst(at.field(s.conn.Attributes, samlAttrEmail))
	if id.Email == "" && format == string(saml.EmailAddressNameIDFormat) {
		id.Email = nameID
	}
	// SAML has no "address verified" flag. An operator who sets trust_email vouches that this IdP only
	// asserts addresses its users own; without it, the address is taken as unverified.
	id.EmailVerified = id.Email != "" && s.conn.TrustEmail

	for _, f := range []string{"given_name", "family_name", "name"} {
		if v := samlFirst(at.field(s.conn.Attributes, f)); v != "" {
			id.Profile[f] = v
		}
	}
	for f, name := range s.conn.Attributes {
		switch f {
		case samlAttrSubject, samlAttrGroups, samlAttrEmail, "given_name", "family_name", "name":
			continue
		}
		if v, _ := at.get(name); samlFirst(v) != "" {
			id.Profile[f] = samlFirst(v)
		}
	}
	for _, g := range at.field(s.conn.Attributes, samlAttrGroups) {
		if g = strings.TrimSpace(g); g != "" {
			id.Groups = append(id.Groups, g)
		}
	}

	var sessionIndex string
	for _, st := range a.AuthnStatements {
		if sessionIndex == "" {
			sessionIndex = st.SessionIndex
		}
		if st.AuthnContext.AuthnContextClassRef != nil {
			for _, m := range samlAMR(st.AuthnContext.AuthnContextClassRef.Value) {
				if !slices.Contains(id.AMR, m) {
					id.AMR = append(id.AMR, m)
				}
			}
		}
	}

	for _, name := range at.order {
		id.Claims[name] = at.byName[name]
	}
	id.Claims["name_id"] = nameID
	id.Claims["name_id_format"] = format
	id.Claims["session_index"] = sessionIndex
	return id, nil
}

// samlAMR reads how the IdP says the person authenticated (its AuthnContextClassRef) as OIDC amr
// values: a password, or several factors. Other classes say nothing UMM can rely on.
func samlAMR(class string) []string {
	l := strings.ToLower(class)
	switch {
	case strings.Contains(l, "mfa"), strings.Contains(l, "multifactor"), strings.Contains(l, "multipleauthn"):
		return []string{"mfa"}
	case strings.HasSuffix(l, ":passwordprotectedtransport"), strings.HasSuffix(l, ":password"):
		return []string{"pwd"}
	}
	return nil
}
