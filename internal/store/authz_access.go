package store

import (
	"context"
	"fmt"
	"slices"
)

// RoleSource is one way a user holds a role: directly (Group and OrgID empty), through the group named
// Group, or as a member of organization OrgID.
type RoleSource struct {
	Role  string
	Group string
	OrgID string
}

// PermissionSource is a permission of an API and the role (held through Via) that grants it.
type PermissionSource struct {
	Permission string
	Via        RoleSource
}

// Access is what a user holds: effective roles with where each comes from, the groups the user is in,
// and, when an organization was named, whether the user is a member and the roles held there. With an
// API named, Permissions lists what those roles grant of it.
type Access struct {
	Roles       []RoleSource
	Groups      []string // group names, sorted
	OrgMember   bool
	OrgRoles    []string // sorted
	Permissions []PermissionSource
}

// RoleNames returns the distinct effective role names, sorted.
func (a Access) RoleNames() []string {
	var out []string
	for _, r := range a.Roles {
		if !slices.Contains(out, r.Role) {
			out = append(out, r.Role)
		}
	}
	slices.Sort(out)
	return out
}

// PermissionNames returns the distinct permissions granted, sorted.
func (a Access) PermissionNames() []string {
	var out []string
	for _, p := range a.Permissions {
		if !slices.Contains(out, p.Permission) {
			out = append(out, p.Permission)
		}
	}
	slices.Sort(out)
	return out
}

// effectiveRoles is the union of the user's roles: direct, through groups, and per membership of one
// organization (the third part matches nothing when the organization is empty). Its placeholders take
// tenant, user, tenant, user, tenant, user, org.
const effectiveRoles = `SELECT role, '' AS via_group, '' AS via_org FROM user_roles WHERE tenant_id = ? AND user_id = ?
	UNION ALL
	SELECT gr.role, g.name, '' FROM group_members gm
		JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id
		JOIN group_roles gr ON gr.tenant_id = gm.tenant_id AND gr.group_id = gm.group_id
		WHERE gm.tenant_id = ? AND gm.user_id = ?
	UNION ALL
	SELECT role, '', org_id FROM organization_member_roles WHERE tenant_id = ? AND user_id = ? AND org_id = ?`

// UserAccess computes what the user holds in the tenant: effective roles (direct, via groups, and via the
// membership of orgID when not empty), groups, the organization's roles, and, when apiID is not empty, the
// permissions of that API the roles grant.
func (q *queries) UserAccess(ctx context.Context, tenantID, userID, orgID, apiID string) (Access, error) {
	var a Access
	args := []any{tenantID, userID, tenantID, userID, tenantID, userID, orgID}
	rows, err := q.query(ctx, `SELECT role, via_group, via_org FROM (`+effectiveRoles+`) r ORDER BY role, via_group, via_org`, args...)
	if err != nil {
		return a, fmt.Errorf("user access: %w", err)
	}
	for rows.Next() {
		var r RoleSource
		if err := rows.Scan(&r.Role, &r.Group, &r.OrgID); err != nil {
			rows.Close()
			return a, fmt.Errorf("user access: %w", err)
		}
		a.Roles = append(a.Roles, r)
		if r.OrgID != "" && !slices.Contains(a.OrgRoles, r.Role) {
			a.OrgRoles = append(a.OrgRoles, r.Role)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return a, fmt.Errorf("user access: %w", err)
	}
	a.Groups, err = q.queryStrings(ctx, `SELECT g.name FROM group_members gm JOIN groups g ON g.tenant_id = gm.tenant_id
		AND g.id = gm.group_id WHERE gm.tenant_id = ? AND gm.user_id = ? ORDER BY g.name`, tenantID, userID)
	if err != nil {
		return a, fmt.Errorf("user access: groups: %w", err)
	}
	if orgID != "" {
		var n int
		if err := q.row(ctx, `SELECT COUNT(*) FROM organization_members WHERE tenant_id = ? AND org_id = ? AND user_id = ?`,
			tenantID, orgID, userID).Scan(&n); err != nil {
			return a, fmt.Errorf("user access: membership: %w", err)
		}
		a.OrgMember = n > 0
	}
	if apiID == "" || len(a.Roles) == 0 {
		return a, nil
	}
	rows, err = q.query(ctx, `SELECT rp.permission, r.role, r.via_group, r.via_org FROM (`+effectiveRoles+`) r
		JOIN role_permissions rp ON rp.tenant_id = ? AND rp.role = r.role AND rp.api_id = ?
		ORDER BY rp.permission, r.role, r.via_group, r.via_org`, append(args, tenantID, apiID)...)
	if err != nil {
		return a, fmt.Errorf("user access: permissions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p PermissionSource
		if err := rows.Scan(&p.Permission, &p.Via.Role, &p.Via.Group, &p.Via.OrgID); err != nil {
			return a, fmt.Errorf("user access: permissions: %w", err)
		}
		a.Permissions = append(a.Permissions, p)
	}
	return a, rows.Err()
}
