package management

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is an error answer of the management API: an RFC 9457 problem details document, or, when a
// proxy answered something else, the status alone.
type APIError struct {
	Status int
	// Type is the problem type, https://umm.dev/problems/<slug>.
	Type     string
	Title    string
	Detail   string
	Instance string
	// Errors name the fields of the request to fix.
	Errors []FieldError
	// RetryAfter is how long to wait before retrying, from a 429 or 503 answer's Retry-After; zero when
	// the answer did not say.
	RetryAfter time.Duration
}

// FieldError is one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"` // like redirect_uris[0]
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "management API: %d", e.Status)
	if e.Title != "" {
		b.WriteString(" " + e.Title)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for i, f := range e.Errors {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
		if i == len(e.Errors)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// decodeProblem builds the *APIError of a non-2xx answer.
func decodeProblem(resp *http.Response, body []byte) *APIError {
	e := &APIError{Status: resp.StatusCode}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var p struct {
			Type     string       `json:"type"`
			Title    string       `json:"title"`
			Detail   string       `json:"detail"`
			Instance string       `json:"instance"`
			Errors   []FieldError `json:"errors"`
		}
		if json.Unmarshal(body, &p) == nil {
			e.Type, e.Title, e.Detail, e.Instance, e.Errors = p.Type, p.Title, p.Detail, p.Instance, p.Errors
		}
	}
	if e.Title == "" {
		e.Title = http.StatusText(resp.StatusCode)
	}
	e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// retryAfter reads Retry-After (RFC 9110 §10.2.3): delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
		return time.Duration(min(s, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
