package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// GetThrottles returns the counters for keys in one statement, by key. Keys never counted are zero
// Throttles (no failures), as GetThrottle returns them.
func (q *queries) GetThrottles(ctx context.Context, tenantID string, keys ...string) (map[string]Throttle, error) {
	out := make(map[string]Throttle, len(keys))
	for _, k := range keys {
		out[k] = Throttle{TenantID: tenantID, Key: k}
	}
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(keys)+1)
	args = append(args, tenantID)
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := q.query(ctx, `SELECT tenant_id, key, window_start, failures, locked_until, updated_at FROM throttles
		WHERE tenant_id = ? AND key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("get throttles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		th, err := scanThrottle(rows)
		if err != nil {
			return nil, fmt.Errorf("get throttles: %w", err)
		}
		out[th.Key] = th
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get throttles: %w", err)
	}
	return out, nil
}

// TouchThrottle runs the write a counted failure runs on key without changing anything. A refused
// sign-in calls it where a counted one updates its counters, so that both answers cost the same database
// work and their timing tells nothing.
func (q *queries) TouchThrottle(ctx context.Context, tenantID, key string) error {
	if _, err := q.exec(ctx, `UPDATE throttles SET failures = failures WHERE tenant_id = ? AND key = ?`, tenantID, key); err != nil {
		return fmt.Errorf("touch throttle: %w", err)
	}
	return nil
}

// DeleteThrottlesOf forgets every counter whose key is exact or starts with one of prefixes (an unlock
// forgets the account's own counter and its per-IP and per-device ones).
func (q *queries) DeleteThrottlesOf(ctx context.Context, tenantID string, exact string, prefixes ...string) error {
	// substr rather than LIKE: keys may contain LIKE wildcards (_).
	cond := []string{"key = ?"}
	args := []any{tenantID, exact}
	for _, p := range prefixes {
		cond = append(cond, "substr(key, 1, "+fmt.Sprint(len(p))+") = ?")
		args = append(args, p)
	}
	_, err := q.exec(ctx, `DELETE FROM throttles WHERE tenant_id = ? AND (`+strings.Join(cond, " OR ")+`)`, args...)
	if err != nil {
		return fmt.Errorf("delete throttles: %w", err)
	}
	return nil
}

// KnownDevice is a browser that completed a sign-in for a user (the umm_device cookie). Only the hash of
// the device id is stored.
type KnownDevice struct {
	TenantID   string
	DeviceHash []byte
	UserID     string
	UserAgent  string
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	MFAUntil   time.Time // "Remember this device": skips the second factor until then (zero: does not)
}

// maxKnownDevicesPerUser bounds the devices remembered per user; the least recently seen go first.
const maxKnownDevicesPerUser = 50

// RememberDevice stores (or refreshes) a known device and forgets the user's least recently seen devices
// beyond maxKnownDevicesPerUser.
func (q *queries) RememberDevice(ctx context.Context, d KnownDevice) error {
	_, err := q.exec(ctx, `INSERT INTO known_devices (tenant_id, device_hash, user_id, user_agent, ip, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, device_hash, user_id) DO UPDATE SET user_agent = excluded.user_agent, ip = excluded.ip,
		last_seen_at = excluded.last_seen_at, expires_at = excluded.expires_at`,
		d.TenantID, d.DeviceHash, d.UserID, d.UserAgent, d.IP, d.CreatedAt.Unix(), d.LastSeenAt.Unix(), d.ExpiresAt.Unix())
	if err != nil {
		return fmt.Errorf("remember device: %w", err)
	}
	_, err = q.exec(ctx, `DELETE FROM known_devices WHERE tenant_id = ? AND user_id = ? AND device_hash NOT IN (
		SELECT device_hash FROM known_devices WHERE tenant_id = ? AND user_id = ? ORDER BY last_seen_at DESC, device_hash LIMIT ?)`,
		d.TenantID, d.UserID, d.TenantID, d.UserID, maxKnownDevicesPerUser)
	if err != nil {
		return fmt.Errorf("remember device: trim: %w", err)
	}
	return nil
}

// IsKnownDevice reports whether deviceHash is a live known device of userID.
func (q *queries) IsKnownDevice(ctx context.Context, tenantID string, deviceHash []byte, userID string, now time.Time) (bool, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM known_devices WHERE tenant_id = ? AND device_hash = ? AND user_id = ? AND expires_at > ?`,
		tenantID, deviceHash, userID, now.Unix()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("known device: %w", err)
	}
	return n > 0, nil
}

