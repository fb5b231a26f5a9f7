package identity

import (
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/umm-project/umm/internal/config"
)

// Purposes name who writes profile values, which decides the fields accepted and whether required is
// enforced.
const (
	// PurposeRegistration: the registration form; only the fields it shows, required enforced.
	PurposeRegistration = "registration"
	// PurposeEditable: the profile page; only the fields the user may change, required enforced.
	PurposeEditable = "editable"
	// PurposeAdmin: an operator (CLI, seed, management API) sets any standard claim or custom field.
	// required is not enforced: accounts may be imported before their owner completes them, and the
	// sign-in pages ask for what a client requires.
	PurposeAdmin = "admin"
	// PurposeCompletion: the complete-profile page of a sign-in (profile_completion.go); any field of the
	// schema or standard claim the sign-in asks for, each of them required.
	PurposeCompletion = "completion"
)

// Stable codes of FieldError, for pages to pick their message and for API clients.
const (
	CodeRequired     = "required"
	CodeUnknownField = "unknown_field"
	CodeNotText      = "not_text"  // not text, or holds control characters
	CodeTooShort     = "too_short" // Param: min_length
	CodeTooLong      = "too_long"  // Param: max_length
	CodePattern      = "pattern"   // does not match the field's pattern
	CodeNotEmail     = "not_email" // not a bare address local@domain
	CodeNotPhone     = "not_phone" // not a number in use with its country code (NormalizePhone)
	CodeNotDate      = "not_date"  // not YYYY-MM-DD
	CodeDateInFuture = "date_in_future"
	CodeNotBoolean   = "not_boolean"
	CodeNotInteger   = "not_integer"
	CodeTooSmall     = "too_small" // Param: min
	CodeTooLarge     = "too_large" // Param: max
	CodeNotOption    = "not_option"
	CodeNotURL       = "not_url" // not an absolute http(s) URL
	CodeNotTimezone  = "not_timezone"
	CodeNotLocale    = "not_locale"
	CodeNotAddress   = "not_address"
)

// FieldError is one problem with one submitted value, named by field so a page can show it beside it.
type FieldError struct {
	Field string
	Code  string
	Param string // the limit involved (a length, min or max), empty otherwise
}

var codeText = map[string]string{
	CodeRequired:     "is required",
	CodeUnknownField: "is neither a standard claim nor a field of the tenant's profile",
	CodeNotText:      "must be text without control characters",
	CodeTooShort:     "must be at least %s characters",
	CodeTooLong:      "must be at most %s characters",
	CodePattern:      "does not have the required format",
	CodeNotEmail:     "is not an email address (name@example.com)",
	CodeNotPhone:     "is not a phone number in use, in international format (+ country code and number, e.g. +4930123456)",
	CodeNotDate:      "is not a date (YYYY-MM-DD)",
	CodeDateInFuture: "must not be in the future",
	CodeNotBoolean:   "must be true or false",
	CodeNotInteger:   "is not a whole number",
	CodeTooSmall:     "must be at least %s",
	CodeTooLarge:     "must be at most %s",
	CodeNotOption:    "is not one of the options (%s)",
	CodeNotURL:       "is not an absolute http or https URL",
	CodeNotTimezone:  "is not a time zone (e.g. Europe/Berlin)",
	CodeNotLocale:    "is not a language tag (e.g. en-US)",
	CodeNotAddress:   "must be an address with formatted, street_address, locality, region, postal_code and country",
}

// Error is the English sentence for people (CLI, logs): "company: must be at most 100 characters".
func (e FieldError) Error() string {
	t := codeText[e.Code]
	if strings.Contains(t, "%s") {
		t = fmt.Sprintf(t, e.Param)
	}
	return e.Field + ": " + t
}

// FieldErrors are every problem of one submission, ordered by field name.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return "invalid profile: " + strings.Join(s, "; ")
}

