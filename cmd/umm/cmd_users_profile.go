package main

import (
	"flag"
	"fmt"
	"strings"
)

// attrFlag collects repeated --attr name=value profile values. The values stay text: identity's validator
// turns them into the field's type (true, 42, 1990-12-10) as it does for a form. An empty value clears the
// field; address members are given as address.locality=Berlin.
type attrFlag map[string]any

func (a *attrFlag) String() string {
	if a == nil {
		return ""
	}
	parts := make([]string, 0, len(*a))
	for k, v := range *a {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	return strings.Join(parts, " ")
}

func (a *attrFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("%q is not name=value (for example --attr company=Acme; --attr company= clears it)", v)
	}
	if *a == nil {
		*a = attrFlag{}
	}
	if _, dup := (*a)[name]; dup {
		return fmt.Errorf("%s is given twice", name)
	}
	(*a)[name] = value
	return nil
}

// attrFlags registers --attr on fs.
func attrFlags(fs *flag.FlagSet) {
	fs.Var(new(attrFlag), "attr", "profile value `name=value`: a standard claim (nickname, phone_number, birthdate, address.locality, ...) "+
		"or a field of the tenant's profile; repeatable; an empty value clears it")
}

// attrValues returns the --attr values given (nil when none).
func attrValues(fs *flag.FlagSet) map[string]any {
	if f := fs.Lookup("attr"); f != nil {
		if a, ok := f.Value.(*attrFlag); ok && len(*a) > 0 {
			return *a
		}
	}
	return nil
}
