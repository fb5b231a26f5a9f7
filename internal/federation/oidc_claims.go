package federation

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/config"
)

// standardProfile are the profile fields taken from the claim of the same name when the connection does
// not map them elsewhere.
var standardProfile = []string{"name", "given_name", "family_name", "locale", "picture", "phone_number", "preferred_username"}

// specialFields have their own place in Identity rather than in Profile.
var specialFields = map[string]bool{"email": true, "email_verified": true, "groups": true, "sub": true}

// resolve finds the value ref points at in doc: a JSON pointer (RFC 6901, "/data/email") when it starts
// with "/", otherwise the top-level member of that name.
func resolve(doc map[string]any, ref string) (any, bool) {
	if ref == "" {
		return nil, false
	}
	if !strings.HasPrefix(ref, "/") {
		v, ok := doc[ref]
		return v, ok && v != nil
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := cur.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) || (len(tok) > 1 && tok[0] == '0') {
				return nil, false
			}
			cur = n[i]
		default:
			return nil, false
		}
	}
	return cur, cur != nil
}

// stringOf renders a claim value as profile text: strings as they are, numbers without exponent,
// booleans as true/false, and anything structured as its JSON.
func stringOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			return string(x) // an integer, however large, as written
		}
		if f, err := x.Float64(); err == nil {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
}

// truthy reads a yes/no claim; several providers send booleans as the strings "true" and "false".
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// stringsOf reads a list claim: an array of strings, or one string.
func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			} else if n, ok := e.(json.Number); ok {
				out = append(out, n.String())
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}

// claimMap says where an identity's fields are in a claim document: a field's reference is the
// connection's mapping, else the type's default, else the claim of the field's own name.
type claimMap struct {
	conn     map[string]string // the connection's claims setting
	defaults map[string]string // the type's (a preset's) own mapping
	pointers bool              // references are JSON pointers ("/name") rather than member names
}

func (m claimMap) ref(field string) string {
	if r, ok := m.conn[field]; ok && r != "" {
		return r
	}
	if r, ok := m.defaults[field]; ok {
		return r
	}
	if m.pointers {
		return "/" + strings.ReplaceAll(strings.ReplaceAll(field, "~", "~0"), "/", "~1")
	}
	return field
}

// mapIdentity fills an identity's email, profile, groups, amr and claims from a claim document. The
// subject and the connection id are the caller's.
func mapIdentity(c config.Connection, m claimMap, doc map[string]any) Identity {
	id := Identity{Connection: c.ID, Profile: map[string]string{}, Claims: doc}
	if v, ok := resolve(doc, m.ref("email")); ok {
		id.Email = strings.TrimSpace(stringOf(v))
	}
	if v, ok := resolve(doc, m.ref("email_verified")); ok {
		id.EmailVerified = id.Email != "" && truthy(v)
	}
	fields := slices.Clone(standardProfile)
	for f := range m.defaults {
		fields = append(fields, f)
	}
	for f := range m.conn {
		fields = append(fields, f)
	}
	for _, f := range fields {
		if specialFields[f] || f == "roles" {
			continue
		}
		if _, done := id.Profile[f]; done {
			continue
		}
		if v, ok := resolve(doc, m.ref(f)); ok {
			if s := stringOf(v); s != "" {
				id.Profile[f] = s
			}
		}
	}
	var groups []string
	if v, ok := resolve(doc, m.ref("groups")); ok {
		groups = append(groups, stringsOf(v)...)
	}
	if v, ok := resolve(doc, m.ref("roles")); ok {
		groups = append(groups, stringsOf(v)...)
	}
	slices.Sort(groups)
	id.Groups = slices.Compact(groups)
	if len(id.Groups) == 0 {
		id.Groups = nil
	}
	if v, ok := resolve(doc, m.ref("amr")); ok {
		id.AMR = stringsOf(v)
	}
	return id
}
