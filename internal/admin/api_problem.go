package admin

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/store"
)

// ProblemTypeBase prefixes the type URI of every problem document; the slug after it names the problem.
const ProblemTypeBase = "https://umm.dev/problems/"

// Problem is an RFC 9457 problem document, with the field-level errors of a rejected input.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names one input field to fix (a JSON path such as redirect_uris[0]) and how.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p *Problem) Error() string { return p.Detail }

// problem builds a problem answer; slug becomes the type URI's last segment.
func problem(status int, slug, detail string, fields ...FieldError) *Problem {
	return &Problem{Type: ProblemTypeBase + slug, Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields}
}

// invalidInput is the 400 of a body or query that failed validation.
func invalidInput(detail string, fields ...FieldError) *Problem {
	return problem(http.StatusBadRequest, "invalid-input", detail, fields...)
}

// cliHint matches the "(umm ... shows ...)" hints of the service's messages, which speak to CLI users.
var cliHint = regexp.MustCompile(` \(umm [^)]*\)`)

// asProblem turns a service error into the problem the caller gets; ok is false for server errors.
func asProblem(err error) (*Problem, bool) {
	var p *Problem
	if errors.As(err, &p) {
		return p, true
	}
	var ie *InvalidError
	if errors.As(err, &ie) {
		fps := ie.FieldProblems()
		fields := make([]FieldError, len(fps))
		for i, fp := range fps {
			fields[i] = FieldError{Field: fp.Field, Message: fp.Message}
		}
		return invalidInput("the request has fields to fix: see errors", fields...), true
	}
	if p, ok := authzProblem(err); ok {
		return p, true
	}
	msg := cliHint.ReplaceAllString(err.Error(), "")
	switch {
	case errors.Is(err, store.ErrNotFound):
		return problem(http.StatusNotFound, "not-found", strings.TrimSuffix(msg, ": not found")), true
	case errors.Is(err, store.ErrConflict):
		return problem(http.StatusConflict, "conflict", strings.TrimSuffix(msg, ": conflict")), true
	}
	return nil, false
}

// authzProblem maps the authorization model's errors, which name their field or object themselves.
func authzProblem(err error) (*Problem, bool) {
	var ie *authz.InvalidError
	if errors.As(err, &ie) {
		fields := make([]FieldError, len(ie.Problems))
		for i, fp := range ie.Problems {
			fields[i] = FieldError{Field: fp.Field, Message: fp.Message}
		}
		return invalidInput("the request has fields to fix: see errors", fields...), true
	}
	var nf *authz.NotFoundError
	if errors.As(err, &nf) {
		detail := "no " + nf.Kind + " " + strconv.Quote(nf.ID) + " in this tenant"
		if nf.Kind == "member" {
			detail = "user " + strconv.Quote(nf.ID) + " is not a member"
		}
		return problem(http.StatusNotFound, "not-found", detail), true
	}
	var ce *authz.ConflictError
	if errors.As(err, &ce) {
		return problem(http.StatusConflict, "conflict", ce.Field+": "+ce.Message, FieldError{Field: ce.Field, Message: ce.Message}), true
	}
	return nil, false
}

// writeError answers err as a problem document; server errors are logged and answered without detail.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p, ok := asProblem(err)
	if !ok {
		a.log.ErrorContext(r.Context(), "management API", "method", r.Method, "path", r.URL.Path, "err", err)
		p = problem(http.StatusInternalServerError, "server-error", "the server failed to answer; the request id in the logs says more")
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="umm-admin", error="invalid_token", error_description="`+strings.ReplaceAll(p.Detail, `"`, `'`)+`"`)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	writeBody(w, p.Status, "application/problem+json", p)
}

// rateLimited answers 429 with Retry-After and the RateLimit fields.
func (a *API) rateLimited(w http.ResponseWriter, r *http.Request, retry time.Duration) {
	secs := int(retry.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	w.Header().Set("RateLimit-Policy", a.ratePolicy())
	w.Header().Set("RateLimit", `"default";r=0;t=`+strconv.Itoa(secs))
	a.writeError(w, r, problem(http.StatusTooManyRequests, "rate-limited",
		"this client sent more requests than "+a.ratePolicyText()+" allows: retry after "+strconv.Itoa(secs)+" s"))
}