// ListKnownDevices returns the user's known devices, most recently seen first.
func (q *queries) ListKnownDevices(ctx context.Context, tenantID, userID string) ([]KnownDevice, error) {
	rows, err := q.query(ctx, `SELECT tenant_id, device_hash, user_id, user_agent, ip, created_at, last_seen_at, expires_at, mfa_until
		FROM known_devices WHERE tenant_id = ? AND user_id = ? ORDER BY last_seen_at DESC, device_hash`, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("list known devices: %w", err)
	}
	defer rows.Close()
	var out []KnownDevice
	for rows.Next() {
		var d KnownDevice
		var created, seen, expires, mfaUntil int64
		if err := rows.Scan(&d.TenantID, &d.DeviceHash, &d.UserID, &d.UserAgent, &d.IP, &created, &seen, &expires, &mfaUntil); err != nil {
			return nil, fmt.Errorf("list known devices: %w", err)
		}
		d.CreatedAt, d.LastSeenAt, d.ExpiresAt = time.Unix(created, 0), time.Unix(seen, 0), time.Unix(expires, 0)
		d.MFAUntil = unixOrZero(mfaUntil)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteExpiredKnownDevices forgets devices that expired before before (garbage collection).
func (q *queries) DeleteExpiredKnownDevices(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM known_devices WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete expired known devices: %w", err)
	}
	return res.RowsAffected()
}

// CountPendingLoginRequests counts the unexpired pending login requests created from ipKey.
func (q *queries) CountPendingLoginRequests(ctx context.Context, tenantID, ipKey string, now time.Time) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM login_requests WHERE tenant_id = ? AND ip_key = ? AND expires_at > ? AND status = ?`,
		tenantID, ipKey, now.Unix(), LoginPending).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count login requests: %w", err)
	}
	return n, nil
}

// TrimBrowserLoginRequests deletes the browser's oldest pending login requests so that at most keep
// remain, newID (the one just created) always among them: a browser that opens a new one beyond its cap
// loses its oldest, not the new one.
func (q *queries) TrimBrowserLoginRequests(ctx context.Context, tenantID string, browserHash []byte, newID string, keep int) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM login_requests WHERE tenant_id = ? AND browser_hash = ? AND status = ? AND id NOT IN (
		SELECT id FROM login_requests WHERE tenant_id = ? AND browser_hash = ? AND status = ?
		ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END, created_at DESC, id LIMIT ?)`,
		tenantID, browserHash, LoginPending, tenantID, browserHash, LoginPending, newID, max(keep, 1))
	if err != nil {
		return 0, fmt.Errorf("trim login requests: %w", err)
	}
	return res.RowsAffected()
}

// CountPendingDeviceCodes counts the unexpired pending device codes of clientID and those requested from
// ipKey, in one statement.
func (q *queries) CountPendingDeviceCodes(ctx context.Context, tenantID, clientID, ipKey string, now time.Time) (byClient, byIP int, err error) {
	err = q.row(ctx, `SELECT
		(SELECT COUNT(*) FROM device_codes WHERE tenant_id = ? AND client_id = ? AND expires_at > ? AND status = ?),
		(SELECT COUNT(*) FROM device_codes WHERE tenant_id = ? AND ip_key = ? AND expires_at > ? AND status = ?)`,
		tenantID, clientID, now.Unix(), DevicePending, tenantID, ipKey, now.Unix(), DevicePending).Scan(&byClient, &byIP)
	if err != nil {
		return 0, 0, fmt.Errorf("count device codes: %w", err)
	}
	return byClient, byIP, nil
}

// DeleteEventsBefore deletes at most batch events created before before, oldest first, and returns how
// many it deleted (the garbage collector calls it until a batch comes back short, so that no statement
// holds locks for long).
func (q *queries) DeleteEventsBefore(ctx context.Context, before time.Time, batch int) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_ms < ? ORDER BY id LIMIT ?)`,
		before.UnixMilli(), batch)
	if err != nil {
		return 0, fmt.Errorf("delete old events: %w", err)
	}
	return res.RowsAffected()
}

// DeleteOrphanSessionClients forgets the clients recorded for sessions that no longer exist (a session
// deleted with its user leaves them behind; garbage collection).
func (q *queries) DeleteOrphanSessionClients(ctx context.Context, _ time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM session_clients WHERE NOT EXISTS (SELECT 1 FROM sessions s
		WHERE s.tenant_id = session_clients.tenant_id AND s.id = session_clients.session_id)`)
	if err != nil {
		return 0, fmt.Errorf("delete orphan session clients: %w", err)
	}
	return res.RowsAffected()
}

// countedTables are the tables RowCounts reports.
var countedTables = []string{"tenants", "clients", "users", "password_credentials", "roles", "user_roles", "sessions",
	"session_clients", "login_requests", "grants", "authorization_codes", "refresh_tokens", "device_codes", "signing_keys",
	"consent_grants", "revoked_tokens", "client_assertion_jtis", "throttles", "seed_state", "events", "known_devices",
	"user_networks"}

// RowCounts returns the number of rows of every table, for the benchmark that shows how far anonymous
// traffic can grow the database.
func (q *queries) RowCounts(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, len(countedTables))
	for _, t := range countedTables {
		var n int64
		if err := q.row(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}
