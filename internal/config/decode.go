package config

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as "15m", "24h" or "720h" in YAML and environment variables.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 90s, 15m or 24h", string(b))
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// DecodeMasterKey decodes a base64 master key and checks it is 32 bytes.
func DecodeMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("decodes to %d bytes; it must be 32 random bytes in base64", len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("is not base64; it must be 32 random bytes in base64 (openssl rand -base64 32)")
}

var textUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()

// decodeYAML decodes data into cfg, reporting unknown keys and bad values by their key paths.
func decodeYAML(data []byte, cfg *Config) Problems {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Problems{yamlHint(data, err)}
	}
	if len(root.Content) == 0 {
		return nil
	}
	var p Problems
	walkNode(root.Content[0], reflect.ValueOf(cfg).Elem(), "", &p)
	return p
}

// walkNode sets v from n, field by field, so that every unknown key and bad value is found with its path.
func walkNode(n *yaml.Node, v reflect.Value, path string, p *Problems) {
	name := path
	if name == "" {
		name = "(top level)"
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		if n.Kind != yaml.ScalarNode {
			*p = append(*p, fmt.Sprintf("%s: expected a single value (line %d)", name, n.Line))
			return
		}
		if err := v.Addr().Interface().(interface{ UnmarshalText([]byte) error }).UnmarshalText([]byte(n.Value)); err != nil {
			*p = append(*p, fmt.Sprintf("%s: %v (line %d)", name, err, n.Line))
		}
		return
	}
	// A mapping that may also be written as its one main value (a permission as its name).
	if n.Kind == yaml.ScalarNode && v.CanAddr() {
		if s, ok := v.Addr().Interface().(interface{ setScalar(string) }); ok {
			s.setScalar(n.Value)
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Tag == "!!null" {
			return
		}
		nv := reflect.New(v.Type().Elem())
		walkNode(n, nv.Elem(), path, p)
		v.Set(nv)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			*p = append(*p, fmt.Sprintf("%s: expected a mapping of keys (line %d)", name, n.Line))
			return
		}
		fields := yamlFields(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i].Value, n.Content[i+1]
			key := joinPath(path, k)
			idx, ok := fields[k]
			if !ok {
				*p = append(*p, fmt.Sprintf("%s: unknown key (line %d); known keys here: %s", key, n.Content[i].Line, knownKeys(fields)))
				continue
			}
			walkNode(val, v.FieldByIndex(idx), key, p)
		}
	case reflect.Map:
		// Maps have string keys chosen by the operator (a tenant's message overrides).
		if n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode || v.Type().Key().Kind() != reflect.String {
			*p = append(*p, fmt.Sprintf("%s: expected a mapping of keys (line %d)", name, n.Line))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i].Value, n.Content[i+1]
			key := joinPath(path, k)
			if m.MapIndex(reflect.ValueOf(k)).IsValid() {
				*p = append(*p, fmt.Sprintf("%s: appears twice (line %d)", key, n.Content[i].Line))
				continue
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			walkNode(val, ev, key, p)
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.Interface:
		// A value of any type (profile attributes): YAML's own typing decides (true, 42, "text", a mapping).
		// Timestamps stay strings, so a date is validated as the text the operator wrote.
		datesAsText(n)
		var x any
		if err := n.Decode(&x); err != nil {
			*p = append(*p, fmt.Sprintf("%s: %v (line %d)", name, err, n.Line))
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.Slice:
		if n.Tag == "!!null" {
			return
		}
		if n.Kind == yaml.ScalarNode && v.Type() == reflect.TypeFor[Strings]() {
			v.Set(reflect.ValueOf(Strings{n.Value})) // a list of one may be written as its item
			return
		}
		if n.Kind != yaml.SequenceNode {
			*p = append(*p, fmt.Sprintf("%s: expected a list (line %d)", name, n.Line))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			walkNode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), p)
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			*p = append(*p, fmt.Sprintf("%s: expected a single value (line %d)", name, n.Line))
			return
		}
		if err := setScalar(v, n.Value); err != nil {
			*p = append(*p, fmt.Sprintf("%s: %v (line %d)", name, err, n.Line))
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func knownKeys(fields map[string][]int) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// yamlFields maps the keys of a struct to the index paths of their fields. An embedded struct tagged
// `yaml:",inline"` contributes its keys at the same level (risk's policy sits beside risk.geoip_db).
func yamlFields(t reflect.Type) map[string][]int {
	m := make(map[string][]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" && opts == "inline" && f.Anonymous && f.Type.Kind() == reflect.Struct {
			for k, idx := range yamlFields(f.Type) {
				m[k] = append([]int{i}, idx...)
			}
			continue
		}
		if tag != "" && tag != "-" {
			m[tag] = []int{i}
		}
	}
	return m
}

// setScalar parses s into a scalar field (string, bool, integers) or a comma-separated string list.
// A value must be UTF-8 text: an environment variable can hold any bytes, and no key means them.
func setScalar(v reflect.Value, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8 text")
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		return v.Addr().Interface().(interface{ UnmarshalText([]byte) error }).UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(n)
	case reflect.Uint8, reflect.Uint32, reflect.Uint64, reflect.Uint:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a non-negative whole number that fits", s)
		}
		v.SetUint(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from a single value")
		}
		var items []string
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				items = append(items, part)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported value")
	}
	return nil
}

