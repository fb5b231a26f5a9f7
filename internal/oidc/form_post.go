package oidc

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/web"
)

// formPostData is what templates/form_post.html receives.
type formPostData struct {
	Action template.URL // the client's registered redirect URI
	Fields []formField
}

type formField struct{ Name, Value string }

// formPost answers with an HTML page whose form posts v to the client's redirect URI (OAuth 2.0 Form Post
// Response Mode). /static/form_post.js submits it on load; a visible button does the same without
// JavaScript. The page's Content-Security-Policy allows a form action to that origin only.
func (p *Provider) formPost(w http.ResponseWriter, r *http.Request, target *redirectTarget, v url.Values) {
	uri := target.URI
	if !safeFormAction(uri) {
		// Only reachable through a registered URI such as javascript:..., which must never be a form target.
		web.TenantErrorPage(w, r, target.Page, http.StatusBadRequest, "oidc.request.title", "oidc.form_post.bad_redirect")
		return
	}
	d := formPostData{Action: template.URL(uri)}
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, val := range v[k] {
			d.Fields = append(d.Fields, formField{k, val})
		}
	}
	web.AllowFormAction(w, uri)
	pd := target.Page
	pd.Title, pd.Data = pd.T("oidc.form_post.title"), d
	p.pages.Render(w, r, http.StatusOK, "form_post", pd)
}

// safeFormAction refuses schemes that would run script or read local data when used as a form action.
func safeFormAction(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && u.Scheme != "" && !config.ScriptScheme(u.Scheme)
}
