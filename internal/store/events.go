package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Event is one row of the events table: the audit record, outbox entry and analytics input of a state change.
type Event struct {
	ID        int64
	TenantID  string
	Type      string // "user.created", "login.succeeded", ... (catalogue in package events)
	Actor     string // who did it: a user id, "client:<id>", "system", "seed", "cli"
	Subject   string // what it was done to: a user id, client id, session id
	ClientID  string
	IP        string
	Data      map[string]any // never secrets
	CreatedAt time.Time
}

// AppendEvent writes e; call it inside the transaction of the change it records.
func (q *queries) AppendEvent(ctx context.Context, e Event) error {
	data := []byte("{}")
	if len(e.Data) > 0 {
		var err error
		if data, err = json.Marshal(e.Data); err != nil {
			return fmt.Errorf("append event %s: %w", e.Type, err)
		}
	}
	at := e.CreatedAt
	if at.IsZero() {
		at = time.Now()
	}
	userID, _ := e.Data["user_id"].(string)
	_, err := q.exec(ctx, `INSERT INTO events (tenant_id, type, actor, subject, client_id, ip, data, created_ms, user_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.TenantID, e.Type, e.Actor, e.Subject, e.ClientID, e.IP, string(data), at.UnixMilli(), userID)
	if err != nil {
		return fmt.Errorf("append event %s: %w", e.Type, err)
	}
	return nil
}

// ListEvents returns a tenant's events after id afterID, oldest first, at most limit (optionally of one type).
func (q *queries) ListEvents(ctx context.Context, tenantID string, afterID int64, eventType string, limit int) ([]Event, error) {
	return q.QueryEvents(ctx, tenantID, EventQuery{Type: eventType, AfterID: afterID, Oldest: true, Limit: limit})
}

func scanEvents(rows interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}) ([]Event, error) {
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var data string
		var ms int64
		if err := rows.Scan(&e.ID, &e.TenantID, &e.Type, &e.Actor, &e.Subject, &e.ClientID, &e.IP, &data, &ms); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(data), &e.Data)
		e.CreatedAt = time.UnixMilli(ms)
		out = append(out, e)
	}
	return out, rows.Err()
}

// EventQuery selects events of a tenant. Every filter left zero matches everything.
type EventQuery struct {
	Type     string
	UserID   string // the event's subject, actor or the user it concerns (its data's user_id)
	ClientID string
	AfterID  int64     // only events with a greater id
	BeforeID int64     // only events with a smaller id
	Since    time.Time // only events appended at or after
	Until    time.Time // only events appended before
	// Oldest lists in ascending id order (a stream catching up); otherwise the newest come first.
	Oldest bool
	Limit  int // at most 1000; 100 when zero
}

// QueryEvents returns the events matching f, ordered by id (the order they were appended in), so that
// the id of the last one is the keyset position of the next page.
func (q *queries) QueryEvents(ctx context.Context, tenantID string, f EventQuery) ([]Event, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	query := `SELECT id, tenant_id, type, actor, subject, client_id, ip, data, created_ms FROM events WHERE tenant_id = ?`
	args := []any{tenantID}
	if f.Type != "" {
		query += ` AND type = ?`
		args = append(args, f.Type)
	}
	if f.UserID != "" {
		query += ` AND (subject = ? OR actor = ? OR user_id = ?)`
		args = append(args, f.UserID, f.UserID, f.UserID)
	}
	if f.ClientID != "" {
		query += ` AND client_id = ?`
		args = append(args, f.ClientID)
	}
	if f.AfterID > 0 {
		query += ` AND id > ?`
		args = append(args, f.AfterID)
	}
	if f.BeforeID > 0 {
		query += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	if !f.Since.IsZero() {
		query += ` AND created_ms >= ?`
		args = append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		query += ` AND created_ms < ?`
		args = append(args, f.Until.UnixMilli())
	}
	if f.Oldest {
		query += ` ORDER BY id LIMIT ?`
	} else {
		query += ` ORDER BY id DESC LIMIT ?`
	}
	rows, err := q.query(ctx, query, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	out, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	return out, nil
}

// RecentEvents returns the newest limit events of a tenant (1..1000; otherwise 100), oldest first, of
// type eventType and about user userID (its subject, actor or data's user_id) when they are not empty:
// what an operator reads of the audit log.
func (q *queries) RecentEvents(ctx context.Context, tenantID, eventType, userID string, limit int) ([]Event, error) {
	out, err := q.QueryEvents(ctx, tenantID, EventQuery{Type: eventType, UserID: userID, Limit: limit})
	if err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// jsonList encodes a string list for a JSON column.
func jsonList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// parseList decodes a JSON string-list column.
func parseList(s string) []string {
	var v []string
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

func unixOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(v, 0)
}

func nullTime(v *int64) time.Time {
	if v == nil {
		return time.Time{}
	}
	return time.Unix(*v, 0)
}
