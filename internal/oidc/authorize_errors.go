package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// redirectTarget is where an authorization response goes once client_id and redirect_uri are validated.
type redirectTarget struct {
	URI   string       // the registered redirect URI, exactly as the client sent it
	Mode  string       // modeQuery or modeFormPost
	State string       // echoed when the client sent one
	Iss   string       // RFC 9207: the issuer, sent with every response
	Page  web.PageData // the tenant's name, branding and language, for a form_post page
}

// authorizeError is the one writer of authorization endpoint errors (authorize and resume). Before the
// client and its redirect URI are validated (target nil) it shows an error page and never redirects; after
// that it sends error, error_description, state and iss to the client (RFC 6749 §4.1.2.1, RFC 9207).
// Errors that are not *Error are logged and answered as server_error.
func (p *Provider) authorizeError(w http.ResponseWriter, r *http.Request, t store.Tenant, target *redirectTarget, err error) {
	var oe *Error
	if errors.As(err, &oe) && oe.Code != "server_error" {
		p.log.InfoContext(r.Context(), "authorization request rejected", "tenant", t.ID, "code", oe.Code,
			"description", oe.Description, "err", oe.cause, "request_id", web.RequestIDFrom(r.Context()))
	} else {
		p.log.ErrorContext(r.Context(), "authorization request", "tenant", t.ID, "err", err,
			"request_id", web.RequestIDFrom(r.Context()))
		oe = errServer(err)
	}
	if target == nil {
		if oe.Status >= 500 {
			p.errorPage(w, r, t, "", http.StatusInternalServerError, "error.server.title", "oidc.authorize.server_error")
			return
		}
		// A protocol detail without a message of its own is shown as it is (in English) inside the
		// translated advice: it is meant for the application's developers.
		detail := oe.Description
		if oe.pageKey != "" {
			detail = p.page(r, t, "").T(oe.pageKey)
		}
		p.errorPage(w, r, t, "", http.StatusBadRequest, "oidc.request.title", "oidc.authorize.go_back", detail)
		return
	}
	p.respond(w, r, target, url.Values{"error": {oe.Code}, "error_description": {errorDescription(oe.Description)}})
}

// respond sends an authorization response (code or error) to the client: a 302 to the redirect URI with
// the parameters in its query, or an auto-submitting form for response_mode=form_post. It adds state and
// iss to v.
func (p *Provider) respond(w http.ResponseWriter, r *http.Request, target *redirectTarget, v url.Values) {
	if target.State != "" {
		v.Set("state", target.State)
	}
	v.Set("iss", target.Iss)
	if target.Mode == modeFormPost {
		p.formPost(w, r, target, v)
		return
	}
	web.NoStore(w)
	w.Header().Set("Location", withQuery(target.URI, v))
	w.WriteHeader(http.StatusFound)
}

// withQuery appends v to uri's query, keeping the query the client registered (RFC 6749 §3.1.2).
func withQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
		if strings.HasSuffix(uri, "?") || strings.HasSuffix(uri, "&") {
			sep = ""
		}
	}
	return uri + sep + v.Encode()
}

// errorPage shows an error page (web's layout, with the tenant's name and branding when t is known) with
// status, its title and message given as message keys, in lang ("" chooses from the request); it never
// reveals internal errors.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, t store.Tenant, lang string, status int, title, message string, args ...any) {
	web.TenantErrorPage(w, r, p.page(r, t, lang), status, title, message, args...)
}

// The provider's pages show no language switcher: their address carries the protocol request, which
// the switcher cannot bring back. They follow the language cookie and Accept-Language instead.

// page is the PageData of a page of tenant t (none when t.ID is ""): its name, branding and overrides,
// in lang or, when lang is "", the language the request asks for.
func (p *Provider) page(r *http.Request, t store.Tenant, lang string) web.PageData {
	if t.ID == "" {
		if lang == "" {
			lang = web.Lang(r, "", "")
		}
		return web.PageData{Lang: lang}
	}
	pd := web.TenantPage(r, t.ID, t.Name, t.Settings.Look, lang)
	pd.Here = ""
	return pd
}
