package i18n

import (
	"slices"
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                                      string
		uiLocales, cookie, acceptLanguage, tenant string
		want                                      string
	}{
		{"ui_locales comes first", "de", "fr", "es", "fr", "de"},
		{"the first shipped language of ui_locales wins", "ja de-CH fr", "", "", "", "de"},
		{"ui_locales without a shipped language falls through to the cookie", "ja ko", "fr", "es", "", "fr"},
		{"the cookie comes before Accept-Language", "", "es", "de", "fr", "es"},
		{"an unknown cookie falls through to Accept-Language", "", "xx", "de", "fr", "de"},
		{"Accept-Language is ordered by q-value", "", "", "en;q=0.5, fr;q=0.9, de;q=0.7", "", "fr"},
		{"Accept-Language skips languages not shipped", "", "", "ja, pt-BR;q=0.9, es;q=0.1", "", "es"},
		{"Accept-Language refuses q=0", "", "", "de;q=0, ja", "fr", "fr"},
		{"a tie in Accept-Language keeps the first", "", "", "fr, de", "", "fr"},
		{"the tenant default comes after Accept-Language", "", "", "", "de", "de"},
		{"a wildcard leaves the choice to the tenant", "", "", "*", "es", "es"},
		{"nothing known is English", "", "", "", "", "en"},
		{"a malformed q-value is skipped", "", "", "de;q=abc", "", "en"},
		{"case and underscores are forgiven", "FR_ca", "", "", "", "fr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Choose(tt.uiLocales, tt.cookie, tt.acceptLanguage, tt.tenant); got != tt.want {
				t.Errorf("Choose(%q, %q, %q, %q) = %q, want %q", tt.uiLocales, tt.cookie, tt.acceptLanguage, tt.tenant, got, tt.want)
			}
		})
	}
}

func TestTextsOverrides(t *testing.T) {
	t.Parallel()
	key := Builtin.Keys(Default)[0]
	o := Overrides{"de": {key: "Eigener Text"}, "en": {key: "Own text"}}
	tests := []struct{ name, lang, want string }{
		{"a language's override replaces the catalogue", "de", "Eigener Text"},
		{"a language without an override keeps the catalogue's text", "fr", Builtin.Text("fr", key)},
		{"an unknown language is English with its override", "xx", "Own text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Builtin.In(tt.lang, o).Text(key); got != tt.want {
				t.Errorf("In(%q).Text(%q) = %q, want %q", tt.lang, key, got, tt.want)
			}
		})
	}
	if got := (Texts{}).Text("no.such.key"); got != "no.such.key" {
		t.Errorf("an unknown key = %q, want the key", got)
	}
}

func TestCheckOverrides(t *testing.T) {
	t.Parallel()
	key := Builtin.Keys(Default)[0]
	if probs := Builtin.CheckOverrides(Overrides{"de": {key: "x"}}); len(probs) != 0 {
		t.Errorf("a known key in a shipped language: %v", probs)
	}
	probs := Builtin.CheckOverrides(Overrides{"ja": {key: "x"}, "de": {"login.no_such_key": "x"}})
	if len(probs) != 2 || !strings.Contains(probs[0], "login.no_such_key") || !strings.Contains(probs[1], `"ja"`) {
		t.Errorf("problems = %q, want the unknown key and the unknown language", probs)
	}
	if !slices.Equal(Languages, []string{"en", "de", "fr", "es"}) {
		t.Errorf("Languages = %v", Languages)
	}
}
