package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Role is a named role of a tenant. Roles are created on first assignment.
type Role struct {
	TenantID    string
	Name        string
	Description string
	CreatedAt   time.Time
	// UpdatedAt and Permissions are read by GetRole and ListRolesPage (authz_roles.go).
	UpdatedAt   time.Time
	Permissions []RolePermission
}

// UpsertRole creates the role or updates its description.
func (q *queries) UpsertRole(ctx context.Context, r Role) error {
	_, err := q.exec(ctx, `INSERT INTO roles (tenant_id, name, description, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, name) DO UPDATE SET description = excluded.description`,
		r.TenantID, r.Name, r.Description, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("upsert role %s: %w", r.Name, err)
	}
	return nil
}

// ListRoles returns the tenant's roles ordered by name.
func (q *queries) ListRoles(ctx context.Context, tenantID string) ([]Role, error) {
	rows, err := q.query(ctx, `SELECT tenant_id, name, description, created_at FROM roles WHERE tenant_id = ? ORDER BY name`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	var out []Role
	for rows.Next() {
		var r Role
		var created int64
		if err := rows.Scan(&r.TenantID, &r.Name, &r.Description, &created); err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		r.CreatedAt = time.Unix(created, 0)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetUserRoles makes roles exactly the user's roles, creating missing role rows. Run it in a transaction.
func (q *queries) SetUserRoles(ctx context.Context, tenantID, userID string, roles []string) error {
	now := time.Now().Unix()
	for _, r := range roles {
		if _, err := q.exec(ctx, `INSERT INTO roles (tenant_id, name, created_at) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, name) DO NOTHING`, tenantID, r, now); err != nil {
			return fmt.Errorf("set roles: create role %s: %w", r, err)
		}
	}
	current, err := q.UserRoles(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	for _, r := range current {
		if !slices.Contains(roles, r) {
			if _, err := q.exec(ctx, `DELETE FROM user_roles WHERE tenant_id = ? AND user_id = ? AND role = ?`, tenantID, userID, r); err != nil {
				return fmt.Errorf("set roles: remove %s: %w", r, err)
			}
		}
	}
	for _, r := range roles {
		if _, err := q.exec(ctx, `INSERT INTO user_roles (tenant_id, user_id, role) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, user_id, role) DO NOTHING`, tenantID, userID, r); err != nil {
			return fmt.Errorf("set roles: add %s: %w", r, err)
		}
	}
	return nil
}

// UserRoles returns the user's role names, sorted.
func (q *queries) UserRoles(ctx context.Context, tenantID, userID string) ([]string, error) {
	out, err := q.queryStrings(ctx, `SELECT role FROM user_roles WHERE tenant_id = ? AND user_id = ? ORDER BY role`, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("user roles: %w", err)
	}
	return out, nil
}
