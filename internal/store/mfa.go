package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Factor kinds (mfa_factors.kind).
const (
	FactorTOTP     = "totp"
	FactorWebAuthn = "webauthn"
	FactorEmail    = "email"
	FactorSMS      = "sms"
)

// Factor is one authentication factor of a user: a TOTP seed (sealed), a passkey, an email address turned
// on as a second factor, or a verified phone number.
type Factor struct {
	TenantID     string
	ID           string
	UserID       string
	Kind         string
	Name         string // shown to the user ("iPhone", "YubiKey 5"); empty takes a default per kind
	Secret       []byte // sealed TOTP seed
	CredentialID []byte // WebAuthn credential id
	Data         string // kind's JSON: the WebAuthn credential; the SMS number
	LastStep     int64  // TOTP: the last accepted time step (a code is accepted once)
	ConfirmedAt  time.Time
	CreatedAt    time.Time
	LastUsedAt   time.Time
}

// Confirmed reports whether the enrolment was completed (a pending one never counts as a factor).
func (f Factor) Confirmed() bool { return !f.ConfirmedAt.IsZero() }

const factorCols = `tenant_id, id, user_id, kind, name, secret, credential_id, data, last_step, confirmed_at, created_at, last_used_at`

// MaxFactorsPerUser bounds the factors (pending ones included) a user may have, so a script cannot grow
// the table without limit.
const MaxFactorsPerUser = 20

// CreateFactor stores f. ErrConflict when the user has MaxFactorsPerUser factors already or the
// credential id is taken.
func (q *queries) CreateFactor(ctx context.Context, f Factor) error {
	var n int
	if err := q.row(ctx, `SELECT COUNT(*) FROM mfa_factors WHERE tenant_id = ? AND user_id = ?`, f.TenantID, f.UserID).Scan(&n); err != nil {
		return fmt.Errorf("create factor: %w", err)
	}
	if n >= MaxFactorsPerUser {
		return fmt.Errorf("create factor: %d factors already: %w", n, ErrConflict)
	}
	_, err := q.exec(ctx, `INSERT INTO mfa_factors (`+factorCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.TenantID, f.ID, f.UserID, f.Kind, f.Name, nilIfEmpty(f.Secret), nilIfEmpty(f.CredentialID), f.Data, f.LastStep,
		secondsOrZero(f.ConfirmedAt), f.CreatedAt.Unix(), secondsOrZero(f.LastUsedAt))
	if err != nil { // a taken credential id is ErrConflict
		return fmt.Errorf("create factor: %w", err)
	}
	return nil
}

// secondsOrZero is t in unix seconds, 0 for the zero time (a column meaning "not yet").
func secondsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// GetFactor returns the user's factor id, or ErrNotFound.
func (q *queries) GetFactor(ctx context.Context, tenantID, userID, id string) (Factor, error) {
	fs, err := q.factors(ctx, `WHERE tenant_id = ? AND user_id = ? AND id = ?`, tenantID, userID, id)
	if err != nil {
		return Factor{}, err
	}
	if len(fs) == 0 {
		return Factor{}, fmt.Errorf("get factor: %w", ErrNotFound)
	}
	return fs[0], nil
}

// GetFactorByCredential returns the confirmed passkey with credential id credID, or ErrNotFound.
func (q *queries) GetFactorByCredential(ctx context.Context, tenantID string, credID []byte) (Factor, error) {
	if len(credID) == 0 {
		return Factor{}, fmt.Errorf("get factor: %w", ErrNotFound)
	}
	fs, err := q.factors(ctx, `WHERE tenant_id = ? AND credential_id = ? AND confirmed_at > 0`, tenantID, credID)
	if err != nil {
		return Factor{}, err
	}
	if len(fs) == 0 {
		return Factor{}, fmt.Errorf("get factor: %w", ErrNotFound)
	}
	return fs[0], nil
}

// ListFactors returns the user's factors, pending enrolments too, oldest first.
func (q *queries) ListFactors(ctx context.Context, tenantID, userID string) ([]Factor, error) {
	return q.factors(ctx, `WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, id`, tenantID, userID)
}

