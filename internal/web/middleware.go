package web

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
)

// Middleware wraps a handler with behaviour shared by every route.
type Middleware func(http.Handler) http.Handler

// Chain returns h wrapped by mws, the first one outermost: Chain(h, a, b) serves a(b(h)).
//
// The server's order is Chain(mux, RequestID, AccessLog(log), Recover(log), SecurityHeaders(publicURL),
// MaxBody(n), metrics.Middleware): the access log sees the request ID and the status Recover wrote, and the
// metrics middleware, wrapping the mux directly, reads the route pattern the mux sets.
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		if mws[i] != nil {
			h = mws[i](h)
		}
	}
	return h
}

type requestIDKey struct{}

// maxRequestIDLen bounds an incoming X-Request-ID that is reused as ours.
const maxRequestIDLen = 64

// RequestID gives every request an ID: an incoming X-Request-ID when it is short and made of
// [A-Za-z0-9-_.] (so it is safe in logs), else a new random one. The ID is echoed in the X-Request-ID
// response header and carried in the request context (RequestIDFrom).
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set("X-Request-ID", id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// RequestIDFrom returns the request ID set by RequestID, or "" when there is none.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Recover turns a panic in a handler into a 500 answer (a page, or JSON when the client wants JSON) and
// logs the panic value and stack with the request ID. The panic text never reaches the client. When the
// response had already started, the connection is aborted instead so a truncated answer is not mistaken
// for a complete one. http.ErrAbortHandler passes through untouched.
func Recover(log *slog.Logger) Middleware {
	if log == nil {
		log = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := record(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "handler panic",
					"request_id", RequestIDFrom(r.Context()),
					"method", r.Method,
					"path", r.URL.Path,
					"err", fmt.Sprint(v),
					"stack", string(debug.Stack()))
				if rec.wroteHeader {
					panic(http.ErrAbortHandler)
				}
				writeFailure(rec, r, http.StatusInternalServerError, "server_error", "internal error",
					"error.server.title", "error.server.text")
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// writeFailure answers an error in the form the client expects: JSON for API clients, else a page.
func writeFailure(w http.ResponseWriter, r *http.Request, status int, code, desc, titleKey, messageKey string, args ...any) {
	h := w.Header()
	for _, k := range []string{"Content-Length", "Content-Disposition", "ETag", "Last-Modified", "Location"} {
		h.Del(k)
	}
	if WantsJSON(r) {
		NoStore(w)
		WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
		return
	}
	ErrorPage(w, r, status, titleKey, messageKey, args...)
}

// AccessLog logs one line per request at Info: method, path (never the query string, which carries codes
// and tokens), route pattern, status, bytes written, duration, request ID and client IP. Headers, cookies
// and bodies are never logged.
func AccessLog(log *slog.Logger) Middleware {
	if log == nil {
		log = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := record(w)
			defer func() {
				// Deferred so that a panic no inner Recover caught is logged too, as the 500 it becomes.
				status := rec.statusCode()
				p := recover()
				if p != nil && !rec.wroteHeader {
					status = http.StatusInternalServerError
				}
				rec.notePattern(r)
				log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
					slog.String("method", safeMethod(r.Method)),
					slog.String("path", r.URL.EscapedPath()),
					slog.String("route", rec.route()),
					slog.Int("status", status),
					slog.Int64("bytes", rec.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", RequestIDFrom(r.Context())),
					slog.String("client_ip", ClientIP(r)),
				)
				if p != nil {
					panic(p)
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// safeMethod bounds the method to the standard ones so that an arbitrary method name cannot flood logs
// or metric labels.
func safeMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// contentSecurityPolicy is the policy of every response; handlers may only widen form-action.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SecurityHeaders sets the security headers of every response: a Content-Security-Policy without
// unsafe-inline (extend form-action per response with AllowFormAction), nosniff, Referrer-Policy
// no-referrer, X-Frame-Options DENY, Cross-Origin-Opener-Policy same-origin, and
// Strict-Transport-Security (two years, without includeSubDomains, which is the operator's choice for
// their domain) when publicURL is https.
func SecurityHeaders(publicURL string) Middleware {
	hsts := strings.HasPrefix(strings.ToLower(publicURL), "https://")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if hsts {
				h.Set("Strict-Transport-Security", "max-age=63072000")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// AllowFormAction widens the form-action directive of this response's Content-Security-Policy with the
// origins of the given URLs, for a page that auto-posts to a client (OIDC response_mode=form_post) or a form
// whose answer redirects to a client. Only the origin of each URL is kept (scheme, host, port); a URL
// with a custom scheme (a native app's redirect URI) adds that scheme. Unparseable values are ignored.
// Call it before the response is written; without a CSP header (no SecurityHeaders) it does nothing.
func AllowFormAction(w http.ResponseWriter, origins ...string) {
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	if csp == "" {
		return
	}
	var add []string
	for _, o := range origins {
		if src := cspSource(o); src != "" {
			add = append(add, src)
		}
	}
	if len(add) == 0 {
		return
	}
	parts := strings.Split(csp, ";")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if name, _, _ := strings.Cut(p, " "); name == "form-action" {
			have := strings.Fields(p)
			for _, a := range add {
				if !containsString(have, a) {
					have = append(have, a)
				}
			}
			parts[i] = strings.Join(have, " ")
		} else {
			parts[i] = p
		}
	}
	h.Set("Content-Security-Policy", strings.Join(parts, "; "))
}

// cspSource reduces a URL to a CSP source expression that cannot break out of its directive.
func cspSource(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return ""
		}
	}
	switch scheme {
	case "http", "https":
		host := u.Host
		if host == "" || u.User != nil || strings.ContainsAny(host, " ;,'\"\t\r\n") {
			return ""
		}
		return scheme + "://" + strings.ToLower(host)
	}
	if config.ScriptScheme(scheme) {
		return ""
	}
	return scheme + ":"
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// MaxBody limits every request body to n bytes (http.MaxBytesReader); reading past it fails and the
// form parsers answer the error.
func MaxBody(n int64) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// WantsJSON reports whether an error for r should be JSON rather than a page: the client accepts JSON and
// not HTML, sends JSON, or the path is an API endpoint (token, userinfo, introspect, revoke,
// device_authorization, jwks.json, .well-known documents, /admin/api/).
func WantsJSON(r *http.Request) bool {
	p := r.URL.Path
	if strings.Contains(p, "/.well-known/") || strings.HasPrefix(p, "/admin/api/") {
		return true
	}
	switch p[strings.LastIndexByte(p, '/')+1:] {
	case "token", "userinfo", "introspect", "revoke", "device_authorization", "jwks.json":
		return true
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "json") && !strings.Contains(accept, "text/html")
}
