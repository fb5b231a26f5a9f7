package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Languages are the languages UMM ships complete, in the order a language switcher lists them.
var Languages = []string{"en", "de", "fr", "es"}

// Default is the language of last resort.
const Default = "en"

//go:embed messages/*.json
var messageFiles embed.FS

// Catalogue maps a language to its messages.
type Catalogue struct {
	tables map[string]map[string]string
}

// Builtin is the catalogue compiled into the binary. It panics at start when a message file is malformed,
// which TestCatalogueLoads catches first.
var Builtin = mustLoad(messageFiles)

func mustLoad(fsys fs.FS) *Catalogue {
	c, err := load(fsys)
	if err != nil {
		panic(err)
	}
	return c
}

// load reads every messages/<domain>.<lang>.json of fsys.
func load(fsys fs.FS) (*Catalogue, error) {
	c := &Catalogue{tables: map[string]map[string]string{}}
	names, err := fs.Glob(fsys, "messages/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".json")
		_, lang, ok := strings.Cut(base, ".")
		if !ok || lang == "" {
			return nil, fmt.Errorf("i18n: %s: name a message file <domain>.<lang>.json", name)
		}
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		t := c.tables[lang]
		if t == nil {
			t = map[string]string{}
			c.tables[lang] = t
		}
		for k, v := range m {
			if _, dup := t[k]; dup {
				return nil, fmt.Errorf("i18n: %s: key %q is defined twice for %s", name, k, lang)
			}
			t[k] = v
		}
	}
	return c, nil
}

// Has reports whether lang has its own text for key (no fallback).
func (c *Catalogue) Has(lang, key string) bool {
	_, ok := c.tables[lang][key]
	return ok
}

// Keys returns the keys of lang's table.
func (c *Catalogue) Keys(lang string) []string {
	keys := make([]string, 0, len(c.tables[lang]))
	for k := range c.tables[lang] {
		keys = append(keys, k)
	}
	return keys
}

// Text returns key's message in lang, else in English, else the key itself (which a test looks for in
// rendered pages), formatted with args when there are any.
func (c *Catalogue) Text(lang, key string, args ...any) string {
	msg, ok := c.tables[lang][key]
	if !ok {
		if msg, ok = c.tables[Default][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}
