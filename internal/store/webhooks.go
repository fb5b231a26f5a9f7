package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Webhook is a tenant's subscription: the events of EventTypes (all events when empty) are POSTed to URL,
// signed with its secret.
type Webhook struct {
	TenantID       string
	ID             string
	URL            string
	EventTypes     []string // empty: every event
	Description    string
	Enabled        bool
	DisabledReason string // why the dispatcher turned it off ("" when an operator did, or when enabled)
	// Secret is the signing key sealed with the master key; PreviousSecret (nil when none) is the key it
	// replaced, which keeps signing beside it until PreviousExpiresAt.
	Secret            []byte
	PreviousSecret    []byte
	PreviousExpiresAt time.Time
	// EventCursor is the event id up to which the tenant's events have been scanned for this subscription
	// and can no longer commit; Since is when it (re)started (events before are never delivered).
	EventCursor   int64
	Since         time.Time
	LastSuccessAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // not tried yet
	DeliveryFailed    = "failed"    // tried and failed; tried again at NextAttemptAt
	DeliverySucceeded = "succeeded" // the receiver answered 2xx
	DeliveryGaveUp    = "gave_up"   // failed until the end of its retry period
)

// WebhookDelivery is one event to deliver to one subscription, with the outcome of its last attempt.
type WebhookDelivery struct {
	ID             int64
	TenantID       string
	WebhookID      string
	EventID        int64
	EventType      string
	Status         string
	Attempts       int // attempts started, the one in progress included
	NextAttemptAt  time.Time
	LastStatusCode int // 0: no answer
	LastError      string
	LastDuration   time.Duration
	FirstAttemptAt time.Time // zero until the first attempt (or after a redelivery)
	LastAttemptAt  time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const webhookCols = `tenant_id, id, url, event_types, description, enabled, disabled_reason, secret, previous_secret,
	previous_expires_at, event_cursor, since_ms, last_success_at, created_at, updated_at`

const deliveryCols = `id, tenant_id, webhook_id, event_id, event_type, status, attempts, next_attempt_ms, last_status_code,
	last_error, last_duration_ms, first_attempt_at, last_attempt_at, created_at, updated_at`

// InsertWebhook stores a new subscription. Its cursor starts at the tenant's newest event, so that it
// receives only what happens from w.CreatedAt on. ErrConflict when the id is taken.
func (q *queries) InsertWebhook(ctx context.Context, w Webhook) error {
	_, err := q.exec(ctx, `INSERT INTO webhooks (tenant_id, id, url, event_types, description, enabled, disabled_reason,
		secret, previous_secret, previous_expires_at, event_cursor, since_ms, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM events WHERE tenant_id = ?), ?, ?, ?)`,
		w.TenantID, w.ID, w.URL, jsonList(w.EventTypes), w.Description, w.Enabled, w.DisabledReason, w.Secret,
		nilIfEmpty(w.PreviousSecret), unixOrZeroOf(w.PreviousExpiresAt), w.TenantID, w.CreatedAt.UnixMilli(),
		w.CreatedAt.Unix(), w.CreatedAt.Unix())
	if err != nil {
		return fmt.Errorf("insert webhook %s: %w", w.ID, err)
	}
	return q.notify(ctx, TopicWebhook, w.TenantID)
}

// GetWebhook returns one subscription; ErrNotFound when absent.
func (q *queries) GetWebhook(ctx context.Context, tenantID, id string) (Webhook, error) {
	rows, err := q.query(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return Webhook{}, fmt.Errorf("get webhook %s: %w", id, err)
	}
	ws, err := scanWebhooks(rows)
	if err != nil {
		return Webhook{}, fmt.Errorf("get webhook %s: %w", id, err)
	}
	if len(ws) == 0 {
		return Webhook{}, fmt.Errorf("get webhook %s: %w", id, ErrNotFound)
	}
	return ws[0], nil
}

// ListWebhooks returns a tenant's subscriptions with ids after after, in id order, at most limit.
func (q *queries) ListWebhooks(ctx context.Context, tenantID, after string, limit int) ([]Webhook, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := q.query(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`,
		tenantID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	ws, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return ws, nil
}

// ListEnabledWebhooks returns every tenant's enabled subscriptions (the dispatcher's scan).
func (q *queries) ListEnabledWebhooks(ctx context.Context) ([]Webhook, error) {
	rows, err := q.query(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE enabled ORDER BY tenant_id, id`)
	if err != nil {
		return nil, fmt.Errorf("list enabled webhooks: %w", err)
	}
	ws, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("list enabled webhooks: %w", err)
	}
	return ws, nil
}

