package store

import (
	"context"
	"fmt"
	"time"
)

// Deleting a client, a user or a tenant ends everything issued to it in the same transaction: grants,
// refresh tokens, authorization codes, device codes, consents, pending login requests. Access tokens are
// self-contained JWTs, so they are ended by what verification checks: a token carrying a grant id (gid)
// dies with its grant row; a token of a deleted client dies with the client row (and TokensNotBefore keeps
// it dead when the id is registered again); a deleted tenant takes its signing keys with it. Every node
// learns the change from the invalidation messages sent here, not from a cache TTL.

// DeleteClient removes the client and everything issued to it, and leaves a tombstone so that a client
// registered again under the same id starts empty (Client.TokensNotBefore). ErrNotFound when absent.
// It returns the ids of the grants it deleted (one grant.revoked event each is the caller's job).
func (q *queries) DeleteClient(ctx context.Context, tenantID, clientID string) ([]GrantRef, error) {
	now := time.Now().Unix()
	if err := q.execOne(ctx, `DELETE FROM clients WHERE tenant_id = ? AND client_id = ?`, tenantID, clientID); err != nil {
		return nil, fmt.Errorf("delete client %s: %w", clientID, err)
	}
	grants, err := q.deleteGrants(ctx, tenantID, `client_id = ?`, clientID)
	if err != nil {
		return nil, fmt.Errorf("delete client %s: %w", clientID, err)
	}
	for _, table := range []string{"authorization_codes", "device_codes", "consent_grants", "session_clients",
		"login_requests", "client_assertion_jtis"} {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = ? AND client_id = ?`, tenantID, clientID); err != nil {
			return nil, fmt.Errorf("delete client %s: %s: %w", clientID, table, err)
		}
	}
	if _, err := q.exec(ctx, `INSERT INTO client_tombstones (tenant_id, client_id, deleted_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, client_id) DO UPDATE SET deleted_at = excluded.deleted_at`, tenantID, clientID, now); err != nil {
		return nil, fmt.Errorf("delete client %s: tombstone: %w", clientID, err)
	}
	if err := q.notify(ctx, TopicClient, tenantID+":"+clientID); err != nil {
		return nil, err
	}
	return grants, nil
}

// deleteUserIssued removes what was issued to the user besides sessions and consents (DeleteUser): grants
// with their refresh tokens, authorization codes, device codes and login requests.
func (q *queries) deleteUserIssued(ctx context.Context, tenantID, userID string) error {
	if _, err := q.deleteGrants(ctx, tenantID, `user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete user %s: %w", userID, err)
	}
	for _, table := range []string{"authorization_codes", "device_codes", "login_requests", "flows"} {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
			return fmt.Errorf("delete user %s: %s: %w", userID, table, err)
		}
	}
	return nil
}

// deleteGrants deletes the tenant's grants matching where (one placeholder, arg) with their refresh tokens,
// publishes their revocation and returns them.
func (q *queries) deleteGrants(ctx context.Context, tenantID, where, arg string) ([]GrantRef, error) {
	if _, err := q.exec(ctx, `DELETE FROM refresh_tokens WHERE tenant_id = ? AND grant_id IN
		(SELECT id FROM grants WHERE tenant_id = ? AND `+where+`)`, tenantID, tenantID, arg); err != nil {
		return nil, fmt.Errorf("refresh tokens: %w", err)
	}
	out, err := q.endGrants(ctx, tenantID, `DELETE FROM grants WHERE tenant_id = ? AND `+where+` RETURNING id, client_id, user_id`, tenantID, arg)
	if err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	return out, nil
}

// DeleteTenant removes the tenant and every row of it in every table that has a tenant_id column (found
// in the catalogue, so a table added later is covered too), its signing keys and events included.
// ErrNotFound when absent. Every node forgets what it cached about the tenant.
func (q *queries) DeleteTenant(ctx context.Context, tenantID string) error {
	if _, err := q.GetTenant(ctx, tenantID); err != nil {
		return err
	}
	tables, err := q.tenantTables(ctx)
	if err != nil {
		return fmt.Errorf("delete tenant %s: %w", tenantID, err)
	}
	for _, table := range tables {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = ?`, tenantID); err != nil {
			return fmt.Errorf("delete tenant %s: %s: %w", tenantID, table, err)
		}
	}
	if err := q.execOne(ctx, `DELETE FROM tenants WHERE id = ?`, tenantID); err != nil {
		return fmt.Errorf("delete tenant %s: %w", tenantID, err)
	}
	for _, topic := range []string{TopicTenant, TopicKeys, TopicRevoke} {
		if err := q.notify(ctx, topic, tenantID); err != nil {
			return err
		}
	}
	return nil
}

// tenantTables lists the tables having a tenant_id column, children before parents where foreign keys
// say so (every foreign key to a tenant's row cascades, so the order is only tidiness).
func (q *queries) tenantTables(ctx context.Context) ([]string, error) {
	query := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.name = 'tenant_id' ORDER BY m.name`
	if q.pg {
		query = `SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()
			AND column_name = 'tenant_id' ORDER BY table_name`
	}
	out, err := q.queryStrings(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

// RotateClientSecret replaces the client's secret hash by newHash. With previousUntil after now the old
// hash stays accepted until then; otherwise it stops working at once. ErrNotFound when absent.
func (q *queries) RotateClientSecret(ctx context.Context, tenantID, clientID string, newHash []byte, previousUntil time.Time) error {
	now := time.Now()
	var err error
	if previousUntil.After(now) {
		err = q.execOne(ctx, `UPDATE clients SET previous_secret_hash = secret_hash, previous_secret_expires_at = ?,
			secret_hash = ?, updated_at = ? WHERE tenant_id = ? AND client_id = ?`,
			previousUntil.Unix(), newHash, now.Unix(), tenantID, clientID)
	} else {
		err = q.execOne(ctx, `UPDATE clients SET previous_secret_hash = NULL, previous_secret_expires_at = 0,
			secret_hash = ?, updated_at = ? WHERE tenant_id = ? AND client_id = ?`, newHash, now.Unix(), tenantID, clientID)
	}
	if err != nil {
		return fmt.Errorf("rotate secret of client %s: %w", clientID, err)
	}
	return q.notify(ctx, TopicClient, tenantID+":"+clientID)
}

// DeleteOldClientTombstones removes tombstones of clients deleted before before: every access token issued
// before then has expired, so a client registered again need not start after them.
func (q *queries) DeleteOldClientTombstones(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM client_tombstones WHERE deleted_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete old client tombstones: %w", err)
	}
	return res.RowsAffected()
}
