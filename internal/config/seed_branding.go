package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Locales are the languages of the hosted pages and emails. i18n ships exactly these (a test in web
// compares the two lists); config names them itself because it imports nothing of UMM.
var Locales = []string{"en", "de", "fr", "es"}

// MinContrast is the lowest contrast ratio of a tenant's primary colour against white: WCAG 2.x success
// criterion 1.4.3 (AA) for normal text, since buttons show white text on that colour.
const MinContrast = 4.5

// Branding is how a tenant's pages and emails look. Every field is optional.
type Branding struct {
	// DisplayName replaces the tenant's name in page headers and emails.
	DisplayName string `yaml:"display_name" json:"display_name,omitempty"`
	// LogoURL is an https image shown above the pages; its origin is added to the pages' img-src.
	LogoURL string `yaml:"logo_url" json:"logo_url,omitempty"`
	// PrimaryColor (#rrggbb) colours buttons and links through UMM's per-tenant stylesheet.
	PrimaryColor string `yaml:"primary_color" json:"primary_color,omitempty"`
	// StylesheetURL is an https stylesheet linked after UMM's own; its origin is added to style-src.
	StylesheetURL string `yaml:"stylesheet_url" json:"stylesheet_url,omitempty"`
	// SupportEmail is shown on the pages and in emails as the address to ask for help.
	SupportEmail string `yaml:"support_email" json:"support_email,omitempty"`
}

// Messages are a tenant's own texts of one language, by message key (see internal/i18n/messages).
type Messages map[string]string

// TenantLook is what the pages and emails of a tenant need beyond its name: its default language, its
// branding and its message overrides (language, then key, then text). It is stored with the tenant.
type TenantLook struct {
	DefaultLocale string              `json:"default_locale,omitempty"`
	Branding      Branding            `json:"branding,omitzero"`
	Messages      map[string]Messages `json:"messages,omitempty"`
}

// MessageTable returns the overrides as plain maps (language, key, text), the form i18n.Overrides takes:
// i18n.Builtin.In(lang, look.MessageTable()) gives a page's or an email's texts.
func (l TenantLook) MessageTable() map[string]map[string]string {
	if len(l.Messages) == 0 {
		return nil
	}
	out := make(map[string]map[string]string, len(l.Messages))
	for lang, m := range l.Messages {
		out[lang] = m
	}
	return out
}

// Look returns the seed's look as it is stored.
func (t TenantSeed) Look() TenantLook {
	l := TenantLook{DefaultLocale: t.DefaultLocale, Messages: t.Messages}
	if t.Branding != nil {
		l.Branding = *t.Branding
	}
	return l
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ContrastAgainstWhite is the WCAG 2.x contrast ratio of a #rrggbb colour against white (1 to 21).
func ContrastAgainstWhite(color string) (float64, error) {
	if !hexColor.MatchString(color) {
		return 0, fmt.Errorf("%q is not a colour written #rrggbb", color)
	}
	var lum float64
	for i, weight := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(color[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		// WCAG 2.x relative luminance: linearise each sRGB channel.
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		lum += weight * c
	}
	return 1.05 / (lum + 0.05), nil
}

// Validate reports every problem of the look, each naming its key under prefix (such as "tenants[0]").
func (l TenantLook) Validate(prefix string) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if l.DefaultLocale != "" && !slices.Contains(Locales, l.DefaultLocale) {
		add("%s.default_locale: %q is not one of %s", prefix, l.DefaultLocale, strings.Join(Locales, ", "))
	}
	b := l.Branding
	bp := prefix + ".branding"
	if len(b.DisplayName) > 100 {
		add("%s.display_name: must be at most 100 characters", bp)
	}
	for _, u := range []struct{ key, v string }{{"logo_url", b.LogoURL}, {"stylesheet_url", b.StylesheetURL}} {
		if u.v != "" {
			if err := checkAssetURL(u.v); err != nil {
				add("%s.%s: %v", bp, u.key, err)
			}
		}
	}
	if b.PrimaryColor != "" {
		ratio, err := ContrastAgainstWhite(b.PrimaryColor)
		switch {
		case err != nil:
			add("%s.primary_color: %v", bp, err)
		case ratio < MinContrast:
			add("%s.primary_color: %s has a contrast ratio of %.2f:1 against white; white text on it needs at least %.1f:1 (WCAG 2.x AA), choose a darker colour",
				bp, b.PrimaryColor, math.Floor(ratio*100)/100, MinContrast)
		}
	}
	if b.SupportEmail != "" {
		if a, err := mail.ParseAddress(b.SupportEmail); err != nil || a.Address != b.SupportEmail || a.Name != "" {
			add("%s.support_email: %q is not an email address", bp, b.SupportEmail)
		}
	}
	langs := make([]string, 0, len(l.Messages))
	for lang := range l.Messages {
		langs = append(langs, lang)
	}
	sort.Strings(langs)
	for _, lang := range langs {
		if !slices.Contains(Locales, lang) {
			add("%s.messages.%s: %q is not one of %s", prefix, lang, lang, strings.Join(Locales, ", "))
		}
		for key, text := range l.Messages[lang] {
			if text == "" {
				add("%s.messages.%s.%s: must not be empty", prefix, lang, key)
			}
		}
	}
	return p
}

// checkAssetURL accepts an absolute https URL without credentials, whose origin can stand in a
// Content-Security-Policy source list.
func checkAssetURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("%q must be an absolute https URL without credentials", raw)
	}
	if strings.ContainsAny(u.Host, " ;,'\"*\t\r\n") {
		return fmt.Errorf("%q has a host that cannot be named in a Content-Security-Policy", raw)
	}
	return nil
}

// BrandingFromMap reads branding stored as a JSON object (an organization's) into a Branding. An unknown
// key or a value of the wrong kind is an error naming it.
func BrandingFromMap(m map[string]any) (Branding, error) {
	var b Branding
	if len(m) == 0 {
		return b, nil
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return b, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return Branding{}, fmt.Errorf("branding: %w (keys: display_name, logo_url, primary_color, stylesheet_url, support_email)", err)
	}
	return b, nil
}

// Map is b as the JSON object an organization stores (empty keys left out).
func (b Branding) Map() map[string]any {
	m := map[string]any{}
	for k, v := range map[string]string{"display_name": b.DisplayName, "logo_url": b.LogoURL, "primary_color": b.PrimaryColor,
		"stylesheet_url": b.StylesheetURL, "support_email": b.SupportEmail} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// Over is b with every field it leaves empty taken from base: an organization's branding over its
// tenant's.
func (b Branding) Over(base Branding) Branding {
	pick := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	return Branding{DisplayName: pick(b.DisplayName, base.DisplayName), LogoURL: pick(b.LogoURL, base.LogoURL),
		PrimaryColor: pick(b.PrimaryColor, base.PrimaryColor), StylesheetURL: pick(b.StylesheetURL, base.StylesheetURL),
		SupportEmail: pick(b.SupportEmail, base.SupportEmail)}
}
