package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// OutboxMessage is a message to another system (a client's back-channel logout endpoint, ...) that must be
// delivered at least once. It is written in the transaction of the change that causes it, so a message is
// never lost when a node stops after the commit, and never sent for a change that rolled back.
type OutboxMessage struct {
	ID            int64
	TenantID      string
	Kind          string // what delivers it ("backchannel_logout", ...)
	UserID        string // the person it is addressed to (an email's recipient): deleting them withdraws it
	Payload       []byte // the kind's JSON; never a secret in clear
	Attempts      int    // delivery attempts started, this claim included
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
}

const outboxCols = `id, tenant_id, kind, user_id, payload, attempts, next_attempt_at, last_error, created_at`

// EnqueueOutbox stores m for delivery from m.NextAttemptAt on (at once when zero), and publishes
// TopicOutbox when it is committed.
func (q *queries) EnqueueOutbox(ctx context.Context, m OutboxMessage) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now()
	}
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	payload := string(m.Payload)
	if payload == "" {
		payload = "{}"
	}
	_, err := q.exec(ctx, `INSERT INTO outbox (tenant_id, kind, user_id, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		m.TenantID, m.Kind, m.UserID, payload, m.NextAttemptAt.Unix(), m.CreatedAt.Unix())
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", m.Kind, err)
	}
	// Dispatchers on every node wake up when the message is committed.
	return q.notify(ctx, TopicOutbox, m.Kind)
}

// ClaimOutbox leases up to limit messages that are due at now and not leased by another node: each gets
// its attempts counted up and is hidden from other claims until leaseUntil. On PostgreSQL the rows are
// picked FOR UPDATE SKIP LOCKED, so nodes claiming at once take different messages without waiting; on
// SQLite the single statement runs under the database's one writer lock. A node that stops while holding
// a lease delays its messages until the lease runs out; another node then delivers them.
func (db *DB) ClaimOutbox(ctx context.Context, now, leaseUntil time.Time, limit int) ([]OutboxMessage, error) {
	q := &db.queries
	// A read first: most polls find nothing, and a read does not take SQLite's write lock.
	var due int
	if err := q.row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE next_attempt_at <= ? AND locked_until <= ? LIMIT 1) d`,
		now.Unix(), now.Unix()).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	if due == 0 {
		return nil, nil
	}
	lock := ""
	if db.pg {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := q.query(ctx, `UPDATE outbox SET attempts = attempts + 1, locked_until = ? WHERE id IN (
		SELECT id FROM outbox WHERE next_attempt_at <= ? AND locked_until <= ? ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
		RETURNING `+outboxCols, leaseUntil.Unix(), now.Unix(), now.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	out, err := scanOutbox(rows)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	return out, nil
}

// DeleteOutbox removes a delivered (or abandoned) message. It matches the attempt that claimed it, so a
// node whose lease ran out cannot remove a message another node has claimed since: ErrNotFound then.
func (q *queries) DeleteOutbox(ctx context.Context, m OutboxMessage) error {
	if err := q.execOne(ctx, `DELETE FROM outbox WHERE id = ? AND attempts = ?`, m.ID, m.Attempts); err != nil {
		return fmt.Errorf("delete outbox message %d: %w", m.ID, err)
	}
	return nil
}

// RetryOutbox releases a message whose delivery failed, due again at next, keeping the reason.
// ErrNotFound when another node has claimed it since.
func (q *queries) RetryOutbox(ctx context.Context, m OutboxMessage, next time.Time, reason string) error {
	if err := q.execOne(ctx, `UPDATE outbox SET next_attempt_at = ?, locked_until = 0, last_error = ? WHERE id = ? AND attempts = ?`,
		next.Unix(), reason, m.ID, m.Attempts); err != nil {
		return fmt.Errorf("retry outbox message %d: %w", m.ID, err)
	}
	return nil
}

// ListOutbox returns a tenant's waiting messages, oldest first (operators and tests).
func (q *queries) ListOutbox(ctx context.Context, tenantID string) ([]OutboxMessage, error) {
	rows, err := q.query(ctx, `SELECT `+outboxCols+` FROM outbox WHERE tenant_id = ? ORDER BY id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	out, err := scanOutbox(rows)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}

// scanOutbox reads rows of outboxCols and closes them.
func scanOutbox(rows *sql.Rows) ([]OutboxMessage, error) {
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		var payload string
		var next, created int64
		if err := rows.Scan(&m.ID, &m.TenantID, &m.Kind, &m.UserID, &payload, &m.Attempts, &next, &m.LastError, &created); err != nil {
			return nil, err
		}
		m.Payload, m.NextAttemptAt, m.CreatedAt = []byte(payload), time.Unix(next, 0), time.Unix(created, 0)
		out = append(out, m)
	}
	return out, rows.Err()
}
