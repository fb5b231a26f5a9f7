package oidc

import (
	"net/http"
)

// Error is an OAuth 2.0 error response (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6).
type Error struct {
	Code        string // "invalid_grant", "invalid_client", ...
	Description string // shown to the client: say what to fix
	Status      int
	RetryAfter  int   // seconds; set for 429 and slow_down
	cause       error // logged, never sent
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }
func (e *Error) Unwrap() error { return e.cause }

func newErr(code string, status int, cause error, desc string) *Error {
	return &Error{Code: code, Description: desc, Status: status, cause: cause}
}

func errInvalidRequest(desc string) *Error {
	return newErr("invalid_request", http.StatusBadRequest, nil, desc)
}

// errInvalidClient is 401; the token writer adds WWW-Authenticate when the client tried HTTP Basic.
func errInvalidClient(cause error, desc string) *Error {
	return newErr("invalid_client", http.StatusUnauthorized, cause, desc)
}
func errInvalidGrant(cause error, desc string) *Error {
	return newErr("invalid_grant", http.StatusBadRequest, cause, desc)
}
func errUnauthorizedClient(desc string) *Error {
	return newErr("unauthorized_client", http.StatusBadRequest, nil, desc)
}
func errUnsupportedGrantType(desc string) *Error {
	return newErr("unsupported_grant_type", http.StatusBadRequest, nil, desc)
}
func errInvalidScope(desc string) *Error {
	return newErr("invalid_scope", http.StatusBadRequest, nil, desc)
}
func errAccessDenied(desc string) *Error {
	return newErr("access_denied", http.StatusBadRequest, nil, desc)
}
func errInvalidToken(cause error, desc string) *Error {
	return newErr("invalid_token", http.StatusUnauthorized, cause, desc)
}
func errTooMany(retryAfter int, desc string) *Error {
	e := newErr("slow_down", http.StatusTooManyRequests, nil, desc)
	e.RetryAfter = retryAfter
	return e
}
func errServer(cause error) *Error {
	return newErr("server_error", http.StatusInternalServerError, cause, "internal error")
}
