package web

import (
	"net/http"
	"net/url"
	"strings"
)

// AllowFrameSrc lets this response's page frame exactly the given URLs (OpenID Connect Front-Channel
// Logout 1.0 §4: the "signed out" page embeds each client's frontchannel_logout_uri): it adds a frame-src
// directive listing each URL as scheme, host and path, so that no other path of those origins can be
// framed. The query is not part of a CSP source and is ignored. Only http and https URLs are kept; call it
// before the response is written. Without URLs, or without a CSP header, it does nothing.
func AllowFrameSrc(w http.ResponseWriter, urls ...string) {
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	if csp == "" {
		return
	}
	var srcs []string
	for _, raw := range urls {
		if src := frameSource(raw); src != "" && !containsString(srcs, src) {
			srcs = append(srcs, src)
		}
	}
	if len(srcs) == 0 {
		return
	}
	h.Set("Content-Security-Policy", csp+"; frame-src "+strings.Join(srcs, " "))
}

// frameSource is the CSP source expression matching exactly the URL's scheme, host and path (CSP Level 3
// §6.7.2.12: a path without a trailing slash must match exactly), or "" when it cannot be expressed safely.
func frameSource(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	if strings.ContainsAny(u.Host, " ;,'\"\t\r\n*") {
		return ""
	}
	path := u.EscapedPath()
	// ";" and "," end a directive or a list in the header; percent-encoded they still match (CSP §6.7.2.10).
	path = strings.NewReplacer(";", "%3B", ",", "%2C").Replace(path)
	if strings.ContainsAny(path, " \t\r\n'\"") {
		return ""
	}
	if path == "" {
		path = "/"
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + path
}

// AllowFramedBySelf lets this response be framed by pages of its own origin only (frame-ancestors 'self',
// X-Frame-Options SAMEORIGIN), for the frames the signed-out page embeds from UMM itself.
func AllowFramedBySelf(w http.ResponseWriter) {
	h := w.Header()
	if csp := h.Get("Content-Security-Policy"); csp != "" {
		h.Set("Content-Security-Policy", strings.Replace(csp, "frame-ancestors 'none'", "frame-ancestors 'self'", 1))
	}
	h.Set("X-Frame-Options", "SAMEORIGIN")
}
