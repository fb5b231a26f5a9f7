package i18n

import (
	"fmt"
	"slices"
)

// Overrides are a tenant's own texts: language, then message key, then text. They replace the
// catalogue's text of that key in that language only.
type Overrides map[string]map[string]string

// Texts are the messages of one language with a tenant's overrides applied: what a page or an email of
// that tenant shows. The zero value is English without overrides.
type Texts struct {
	Lang      string
	overrides Overrides
	cat       *Catalogue
}

// In returns the texts of lang (one of Languages; anything else is English) with overrides.
// Emails use it the same way as pages: Builtin.In(lang, tenantOverrides).Text("some.key").
func (c *Catalogue) In(lang string, overrides Overrides) Texts {
	if !slices.Contains(Languages, lang) {
		lang = Default
	}
	return Texts{Lang: lang, overrides: overrides, cat: c}
}

// Text returns key's message: the tenant's override in this language, else the catalogue's text in this
// language, else the tenant's English override, else the catalogue's English text, else the key itself.
// The message is formatted with args when there are any.
func (t Texts) Text(key string, args ...any) string {
	msg, ok := t.overrides[t.Lang][key]
	if !ok {
		cat := t.cat
		if cat == nil {
			cat = Builtin
		}
		lang := t.Lang
		if lang == "" {
			lang = Default
		}
		if cat.Has(lang, key) {
			return cat.Text(lang, key, args...)
		}
		if msg, ok = t.overrides[Default][key]; !ok {
			return cat.Text(Default, key, args...)
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// CheckOverrides reports every problem of a tenant's overrides against c: a language UMM does not ship
// or a key the catalogue does not have (a typo would otherwise silently change nothing).
func (c *Catalogue) CheckOverrides(o Overrides) []string {
	var probs []string
	for _, lang := range sortedKeys(o) {
		if !slices.Contains(Languages, lang) {
			probs = append(probs, fmt.Sprintf("language %q is not one of %v", lang, Languages))
			continue
		}
		for _, key := range sortedKeys(o[lang]) {
			if !c.Has(Default, key) {
				probs = append(probs, fmt.Sprintf("%s: no message has the key %q", lang, key))
			}
		}
	}
	return probs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
