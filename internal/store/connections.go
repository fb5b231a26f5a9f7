package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Connection is an upstream identity provider of a tenant. Config is its settings as JSON (package
// config's Connection without the secrets); Secrets are its secrets sealed with the master key.
type Connection struct {
	TenantID    string
	ID          string
	Type        string
	DisplayName string
	Disabled    bool
	Position    int
	Config      string
	Secrets     []byte
	SyncedAt    time.Time // when a directory sync last started; zero: never
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const connectionCols = `tenant_id, id, type, display_name, disabled, position, config, secrets, synced_at, created_at, updated_at`

func scanConnection(row interface{ Scan(...any) error }) (Connection, error) {
	var c Connection
	var synced, created, updated int64
	if err := row.Scan(&c.TenantID, &c.ID, &c.Type, &c.DisplayName, &c.Disabled, &c.Position, &c.Config, &c.Secrets,
		&synced, &created, &updated); err != nil {
		return Connection{}, err
	}
	c.SyncedAt, c.CreatedAt, c.UpdatedAt = unixOrZero(synced), time.Unix(created, 0), time.Unix(updated, 0)
	return c, nil
}

// UpsertConnection creates c or replaces every field of the stored one (created_at is kept).
func (q *queries) UpsertConnection(ctx context.Context, c Connection) error {
	now := time.Now()
	if !c.UpdatedAt.IsZero() {
		now = c.UpdatedAt
	}
	_, err := q.exec(ctx, `INSERT INTO connections (tenant_id, id, type, display_name, disabled, position, config, secrets,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, id) DO UPDATE SET type = excluded.type, display_name = excluded.display_name,
		disabled = excluded.disabled, position = excluded.position, config = excluded.config,
		secrets = excluded.secrets, updated_at = excluded.updated_at`,
		c.TenantID, c.ID, c.Type, c.DisplayName, c.Disabled, c.Position, c.Config, nilIfEmpty(c.Secrets),
		now.Unix(), now.Unix())
	if err != nil {
		return fmt.Errorf("upsert connection %s: %w", c.ID, err)
	}
	return nil
}

// GetConnection returns one connection, ErrNotFound when the tenant has none with that id.
func (q *queries) GetConnection(ctx context.Context, tenantID, id string) (Connection, error) {
	c, err := scanConnection(q.row(ctx, `SELECT `+connectionCols+` FROM connections WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Connection{}, ErrNotFound
	}
	if err != nil {
		return Connection{}, fmt.Errorf("get connection %s: %w", id, err)
	}
	return c, nil
}

// ListConnections returns the tenant's connections in button order (position, then id).
func (q *queries) ListConnections(ctx context.Context, tenantID string) ([]Connection, error) {
	rows, err := q.query(ctx, `SELECT `+connectionCols+` FROM connections WHERE tenant_id = ? ORDER BY position, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	defer rows.Close()
	var out []Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteConnection removes a connection and the identities linked through it. ErrNotFound when absent.
func (q *queries) DeleteConnection(ctx context.Context, tenantID, id string) error {
	// The identities go first: SQLite enforces the foreign key only with its pragma on.
	if _, err := q.exec(ctx, `DELETE FROM user_identities WHERE tenant_id = ? AND connection_id = ?`, tenantID, id); err != nil {
		return fmt.Errorf("delete connection %s: %w", id, err)
	}
	res, err := q.exec(ctx, `DELETE FROM connections WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ListSealedConnectionSecrets returns every connection that has sealed secrets (for master key rotation).
func (q *queries) ListSealedConnectionSecrets(ctx context.Context) ([]Connection, error) {
	rows, err := q.query(ctx, `SELECT `+connectionCols+` FROM connections WHERE secrets IS NOT NULL ORDER BY tenant_id, id`)
	if err != nil {
		return nil, fmt.Errorf("list connection secrets: %w", err)
	}
	defer rows.Close()
	var out []Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, fmt.Errorf("list connection secrets: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetConnectionSecrets replaces a connection's sealed secrets when they are still old (compare and swap).
func (q *queries) SetConnectionSecrets(ctx context.Context, tenantID, id string, old, sealed []byte) (bool, error) {
	res, err := q.exec(ctx, `UPDATE connections SET secrets = ? WHERE tenant_id = ? AND id = ? AND secrets = ?`,
		sealed, tenantID, id, old)
	if err != nil {
		return false, fmt.Errorf("reseal connection %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ClaimConnectionSync moves a connection's synced_at from prev to now; false when another node moved it
// first (that node runs the sync).
func (q *queries) ClaimConnectionSync(ctx context.Context, tenantID, id string, prev, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE connections SET synced_at = ? WHERE tenant_id = ? AND id = ? AND synced_at = ?`,
		now.Unix(), tenantID, id, unixOrNone(prev))
	if err != nil {
		return false, fmt.Errorf("claim sync of connection %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
