package login

import (
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/i18n"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// handleLanguage is GET /t/{tenant}/language?lang=..&next=..: the language switcher of every page. It
// remembers the choice in the umm_lang cookie and, when next is a page of a pending sign-in of this
// browser, stores it with that login request (whose language otherwise holds for the whole flow), then
// returns to next. It works without JavaScript. A GET is enough: it changes only how pages read, and the
// CSRF cookie and the flow are left as they are.
func (p *Pages) handleLanguage(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	next := web.SwitchNext(t.ID, r.URL.Query().Get("next"))
	lang := i18n.Match(r.URL.Query().Get("lang"))
	if lang == "" {
		seeOther(w, next)
		return
	}
	web.SetLangCookie(w, lang, p.secure)
	if u, err := url.Parse(next); err == nil {
		if id := u.Query().Get("lr"); id != "" && len(id) <= maxIDLen {
			p.switchFlowLang(w, r, t, id, lang)
		}
	}
	seeOther(w, next)
}

// switchFlowLang stores lang with login request id when it is pending and bound to this browser. Failing
// to do so changes nothing else: the cookie is set, and the flow keeps its language.
func (p *Pages) switchFlowLang(w http.ResponseWriter, r *http.Request, t store.Tenant, id, lang string) {
	ctx := r.Context()
	lr, err := p.db.GetLoginRequest(ctx, t.ID, id)
	if err != nil || lr.Status != store.LoginPending || len(lr.BrowserHash) == 0 {
		return
	}
	if subtle.ConstantTimeCompare(p.sessions.BrowserHash(w, r, t.ID), lr.BrowserHash) != 1 {
		return
	}
	if err := p.db.SetLoginRequestLang(ctx, t.ID, id, lang); err != nil {
		p.log.InfoContext(ctx, "switch language of a sign-in", "tenant", t.ID, "err", err,
			"request_id", web.RequestIDFrom(ctx))
	}
}

// handleBrandingCSS is GET /t/{tenant}/branding.css: the tenant's colours as CSS custom properties
// (web.BrandingCSS), cacheable and revalidated with an ETag.
func (p *Pages) handleBrandingCSS(w http.ResponseWriter, r *http.Request) {
	t, err := p.db.GetTenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	look := t.Settings.Look
	if id := r.URL.Query().Get("org"); id != "" {
		// An organization's pages link its own colours (see Pages.page).
		if config.CheckOrganizationID(id) != nil {
			http.NotFound(w, r)
			return
		}
		o, err := p.db.GetOrganization(r.Context(), t.ID, id)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		look = orgLook(t, &o)
	}
	web.ServeBrandingCSS(w, r, look.Branding)
}