// EnvNames lists every environment variable Load understands, derived from the struct so that keys with
// underscores (server.public_url -> UMM_SERVER_PUBLIC_URL) map unambiguously.
func EnvNames() map[string]string {
	m := map[string]string{}
	collectEnv(reflect.TypeFor[Config](), "", m)
	return m
}

func collectEnv(t reflect.Type, path string, m map[string]string) {
	for key, idx := range yamlFields(t) {
		ft := t.FieldByIndex(idx).Type
		p := joinPath(path, key)
		if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(textUnmarshaler) {
			collectEnv(ft, p, m)
			continue
		}
		m["UMM_"+strings.ToUpper(strings.ReplaceAll(p, ".", "_"))] = p
	}
}

// applyEnv applies UMM_* variables and returns the problems found and the keys it set (path to variable).
// UMM_TENANTS takes a YAML list. Unknown variables are skipped here; EnvWarnings reports them.
func applyEnv(cfg *Config, environ []string) (Problems, map[string]string) {
	names := EnvNames()
	var p Problems
	set := map[string]string{}
	for _, kv := range environ {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "UMM_") || ignoredEnv(k) {
			continue
		}
		path, known := names[k]
		if !known {
			continue
		}
		set[path] = k
		fv, err := fieldByPath(reflect.ValueOf(cfg).Elem(), path)
		if err != nil {
			p = append(p, fmt.Sprintf("%s (%s): %v", path, k, err))
			continue
		}
		if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(val), &n); err != nil || len(n.Content) == 0 {
				p = append(p, fmt.Sprintf("%s (%s): must be a YAML list", path, k))
				continue
			}
			var np Problems
			walkNode(n.Content[0], fv, path, &np)
			p = append(p, attributeEnv(np, map[string]string{path: k})...)
			continue
		}
		if err := setScalar(fv, val); err != nil {
			p = append(p, fmt.Sprintf("%s (%s): %v", path, k, err))
		}
	}
	return p, set
}

func fieldByPath(v reflect.Value, path string) (reflect.Value, error) {
	for _, part := range strings.Split(path, ".") {
		idx, ok := yamlFields(v.Type())[part]
		if !ok {
			return reflect.Value{}, fmt.Errorf("no such key")
		}
		v = v.FieldByIndex(idx)
	}
	return v, nil
}

// datesAsText marks the timestamps under n as strings, so that a date reaches the profile validator as the
// text the operator wrote rather than as a time in UTC.
func datesAsText(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!timestamp" {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		datesAsText(c)
	}
}
