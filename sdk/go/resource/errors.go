package resource

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Error is a refusal of a request by the middleware, rendered as RFC 6750 §3 says: 401 with
// WWW-Authenticate: Bearer error="invalid_token" for a token that is missing or not valid, 403 with
// error="insufficient_scope" for a valid token without the permissions a route needs.
type Error struct {
	Status      int    // 401, 403, or 503 when the keys or the introspection endpoint could not be reached
	Code        string // "invalid_token", "insufficient_scope", "" when no token was presented
	Description string // says what is wrong, never quotes the token
	Scope       string // insufficient_scope: the permissions the route needs, space-separated
	cause       error
}

func (e *Error) Error() string {
	if e.Code == "" {
		return e.Description
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.cause }

func errInvalidToken(cause error, desc string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: desc, cause: cause}
}

func errUnavailable(cause error, desc string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: desc, cause: cause}
}

// WriteError writes err as the answer to a refused request. An *Error is written as RFC 6750 says; any
// other error becomes a 500 whose text is not sent.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"}
	}
	h := w.Header()
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		h.Set("WWW-Authenticate", challenge(e))
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	body := map[string]string{}
	if e.Code != "" {
		body["error"] = e.Code
	}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	_ = json.NewEncoder(w).Encode(body)
}

// challenge is the WWW-Authenticate value for e. RFC 6750 §3.1: a request without a token gets no error
// code; the parameter values are quoted strings limited to the characters §3 allows.
func challenge(e *Error) string {
	var b strings.Builder
	b.WriteString("Bearer")
	if e.Code == "" {
		return b.String()
	}
	sep := " "
	param := func(name, value string) {
		if value == "" {
			return
		}
		b.WriteString(sep + name + `="` + quotable(value) + `"`)
		sep = ", "
	}
	param("error", e.Code)
	param("error_description", e.Description)
	param("scope", e.Scope)
	return b.String()
}

// quotable drops the characters RFC 6750 §3 does not allow in error_description and scope (", \ and
// anything outside printable ASCII), so the header cannot be broken by a description.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