func (q *queries) factors(ctx context.Context, where string, args ...any) ([]Factor, error) {
	rows, err := q.query(ctx, `SELECT `+factorCols+` FROM mfa_factors `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("factors: %w", err)
	}
	defer rows.Close()
	var out []Factor
	for rows.Next() {
		var f Factor
		var confirmed, created, used int64
		if err := rows.Scan(&f.TenantID, &f.ID, &f.UserID, &f.Kind, &f.Name, &f.Secret, &f.CredentialID, &f.Data, &f.LastStep,
			&confirmed, &created, &used); err != nil {
			return nil, fmt.Errorf("factors: %w", err)
		}
		f.ConfirmedAt, f.CreatedAt, f.LastUsedAt = unixOrZero(confirmed), time.Unix(created, 0), unixOrZero(used)
		out = append(out, f)
	}
	return out, rows.Err()
}

// ConfirmFactor completes the enrolment of a pending factor (and records step as its last TOTP step, so
// the confirming code cannot sign in again). ErrNotFound when it is not pending.
func (q *queries) ConfirmFactor(ctx context.Context, tenantID, userID, id string, step int64, at time.Time) error {
	err := q.execOne(ctx, `UPDATE mfa_factors SET confirmed_at = ?, last_step = ?, last_used_at = ?
		WHERE tenant_id = ? AND user_id = ? AND id = ? AND confirmed_at = 0`, at.Unix(), step, at.Unix(), tenantID, userID, id)
	if err != nil {
		return fmt.Errorf("confirm factor: %w", err)
	}
	return nil
}

// UseTOTPStep records step as the factor's last accepted TOTP step when it is later than the stored one,
// in one statement, so a code is accepted once even when two nodes check it at the same moment. It reports
// whether this call took the step.
func (q *queries) UseTOTPStep(ctx context.Context, tenantID, id string, step int64, at time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE mfa_factors SET last_step = ?, last_used_at = ?
		WHERE tenant_id = ? AND id = ? AND last_step < ? AND confirmed_at > 0`, step, at.Unix(), tenantID, id, step)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// UpdateFactorUse stores a factor's new data (a passkey's signature counter) and last use.
func (q *queries) UpdateFactorUse(ctx context.Context, tenantID, id, data string, at time.Time) error {
	if err := q.execOne(ctx, `UPDATE mfa_factors SET data = ?, last_used_at = ? WHERE tenant_id = ? AND id = ?`,
		data, at.Unix(), tenantID, id); err != nil {
		return fmt.Errorf("update factor: %w", err)
	}
	return nil
}

// RenameFactor sets the name of the user's factor.
func (q *queries) RenameFactor(ctx context.Context, tenantID, userID, id, name string) error {
	if err := q.execOne(ctx, `UPDATE mfa_factors SET name = ? WHERE tenant_id = ? AND user_id = ? AND id = ?`,
		name, tenantID, userID, id); err != nil {
		return fmt.Errorf("rename factor: %w", err)
	}
	return nil
}

// DeleteFactor removes the user's factor; ErrNotFound when there is none.
func (q *queries) DeleteFactor(ctx context.Context, tenantID, userID, id string) error {
	if err := q.execOne(ctx, `DELETE FROM mfa_factors WHERE tenant_id = ? AND user_id = ? AND id = ?`, tenantID, userID, id); err != nil {
		return fmt.Errorf("delete factor: %w", err)
	}
	return nil
}

// DeletePendingFactors removes the user's unconfirmed enrolments of kind (an abandoned QR code).
func (q *queries) DeletePendingFactors(ctx context.Context, tenantID, userID, kind string) error {
	if _, err := q.exec(ctx, `DELETE FROM mfa_factors WHERE tenant_id = ? AND user_id = ? AND kind = ? AND confirmed_at = 0`,
		tenantID, userID, kind); err != nil {
		return fmt.Errorf("delete pending factors: %w", err)
	}
	return nil
}

// ResetMFA removes every factor and recovery code of the user and forgets which devices skip the second
// factor (an operator's reset). It returns how many factors were removed.
func (q *queries) ResetMFA(ctx context.Context, tenantID, userID string) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM mfa_factors WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)
	if err != nil {
		return 0, fmt.Errorf("reset mfa: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := q.exec(ctx, `DELETE FROM recovery_codes WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return 0, fmt.Errorf("reset mfa: recovery codes: %w", err)
	}
	if _, err := q.exec(ctx, `UPDATE known_devices SET mfa_until = 0 WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return 0, fmt.Errorf("reset mfa: devices: %w", err)
	}
	return n, nil
}

// ReplaceRecoveryCodes makes hashes the user's recovery codes (the old set, used or not, is gone).
func (q *queries) ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes [][]byte, at time.Time) error {
	if _, err := q.exec(ctx, `DELETE FROM recovery_codes WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := q.exec(ctx, `INSERT INTO recovery_codes (tenant_id, user_id, code_hash, created_at) VALUES (?, ?, ?, ?)`,
			tenantID, userID, h, at.Unix()); err != nil {
			return fmt.Errorf("replace recovery codes: %w", err)
		}
	}
	return nil
}