// Default limits where the schema sets none, so no write path stores unbounded text.
const (
	defaultMaxText = 255
	maxURL         = 2048
)

// addressParts are the members of the address claim (OIDC Core §5.1.1).
var addressParts = []string{"formatted", "street_address", "locality", "region", "postal_code", "country"}

// fieldFor returns the field a purpose accepts under name: the schema's entry, the standard claim's
// defaults, or false when the purpose does not take it.
func fieldFor(schema config.ProfileSchema, purpose, name string) (config.ProfileField, bool) {
	f, inSchema := schema.Field(name)
	_, standard := config.StandardClaims[name]
	if !inSchema && !standard {
		return f, false
	}
	if !inSchema {
		f = config.ProfileField{Name: name}
	}
	names := name == "given_name" || name == "family_name"
	switch purpose {
	case PurposeAdmin, PurposeCompletion:
		return f, true
	case PurposeRegistration:
		return f, f.Registration || names
	case PurposeEditable:
		return f, f.Editable || names
	}
	return f, false
}

// ValidateProfile is the one validator of profile values, used by every write path: forms (strings as
// posted), the CLI (strings) and the seed (typed YAML values). It returns the normalized values by field
// name: string, bool, int64, or map[string]string for address; nil for a value submitted empty, which
// clears it. A form posts the address as address.locality, address.postal_code, and so on.
// For registration and editable, every required field of the purpose must be submitted non-empty, and a
// required boolean must be true (a box to tick). now decides what a birthdate in the future is.
func ValidateProfile(schema config.ProfileSchema, purpose string, values map[string]any, now time.Time) (map[string]any, FieldErrors) {
	in := make(map[string]any, len(values))
	var errs FieldErrors
	for k, v := range values {
		if part, ok := strings.CutPrefix(k, "address."); ok {
			addr, _ := in["address"].(map[string]any)
			if addr == nil {
				if _, set := in["address"]; set {
					errs = append(errs, FieldError{Field: "address", Code: CodeNotAddress})
					continue
				}
				addr = map[string]any{}
				in["address"] = addr
			}
			addr[part] = v
			continue
		}
		if _, set := in[k]; set { // address given both ways
			errs = append(errs, FieldError{Field: k, Code: CodeNotAddress})
			continue
		}
		in[k] = v
	}
	out := make(map[string]any, len(in))
	for name, v := range in {
		f, ok := fieldFor(schema, purpose, name)
		if !ok {
			errs = append(errs, FieldError{Field: name, Code: CodeUnknownField})
			continue
		}
		nv, code, param := checkValue(f, v, now)
		if code != "" {
			errs = append(errs, FieldError{Field: name, Code: code, Param: param})
			continue
		}
		out[name] = nv
	}
	if purpose != PurposeAdmin {
		for _, f := range FormFields(schema, purpose) {
			if !f.Required || f.Name == "email" || f.Name == "password" {
				continue
			}
			if v, ok := out[f.Name]; ok && v != nil && v != false {
				continue
			}
			if slices.ContainsFunc(errs, func(e FieldError) bool { return e.Field == f.Name }) {
				continue
			}
			errs = append(errs, FieldError{Field: f.Name, Code: CodeRequired})
		}
	}
	if purpose == PurposeCompletion {
		// Every field the complete-profile page asks for must be given (a box ticked).
		for name, v := range out {
			if v == nil || v == false {
				delete(out, name)
				errs = append(errs, FieldError{Field: name, Code: CodeRequired})
			}
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return nil, errs
	}
	return out, nil
}

// checkValue validates and normalizes one value of field f; code is empty when it is valid.
func checkValue(f config.ProfileField, v any, now time.Time) (out any, code, param string) {
	typ := f.TypeOf()
	if typ == config.FieldAddress {
		return checkAddress(v)
	}
	if typ == config.FieldBoolean {
		return checkBool(v)
	}
	if typ == config.FieldInteger {
		return checkInt(f, v)
	}
	s, ok := asText(v)
	if !ok {
		return nil, CodeNotText, ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, "", ""
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return nil, CodeNotText, ""
	}
	switch typ {
	case config.FieldEmail:
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
			return nil, CodeNotEmail, ""
		}
	case config.FieldPhone:
		// The one rule for phone numbers, as sign-in by SMS applies it: a number stored here can receive
		// a code without being written again.
		n, err := NormalizePhone(s, "")
		if err != nil {
			return nil, CodeNotPhone, ""
		}
		s = n
	case config.FieldDate:
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, CodeNotDate, ""
		}
		if f.Name == "birthdate" && d.After(now) {
			return nil, CodeDateInFuture, ""
		}
		s = d.Format(time.DateOnly)
	case config.FieldURL:
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > maxURL {
			return nil, CodeNotURL, ""
		}
	case config.FieldSelect:
		if !slices.Contains(f.Options, s) {
			return nil, CodeNotOption, strings.Join(f.Options, ", ")
		}
	}
	switch f.Name {
	case "zoneinfo":
		if _, err := time.LoadLocation(s); err != nil || s == "Local" {
			return nil, CodeNotTimezone, ""
		}
	case "locale":
		tag, err := language.Parse(s)
		if err != nil {
			return nil, CodeNotLocale, ""
		}
		s = tag.String()
	}
	n := utf8.RuneCountInString(s)
	maxLen := defaultMaxText
	if typ == config.FieldURL {
		maxLen = maxURL
	}
	if f.MaxLength != nil {
		maxLen = *f.MaxLength
	}
	if f.MinLength != nil && n < *f.MinLength {
		return nil, CodeTooShort, strconv.Itoa(*f.MinLength)
	}
	if n > maxLen {
		return nil, CodeTooLong, strconv.Itoa(maxLen)
	}
	if f.Pattern != "" {
		re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
		if err != nil || !re.MatchString(s) {
			return nil, CodePattern, ""
		}
	}
	return s, "", ""
}

