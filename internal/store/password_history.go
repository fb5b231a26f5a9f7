package store

import (
	"context"
	"fmt"
	"time"
)

// PasswordPolicy is a tenant's password policy (TenantSettings.PasswordPolicy). Zero values take the
// defaults, so a tenant stored before the policy existed has the default policy.
type PasswordPolicy struct {
	// MinLength is the least number of characters a new password has; 0 means DefaultPasswordMinLength.
	MinLength int `json:"min_length,omitempty"`
	// History is how many of the user's most recent passwords (the current one included) a new password
	// may not repeat; 0 keeps no history.
	History int `json:"history,omitempty"`
}

// DefaultPasswordMinLength is the minimum length of a password when the tenant sets none (NIST SP
// 800-63B §5.1.1.2: at least 8 characters).
const DefaultPasswordMinLength = 8

// MinLengthOrDefault returns MinLength, or the default when it is not set.
func (p PasswordPolicy) MinLengthOrDefault() int {
	if p.MinLength > 0 {
		return p.MinLength
	}
	return DefaultPasswordMinLength
}

// AddPasswordHistory records hash as the user's newest password and keeps only the keep newest entries
// (none when keep is 0 or less). Call it in the transaction that sets the password.
func (q *queries) AddPasswordHistory(ctx context.Context, tenantID, userID, hash string, at time.Time, keep int) error {
	if keep > 0 {
		if _, err := q.exec(ctx, `INSERT INTO password_history (tenant_id, user_id, hash, created_at) VALUES (?, ?, ?, ?)`,
			tenantID, userID, hash, at.Unix()); err != nil {
			return fmt.Errorf("add password history: %w", err)
		}
	}
	return q.prunePasswordHistory(ctx, tenantID, userID, keep)
}

func (q *queries) prunePasswordHistory(ctx context.Context, tenantID, userID string, keep int) error {
	var err error
	if keep <= 0 {
		_, err = q.exec(ctx, `DELETE FROM password_history WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)
	} else {
		_, err = q.exec(ctx, `DELETE FROM password_history WHERE tenant_id = ? AND user_id = ? AND id NOT IN (
			SELECT id FROM password_history WHERE tenant_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?)`,
			tenantID, userID, tenantID, userID, keep)
	}
	if err != nil {
		return fmt.Errorf("prune password history: %w", err)
	}
	return nil
}

// PasswordHistory returns the hashes of the user's limit most recent passwords, newest first.
func (q *queries) PasswordHistory(ctx context.Context, tenantID, userID string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := q.query(ctx, `SELECT hash FROM password_history WHERE tenant_id = ? AND user_id = ?
		ORDER BY id DESC LIMIT ?`, tenantID, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("password history: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("password history: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("password history: %w", err)
	}
	return out, nil
}
