package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// CountSignIn adds one to the user's sign-in count (users.sign_ins). session.Manager.Start calls it in the
// transaction that starts the session and appends login.succeeded, so the count is exactly the number of
// sessions started for the user. ErrNotFound when the user is absent.
func (q *queries) CountSignIn(ctx context.Context, tenantID, userID string) error {
	err := q.execOne(ctx, `UPDATE users SET sign_ins = sign_ins + 1 WHERE tenant_id = ? AND id = ?`, tenantID, userID)
	if err != nil {
		return fmt.Errorf("count sign-in of %s: %w", userID, err)
	}
	return nil
}

// SetProfileSkips replaces the user's skipped profile fields (field name -> sign-in count at the skip).
// ErrNotFound when the user is absent.
func (q *queries) SetProfileSkips(ctx context.Context, tenantID, userID string, skips map[string]int) error {
	v := "{}"
	if len(skips) > 0 {
		b, err := json.Marshal(skips)
		if err != nil {
			return fmt.Errorf("set profile skips of %s: %w", userID, err)
		}
		v = string(b)
	}
	err := q.execOne(ctx, `UPDATE users SET profile_skips = ? WHERE tenant_id = ? AND id = ?`, v, tenantID, userID)
	if err != nil {
		return fmt.Errorf("set profile skips of %s: %w", userID, err)
	}
	return nil
}

// parseSkips decodes users.profile_skips (nil when empty).
func parseSkips(s string) (map[string]int, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]int
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("profile skips: %w", err)
	}
	return m, nil
}