// asText accepts text, and whole numbers from YAML (a postal code written without quotes).
func asText(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	}
	return "", false
}

func checkBool(v any) (any, string, string) {
	switch v := v.(type) {
	case nil:
		return nil, "", ""
	case bool:
		return v, "", ""
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "":
			return nil, "", "" // an unticked checkbox posts nothing
		case "true", "on", "yes", "1":
			return true, "", ""
		case "false", "off", "no", "0":
			return false, "", ""
		}
	}
	return nil, CodeNotBoolean, ""
}

func checkInt(f config.ProfileField, v any) (any, string, string) {
	var n int64
	switch v := v.(type) {
	case nil:
		return nil, "", ""
	case int:
		n = int64(v)
	case int64:
		n = v
	case uint64:
		if v > math.MaxInt64 {
			return nil, CodeNotInteger, ""
		}
		n = int64(v)
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return nil, CodeNotInteger, ""
		}
		n = int64(v)
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return nil, "", ""
		}
		var err error
		if n, err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, CodeNotInteger, ""
		}
	default:
		return nil, CodeNotInteger, ""
	}
	if f.Min != nil && n < *f.Min {
		return nil, CodeTooSmall, strconv.FormatInt(*f.Min, 10)
	}
	if f.Max != nil && n > *f.Max {
		return nil, CodeTooLarge, strconv.FormatInt(*f.Max, 10)
	}
	return n, "", ""
}

