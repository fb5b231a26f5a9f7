// Package i18n is the one message catalogue of every page and email: the texts of each supported
// language, a tenant's overrides, and the choice of a language from what a request offers.
//
// Messages live in messages/<domain>.<lang>.json (flat objects of key to text; "pages", "email", ...);
// every file of a language is merged into that language's table. A text may hold fmt verbs (%s, %[1]s)
// filled from the arguments of Text. English is the fallback of every other language.
//
// It is part of the base: it imports nothing of UMM, and web, notify and the surfaces import it.
package i18n
