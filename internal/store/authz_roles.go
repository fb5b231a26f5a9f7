package store

import (
	"context"
	"fmt"
	"time"
)

// RolePermission is a permission of an API that a role grants. APIIdentifier is filled on reads.
type RolePermission struct {
	APIID         string
	APIIdentifier string
	Permission    string
}

// CreateRole stores a new role; an existing name is ErrConflict.
func (q *queries) CreateRole(ctx context.Context, r Role) error {
	now := time.Now().Unix()
	_, err := q.exec(ctx, `INSERT INTO roles (tenant_id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		r.TenantID, r.Name, r.Description, now, now)
	if err != nil {
		return fmt.Errorf("create role %s: %w", r.Name, err)
	}
	return nil
}

// UpdateRole sets the role's description. ErrNotFound when absent.
func (q *queries) UpdateRole(ctx context.Context, r Role) error {
	err := q.execOne(ctx, `UPDATE roles SET description = ?, updated_at = ? WHERE tenant_id = ? AND name = ?`,
		r.Description, time.Now().Unix(), r.TenantID, r.Name)
	if err != nil {
		return fmt.Errorf("update role %s: %w", r.Name, err)
	}
	return nil
}

// TouchRole moves the role's updated_at (its permissions changed). ErrNotFound when absent.
func (q *queries) TouchRole(ctx context.Context, tenantID, name string) error {
	if err := q.execOne(ctx, `UPDATE roles SET updated_at = ? WHERE tenant_id = ? AND name = ?`,
		time.Now().Unix(), tenantID, name); err != nil {
		return fmt.Errorf("touch role %s: %w", name, err)
	}
	return nil
}

// DeleteRole removes the role and every assignment of it (to users, groups, organization members) and
// its permissions. ErrNotFound when absent.
func (q *queries) DeleteRole(ctx context.Context, tenantID, name string) error {
	for _, table := range []string{"user_roles", "group_roles", "organization_member_roles", "role_permissions"} {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = ? AND role = ?`, tenantID, name); err != nil {
			return fmt.Errorf("delete role %s: %s: %w", name, table, err)
		}
	}
	if err := q.execOne(ctx, `DELETE FROM roles WHERE tenant_id = ? AND name = ?`, tenantID, name); err != nil {
		return fmt.Errorf("delete role %s: %w", name, err)
	}
	return nil
}

// GetRole returns the role with its permissions, or ErrNotFound.
func (q *queries) GetRole(ctx context.Context, tenantID, name string) (Role, error) {
	rs, err := q.listRoles(ctx, tenantID, `AND name = ?`, name)
	if err != nil {
		return Role{}, fmt.Errorf("get role: %w", err)
	}
	if len(rs) == 0 {
		return Role{}, fmt.Errorf("get role %s: %w", name, ErrNotFound)
	}
	return rs[0], nil
}

// ListRolesPage returns up to limit roles named after after, ordered by name (keyset pagination), with
// their permissions.
func (q *queries) ListRolesPage(ctx context.Context, tenantID, after string, limit int) ([]Role, error) {
	rs, err := q.listRoles(ctx, tenantID, `AND name > ? ORDER BY name LIMIT ?`, after, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return rs, nil
}

func (q *queries) listRoles(ctx context.Context, tenantID, where string, args ...any) ([]Role, error) {
	rows, err := q.query(ctx, `SELECT tenant_id, name, description, created_at, updated_at FROM roles WHERE tenant_id = ? `+where,
		append([]any{tenantID}, args...)...)
	if err != nil {
		return nil, err
	}
	var out []Role
	for rows.Next() {
		var r Role
		var created, updated int64
		if err := rows.Scan(&r.TenantID, &r.Name, &r.Description, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		if updated == 0 {
			updated = created
		}
		r.CreatedAt, r.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Permissions, err = q.RolePermissions(ctx, tenantID, out[i].Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RolePermissions returns what the role grants, ordered by API identifier and permission.
func (q *queries) RolePermissions(ctx context.Context, tenantID, role string) ([]RolePermission, error) {
	rows, err := q.query(ctx, `SELECT rp.api_id, a.identifier, rp.permission FROM role_permissions rp
		JOIN apis a ON a.tenant_id = rp.tenant_id AND a.id = rp.api_id
		WHERE rp.tenant_id = ? AND rp.role = ? ORDER BY a.identifier, rp.permission`, tenantID, role)
	if err != nil {
		return nil, fmt.Errorf("role permissions: %w", err)
	}
	defer rows.Close()
	var out []RolePermission
	for rows.Next() {
		var p RolePermission
		if err := rows.Scan(&p.APIID, &p.APIIdentifier, &p.Permission); err != nil {
			return nil, fmt.Errorf("role permissions: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetRolePermissions makes perms exactly what the role grants. Each must name an existing permission of
// an existing API (the caller checks, for a clear message). Run it in a transaction.
func (q *queries) SetRolePermissions(ctx context.Context, tenantID, role string, perms []RolePermission) error {
	if _, err := q.exec(ctx, `DELETE FROM role_permissions WHERE tenant_id = ? AND role = ?`, tenantID, role); err != nil {
		return fmt.Errorf("set role permissions: %w", err)
	}
	for _, p := range perms {
		if _, err := q.exec(ctx, `INSERT INTO role_permissions (tenant_id, role, api_id, permission) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, role, api_id, permission) DO NOTHING`, tenantID, role, p.APIID, p.Permission); err != nil {
			return fmt.Errorf("set role permissions: %s: %w", p.Permission, err)
		}
	}
	return nil
}

// MissingRoles returns the names among names that are not roles of the tenant.
func (q *queries) MissingRoles(ctx context.Context, tenantID string, names []string) ([]string, error) {
	var missing []string
	for _, n := range names {
		var one int
		err := q.row(ctx, `SELECT 1 FROM roles WHERE tenant_id = ? AND name = ?`, tenantID, n).Scan(&one)
		if isNotFound(scanErr(err)) {
			missing = append(missing, n)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("roles exist: %w", err)
		}
	}
	return missing, nil
}
