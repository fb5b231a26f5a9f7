package store

import (
	"context"
	"fmt"
	"time"
)

// Throttle is a failure counter shared by every node (brute-force and rate limits). Key names what is
// counted: "acct:<subject>" (account-wide), "aip:<subject>:<ip key>" (account and client IP),
// "dev:<subject>:<device>" (account and known device) or "ip:<scope>:<ip key>" (package identity), and
// "risk:ip:<ip key>" (package risk: failed sign-ins from an address on any account). Those packages
// decide what the numbers mean; the store only updates them atomically, each change being a single
// UPSERT so concurrent failures on any number of nodes are all counted.
type Throttle struct {
	TenantID    string
	Key         string
	WindowStart time.Time // when the current count started
	Failures    int
	LockedUntil time.Time // zero when not locked
	UpdatedAt   time.Time // the last failure
}

const throttleReturning = ` RETURNING tenant_id, key, window_start, failures, locked_until, updated_at`

// GetThrottle returns the counter for key. A key never counted is a zero Throttle (no failures), not an error.
func (q *queries) GetThrottle(ctx context.Context, tenantID, key string) (Throttle, error) {
	th, err := scanThrottle(q.row(ctx, `SELECT tenant_id, key, window_start, failures, locked_until, updated_at
		FROM throttles WHERE tenant_id = ? AND key = ?`, tenantID, key))
	if isNotFound(err) {
		return Throttle{TenantID: tenantID, Key: key}, nil
	}
	if err != nil {
		return Throttle{}, fmt.Errorf("get throttle: %w", err)
	}
	return th, nil
}

// AddAccountFailure counts one failure on key at now and returns the counter after the change. The count
// starts again at 1 when the previous failure is at or before restartBefore (the counter decays after a
// quiet period, which is also how a finished lockout resets), and the key is locked until lockUntil when
// the new count reaches lockAt.
func (q *queries) AddAccountFailure(ctx context.Context, tenantID, key string, now, restartBefore time.Time, lockAt int, lockUntil time.Time) (Throttle, error) {
	var firstLock int64
	if lockAt <= 1 {
		firstLock = lockUntil.Unix()
	}
	rb := restartBefore.Unix()
	th, err := scanThrottle(q.row(ctx, `INSERT INTO throttles (tenant_id, key, window_start, failures, locked_until, updated_at)
		VALUES (?, ?, CAST(? AS BIGINT), 1, CAST(? AS BIGINT), CAST(? AS BIGINT))
		ON CONFLICT (tenant_id, key) DO UPDATE SET
		failures = CASE WHEN throttles.updated_at <= CAST(? AS BIGINT) THEN 1 ELSE throttles.failures + 1 END,
		window_start = CASE WHEN throttles.updated_at <= CAST(? AS BIGINT) THEN excluded.window_start ELSE throttles.window_start END,
		locked_until = CASE WHEN (CASE WHEN throttles.updated_at <= CAST(? AS BIGINT) THEN 1 ELSE throttles.failures + 1 END)
			>= CAST(? AS INTEGER) THEN CAST(? AS BIGINT) ELSE 0 END,
		updated_at = excluded.updated_at`+throttleReturning,
		tenantID, key, now.Unix(), firstLock, ceilUnix(now), rb, rb, rb, lockAt, lockUntil.Unix()))
	if err != nil {
		return Throttle{}, fmt.Errorf("count failure: %w", err)
	}
	return th, nil
}

// ceilUnix is t in whole seconds, rounded up. The last failure is stored rounded up so that a backoff
// counted from it lasts at least its length: rounded down, a failure late in a second would find a 1 s
// backoff over a moment later.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// AddWindowFailure counts one failure on key in a fixed window: when the stored window started at or
// before windowFloor (now minus the window length) a new window starts at now with a count of 1.
// It returns the counter after the change.
func (q *queries) AddWindowFailure(ctx context.Context, tenantID, key string, now, windowFloor time.Time) (Throttle, error) {
	wf := windowFloor.Unix()
	th, err := scanThrottle(q.row(ctx, `INSERT INTO throttles (tenant_id, key, window_start, failures, locked_until, updated_at)
		VALUES (?, ?, CAST(? AS BIGINT), 1, 0, CAST(? AS BIGINT))
		ON CONFLICT (tenant_id, key) DO UPDATE SET
		failures = CASE WHEN throttles.window_start <= CAST(? AS BIGINT) THEN 1 ELSE throttles.failures + 1 END,
		window_start = CASE WHEN throttles.window_start <= CAST(? AS BIGINT) THEN excluded.window_start ELSE throttles.window_start END,
		updated_at = excluded.updated_at`+throttleReturning,
		tenantID, key, now.Unix(), now.Unix(), wf, wf))
	if err != nil {
		return Throttle{}, fmt.Errorf("count failure: %w", err)
	}
	return th, nil
}

// DeleteThrottle forgets the counter for key (a successful sign-in resets the account counter).
func (q *queries) DeleteThrottle(ctx context.Context, tenantID, key string) error {
	if _, err := q.exec(ctx, `DELETE FROM throttles WHERE tenant_id = ? AND key = ?`, tenantID, key); err != nil {
		return fmt.Errorf("delete throttle: %w", err)
	}
	return nil
}

// DeleteStaleThrottles removes counters whose last failure and lockout are both before before (garbage
// collection; pass a time older than every window and lockout).
func (q *queries) DeleteStaleThrottles(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM throttles WHERE updated_at < ? AND locked_until < ?`, before.Unix(), before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete stale throttles: %w", err)
	}
	return res.RowsAffected()
}

func scanThrottle(row interface{ Scan(...any) error }) (Throttle, error) {
	var th Throttle
	var window, locked, updated int64
	if err := row.Scan(&th.TenantID, &th.Key, &window, &th.Failures, &locked, &updated); err != nil {
		return Throttle{}, scanErr(err)
	}
	th.WindowStart, th.LockedUntil, th.UpdatedAt = time.Unix(window, 0), unixOrZero(locked), time.Unix(updated, 0)
	return th, nil
}
