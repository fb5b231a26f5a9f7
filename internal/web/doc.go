// Package web is the HTTP plumbing shared by every UMM surface (oidc, login, admin, ...): middleware
// (request ID, panic recovery, access log, security headers, body limit, CORS), client IP behind trusted
// proxies, CSRF protection, per-node rate limits, Prometheus metrics, JSON and no-store helpers, and the
// html/template layout, error page and embedded static assets of the hosted pages, the choice of a page's
// language and the language switcher (lang.go), and a tenant's branding stylesheet (branding.go). It
// imports the standard library, Prometheus, config (the shared URI and origin rules, a tenant's look) and
// i18n (the message catalogue); surfaces and server import it.
//
// # Wiring (server)
//
//	prefixes, err := web.ParseTrustedProxies(cfg.Security.TrustedProxies)
//	web.SetTrustedProxies(prefixes)
//	csrf := web.NewCSRF(keyring.MAC("umm csrf", nil), https, cfg.Server.PublicURL)
//	h := web.Chain(mux, web.RequestID, web.AccessLog(log), web.Recover(log),
//		web.SecurityHeaders(cfg.Server.PublicURL), web.MaxBody(cfg.Server.MaxBodyBytes), metrics.Middleware)
//	mux.Handle("GET /static/", web.Static())
//
// metrics.Middleware must wrap the mux directly: it reads r.Pattern, which ServeMux sets on the request
// it routes. AccessLog, Recover and Metrics share one response recorder, so the access log sees the
// route pattern too. Logs carry stable keys (request_id, route, status, client_ip) and never query
// strings, headers, cookies or bodies. NewLogHandler adds request_id to every log record made with a
// request's context.
//
// # CORS
//
// A surface wraps each endpoint that browser apps call with fetch in a CORS policy and registers its
// preflight; the surface decides which origins are allowed:
//
//	c := &web.CORS{Allow: allowOrigin, Methods: []string{"POST"}, Headers: []string{"Authorization"}}
//	mux.Handle("POST /t/{tenant}/token", c.Wrap(token))
//	mux.Handle("OPTIONS /t/{tenant}/token", c.Preflight())
//
// # Pages
//
// A surface embeds its page files and builds a Renderer:
//
//	//go:embed templates/*.html
//	var pages embed.FS
//	rd, err := web.NewRenderer(pages, "templates/*.html")
//	pd := web.TenantPage(r, t.ID, t.Name, t.Settings.Look, lr.Params.Lang) // "" chooses from the request
//	pd.Title, pd.CSRFToken = pd.T("login.title"), csrf.Token(w, r)
//	rd.Render(w, r, http.StatusOK, "login", pd)
//
// Every text comes from the i18n catalogue: {{.T "login.title"}} in a page ({{$.T ...}} inside range or
// with), pd.T in Go, with fmt arguments ({{.T "consent.heading" .Data.ClientName}}). The layout shows the
// tenant's logo, display name, support address and the language switcher, links /t/{tenant}/branding.css
// when the tenant has a primary colour, and Render widens the CSP for the tenant's stylesheet and logo.
//
// Each page file defines "title" (the page title, without the tenant name, which the layout adds) and
// "content" (inside <main>), and may define "scripts" (end of <body>, for <script src> tags only: the
// Content-Security-Policy forbids inline script and style). The layout defines helpers:
// {{template "csrf" .}} writes the hidden csrf_token input, {{template "form-error" .}} writes .Error as
// a role="alert" box with id "form-error". Template functions: fieldError (the error of one input, ""
// when none: {{with fieldError $ "email"}}), errorID ({{errorID "email"}} is "email-error"), and asset
// (the versioned URL of a static file: {{asset "form_post.js"}}).
//
// Markup that several pages share goes in partial files, which define named templates only and are
// parsed into every page: web.NewRendererWithPartials(pages, "templates/partials/*.html",
// "templates/*.html"); a page then writes {{template "name" .}}.
//
// Accessible markup (every page must follow it; pages must also work without JavaScript):
//
//   - Exactly one <h1> per page, inside "content"; the layout's header shows the tenant name as text,
//     not as a heading. The layout sets <html lang> from the page's language (default "en").
//   - Every input has a visible <label for="id">; placeholder text is never the only label; use
//     autocomplete tokens (username, email, current-password, new-password, one-time-code).
//   - A field's error text has id {{errorID "name"}} and the input gets aria-invalid="true" and
//     aria-describedby pointing at it (plus any hint's id); see the example below.
//   - Form-level errors use {{template "form-error" .}} (role="alert") at the top of the form.
//   - Actions are <button>s with visible text (allow/deny: name="decision" value="allow"/"deny"); links
//     are for navigation only. Do not remove focus outlines; umm.css provides visible focus styles.
//   - An auto-posting page (OIDC form_post) is a <form id="auto-submit" method="post"> with a visible
//     submit button, plus <script src="{{asset "form_post.js"}}"> in "scripts"; the handler calls
//     AllowFormAction(w, redirectURI) before rendering.
//
// A field with its error:
//
//	<div class="field">
//	<label for="email">Email</label>
//	<input id="email" name="email" type="email" autocomplete="username" required
//	{{if fieldError $ "email"}}aria-invalid="true" aria-describedby="{{errorID "email"}}"{{end}}>
//	{{with fieldError $ "email"}}<span class="field-error" id="{{errorID "email"}}">{{.}}</span>{{end}}
//	</div>
//
// CSS classes in umm.css: card (the main box), field, hint, field-error, alert, notice, actions, button
// (and .secondary, .danger, .block), list, scopes, muted, code-input.
//
// # Errors
//
// ErrorPage renders web's plain error page (for example a bad client or redirect URI, which must never be
// redirected to), its title and message given as message keys; TenantErrorPage does so for a tenant. WriteJSON and NoStore serve APIs. Recover and LimitByIP choose JSON or a page with
// WantsJSON.
package web
