package federation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/umm-project/umm/internal/config"
)

// ldapConnector checks passwords against an LDAP directory or Active Directory and reads people's
// entries back for directory sync. It is built once per connection and kept (the caller caches it);
// Close releases its connections when the connection's settings change or it is removed.
//
// Searches run on a few connections kept open and bound as the service account (bind_dn, or
// anonymous without one). A person's password is checked by a bind on connections of a second pool
// that is never used to search, so what a person's bind makes the connection able to read never
// leaks into what UMM reads.
type ldapConnector struct {
	conn   config.Connection
	log    *slog.Logger
	search *ldapPool // bound as the service account
	binds  *ldapPool // only ever used to bind as the person signing in

	// probeDN is bound to, with the password typed, when no entry matches the login, so that an
	// unknown login costs the same round trips as a wrong password and the reply time does not tell
	// which logins exist. It is a name under base_dn that no directory has: the bind fails.
	probeDN string

	idAttr    string   // the attribute holding the subject; "" for the DN
	mailAttr  string   // the attribute holding the address
	groupAttr string   // the attribute listing the person's groups (memberOf)
	fetch     []string // the attributes asked for
}

var _ interface {
	Directory
	io.Closer
} = (*ldapConnector)(nil)

// ldapMaxLogin is the longest login sent to the directory; nobody's is longer, and a filter made
// from a megabyte of input is work for the directory and nothing else.
const ldapMaxLogin = 512

// ldapPoolSize is how many connections each of the connector's two pools opens at most.
const ldapPoolSize = 4

