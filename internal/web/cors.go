package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CORS lets browser apps on other origins call an endpoint (Fetch Standard, "CORS protocol"). It is meant
// for endpoints that authenticate with tokens or client credentials in the request, never with cookies:
// it never sends Access-Control-Allow-Credentials, so a browser does not attach cookies it would expose.
//
// Which origins may call is the surface's decision (Allow). An origin it does not allow gets no CORS
// headers at all, and the browser keeps the response from the page. Every answer carries Vary: Origin,
// because it depends on the Origin header and caches must not hand one origin's answer to another.
type CORS struct {
	// Allow reports whether a page on origin may read the answer to r. It is called only for requests
	// that carry an Origin header, with that header's value.
	Allow func(r *http.Request, origin string) bool
	// Methods the endpoint serves to browser apps (GET, POST); preflights for others are not approved.
	Methods []string
	// Headers apps may send beyond the CORS-safelisted ones (Authorization), compared case-insensitively.
	Headers []string
	// Expose lists response headers apps may read beyond the safelisted ones (WWW-Authenticate).
	Expose []string
	// MaxAge is how long a browser may cache an approved preflight; 0 sends no Access-Control-Max-Age.
	MaxAge time.Duration
}

// Wrap adds the CORS headers to the answers of next (an actual request, not a preflight). The headers are
// set before next runs, so error answers carry them too and the app can read the OAuth error.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); origin != "" && c.Allow(r, origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			if len(c.Expose) > 0 {
				h.Set("Access-Control-Expose-Headers", strings.Join(c.Expose, ", "))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Preflight answers OPTIONS requests to the endpoint. A preflight from an allowed origin for one of
// Methods, asking only for Headers, is approved; any other gets 204 without CORS headers, which the
// browser treats as a refusal. An OPTIONS request that is no preflight learns the methods (Allow).
func (c *CORS) Preflight() http.Handler {
	allowMethods := strings.Join(c.Methods, ", ")
	allowHeaders := strings.Join(c.Headers, ", ")
	maxAge := strconv.Itoa(int(c.MaxAge / time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Allow", "OPTIONS, "+allowMethods)
		origin, method := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
		if origin != "" && method != "" && slices.Contains(c.Methods, method) &&
			c.headersAllowed(r.Header.Values("Access-Control-Request-Headers")) && c.Allow(r, origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", allowMethods)
			if allowHeaders != "" {
				h.Set("Access-Control-Allow-Headers", allowHeaders)
			}
			if c.MaxAge > 0 {
				h.Set("Access-Control-Max-Age", maxAge)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// headersAllowed reports whether every header named in Access-Control-Request-Headers (comma-separated
// lists, possibly in several field lines) is one of Headers.
func (c *CORS) headersAllowed(lines []string) bool {
	for _, line := range lines {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !slices.ContainsFunc(c.Headers, func(h string) bool { return strings.EqualFold(h, name) }) {
				return false
			}
		}
	}
	return true
}
