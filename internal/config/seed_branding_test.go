package config

import (
	"strings"
	"testing"
)

func TestContrastAgainstWhite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, color string
		min, max    float64
	}{
		{"black is 21:1", "#000000", 21, 21},
		{"white is 1:1", "#ffffff", 1, 1},
		{"a dark blue passes AA", "#1a56db", 4.5, 7},
		{"yellow is far below AA", "#ffff00", 1.07, 1.08},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ContrastAgainstWhite(tt.color)
			if err != nil || got < tt.min-0.005 || got > tt.max+0.005 {
				t.Errorf("ContrastAgainstWhite(%q) = %v, %v; want between %v and %v", tt.color, got, err, tt.min, tt.max)
			}
		})
	}
}

func TestLoadTenantLook(t *testing.T) {
	t.Parallel()
	const good = `tenants:
  - id: acme
    default_locale: de
    branding:
      display_name: ACME Corp
      logo_url: https://cdn.example.com/logo.svg
      primary_color: "#1a56db"
      stylesheet_url: https://cdn.example.com/acme.css
      support_email: help@example.com
    messages:
      de:
        login.title: Willkommen
`
	c, err := Load(writeFile(t, good), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	l := c.Tenants[0].Look()
	if l.DefaultLocale != "de" || l.Branding.PrimaryColor != "#1a56db" || l.Branding.DisplayName != "ACME Corp" ||
		l.Messages["de"]["login.title"] != "Willkommen" {
		t.Errorf("look = %+v", l)
	}

	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"a light primary colour is refused with its ratio", "    branding: {primary_color: \"#ffff00\"}\n",
			[]string{"tenants[0].branding.primary_color", "1.07:1", "4.5:1"}},
		{"a colour not written #rrggbb is refused", "    branding: {primary_color: blue}\n",
			[]string{"tenants[0].branding.primary_color", "#rrggbb"}},
		{"an http logo is refused", "    branding: {logo_url: \"http://cdn.example.com/l.png\"}\n",
			[]string{"tenants[0].branding.logo_url", "https"}},
		{"a stylesheet URL with a quote is refused", "    branding: {stylesheet_url: \"https://a'b.example/x.css\"}\n",
			[]string{"tenants[0].branding.stylesheet_url"}},
		{"a bad support email is refused", "    branding: {support_email: \"help at example\"}\n",
			[]string{"tenants[0].branding.support_email"}},
		{"an unsupported default locale is refused", "    default_locale: ja\n",
			[]string{"tenants[0].default_locale", `"ja"`}},
		{"overrides of an unsupported language are refused", "    messages: {ja: {login.title: x}}\n",
			[]string{"tenants[0].messages.ja"}},
		{"an unknown branding key is refused", "    branding: {colour: \"#000000\"}\n",
			[]string{"tenants[0].branding.colour", "unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeFile(t, "tenants:\n  - id: acme\n"+tt.yaml), nil)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