func newLDAP(_ context.Context, env Env, c config.Connection) (any, error) {
	d, err := newLDAPDialer(c)
	if err != nil {
		return nil, err
	}
	if c.BaseDN == "" || !strings.Contains(c.UserFilter, "{login}") {
		return nil, errors.New("base_dn and a user_filter with {login} are required")
	}
	if _, err := ldap.CompileFilter(strings.ReplaceAll(c.UserFilter, "{login}", "x")); err != nil {
		return nil, fmt.Errorf("user_filter: %q: %v", c.UserFilter, err)
	}
	if c.GroupFilter != "" {
		if _, err := ldap.CompileFilter(groupFilter(c.GroupFilter, "cn=x", "x")); err != nil {
			return nil, fmt.Errorf("group_filter: %q: %v", c.GroupFilter, err)
		}
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	l := &ldapConnector{
		conn:      c,
		log:       env.Log,
		search:    newLDAPPool(d, c.BindDN, c.BindPassword, ldapPoolSize),
		binds:     newLDAPPool(d, "", "", ldapPoolSize),
		probeDN:   "cn=umm-no-such-entry-" + hex.EncodeToString(nonce[:]) + "," + c.BaseDN,
		idAttr:    c.Attributes["id"],
		mailAttr:  orDefault(c.Attributes["email"], "mail"),
		groupAttr: orDefault(c.Attributes["groups"], "memberOf"),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("tenant", env.TenantID, "connection", c.ID)
	// "*" is every user attribute; memberOf and entryUUID are operational attributes on OpenLDAP,
	// sent only when named.
	fetch := []string{"*", l.groupAttr, l.mailAttr}
	for _, a := range []string{l.idAttr, c.LoginAttr} {
		if a != "" {
			fetch = append(fetch, a)
		}
	}
	for _, a := range c.Attributes {
		fetch = append(fetch, a)
	}
	slices.Sort(fetch)
	l.fetch = slices.Compact(fetch)
	return l, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// groupFilter fills the group filter for the person at dn who signed in as login.
func groupFilter(tmpl, dn, login string) string {
	// One pass, so that a DN or a login containing "{login}" is not filled in again.
	return strings.NewReplacer("{dn}", ldap.EscapeFilter(dn), "{login}", ldap.EscapeFilter(login)).Replace(tmpl)
}

// Close closes the connector's connections. Calls under way finish; later ones fail.
func (l *ldapConnector) Close() error {
	l.search.close()
	l.binds.close()
	return nil
}

// Authenticate checks login and password with the directory: find the one entry user_filter matches,
// then bind as it with the password.
func (l *ldapConnector) Authenticate(ctx context.Context, login, password string) (Identity, error) {
	// An empty password would make the bind an "unauthenticated bind", which directories answer with
	// success without checking anything (RFC 4513 section 5.1.2): refused here, before the directory.
	if password == "" || strings.TrimSpace(login) == "" || len(login) > ldapMaxLogin {
		return Identity{}, ErrBadCredentials
	}
	entries, err := l.searchUser(ctx, strings.ReplaceAll(l.conn.UserFilter, "{login}", ldap.EscapeFilter(login)), l.conn.BaseDN, ldap.ScopeWholeSubtree)
	if err != nil {
		return Identity{}, l.unavailable("user search", err)
	}
	dn := l.probeDN
	if len(entries) == 1 {
		dn = entries[0].DN
	} else if len(entries) > 1 {
		// Two entries for one login is a user_filter that is not specific enough: refusing is the
		// only safe answer, since either might be the person.
		l.log.Warn("ldap: user_filter matches more than one entry; sign-in refused", "login", login)
	}
	err = l.binds.do(ctx, func(c *ldap.Conn) error { return c.Bind(dn, password) })
	if len(entries) != 1 {
		return Identity{}, ErrBadCredentials
	}
	switch {
	case err == nil:
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultNoSuchObject):
		return Identity{}, ErrBadCredentials
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultConstraintViolation, ldap.LDAPResultInsufficientAccessRights,
		ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultInappropriateAuthentication):
		// How directories refuse a locked, disabled or expired account (the password policy of
		// OpenLDAP, 389 DS): the person cannot sign in, and the reason stays in the log.
		l.log.Info("ldap: the directory refused the bind", "dn", dn, "err", err)
		return Identity{}, ErrBadCredentials
	default:
		return Identity{}, l.unavailable("user bind", err)
	}
	return l.identity(ctx, entries[0], login)
}

// Lookup reads the entry of subject again: by DN, or by the id attribute when the connection maps one.
// An entry counts as gone when it is deleted, has left base_dn, or no longer matches user_filter (with
// any login): the filter is how a directory says who may sign in, often leaving out disabled accounts,
// and sync should treat those people like deleted ones.
func (l *ldapConnector) Lookup(ctx context.Context, subject string) (Identity, bool, error) {
	if subject == "" {
		return Identity{}, false, nil
	}
	anyLogin := strings.ReplaceAll(l.conn.UserFilter, "{login}", "*")
	var entries []*ldap.Entry
	var err error
	if l.idAttr == "" {
		if !underBase(subject, l.conn.BaseDN) {
			return Identity{}, false, nil
		}
		entries, err = l.searchUser(ctx, anyLogin, subject, ldap.ScopeBaseObject)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return Identity{}, false, nil
		}
	} else {
		entries, err = l.searchUser(ctx, "(&"+idFilter(l.idAttr, subject)+anyLogin+")", l.conn.BaseDN, ldap.ScopeWholeSubtree)
	}
	if err != nil {
		return Identity{}, false, l.unavailable("lookup", err)
	}
	switch len(entries) {
	case 0:
		return Identity{}, false, nil
	case 1:
	default:
		return Identity{}, false, fmt.Errorf("%w: %d entries have %s %s", ErrInvalidResponse, len(entries), l.idAttr, subject)
	}
	id, err := l.identity(ctx, entries[0], loginOf(entries[0], l.conn.LoginAttr))
	return id, err == nil, err
}

// underBase reports whether dn is base_dn or below it.
func underBase(dn, base string) bool {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return false
	}
	b, err := ldap.ParseDN(base)
	if err != nil {
		return false
	}
	return b.EqualFold(d) || b.AncestorOfFold(d)
}

// searchUser finds entries with the person's attributes; at most two, which is enough to tell one
// from more than one.
func (l *ldapConnector) searchUser(ctx context.Context, filter, base string, scope int) ([]*ldap.Entry, error) {
	var entries []*ldap.Entry
	err := l.search.do(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 2, 0, false, filter, l.fetch, nil))
		if res != nil {
			entries = res.Entries
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return nil // more than two: the caller sees two and refuses
		}
		return err
	})
	return entries, err
}

