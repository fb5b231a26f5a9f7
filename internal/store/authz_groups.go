package store

import (
	"context"
	"fmt"
	"time"
)

// Group is a named set of users that share roles.
type Group struct {
	TenantID    string
	ID          string
	Name        string
	Description string
	Roles       []string // filled on reads
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GroupMember is a user in a group.
type GroupMember struct {
	UserID  string
	Email   string
	AddedAt time.Time
}

// CreateGroup stores a new group; an id or name in use is ErrConflict.
func (q *queries) CreateGroup(ctx context.Context, g Group) error {
	now := time.Now().Unix()
	_, err := q.exec(ctx, `INSERT INTO groups (tenant_id, id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		g.TenantID, g.ID, g.Name, g.Description, now, now)
	if err != nil {
		return fmt.Errorf("create group %s: %w", g.Name, err)
	}
	return nil
}

// UpdateGroup sets the group's name and description. ErrNotFound when absent, ErrConflict when another
// group has the name.
func (q *queries) UpdateGroup(ctx context.Context, g Group) error {
	err := q.execOne(ctx, `UPDATE groups SET name = ?, description = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		g.Name, g.Description, time.Now().Unix(), g.TenantID, g.ID)
	if err != nil {
		return fmt.Errorf("update group %s: %w", g.ID, err)
	}
	return nil
}

// DeleteGroup removes the group, its members and roles. ErrNotFound when absent.
func (q *queries) DeleteGroup(ctx context.Context, tenantID, id string) error {
	for _, table := range []string{"group_members", "group_roles"} {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = ? AND group_id = ?`, tenantID, id); err != nil {
			return fmt.Errorf("delete group %s: %w", id, err)
		}
	}
	if err := q.execOne(ctx, `DELETE FROM groups WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	return nil
}

// GetGroup returns the group with its roles, or ErrNotFound.
func (q *queries) GetGroup(ctx context.Context, tenantID, id string) (Group, error) {
	return q.getGroup(ctx, tenantID, `AND id = ?`, id)
}

// GetGroupByName returns the group named name, or ErrNotFound.
func (q *queries) GetGroupByName(ctx context.Context, tenantID, name string) (Group, error) {
	return q.getGroup(ctx, tenantID, `AND name = ?`, name)
}

func (q *queries) getGroup(ctx context.Context, tenantID, where, v string) (Group, error) {
	gs, err := q.listGroups(ctx, tenantID, where, v)
	if err != nil {
		return Group{}, fmt.Errorf("get group: %w", err)
	}
	if len(gs) == 0 {
		return Group{}, fmt.Errorf("get group %s: %w", v, ErrNotFound)
	}
	return gs[0], nil
}

// ListGroups returns up to limit groups with id > after, ordered by id (keyset pagination).
func (q *queries) ListGroups(ctx context.Context, tenantID, after string, limit int) ([]Group, error) {
	gs, err := q.listGroups(ctx, tenantID, `AND id > ? ORDER BY id LIMIT ?`, after, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return gs, nil
}

func (q *queries) listGroups(ctx context.Context, tenantID, where string, args ...any) ([]Group, error) {
	rows, err := q.query(ctx, `SELECT tenant_id, id, name, description, created_at, updated_at FROM groups WHERE tenant_id = ? `+where,
		append([]any{tenantID}, args...)...)
	if err != nil {
		return nil, err
	}
	var out []Group
	for rows.Next() {
		var g Group
		var created, updated int64
		if err := rows.Scan(&g.TenantID, &g.ID, &g.Name, &g.Description, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		g.CreatedAt, g.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Roles, err = q.GroupRoles(ctx, tenantID, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GroupRoles returns the roles the group's members hold through it, sorted.
func (q *queries) GroupRoles(ctx context.Context, tenantID, groupID string) ([]string, error) {
	out, err := q.queryStrings(ctx, `SELECT role FROM group_roles WHERE tenant_id = ? AND group_id = ? ORDER BY role`, tenantID, groupID)
	if err != nil {
		return nil, fmt.Errorf("group roles: %w", err)
	}
	return out, nil
}

// SetGroupRoles makes roles exactly the group's roles; each must exist. Run it in a transaction.
func (q *queries) SetGroupRoles(ctx context.Context, tenantID, groupID string, roles []string) error {
	if _, err := q.exec(ctx, `DELETE FROM group_roles WHERE tenant_id = ? AND group_id = ?`, tenantID, groupID); err != nil {
		return fmt.Errorf("set group roles: %w", err)
	}
	for _, r := range roles {
		if _, err := q.exec(ctx, `INSERT INTO group_roles (tenant_id, group_id, role) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, group_id, role) DO NOTHING`, tenantID, groupID, r); err != nil {
			return fmt.Errorf("set group roles: %s: %w", r, err)
		}
	}
	return nil
}

// AddGroupMember adds the user to the group; ErrConflict when already a member.
func (q *queries) AddGroupMember(ctx context.Context, tenantID, groupID, userID string) error {
	_, err := q.exec(ctx, `INSERT INTO group_members (tenant_id, group_id, user_id, added_at) VALUES (?, ?, ?, ?)`,
		tenantID, groupID, userID, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("add group member: %w", err)
	}
	return nil
}

// RemoveGroupMember removes the user from the group; ErrNotFound when not a member.
func (q *queries) RemoveGroupMember(ctx context.Context, tenantID, groupID, userID string) error {
	if err := q.execOne(ctx, `DELETE FROM group_members WHERE tenant_id = ? AND group_id = ? AND user_id = ?`,
		tenantID, groupID, userID); err != nil {
		return fmt.Errorf("remove group member: %w", err)
	}
	return nil
}

// ListGroupMembers returns up to limit members with user id > after, ordered by user id.
func (q *queries) ListGroupMembers(ctx context.Context, tenantID, groupID, after string, limit int) ([]GroupMember, error) {
	rows, err := q.query(ctx, `SELECT m.user_id, u.email, m.added_at FROM group_members m
		JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id
		WHERE m.tenant_id = ? AND m.group_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?`,
		tenantID, groupID, after, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	defer rows.Close()
	var out []GroupMember
	for rows.Next() {
		var m GroupMember
		var added int64
		if err := rows.Scan(&m.UserID, &m.Email, &added); err != nil {
			return nil, fmt.Errorf("list group members: %w", err)
		}
		m.AddedAt = time.Unix(added, 0)
		out = append(out, m)
	}
	return out, rows.Err()
}