// UseRecoveryCode marks the user's unused recovery code with hash h used, in one statement (a code works
// once, even on two nodes at the same moment). It reports whether a code was used.
func (q *queries) UseRecoveryCode(ctx context.Context, tenantID, userID string, h []byte, at time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE tenant_id = ? AND user_id = ? AND code_hash = ? AND used_at = 0`,
		at.Unix(), tenantID, userID, h)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RecoveryCodesLeft returns how many of the user's recovery codes are unused, and how many there are.
func (q *queries) RecoveryCodesLeft(ctx context.Context, tenantID, userID string) (left, total int, err error) {
	err = q.row(ctx, `SELECT COALESCE(SUM(CASE WHEN used_at = 0 THEN 1 ELSE 0 END), 0), COUNT(*) FROM recovery_codes
		WHERE tenant_id = ? AND user_id = ?`, tenantID, userID).Scan(&left, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("recovery codes: %w", err)
	}
	return left, total, nil
}

// RememberDeviceMFA lets the user's known device skip the second factor until until (zero: no longer).
// ErrNotFound when the device is not a known device of the user.
func (q *queries) RememberDeviceMFA(ctx context.Context, tenantID string, deviceHash []byte, userID string, until time.Time) error {
	if err := q.execOne(ctx, `UPDATE known_devices SET mfa_until = ? WHERE tenant_id = ? AND device_hash = ? AND user_id = ?`,
		secondsOrZero(until), tenantID, deviceHash, userID); err != nil {
		return fmt.Errorf("remember device: %w", err)
	}
	return nil
}

// DeviceSkipsMFA reports whether the user's known device is remembered for the second factor at now.
func (q *queries) DeviceSkipsMFA(ctx context.Context, tenantID string, deviceHash []byte, userID string, now time.Time) (bool, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM known_devices WHERE tenant_id = ? AND device_hash = ? AND user_id = ?
		AND expires_at > ? AND mfa_until > ?`, tenantID, deviceHash, userID, now.Unix(), now.Unix()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("device skips mfa: %w", err)
	}
	return n > 0, nil
}

// ForgetKnownDevice removes one of the user's known devices (the account page's "Remove"); ErrNotFound
// when there is none.
func (q *queries) ForgetKnownDevice(ctx context.Context, tenantID string, deviceHash []byte, userID string) error {
	if err := q.execOne(ctx, `DELETE FROM known_devices WHERE tenant_id = ? AND device_hash = ? AND user_id = ?`,
		tenantID, deviceHash, userID); err != nil {
		return fmt.Errorf("forget device: %w", err)
	}
	return nil
}

// SessionFactors are what a session proved: each authentication method (RFC 8176 names: pwd, otp, hwk,
// swk, sms, email, user) with the unix second it was last used.
type SessionFactors map[string]int64

func (f SessionFactors) encode() string {
	if len(f) == 0 {
		return ""
	}
	b, _ := json.Marshal(map[string]int64(f))
	return string(b)
}

func decodeSessionFactors(s string) SessionFactors {
	if s == "" {
		return nil
	}
	var m map[string]int64
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	return m
}

// UpdateSessionAuth records a step-up on a live session: its new authentication time, amr, acr and
// factors. ErrNotFound when the session ended meanwhile.
func (q *queries) UpdateSessionAuth(ctx context.Context, s Session) error {
	if err := q.execOne(ctx, `UPDATE sessions SET auth_time = ?, amr = ?, acr = ?, factors = ? WHERE tenant_id = ? AND id = ?
		AND ended_at IS NULL`, s.AuthTime.Unix(), jsonList(s.AMR), s.ACR, s.Factors.encode(), s.TenantID, s.ID); err != nil {
		return fmt.Errorf("update session auth: %w", err)
	}
	return nil
}

// ForgetMFADevices makes every browser of the user ask for the second factor again.
func (q *queries) ForgetMFADevices(ctx context.Context, tenantID, userID string) error {
	if _, err := q.exec(ctx, `UPDATE known_devices SET mfa_until = 0 WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return fmt.Errorf("forget mfa devices: %w", err)
	}
	return nil
}
