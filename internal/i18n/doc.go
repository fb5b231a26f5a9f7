// Package i18n is the one message catalogue of every page and email: the texts of each supported
// language, a tenant's overrides, and the choice of a language from what a request offers.
//
// Messages live in messages/<domain>.<lang>.json (flat objects of key to text; "pages", "email", ...);
// every file of a language is merged into that language's table. A text may hold fmt verbs (%s, %[1]s)
// filled from the arguments of Text. English is the fallback of every other language.
//
// Choose picks a language (ui_locales, the person's choice, Accept-Language, the tenant's default,
// English); Catalogue.In gives the texts of one language with a tenant's Overrides, for a page or an
// email alike; CheckOverrides refuses overrides of keys or languages that do not exist.
//
// It is part of the base: it imports nothing of UMM, and web, notify and the surfaces import it.
package i18n
