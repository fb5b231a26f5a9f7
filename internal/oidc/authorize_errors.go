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
	URI   string // the registered redirect URI, exactly as the client sent it
	Mode  string // modeQuery or modeFormPost
	State string // echoed when the client sent one
	Iss   string // RFC 9207: the issuer, sent with every response
	Brand string // the tenant's name, shown on a form_post page
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
			p.errorPage(w, r, t, http.StatusInternalServerError, "Something went wrong",
				"The server could not handle this sign-in request. Please try again later.")
			return
		}
		p.errorPage(w, r, t, http.StatusBadRequest, "This sign-in request cannot be used",
			oe.Description+" Go back to the application you came from and try again; if it keeps happening, tell its developers.")
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

// errorPage shows an error page (web's layout, with the tenant's name when t is known) with status; it
// never reveals internal errors.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, t store.Tenant, status int, title, message string) {
	web.TenantErrorPage(w, r, brand(t), status, title, message)
}

// brand is how a tenant is named on its pages: its name, else its id ("" for no tenant).
func brand(t store.Tenant) string {
	if t.Name != "" {
		return t.Name
	}
	return t.ID
}
