package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SAMLApp is a SAML service provider of a tenant. Config is its settings as JSON (package config's
// SAMLApp); the store does not read it, so the settings can grow without a migration.
type SAMLApp struct {
	TenantID  string
	EntityID  string
	Name      string
	Config    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const samlAppCols = `tenant_id, entity_id, name, config, created_at, updated_at`

func scanSAMLApp(row interface{ Scan(...any) error }) (SAMLApp, error) {
	var a SAMLApp
	var created, updated int64
	if err := row.Scan(&a.TenantID, &a.EntityID, &a.Name, &a.Config, &created, &updated); err != nil {
		return SAMLApp{}, err
	}
	a.CreatedAt, a.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
	return a, nil
}

// UpsertSAMLApp creates a or replaces the stored app with the same entity id (created_at is kept).
func (q *queries) UpsertSAMLApp(ctx context.Context, a SAMLApp) error {
	now := time.Now()
	if !a.UpdatedAt.IsZero() {
		now = a.UpdatedAt
	}
	_, err := q.exec(ctx, `INSERT INTO saml_apps (`+samlAppCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, entity_id) DO UPDATE SET name = excluded.name, config = excluded.config,
		updated_at = excluded.updated_at`,
		a.TenantID, a.EntityID, a.Name, a.Config, now.Unix(), now.Unix())
	if err != nil {
		return fmt.Errorf("upsert SAML app %s: %w", a.EntityID, err)
	}
	return nil
}

// GetSAMLApp returns one app by its entity id, ErrNotFound when the tenant has none.
func (q *queries) GetSAMLApp(ctx context.Context, tenantID, entityID string) (SAMLApp, error) {
	a, err := scanSAMLApp(q.row(ctx, `SELECT `+samlAppCols+` FROM saml_apps WHERE tenant_id = ? AND entity_id = ?`,
		tenantID, entityID))
	if errors.Is(err, sql.ErrNoRows) {
		return SAMLApp{}, ErrNotFound
	}
	if err != nil {
		return SAMLApp{}, fmt.Errorf("get SAML app %s: %w", entityID, err)
	}
	return a, nil
}

// ListSAMLApps returns the tenant's apps ordered by entity id.
func (q *queries) ListSAMLApps(ctx context.Context, tenantID string) ([]SAMLApp, error) {
	rows, err := q.query(ctx, `SELECT `+samlAppCols+` FROM saml_apps WHERE tenant_id = ? ORDER BY entity_id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list SAML apps: %w", err)
	}
	defer rows.Close()
	var out []SAMLApp
	for rows.Next() {
		a, err := scanSAMLApp(rows)
		if err != nil {
			return nil, fmt.Errorf("list SAML apps: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteSAMLApp removes an app; ErrNotFound when absent. Pending sign-ins to it fail at resume, which
// looks the app up again.
func (q *queries) DeleteSAMLApp(ctx context.Context, tenantID, entityID string) error {
	res, err := q.exec(ctx, `DELETE FROM saml_apps WHERE tenant_id = ? AND entity_id = ?`, tenantID, entityID)
	if err != nil {
		return fmt.Errorf("delete SAML app %s: %w", entityID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
