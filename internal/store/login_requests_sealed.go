package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// SealedUserCode is the sealed device user code of a live login request (a master key rotation re-seals it).
type SealedUserCode struct {
	TenantID, ID string
	Sealed       []byte
}

// ListSealedUserCodes returns the sealed user codes of the tenant's live device login requests.
func (q *queries) ListSealedUserCodes(ctx context.Context, tenantID string) ([]SealedUserCode, error) {
	rows, err := q.query(ctx, `SELECT id, params FROM login_requests WHERE tenant_id = ? AND kind = ? AND expires_at >= ?`,
		tenantID, LoginKindDevice, time.Now().Unix())
	if err != nil {
		return nil, fmt.Errorf("list sealed user codes: %w", err)
	}
	defer rows.Close()
	var out []SealedUserCode
	for rows.Next() {
		var id, params string
		if err := rows.Scan(&id, &params); err != nil {
			return nil, fmt.Errorf("list sealed user codes: %w", err)
		}
		var p AuthorizeParams
		if json.Unmarshal([]byte(params), &p) == nil && len(p.DeviceUserCodeSealed) > 0 {
			out = append(out, SealedUserCode{TenantID: tenantID, ID: id, Sealed: p.DeviceUserCodeSealed})
		}
	}
	return out, rows.Err()
}

// SetSealedUserCode replaces the sealed user code of a login request when it is still old; it reports
// whether it did.
func (q *queries) SetSealedUserCode(ctx context.Context, tenantID, id string, old, sealed []byte) (bool, error) {
	var params string
	if err := q.row(ctx, `SELECT params FROM login_requests WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&params); err != nil {
		if err = scanErr(err); isNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("set sealed user code: %w", err)
	}
	var p AuthorizeParams
	if err := json.Unmarshal([]byte(params), &p); err != nil || !bytes.Equal(p.DeviceUserCodeSealed, old) {
		return false, nil
	}
	p.DeviceUserCodeSealed = sealed
	b, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	err = q.execOne(ctx, `UPDATE login_requests SET params = ? WHERE tenant_id = ? AND id = ? AND params = ?`,
		string(b), tenantID, id, params)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("set sealed user code: %w", err)
	}
	return true, nil
}
