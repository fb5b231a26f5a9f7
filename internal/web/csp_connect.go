package web

import (
	"net/http"
	"strings"
)

// AllowConnectSelf lets this response's page fetch from its own origin (connect-src 'self'): the passkey
// script asks the server for a ceremony's options before it calls navigator.credentials. Every other page
// keeps default-src 'none' for connections. Call it before the response is written; without a CSP header
// it does nothing.
func AllowConnectSelf(w http.ResponseWriter) {
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	if csp == "" || strings.Contains(csp, "connect-src") {
		return
	}
	h.Set("Content-Security-Policy", csp+"; connect-src 'self'")
}
