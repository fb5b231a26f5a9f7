package store

import (
	"context"
	"fmt"
	"time"
)

// Device code statuses (RFC 8628).
const (
	DevicePending  = "pending"  // waiting for the user to enter the user code and approve
	DeviceApproved = "approved" // approved: the next poll gets tokens
	DeviceDenied   = "denied"   // the user refused: polls get access_denied
	DeviceRedeemed = "redeemed" // tokens were issued once; never again
)

// DeviceCode is a device authorization (RFC 8628 §3.2). Only hashes of the device code and of the
// normalised user code are stored.
type DeviceCode struct {
	TenantID       string
	DeviceCodeHash []byte
	UserCodeHash   []byte
	ClientID       string
	Scopes         []string
	Status         string
	UserID         string
	SessionID      string
	AuthTime       time.Time
	AMR            []string
	ACR            string
	Interval       time.Duration // the minimum polling interval; grows by 5 s on each slow_down
	LastPolledAt   time.Time
	CreatedAt      time.Time
	ExpiresAt      time.Time
	IPKey          string // the requesting client's address or IPv6 /64 (pending codes are capped per IP)
}

const deviceCodeCols = `tenant_id, device_code_hash, user_code_hash, client_id, scopes, status, user_id, session_id,
	auth_time, amr, acr, interval_s, last_polled_at, created_at, expires_at`