// ldapGroupLimit caps how many groups a group search collects.
const ldapGroupLimit = 1000

// searchGroups runs the connection's group search for the person at dn (login fills {login}).
func (l *ldapConnector) searchGroups(ctx context.Context, dn, login string) ([]*ldap.Entry, error) {
	var entries []*ldap.Entry
	err := l.search.do(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(l.conn.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			ldapGroupLimit, 0, false, groupFilter(l.conn.GroupFilter, dn, login), []string{"cn"}, nil))
		if res != nil {
			entries = res.Entries
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			l.log.Warn("ldap: the group search found more groups than are read; the rest are ignored", "dn", dn, "limit", ldapGroupLimit)
			return nil
		}
		return err
	})
	return entries, err
}

// unavailable logs why the directory could not answer and returns ErrUnavailable for the caller.
func (l *ldapConnector) unavailable(what string, err error) error {
	var sb *serviceBindError
	if errors.As(err, &sb) {
		l.log.Error("ldap: the directory refused the service account (bind_dn, bind_password)", "err", err)
	} else {
		l.log.Warn("ldap: "+what+" failed", "err", err)
	}
	return fmt.Errorf("%w: ldap %s: %v", ErrUnavailable, what, err)
}

// identity turns the person's entry into an Identity. login fills {login} in the group filter.
func (l *ldapConnector) identity(ctx context.Context, e *ldap.Entry, login string) (Identity, error) {
	attrs := readable(e)
	id := Identity{
		Connection: l.conn.ID,
		Subject:    e.DN,
		Email:      attrs.first(l.mailAttr),
		// The directory is the organisation's own record of its people: administrators, not the
		// person, put the address there, so it counts as verified. Whether that is enough to link to
		// an existing account is still the connection's trust_email.
		EmailVerified: true,
		Profile:       map[string]string{},
		AMR:           []string{"pwd"},
		Claims:        attrs.claims(),
	}
	if id.Email == "" {
		id.EmailVerified = false
	}
	// The DN is the subject by default, but it changes when an entry is renamed or moved (a new
	// surname, another OU), and the person would then arrive as someone new. Mapping "id" to an
	// immutable attribute (objectGUID on Active Directory, entryUUID on OpenLDAP, nsUniqueId on 389
	// DS) avoids that; it has to be chosen before people first sign in, as it changes every subject.
	if l.idAttr != "" {
		raw := attrs.raw(l.idAttr)
		if len(raw) == 0 || len(raw[0]) == 0 {
			return Identity{}, fmt.Errorf("%w: entry %s has no %s (the id attribute)", ErrInvalidResponse, e.DN, l.idAttr)
		}
		id.Subject = idValue(l.idAttr, raw[0])
	}
	set := func(field, attr string) {
		if v := attrs.first(attr); v != "" {
			id.Profile[field] = v
		}
	}
	set("given_name", "givenName")
	set("family_name", "sn")
	if set("name", "displayName"); id.Profile["name"] == "" {
		set("name", "cn")
	}
	set("phone_number", "telephoneNumber")
	set("preferred_username", loginAttr(e, l.conn.LoginAttr))
	for field, attr := range l.conn.Attributes {
		switch field {
		case "id", "email", "groups":
		default:
			set(field, attr)
		}
	}

	// Groups: the ones the entry lists (memberOf), then those the group search finds. Each comes as
	// its DN and as its cn, so role_mapping can name either: the DN when two groups share a cn.
	var groups []string
	for _, dn := range attrs.all(l.groupAttr) {
		groups = append(groups, dn)
		if cn := firstCN(dn); cn != "" {
			groups = append(groups, cn)
		}
	}
	if l.conn.GroupBaseDN != "" && l.conn.GroupFilter != "" {
		found, err := l.searchGroups(ctx, e.DN, login)
		if err != nil {
			// Without its groups the person would get the wrong roles: better no sign-in.
			return Identity{}, l.unavailable("group search", err)
		}
		for _, g := range found {
			groups = append(groups, g.DN)
			if cn := g.GetEqualFoldAttributeValue("cn"); cn != "" {
				groups = append(groups, cn)
			} else if cn := firstCN(g.DN); cn != "" {
				groups = append(groups, cn)
			}
		}
	}
	id.Groups = dedupFold(groups)
	return id, nil
}

