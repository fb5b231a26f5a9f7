package oidc

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/web"
)

// Errors of the back channel beyond those in errors.go.

// RFC 8628 §3.5: the device flow's polling answers.
func errAuthorizationPending() *Error {
	return newErr("authorization_pending", http.StatusBadRequest, nil,
		"the user has not approved this device yet: poll again after the interval")
}
func errSlowDown(interval int) *Error {
	return newErr("slow_down", http.StatusBadRequest, nil,
		"polling too fast: wait at least "+strconv.Itoa(interval)+" seconds between requests")
}
func errExpiredToken() *Error {
	return newErr("expired_token", http.StatusBadRequest, nil,
		"the device code has expired: start a new device authorization request")
}

// errThrottled is 429 with Retry-After: the client IP failed client authentication too often.
func errThrottled(retryAfter int) *Error {
	e := newErr("slow_down", http.StatusTooManyRequests, nil,
		"too many failed client authentications from this address: retry after "+strconv.Itoa(retryAfter)+" seconds")
	e.RetryAfter = retryAfter
	return e
}

// errClientAuthFailed is the one answer to an unknown client, a wrong secret, a bad assertion and the
// wrong authentication method, so that none of them tells the others apart.
func errClientAuthFailed(cause error) *Error {
	return errInvalidClient(cause, "client authentication failed: check client_id, the client's credentials, "+
		"and that the client uses its registered token_endpoint_auth_method")
}

// writeTokenError is the one writer of JSON errors for the back-channel endpoints (token, introspection,
// revocation, device authorization): RFC 6749 §5.2 body and status, Cache-Control: no-store,
// WWW-Authenticate when a client that used the Authorization header failed to authenticate (§5.2: 401), and
// Retry-After for 429 and slow_down. Errors that are not *Error are logged with the request id and
// answered as server_error without their text.
func (p *Provider) writeTokenError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	var oe *Error
	if errors.As(err, &oe) && oe.Status < 500 {
		p.log.InfoContext(ctx, "token request rejected", "tenant", r.PathValue("tenant"), "path", r.URL.Path,
			"code", oe.Code, "description", oe.Description, "err", oe.cause, "request_id", web.RequestIDFrom(ctx))
	} else {
		p.log.ErrorContext(ctx, "token request", "tenant", r.PathValue("tenant"), "path", r.URL.Path, "err", err,
			"request_id", web.RequestIDFrom(ctx))
		oe = errServer(err)
	}
	h := w.Header()
	web.NoStore(w)
	// RFC 6749 §5.2: a client that tried the Authorization header gets 401 with a challenge. Basic is the
	// only scheme a client authenticates with here, so a client that sent another scheme is told so too.
	if oe.Status == http.StatusUnauthorized && r.Header.Get("Authorization") != "" {
		h.Set("WWW-Authenticate", `Basic realm="`+p.realm(r)+`", charset="UTF-8"`)
	}
	if oe.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(oe.RetryAfter))
	}
	body := map[string]string{"error": oe.Code}
	if oe.Description != "" {
		body["error_description"] = errorDescription(oe.Description)
	}
	web.WriteJSON(w, oe.Status, body)
}

// realm is the tenant's issuer, the protection space of its client credentials.
func (p *Provider) realm(r *http.Request) string {
	if id := r.PathValue("tenant"); config.ValidTenantID(id) {
		return p.issuer(id)
	}
	return "umm"
}
