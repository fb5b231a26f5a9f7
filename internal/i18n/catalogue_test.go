package i18n

import (
	"slices"
	"testing"
	"testing/fstest"
)

func TestCatalogueLoads(t *testing.T) {
	t.Parallel()
	if Builtin == nil {
		t.Fatal("no builtin catalogue")
	}
}

// TestEveryLanguageHasEveryKey fails when a key of any shipped language is missing in another.
func TestEveryLanguageHasEveryKey(t *testing.T) {
	t.Parallel()
	all := map[string]bool{}
	for _, lang := range Languages {
		for _, k := range Builtin.Keys(lang) {
			all[k] = true
		}
	}
	for _, lang := range Languages {
		for k := range all {
			if !Builtin.Has(lang, k) {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	c, err := load(fstest.MapFS{
		"messages/pages.en.json": {Data: []byte(`{"hello": "Hello %s", "only_en": "English"}`)},
		"messages/pages.de.json": {Data: []byte(`{"hello": "Hallo %s"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, lang, key, want string }{
		{"a language's own text is used", "de", "hello", "Hallo Ada"},
		{"a missing text falls back to English", "de", "only_en", "English"},
		{"an unknown language falls back to English", "xx", "hello", "Hello Ada"},
		{"an unknown key renders as itself", "de", "nope", "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []any{}
			if tt.key == "hello" {
				args = append(args, "Ada")
			}
			if got := c.Text(tt.lang, tt.key, args...); got != tt.want {
				t.Errorf("Text(%q, %q) = %q, want %q", tt.lang, tt.key, got, tt.want)
			}
		})
	}
	if !slices.Contains(c.Keys("en"), "only_en") || c.Has("de", "only_en") {
		t.Error("Keys/Has disagree with the tables")
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	t.Parallel()
	for name, fsys := range map[string]fstest.MapFS{
		"a file without a language": {"messages/pages.json": {Data: []byte(`{}`)}},
		"malformed JSON":            {"messages/pages.en.json": {Data: []byte(`{`)}},
		"a key defined twice":       {"messages/a.en.json": {Data: []byte(`{"k":"1"}`)}, "messages/b.en.json": {Data: []byte(`{"k":"2"}`)}},
	} {
		if _, err := load(fsys); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
