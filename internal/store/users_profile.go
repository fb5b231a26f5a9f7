package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
)

// Profile is what a user's profile holds beyond the columns of User (email and names). Claims are the
// standard OIDC claims (nickname, picture, birthdate, phone_number, phone_number_verified, address, ...);
// Attributes are the tenant's custom fields. Values are what identity's validator produced: string, bool,
// int64, or for address a map[string]string. Each is a JSON object column, so adding a custom field to a
// tenant's schema needs no migration.
type Profile struct {
	Claims     map[string]any
	Attributes map[string]any
}

// Clone returns a copy whose maps can be changed without changing p's.
func (p Profile) Clone() Profile {
	return Profile{Claims: maps.Clone(p.Claims), Attributes: maps.Clone(p.Attributes)}
}

// jsonObject encodes a map for a JSON object column ("{}" when empty).
func jsonObject(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil { // only validated values reach the store; a value JSON cannot hold is a bug
		panic(fmt.Sprintf("store: profile value not JSON: %v", err))
	}
	return string(b)
}

// parseProfile decodes the two JSON columns. Whole numbers come back as int64 (not float64), objects as
// map[string]string (the address), so a value reads back as it was written.
func parseProfile(claims, attributes string) (Profile, error) {
	c, err := parseObject(claims)
	if err != nil {
		return Profile{}, fmt.Errorf("profile claims: %w", err)
	}
	a, err := parseObject(attributes)
	if err != nil {
		return Profile{}, fmt.Errorf("profile attributes: %w", err)
	}
	return Profile{Claims: c, Attributes: a}, nil
}

func parseObject(s string) (map[string]any, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	for k, v := range raw {
		switch v := v.(type) {
		case json.Number:
			n, err := strconv.ParseInt(v.String(), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a whole number", k, v)
			}
			raw[k] = n
		case map[string]any:
			m := make(map[string]string, len(v))
			for mk, mv := range v {
				str, ok := mv.(string)
				if !ok {
					return nil, fmt.Errorf("%s.%s: not text", k, mk)
				}
				m[mk] = str
			}
			raw[k] = m
		}
	}
	return raw, nil
}