// UpdateWebhook replaces the settings of w (url, event types, description, enabled, disabled reason).
// A subscription enabled again restarts from now: the events of the time it was off are not delivered.
// ErrNotFound when absent.
func (q *queries) UpdateWebhook(ctx context.Context, w Webhook) error {
	err := q.execOne(ctx, `UPDATE webhooks SET url = ?, event_types = ?, description = ?, disabled_reason = ?,
		event_cursor = CASE WHEN enabled OR NOT ? THEN event_cursor ELSE (SELECT COALESCE(MAX(id), 0) FROM events WHERE tenant_id = ?) END,
		since_ms = CASE WHEN enabled OR NOT ? THEN since_ms ELSE ? END,
		enabled = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		w.URL, jsonList(w.EventTypes), w.Description, w.DisabledReason, w.Enabled, w.TenantID, w.Enabled,
		w.UpdatedAt.UnixMilli(), w.Enabled, w.UpdatedAt.Unix(), w.TenantID, w.ID)
	if err != nil {
		return fmt.Errorf("update webhook %s: %w", w.ID, err)
	}
	return q.notify(ctx, TopicWebhook, w.TenantID)
}

// DisableWebhook turns an enabled subscription off for reason. It reports false when it was already off.
func (q *queries) DisableWebhook(ctx context.Context, tenantID, id, reason string, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE webhooks SET enabled = FALSE, disabled_reason = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ? AND enabled`, reason, now.Unix(), tenantID, id)
	if err != nil {
		return false, fmt.Errorf("disable webhook %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteWebhook removes a subscription and its deliveries. ErrNotFound when absent.
func (q *queries) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	// Explicitly, so that the result does not depend on SQLite's foreign_keys pragma.
	if _, err := q.exec(ctx, `DELETE FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ?`, tenantID, id); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if err := q.execOne(ctx, `DELETE FROM webhooks WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// RotateWebhookSecret installs a new sealed secret; the current one becomes the previous secret, signing
// beside it until previousUntil. ErrNotFound when absent.
func (q *queries) RotateWebhookSecret(ctx context.Context, tenantID, id string, sealed []byte, previousUntil, now time.Time) error {
	err := q.execOne(ctx, `UPDATE webhooks SET previous_secret = secret, previous_expires_at = ?, secret = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, previousUntil.Unix(), sealed, now.Unix(), tenantID, id)
	if err != nil {
		return fmt.Errorf("rotate webhook secret %s: %w", id, err)
	}
	return nil
}

// SealedWebhookSecret is one sealed secret of a subscription (master key rotation).
type SealedWebhookSecret struct {
	TenantID  string
	WebhookID string
	Previous  bool // the previous secret rather than the current one
	Sealed    []byte
}

// ListSealedWebhookSecrets returns every sealed webhook secret of every tenant, previous ones included.
func (q *queries) ListSealedWebhookSecrets(ctx context.Context) ([]SealedWebhookSecret, error) {
	rows, err := q.query(ctx, `SELECT tenant_id, id, secret, previous_secret FROM webhooks ORDER BY tenant_id, id`)
	if err != nil {
		return nil, fmt.Errorf("list webhook secrets: %w", err)
	}
	defer rows.Close()
	var out []SealedWebhookSecret
	for rows.Next() {
		var t, id string
		var cur, prev []byte
		if err := rows.Scan(&t, &id, &cur, &prev); err != nil {
			return nil, fmt.Errorf("list webhook secrets: %w", err)
		}
		out = append(out, SealedWebhookSecret{TenantID: t, WebhookID: id, Sealed: cur})
		if len(prev) > 0 {
			out = append(out, SealedWebhookSecret{TenantID: t, WebhookID: id, Previous: true, Sealed: prev})
		}
	}
	return out, rows.Err()
}

// ReplaceWebhookSecret replaces s's sealed value with sealed if it is still s.Sealed; it reports whether
// it did (a rotation meanwhile leaves it alone).
func (q *queries) ReplaceWebhookSecret(ctx context.Context, s SealedWebhookSecret, sealed []byte) (bool, error) {
	col := "secret"
	if s.Previous {
		col = "previous_secret"
	}
	res, err := q.exec(ctx, `UPDATE webhooks SET `+col+` = ? WHERE tenant_id = ? AND id = ? AND `+col+` = ?`,
		sealed, s.TenantID, s.WebhookID, s.Sealed)
	if err != nil {
		return false, fmt.Errorf("replace webhook secret %s: %w", s.WebhookID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// The events table is the webhooks' outbox, but its ids cannot serve as a plain cursor: on PostgreSQL an
// id is taken when the row is inserted and becomes visible when its transaction commits, so a
// transaction that took id 41 may commit after one that took 42. A scan for "id > 42" run in between
// would skip 41 for ever. So the cursor only moves past events older than a window (longer than any
// transaction lasts), and every scan reads again the events newer than that: an event committed late is
// found by a later scan. Reading an event twice is harmless because a delivery is unique per
// (subscription, event) and inserted only when absent.

// WebhookScan is what one ScanWebhookEvents did.
type WebhookScan struct {
	Written int   // deliveries written
	Last    int64 // the highest event id read (after, or the cursor, when none was)
}

// ScanWebhookEvents writes a pending delivery to w for each event of its tenant that it subscribes to and
// has none yet, reading at most maxEvents events with ids above after, or above w.EventCursor when after
// is not beyond it. Reading from the cursor, it then moves the cursor past the events older than window.
// A scan from a later after only looks at the newest events: it is cheap, and the next scan from the
// cursor finds what it could not.
func (db *DB) ScanWebhookEvents(ctx context.Context, w Webhook, after int64, now time.Time, window time.Duration, maxEvents int) (WebhookScan, error) {
	const batch = 500
	fromCursor := after <= w.EventCursor
	if fromCursor {
		after = w.EventCursor
	}
	scan := WebhookScan{Last: after}
	cursor, settling := w.EventCursor, fromCursor
	cutoff, since := now.Add(-window).UnixMilli(), w.Since.UnixMilli()
	for read := 0; read < maxEvents; {
		type ev struct {
			id      int64
			typ     string
			created int64
		}
		rows, err := db.query(ctx, `SELECT id, type, created_ms FROM events WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`,
			w.TenantID, scan.Last, batch)
		if err != nil {
			return scan, fmt.Errorf("scan events for webhook %s: %w", w.ID, err)
		}
		var evs []ev
		for rows.Next() {
			var e ev
			if err := rows.Scan(&e.id, &e.typ, &e.created); err != nil {
				rows.Close()
				return scan, fmt.Errorf("scan events for webhook %s: %w", w.ID, err)
			}
			evs = append(evs, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return scan, fmt.Errorf("scan events for webhook %s: %w", w.ID, err)
		}
		if len(evs) == 0 {
			break
		}
		// The deliveries already written for these events: rescans mostly find them all, and are then reads.
		have := map[int64]bool{}
		ids, err := db.query(ctx, `SELECT event_id FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ?
			AND event_id >= ? AND event_id <= ?`, w.TenantID, w.ID, evs[0].id, evs[len(evs)-1].id)
		if err != nil {
			return scan, fmt.Errorf("scan events for webhook %s: %w", w.ID, err)
		}
		for ids.Next() {
			var id int64
			if err := ids.Scan(&id); err != nil {
				ids.Close()
				return scan, fmt.Errorf("scan events for webhook %s: %w", w.ID, err)
			}
			have[id] = true
		}
		ids.Close()
		for _, e := range evs {
			if settling && e.created < cutoff {
				cursor = e.id
			} else {
				settling = false
			}
			if have[e.id] || e.created < since || !(len(w.EventTypes) == 0 || slices.Contains(w.EventTypes, e.typ)) {
				continue
			}
			// Only when absent (another node may be scanning too): on PostgreSQL a conflicting insert would
			// still draw an id from the sequence.
			res, err := db.exec(ctx, `INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, event_type, status,
				next_attempt_ms, created_at, updated_at)
				SELECT ?, ?, CAST(? AS BIGINT), ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT)
				WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ? AND event_id = ?)
				ON CONFLICT (tenant_id, webhook_id, event_id) DO NOTHING`,
				w.TenantID, w.ID, e.id, e.typ, DeliveryPending, now.UnixMilli(), now.Unix(), now.Unix(), w.TenantID, w.ID, e.id)
			if err != nil {
				return scan, fmt.Errorf("scan events for webhook %s: %w", w.ID, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				scan.Written++
			}
		}
		read += len(evs)
		scan.Last = evs[len(evs)-1].id
		if len(evs) < batch {
			break
		}
	}
	if cursor > w.EventCursor {
		if _, err := db.exec(ctx, `UPDATE webhooks SET event_cursor = ? WHERE tenant_id = ? AND id = ? AND event_cursor < ?`,
			cursor, w.TenantID, w.ID, cursor); err != nil {
			return scan, fmt.Errorf("scan events for webhook %s: %w", w.ID, err)
		}
	}
	return scan, nil
}

// MaxEventID is the highest event id of any tenant (0 when none): the dispatcher scans when it moves.
func (db *DB) MaxEventID(ctx context.Context) (int64, error) {
	var id int64
	if err := db.row(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("max event id: %w", err)
	}
	return id, nil
}

// GetEvent returns one event of a tenant; ErrNotFound when absent (or deleted by retention).
func (q *queries) GetEvent(ctx context.Context, tenantID string, id int64) (Event, error) {
	rows, err := q.query(ctx, `SELECT id, tenant_id, type, actor, subject, client_id, ip, data, created_ms FROM events
		WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return Event{}, fmt.Errorf("get event %d: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Event{}, fmt.Errorf("get event %d: %w", id, err)
		}
		return Event{}, fmt.Errorf("get event %d: %w", id, ErrNotFound)
	}
	e, err := scanEvent(rows)
	if err != nil {
		return Event{}, fmt.Errorf("get event %d: %w", id, err)
	}
	return e, nil
}

// ClaimWebhookDeliveries leases up to limit deliveries that are due at now, of enabled subscriptions, and
// not leased by another node: each gets its attempts counted up (and its first attempt time set) and is
// hidden from other claims until leaseUntil. On PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]WebhookDelivery, error) {
	q := &db.queries
	ms := now.UnixMilli()
	// A read first: most polls find nothing, and a read does not take SQLite's write lock.
	var due int
	if err := q.row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries WHERE status IN (?, ?)
		AND next_attempt_ms <= ? AND locked_until_ms <= ? LIMIT 1) d`, DeliveryPending, DeliveryFailed, ms, ms).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	if due == 0 {
		return nil, nil
	}
	lock := ""
	if db.pg {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	rows, err := q.query(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, locked_until_ms = ?,
		first_attempt_at = CASE WHEN first_attempt_at = 0 THEN ? ELSE first_attempt_at END
		WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id
			WHERE d.status IN (?, ?) AND d.next_attempt_ms <= ? AND d.locked_until_ms <= ? AND w.enabled
			ORDER BY d.next_attempt_ms, d.id LIMIT ?`+lock+`)
		RETURNING `+deliveryCols, leaseUntil.UnixMilli(), now.Unix(), DeliveryPending, DeliveryFailed, ms, ms, limit)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	return out, nil
}

// FinishWebhookDelivery records the outcome of the attempt that claimed d (d.Attempts): d's Status,
// NextAttemptAt, LastStatusCode, LastError, LastDuration and LastAttemptAt, releasing its lease. It
// returns ErrNotFound when another node claimed it since (its lease ran out), whose outcome then counts.
func (q *queries) FinishWebhookDelivery(ctx context.Context, d WebhookDelivery) error {
	err := q.execOne(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_ms = ?, locked_until_ms = 0,
		last_status_code = ?, last_error = ?, last_duration_ms = ?, last_attempt_at = ?, updated_at = ?
		WHERE id = ? AND attempts = ?`,
		d.Status, d.NextAttemptAt.UnixMilli(), d.LastStatusCode, d.LastError, d.LastDuration.Milliseconds(),
		d.LastAttemptAt.Unix(), d.LastAttemptAt.Unix(), d.ID, d.Attempts)
	if err != nil {
		return fmt.Errorf("finish webhook delivery %d: %w", d.ID, err)
	}
	return nil
}

// SetWebhookSucceeded records a successful delivery to the subscription at at.
func (q *queries) SetWebhookSucceeded(ctx context.Context, tenantID, id string, at time.Time) error {
	if _, err := q.exec(ctx, `UPDATE webhooks SET last_success_at = ? WHERE tenant_id = ? AND id = ? AND last_success_at < ?`,
		at.Unix(), tenantID, id, at.Unix()); err != nil {
		return fmt.Errorf("webhook %s succeeded: %w", id, err)
	}
	return nil
}

// ListWebhookDeliveries returns a subscription's deliveries, newest first, with ids below before (all
// when 0), at most limit.
func (q *queries) ListWebhookDeliveries(ctx context.Context, tenantID, webhookID string, before int64, limit int) ([]WebhookDelivery, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := q.query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ?
		AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?`, tenantID, webhookID, before, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return out, nil
}

// GetWebhookDelivery returns one delivery of a subscription; ErrNotFound when absent.
func (q *queries) GetWebhookDelivery(ctx context.Context, tenantID, webhookID string, id int64) (WebhookDelivery, error) {
	rows, err := q.query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ? AND id = ?`,
		tenantID, webhookID, id)
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("get webhook delivery %d: %w", id, err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("get webhook delivery %d: %w", id, err)
	}
	if len(out) == 0 {
		return WebhookDelivery{}, fmt.Errorf("get webhook delivery %d: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// RedeliverWebhookDelivery makes a delivery due again at now with a fresh retry period, whatever its
// status. ErrNotFound when absent; ErrConflict while a node is delivering it.
func (q *queries) RedeliverWebhookDelivery(ctx context.Context, tenantID, webhookID string, id int64, now time.Time) error {
	if _, err := q.GetWebhookDelivery(ctx, tenantID, webhookID, id); err != nil {
		return err
	}
	err := q.execOne(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_ms = ?, first_attempt_at = 0, updated_at = ?
		WHERE tenant_id = ? AND webhook_id = ? AND id = ? AND locked_until_ms <= ?`,
		DeliveryPending, now.UnixMilli(), now.Unix(), tenantID, webhookID, id, now.UnixMilli())
	if isNotFound(err) {
		return fmt.Errorf("redeliver webhook delivery %d: being delivered: %w", id, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("redeliver webhook delivery %d: %w", id, err)
	}
	return q.notify(ctx, TopicWebhook, tenantID)
}

// DeleteFinishedWebhookDeliveries forgets deliveries that succeeded or were given up before before
// (garbage collection of the delivery log); pending and failing ones stay.
func (q *queries) DeleteFinishedWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM webhook_deliveries WHERE status IN (?, ?) AND updated_at < ?`,
		DeliverySucceeded, DeliveryGaveUp, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete finished webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

func scanWebhooks(rows *sql.Rows) ([]Webhook, error) {
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		var w Webhook
		var types string
		var prevExp, since, success, created, updated int64
		if err := rows.Scan(&w.TenantID, &w.ID, &w.URL, &types, &w.Description, &w.Enabled, &w.DisabledReason, &w.Secret,
			&w.PreviousSecret, &prevExp, &w.EventCursor, &since, &success, &created, &updated); err != nil {
			return nil, err
		}
		w.EventTypes = parseList(types)
		w.PreviousExpiresAt, w.LastSuccessAt = unixOrZero(prevExp), unixOrZero(success)
		w.Since, w.CreatedAt, w.UpdatedAt = time.UnixMilli(since), time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, w)
	}
	return out, rows.Err()
}

func scanDeliveries(rows *sql.Rows) ([]WebhookDelivery, error) {
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		var d WebhookDelivery
		var next, dur, first, last, created, updated int64
		if err := rows.Scan(&d.ID, &d.TenantID, &d.WebhookID, &d.EventID, &d.EventType, &d.Status, &d.Attempts, &next,
			&d.LastStatusCode, &d.LastError, &dur, &first, &last, &created, &updated); err != nil {
			return nil, err
		}
		d.NextAttemptAt, d.LastDuration = time.UnixMilli(next), time.Duration(dur)*time.Millisecond
		d.FirstAttemptAt, d.LastAttemptAt = unixOrZero(first), unixOrZero(last)
		d.CreatedAt, d.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, d)
	}
	return out, rows.Err()
}

// scanEvent reads one row of the events columns in ListEvents' order.
func scanEvent(rows *sql.Rows) (Event, error) {
	var e Event
	var data string
	var ms int64
	if err := rows.Scan(&e.ID, &e.TenantID, &e.Type, &e.Actor, &e.Subject, &e.ClientID, &e.IP, &data, &ms); err != nil {
		return e, err
	}
	if data != "" && data != "{}" {
		_ = json.Unmarshal([]byte(data), &e.Data)
	}
	e.CreatedAt = time.UnixMilli(ms)
	return e, nil
}

func unixOrZeroOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
