package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/i18n"
)

// LangCookie is the cookie the language switcher sets: the language the person chose, one of
// i18n.Languages. It is not a secret and carries no authority.
const LangCookie = "umm_lang"

// langCookieTTL keeps a chosen language for a year.
const langCookieTTL = 365 * 24 * time.Hour

// languageNames are the switcher's labels, each in its own language so a person finds theirs.
var languageNames = map[string]string{"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español"}

// Lang chooses the language of a page (or of a flow at its start) from the request: uiLocales (the OpenID
// Connect ui_locales of an authorization request, "" elsewhere), then the umm_lang cookie, then
// Accept-Language, then tenantDefault, else English (i18n.Choose).
func Lang(r *http.Request, uiLocales, tenantDefault string) string {
	var chosen string
	if c, err := r.Cookie(LangCookie); err == nil {
		chosen = c.Value
	}
	return i18n.Choose(uiLocales, chosen, r.Header.Get("Accept-Language"), tenantDefault)
}

// SetLangCookie remembers lang in this browser for every tenant: Secure when the site is https,
// SameSite=Lax (so it comes along when an application sends the person to UMM), HttpOnly since no script
// reads it.
func SetLangCookie(w http.ResponseWriter, lang string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: int(langCookieTTL / time.Second),
		Secure: secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// LangSwitchPath is the switcher's link for tenant: GET /t/{tenant}/language?lang=..&next=.. sets the
// cookie (and the language of a pending sign-in named in next) and returns to next.
func LangSwitchPath(tenantID, lang, next string) string {
	return "/t/" + tenantID + "/language?" + url.Values{"lang": {lang}, "next": {next}}.Encode()
}

// SwitchNext returns next when it is a path of tenant's pages on this origin, else the tenant's sign-in
// page: the switcher must not become an open redirect.
func SwitchNext(tenantID, next string) string {
	home := "/t/" + tenantID + "/login"
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "//") ||
		!strings.HasPrefix(u.Path, "/t/"+tenantID+"/") || strings.Contains(u.Path, "/..") {
		return home
	}
	return u.RequestURI()
}

// LangLink is one entry of the language switcher.
type LangLink struct {
	Lang, Name, Href string
	Current          bool
}

// Switcher lists the languages with links that switch to each and come back to this page; it is empty
// on pages of no tenant or without a page to come back to.
func (d PageData) Switcher() []LangLink {
	if d.TenantID == "" || d.Here == "" {
		return nil
	}
	out := make([]LangLink, 0, len(i18n.Languages))
	for _, l := range i18n.Languages {
		out = append(out, LangLink{Lang: l, Name: languageNames[l], Current: l == d.Lang,
			Href: LangSwitchPath(d.TenantID, l, d.Here)})
	}
	return out
}

// T returns the page's text of key in the page's language with the tenant's overrides: {{.T "login.title"}}.
func (d PageData) T(key string, args ...any) string {
	if d.Texts.Lang == "" {
		return i18n.Builtin.In(d.Lang, nil).Text(key, args...)
	}
	return d.Texts.Text(key, args...)
}

// TenantPage returns the PageData every page of a tenant starts from: its name (the branding's display
// name first), branding, and texts in lang with the tenant's overrides. An empty lang is chosen from the
// request and the tenant's default (Lang); a flow passes the language stored with its login request.
func TenantPage(r *http.Request, id, name string, look config.TenantLook, lang string) PageData {
	if lang == "" || !slices.Contains(i18n.Languages, lang) {
		lang = Lang(r, "", look.DefaultLocale)
	}
	pd := PageData{TenantID: id, TenantName: look.Branding.DisplayName, Branding: look.Branding, Lang: lang,
		Texts: i18n.Builtin.In(lang, Overrides(look))}
	if pd.TenantName == "" {
		pd.TenantName = name
	}
	if pd.TenantName == "" {
		pd.TenantName = id
	}
	pd.Here = here(r)
	return pd
}

// here is where the language switcher returns to: this page's path with only its login request (?lr=),
// which is what a page of a flow needs. The rest of the query is left out: echoing request input into the
// page would hand an attacker a reflection point.
func here(r *http.Request) string {
	h := r.URL.EscapedPath()
	if lr := r.URL.Query().Get("lr"); lr != "" && len(lr) <= 64 && strings.IndexFunc(lr, func(c rune) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_')
	}) < 0 {
		h += "?lr=" + lr
	}
	return h
}

// Overrides are a tenant's message overrides as i18n reads them.
func Overrides(look config.TenantLook) i18n.Overrides { return look.MessageTable() }
