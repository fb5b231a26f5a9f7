package authz

import (
	"errors"
	"fmt"
	"strings"

	"github.com/umm-project/umm/internal/store"
)

// FieldProblem is one thing wrong with an input: the field (a JSON path such as permissions[1].name) and
// how to fix it.
type FieldProblem struct {
	Field   string
	Message string
}

// InvalidError is input the caller must fix (400). Problems lists every problem found, not only the first.
type InvalidError struct {
	Problems []FieldProblem
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// problems collects field problems.
type problems []FieldProblem

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &InvalidError{Problems: p}
}

// NotFoundError is an object the request names that does not exist (404). It matches store.ErrNotFound.
type NotFoundError struct {
	Kind string // api, role, group, organization, user, member
	ID   string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Kind, e.ID) }

// Is makes errors.Is(err, store.ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == store.ErrNotFound }

// ConflictError is a write that clashes with what exists (409): a name or identifier in use, a member
// added twice. It matches store.ErrConflict.
type ConflictError struct {
	Field   string
	Message string
}

func (e *ConflictError) Error() string { return e.Field + ": " + e.Message }

// Is makes errors.Is(err, store.ErrConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == store.ErrConflict }

// notFound turns the store's not-found into a NotFoundError naming what was missing.
func notFound(err error, kind, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{Kind: kind, ID: id}
	}
	return err
}

// conflict turns the store's conflict into a ConflictError on field.
func conflict(err error, field, msg string) error {
	if errors.Is(err, store.ErrConflict) {
		return &ConflictError{Field: field, Message: msg}
	}
	return err
}