// CreateDeviceCode stores a new pending device code. A user code hash already in use in the tenant is
// ErrConflict (the caller draws another user code).
func (q *queries) CreateDeviceCode(ctx context.Context, d DeviceCode) error {
	if d.Status == "" {
		d.Status = DevicePending
	}
	created := d.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	_, err := q.exec(ctx, `INSERT INTO device_codes (`+deviceCodeCols+`, ip_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.TenantID, d.DeviceCodeHash, d.UserCodeHash, d.ClientID, jsonList(d.Scopes), d.Status, d.UserID, d.SessionID,
		unixOrNone(d.AuthTime), jsonList(d.AMR), d.ACR, int64(d.Interval/time.Second), unixOrNone(d.LastPolledAt),
		created.Unix(), expiryUnix(d.ExpiresAt), d.IPKey)
	if err != nil {
		return fmt.Errorf("create device code: %w", err)
	}
	return nil
}

// GetDeviceCode returns the device code by the hash of the device code, or ErrNotFound.
func (q *queries) GetDeviceCode(ctx context.Context, tenantID string, deviceCodeHash []byte) (DeviceCode, error) {
	d, err := scanDeviceCode(q.row(ctx, `SELECT `+deviceCodeCols+` FROM device_codes WHERE tenant_id = ? AND device_code_hash = ?`,
		tenantID, deviceCodeHash))
	if err != nil {
		return d, fmt.Errorf("get device code: %w", err)
	}
	return d, nil
}

// GetDeviceCodeByUserCode returns the device code by the hash of the normalised user code
// (keys.HashToken(keys.NormalizeUserCode(code))), or ErrNotFound. Expired codes are returned too:
// callers check ExpiresAt and Status.
func (q *queries) GetDeviceCodeByUserCode(ctx context.Context, tenantID string, userCodeHash []byte) (DeviceCode, error) {
	d, err := scanDeviceCode(q.row(ctx, `SELECT `+deviceCodeCols+` FROM device_codes WHERE tenant_id = ? AND user_code_hash = ?`,
		tenantID, userCodeHash))
	if err != nil {
		return d, fmt.Errorf("get device code by user code: %w", err)
	}
	return d, nil
}

// ApproveDeviceCode records who approved a pending device code. A code that is not pending any more
// (approved, denied, redeemed) is ErrConflict; an unknown one is ErrNotFound. Expiry is the caller's
// check (GetDeviceCodeByUserCode returns ExpiresAt); the token endpoint never redeems an expired code.
func (q *queries) ApproveDeviceCode(ctx context.Context, tenantID string, userCodeHash []byte, userID, sessionID string,
	authTime time.Time, amr []string, acr string) error {
	err := q.execOne(ctx, `UPDATE device_codes SET status = ?, user_id = ?, session_id = ?, auth_time = ?, amr = ?, acr = ?
		WHERE tenant_id = ? AND user_code_hash = ? AND status = ?`,
		DeviceApproved, userID, sessionID, unixOrNone(authTime), jsonList(amr), acr, tenantID, userCodeHash, DevicePending)
	return q.deviceTransitionErr(ctx, "approve device code", tenantID, userCodeHash, err)
}

// DenyDeviceCode marks a pending device code denied; ErrConflict when it is not pending any more,
// ErrNotFound when unknown.
func (q *queries) DenyDeviceCode(ctx context.Context, tenantID string, userCodeHash []byte) error {
	err := q.execOne(ctx, `UPDATE device_codes SET status = ? WHERE tenant_id = ? AND user_code_hash = ? AND status = ?`,
		DeviceDenied, tenantID, userCodeHash, DevicePending)
	return q.deviceTransitionErr(ctx, "deny device code", tenantID, userCodeHash, err)
}

func (q *queries) deviceTransitionErr(ctx context.Context, what, tenantID string, userCodeHash []byte, err error) error {
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var one int
	if e := q.row(ctx, `SELECT 1 FROM device_codes WHERE tenant_id = ? AND user_code_hash = ?`, tenantID, userCodeHash).
		Scan(&one); e != nil {
		return fmt.Errorf("%s: %w", what, scanErr(e))
	}
	return fmt.Errorf("%s: %w", what, ErrConflict)
}

// RedeemDeviceCode moves an approved device code to redeemed. Only one caller ever succeeds; the
// others get ErrConflict.
func (q *queries) RedeemDeviceCode(ctx context.Context, tenantID string, deviceCodeHash []byte) error {
	err := q.execOne(ctx, `UPDATE device_codes SET status = ? WHERE tenant_id = ? AND device_code_hash = ? AND status = ?`,
		DeviceRedeemed, tenantID, deviceCodeHash, DeviceApproved)
	if isNotFound(err) {
		return fmt.Errorf("redeem device code: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("redeem device code: %w", err)
	}
	return nil
}

// PollDeviceCode records a poll at t. When the previous poll was less than the interval before t, it
// also raises the interval by 5 seconds and reports slowDown (RFC 8628 §3.5). Each statement is atomic,
// so concurrent polls cannot both slip under the interval. ErrNotFound when the code is unknown.
func (q *queries) PollDeviceCode(ctx context.Context, tenantID string, deviceCodeHash []byte, t time.Time) (slowDown bool, err error) {
	now := t.Unix()
	err = q.execOne(ctx, `UPDATE device_codes SET interval_s = interval_s + 5, last_polled_at = ?
		WHERE tenant_id = ? AND device_code_hash = ? AND last_polled_at > 0 AND ? - last_polled_at < interval_s`,
		now, tenantID, deviceCodeHash, now)
	if err == nil {
		return true, nil
	}
	if !isNotFound(err) {
		return false, fmt.Errorf("poll device code: %w", err)
	}
	if err := q.execOne(ctx, `UPDATE device_codes SET last_polled_at = ? WHERE tenant_id = ? AND device_code_hash = ?`,
		now, tenantID, deviceCodeHash); err != nil {
		return false, fmt.Errorf("poll device code: %w", err)
	}
	return false, nil
}

// DeleteExpiredDeviceCodes removes device codes that expired before t (garbage collection).
func (q *queries) DeleteExpiredDeviceCodes(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM device_codes WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete expired device codes: %w", err)
	}
	return res.RowsAffected()
}

func scanDeviceCode(row interface{ Scan(...any) error }) (DeviceCode, error) {
	var d DeviceCode
	var scopes, amr string
	var authTime, interval, polled, created, expires int64
	err := row.Scan(&d.TenantID, &d.DeviceCodeHash, &d.UserCodeHash, &d.ClientID, &scopes, &d.Status, &d.UserID,
		&d.SessionID, &authTime, &amr, &d.ACR, &interval, &polled, &created, &expires)
	if err != nil {
		return d, scanErr(err)
	}
	d.Scopes, d.AMR = parseList(scopes), parseList(amr)
	d.AuthTime, d.LastPolledAt = unixOrZero(authTime), unixOrZero(polled)
	d.Interval = time.Duration(interval) * time.Second
	d.CreatedAt, d.ExpiresAt = time.Unix(created, 0), time.Unix(expires, 0)
	return d, nil
}
