package store

import (
	"context"
	"fmt"
	"time"
)

// GetKeyringValue returns the sealed value name of the keyring_values table, or ErrNotFound.
func (q *queries) GetKeyringValue(ctx context.Context, name string) ([]byte, error) {
	var sealed []byte
	if err := q.row(ctx, `SELECT sealed FROM keyring_values WHERE name = ?`, name).Scan(&sealed); err != nil {
		return nil, fmt.Errorf("get keyring value %s: %w", name, scanErr(err))
	}
	return sealed, nil
}

// AddKeyringValue stores the sealed value name unless it exists (another process stored it first: read it).
func (q *queries) AddKeyringValue(ctx context.Context, name string, sealed []byte) error {
	if _, err := q.exec(ctx, `INSERT INTO keyring_values (name, sealed, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, name, sealed, time.Now().Unix()); err != nil {
		return fmt.Errorf("add keyring value %s: %w", name, err)
	}
	return nil
}

// ReplaceKeyringValue replaces the sealed value name when it is still old (re-sealing); it reports
// whether it did.
func (q *queries) ReplaceKeyringValue(ctx context.Context, name string, old, sealed []byte) (bool, error) {
	err := q.execOne(ctx, `UPDATE keyring_values SET sealed = ?, updated_at = ? WHERE name = ? AND sealed = ?`,
		sealed, time.Now().Unix(), name, old)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("replace keyring value %s: %w", name, err)
	}
	return true, nil
}
