package i18n

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Match returns the shipped language a language tag asks for ("de-CH" and "DE" are "de"), or "" when
// UMM does not ship it.
func Match(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	base, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	if slices.Contains(Languages, base) {
		return base
	}
	return ""
}

// Choose picks the language of a page or an email from what is known, in this order: the OpenID Connect
// ui_locales parameter (space-separated, the first shipped one wins; OIDC Core §3.1.2.1), the language the
// person chose with a switcher (a cookie), the browser's Accept-Language header (by q-value, RFC 9110
// §12.5.4), the tenant's default language, else English. Unknown or malformed values are skipped.
func Choose(uiLocales, chosen, acceptLanguage, tenantDefault string) string {
	for _, tag := range strings.Fields(uiLocales) {
		if l := Match(tag); l != "" {
			return l
		}
	}
	if l := Match(chosen); l != "" {
		return l
	}
	if l := fromAcceptLanguage(acceptLanguage); l != "" {
		return l
	}
	if l := Match(tenantDefault); l != "" {
		return l
	}
	return Default
}

// fromAcceptLanguage returns the shipped language with the highest q-value in an Accept-Language header
// (the earlier one on a tie), or "" when none is acceptable. "*" matches nothing: it leaves the choice to
// the tenant's default.
func fromAcceptLanguage(h string) string {
	type offer struct {
		lang string
		q    float64
		pos  int
	}
	var offers []offer
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if l := Match(tag); l != "" && q > 0 {
			offers = append(offers, offer{l, q, i})
		}
	}
	sort.SliceStable(offers, func(a, b int) bool { return offers[a].q > offers[b].q })
	if len(offers) == 0 {
		return ""
	}
	return offers[0].lang
}
