package oidc

import (
	"net/http"
	"slices"
	"strings"
)

// Error is an OAuth 2.0 error response (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6).
type Error struct {
	Code        string // "invalid_grant", "invalid_client", ...
	Description string // shown to the client: say what to fix
	Status      int
	RetryAfter  int    // seconds; set for 429 and slow_down
	cause       error  // logged, never sent
	pageKey     string // the message shown on an error page instead of Description (errPage)
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

// errorDescription makes s fit to send as error_description. RFC 6749 §5.2 (and §4.1.2.1, RFC 6750 §3)
// allow only %x20-21 / %x23-5B / %x5D-7E there, which also keeps it safe inside a quoted auth-param: any
// other character becomes '?'. Every OAuth error writer sends descriptions through it, whoever built them;
// descriptions are written as constant text and never echo request input (errdesc_test.go checks both).
func errorDescription(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}

// knownParameters are the request parameters UMM's endpoints read, the only names an error may repeat.
var knownParameters = []string{
	"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce", "code_challenge",
	"code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales", "acr_values", "id_token_hint",
	"request", "request_uri", "grant_type", "code", "code_verifier", "refresh_token", "client_secret",
	"client_assertion", "client_assertion_type", "device_code", "token", "token_type_hint", "access_token", "resource",
	"organization",
}

// errRepeated is invalid_request for a parameter sent more than once (RFC 6749 §3.1, §3.2). It names the
// parameter only when it is one UMM reads: a name the request made up is never echoed.
func errRepeated(name string) *Error {
	if i := slices.Index(knownParameters, name); i >= 0 {
		return errInvalidRequest(knownParameters[i] + " appears more than once")
	}
	return errInvalidRequest("a parameter appears more than once: send each parameter once")
}
