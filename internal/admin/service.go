package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/federation"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Deps is what the service needs; server builds it.
type Deps struct {
	DB       *store.DB
	Keyring  *keys.Keyring
	Identity *identity.Service
	// Federation builds connectors (directory sync); nil turns sync off.
	Federation *federation.Service
	Log        *slog.Logger
	Now        func() time.Time // the clock; time.Now when nil
	// HTTP fetches SAML SP metadata; nil: a client with a 10 s timeout.
	HTTP *http.Client
	// Authz manages roles, groups, APIs and organizations; nil: one on DB.
	Authz *authz.Service
	// Webhooks decides which subscription URLs are accepted (webhooks.allow_private_targets).
	Webhooks config.Webhooks
}

// Service manages tenants, clients and users. It is safe for concurrent use.
type Service struct {
	db         *store.DB
	keyring    *keys.Keyring
	identity   *identity.Service
	federation *federation.Service
	log        *slog.Logger
	now        func() time.Time
	http       *http.Client
	authz      *authz.Service
	webhooks   config.Webhooks
}

// New builds the service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, keyring: d.Keyring, identity: d.Identity, federation: d.Federation, log: d.Log, now: d.Now, http: d.HTTP,
		authz: d.Authz, webhooks: d.Webhooks}
	if s.authz == nil {
		s.authz = authz.New(authz.Deps{DB: d.DB, Now: d.Now})
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// InvalidError is input the caller must fix. Each problem names the field to change and how.
type InvalidError struct {
	Problems []string
	// Fields holds the problems built with a field apart from their message, for an HTTP answer's
	// errors: [{field, message}]; empty when the problems were built as whole sentences.
	Fields []FieldProblem
	cause  error
}

// FieldProblem is one problem of an input: the field to fix, as the API spells it ("url",
// "event_types[1]"), and what is wrong with it.
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *InvalidError) Unwrap() error { return e.cause }

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return "invalid input:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// IsInvalid reports whether err is (or wraps) an *InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// FieldProblems returns the problems with their fields apart: Fields when the problems were collected
// that way, else each of Problems split at its first ": " when what comes before names a field (no
// spaces: "redirect_uris[0]", "settings.mfa.policy"; or a list of them: "given_name, family_name"), with
// Field "" for a sentence about no one field.
func (e *InvalidError) FieldProblems() []FieldProblem {
	if len(e.Fields) > 0 {
		return e.Fields
	}
	out := make([]FieldProblem, 0, len(e.Problems))
	for _, p := range e.Problems {
		field, msg, ok := strings.Cut(p, ": ")
		if !ok || !namesFields(field) {
			field, msg = "", p
		}
		out = append(out, FieldProblem{Field: field, Message: msg})
	}
	return out
}

// namesFields reports whether s is a field name, or a list of them separated by ", ".
func namesFields(s string) bool {
	for _, f := range strings.Split(s, ", ") {
		if f == "" || strings.ContainsAny(f, " \t\"'") {
			return false
		}
	}
	return true
}

// problems collects validation problems.
type problems []string

func (p *problems) add(field, reason string) { *p = append(*p, field+": "+reason) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &InvalidError{Problems: p}
}

// fieldProblems collects validation problems with their fields apart (InvalidError.Fields).
type fieldProblems []FieldProblem

func (p *fieldProblems) add(field, reason string) {
	*p = append(*p, FieldProblem{Field: field, Message: reason})
}

func (p fieldProblems) err() error {
	if len(p) == 0 {
		return nil
	}
	ie := &InvalidError{Fields: p}
	for _, f := range p {
		ie.Problems = append(ie.Problems, f.Field+": "+f.Message)
	}
	return ie
}