// checkAddress accepts the address claim as a mapping of its members (OIDC Core §5.1.1), each text.
func checkAddress(v any) (any, string, string) {
	var m map[string]any
	switch v := v.(type) {
	case nil:
		return nil, "", ""
	case map[string]any:
		m = v
	case map[string]string:
		m = make(map[string]any, len(v))
		for k, s := range v {
			m[k] = s
		}
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, "", ""
		}
		return nil, CodeNotAddress, ""
	default:
		return nil, CodeNotAddress, ""
	}
	out := map[string]string{}
	for k, pv := range m {
		s, ok := asText(pv)
		s = strings.TrimSpace(s)
		if !ok || !slices.Contains(addressParts, k) || utf8.RuneCountInString(s) > defaultMaxText {
			return nil, CodeNotAddress, ""
		}
		// formatted may span lines (OIDC Core §5.1.1); nothing else may hold control characters.
		if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && (k != "formatted" || r != '\n') }) >= 0 {
			return nil, CodeNotAddress, ""
		}
		if s != "" {
			out[k] = s
		}
	}
	if len(out) == 0 {
		return nil, "", ""
	}
	return out, "", ""
}

// FormField is what a page needs to render one input.
type FormField struct {
	Name string
	// InputType is the HTML input type (text, email, tel, date, checkbox, number, url, password) or
	// "select" for a select element.
	InputType string
	// Autocomplete is the HTML autofill token (given-name, family-name, email, new-password, tel, bday,
	// url, ...); empty: none applies.
	Autocomplete string
	Required     bool
	// Label per language from the schema; empty: the page uses its own catalogue's text for the field.
	Label                map[string]string
	Options              []string
	MinLength, MaxLength *int
	Pattern              string
	Min, Max             *int64
}

var inputTypes = map[string]string{
	config.FieldString: "text", config.FieldEmail: "email", config.FieldPhone: "tel", config.FieldDate: "date",
	config.FieldBoolean: "checkbox", config.FieldInteger: "number", config.FieldSelect: "select", config.FieldURL: "url",
}

// autocomplete maps standard claims to the HTML autofill field names (HTML Living Standard §4.10.18.7).
var autocomplete = map[string]string{
	"name": "name", "given_name": "given-name", "family_name": "family-name", "nickname": "nickname",
	"preferred_username": "username", "picture": "photo", "website": "url", "gender": "sex",
	"birthdate": "bday", "locale": "language", "phone_number": "tel",
}

// FormFields lists the inputs of a purpose (registration or editable) in order. Registration starts with
// email and password (checked by account creation, not by ValidateProfile), then given_name and
// family_name, which registration and the profile page always show (optional unless the schema makes
// them required), then the schema's fields of the purpose in schema order. The address claim is left to
// the operator's paths for now: it has no single input.
func FormFields(schema config.ProfileSchema, purpose string) []FormField {
	var out []FormField
	if purpose == PurposeRegistration {
		out = append(out,
			FormField{Name: "email", InputType: "email", Autocomplete: "email", Required: true},
			FormField{Name: "password", InputType: "password", Autocomplete: "new-password", Required: true})
	}
	if purpose != PurposeRegistration && purpose != PurposeEditable {
		return out
	}
	names := []string{"given_name", "family_name"}
	for _, f := range schema.Fields {
		if !slices.Contains(names, f.Name) {
			names = append(names, f.Name)
		}
	}
	for _, name := range names {
		f, ok := fieldFor(schema, purpose, name)
		if !ok || f.TypeOf() == config.FieldAddress {
			continue
		}
		out = append(out, formField(f))
	}
	return out
}

// formField is the input of field f (with its name set).
func formField(f config.ProfileField) FormField {
	typ := f.TypeOf()
	ff := FormField{Name: f.Name, InputType: inputTypes[typ], Autocomplete: autocomplete[f.Name], Required: f.Required,
		Label: f.Label, Options: f.Options, MinLength: f.MinLength, MaxLength: f.MaxLength, Pattern: f.Pattern,
		Min: f.Min, Max: f.Max}
	if ff.Autocomplete == "" {
		switch typ {
		case config.FieldEmail:
			ff.Autocomplete = "email"
		case config.FieldPhone:
			ff.Autocomplete = "tel"
		case config.FieldURL:
			ff.Autocomplete = "url"
		}
	}
	return ff
}
