package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/umm-project/umm/internal/store"
)

// MaxEventsListed bounds one listing of the audit log.
const MaxEventsListed = 1000

// EventQuery selects the events an operator reads (`umm events list`).
type EventQuery struct {
	Type   string // one event type ("risk.assessed"); empty: every type
	UserID string // only events about this user; empty: everyone's
	Limit  int    // the newest Limit events, 1..MaxEventsListed
}

// AuditEvent is an event with the address of the user it is about, when it is about a user.
type AuditEvent struct {
	store.Event
	UserEmail string
}

// ListEvents returns the tenant's newest events matching q, oldest first.
func (s *Service) ListEvents(ctx context.Context, tenantID string, q EventQuery) ([]AuditEvent, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	if q.Limit < 1 || q.Limit > MaxEventsListed {
		return nil, &InvalidError{Problems: []string{fmt.Sprintf("limit: %d is not between 1 and %d", q.Limit, MaxEventsListed)}}
	}
	evs, err := s.db.RecentEvents(ctx, tenantID, q.Type, q.UserID, q.Limit)
	if err != nil {
		return nil, err
	}
	// A subject is a user id, or a client's, session's, ...: only users have an address to show.
	emails := map[string]string{}
	out := make([]AuditEvent, len(evs))
	for i, e := range evs {
		out[i].Event = e
		if e.Subject == "" {
			continue
		}
		email, seen := emails[e.Subject]
		if !seen {
			u, err := s.db.GetUser(ctx, tenantID, e.Subject)
			switch {
			case err == nil:
				email = u.Email
			case !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("user of event %d: %w", e.ID, err)
			}
			emails[e.Subject] = email
		}
		out[i].UserEmail = email
	}
	return out, nil
}