// loginAttr is the attribute holding the login: login_attribute, else sAMAccountName when the entry
// has one (Active Directory), else uid.
func loginAttr(e *ldap.Entry, configured string) string {
	switch {
	case configured != "":
		return configured
	case e.GetEqualFoldAttributeValue("sAMAccountName") != "":
		return "sAMAccountName"
	default:
		return "uid"
	}
}

func loginOf(e *ldap.Entry, configured string) string {
	return e.GetEqualFoldAttributeValue(loginAttr(e, configured))
}

// firstCN is the value of dn's first RDN when it is a cn.
func firstCN(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 {
		return ""
	}
	for _, a := range p.RDNs[0].Attributes {
		if strings.EqualFold(a.Type, "cn") {
			return a.Value
		}
	}
	return ""
}

func dedupFold(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s) }) {
			out = append(out, s)
		}
	}
	return out
}

// binaryIDAttrs are the id attributes directories hold as bytes; their values are hex-encoded.
var binaryIDAttrs = map[string]bool{"objectguid": true, "objectsid": true, "msds-consistencyguid": true, "guid": true}

// idValue is the subject made of an id attribute's value: as is when it is text, hex when it is
// bytes (objectGUID), so that it is printable and the same at every sign-in.
func idValue(attr string, v []byte) string {
	if binaryIDAttrs[strings.ToLower(attr)] || !printable(v) {
		return hex.EncodeToString(v)
	}
	return string(v)
}

// idFilter finds the entry whose id attribute is subject, which idValue may have hex-encoded.
func idFilter(attr, subject string) string {
	text := "(" + attr + "=" + ldap.EscapeFilter(subject) + ")"
	b, err := hex.DecodeString(subject)
	if err != nil || len(b) == 0 {
		return text
	}
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "\\%02x", c)
	}
	bin := "(" + attr + "=" + sb.String() + ")"
	if binaryIDAttrs[strings.ToLower(attr)] {
		return bin
	}
	return "(|" + text + bin + ")"
}

func printable(v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// secretAttrs are attributes never read into an identity, even when the service account may see
// them: password hashes and keys.
var secretAttrs = map[string]bool{
	"userpassword": true, "unicodepwd": true, "authpassword": true, "sambantpassword": true,
	"sambalmpassword": true, "dbcspwd": true, "ntpwdhistory": true, "lmpwdhistory": true,
	"supplementalcredentials": true, "userpkcs12": true, "krbprincipalkey": true, "msds-managedpassword": true,
}

// entryAttrs are an entry's attributes without the secrets, by lower-case name.
type entryAttrs map[string]*ldap.EntryAttribute

func readable(e *ldap.Entry) entryAttrs {
	out := entryAttrs{}
	for _, a := range e.Attributes {
		name := strings.ToLower(a.Name)
		if base, _, ok := strings.Cut(name, ";"); ok { // options: userPassword;binary
			name = base
		}
		if secretAttrs[name] || len(a.ByteValues) == 0 {
			continue
		}
		out[name] = a
	}
	return out
}

func (m entryAttrs) all(name string) []string {
	if a := m[strings.ToLower(name)]; a != nil {
		return a.Values
	}
	return nil
}

func (m entryAttrs) raw(name string) [][]byte {
	if a := m[strings.ToLower(name)]; a != nil {
		return a.ByteValues
	}
	return nil
}

func (m entryAttrs) first(name string) string {
	if v := m.all(name); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// claims are the attributes as kept on the linked identity: one value as a string, several as a
// list. Binary values (photos, certificates) are left out, except the id attributes, hex-encoded.
func (m entryAttrs) claims() map[string]any {
	out := map[string]any{}
	for name, a := range m {
		var vals []string
		for _, b := range a.ByteValues {
			switch {
			case binaryIDAttrs[name]:
				vals = append(vals, hex.EncodeToString(b))
			case printable(b):
				vals = append(vals, string(b))
			}
		}
		switch len(vals) {
		case 0:
		case 1:
			out[a.Name] = vals[0]
		default:
			out[a.Name] = vals
		}
	}
	return out
}
