package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Organization is a business customer of the tenant: its members sign in to it and hold roles in it.
type Organization struct {
	TenantID    string
	ID          string
	Name        string
	DisplayName string
	Branding    map[string]any
	Connections []string // filled on reads
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// OrgMember is a user's membership of an organization with the roles it holds there.
type OrgMember struct {
	UserID   string
	Email    string
	Roles    []string
	JoinedAt time.Time
}

// CreateOrganization stores a new organization; an id or name in use is ErrConflict.
func (q *queries) CreateOrganization(ctx context.Context, o Organization) error {
	branding, err := brandingJSON(o.Branding)
	if err != nil {
		return err
	}
	now := time.Now().Unix()
	_, err = q.exec(ctx, `INSERT INTO organizations (tenant_id, id, name, display_name, branding, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, o.TenantID, o.ID, o.Name, o.DisplayName, branding, now, now)
	if err != nil {
		return fmt.Errorf("create organization %s: %w", o.Name, err)
	}
	return nil
}

// UpdateOrganization sets the organization's name, display name and branding. ErrNotFound when absent.
func (q *queries) UpdateOrganization(ctx context.Context, o Organization) error {
	branding, err := brandingJSON(o.Branding)
	if err != nil {
		return err
	}
	err = q.execOne(ctx, `UPDATE organizations SET name = ?, display_name = ?, branding = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, o.Name, o.DisplayName, branding, time.Now().Unix(), o.TenantID, o.ID)
	if err != nil {
		return fmt.Errorf("update organization %s: %w", o.ID, err)
	}
	return nil
}

func brandingJSON(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("branding: %w", err)
	}
	return string(b), nil
}

// DeleteOrganization removes the organization, its memberships and connections. ErrNotFound when absent.
func (q *queries) DeleteOrganization(ctx context.Context, tenantID, id string) error {
	for _, table := range []string{"organization_member_roles", "organization_members", "organization_connections"} {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = ? AND org_id = ?`, tenantID, id); err != nil {
			return fmt.Errorf("delete organization %s: %w", id, err)
		}
	}
	if err := q.execOne(ctx, `DELETE FROM organizations WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
		return fmt.Errorf("delete organization %s: %w", id, err)
	}
	// Its pending invitations can no longer make members: their links stop working.
	if _, err := q.exec(ctx, `UPDATE invitations SET status = '`+InvitationRevoked+`', updated_at = ?
		WHERE tenant_id = ? AND org_id = ? AND status = '`+InvitationPending+`'`, time.Now().Unix(), tenantID, id); err != nil {
		return fmt.Errorf("delete organization %s: revoke its invitations: %w", id, err)
	}
	return nil
}

// GetOrganization returns the organization with its connections, or ErrNotFound.
func (q *queries) GetOrganization(ctx context.Context, tenantID, id string) (Organization, error) {
	os, err := q.listOrganizations(ctx, tenantID, `AND id = ?`, id)
	if err != nil {
		return Organization{}, fmt.Errorf("get organization: %w", err)
	}
	if len(os) == 0 {
		return Organization{}, fmt.Errorf("get organization %s: %w", id, ErrNotFound)
	}
	return os[0], nil
}

// ListOrganizations returns up to limit organizations with id > after, ordered by id.
func (q *queries) ListOrganizations(ctx context.Context, tenantID, after string, limit int) ([]Organization, error) {
	os, err := q.listOrganizations(ctx, tenantID, `AND id > ? ORDER BY id LIMIT ?`, after, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	return os, nil
}

func (q *queries) listOrganizations(ctx context.Context, tenantID, where string, args ...any) ([]Organization, error) {
	rows, err := q.query(ctx, `SELECT tenant_id, id, name, display_name, branding, created_at, updated_at FROM organizations
		WHERE tenant_id = ? `+where, append([]any{tenantID}, args...)...)
	if err != nil {
		return nil, err
	}
	var out []Organization
	for rows.Next() {
		var o Organization
		var branding string
		var created, updated int64
		if err := rows.Scan(&o.TenantID, &o.ID, &o.Name, &o.DisplayName, &branding, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(branding), &o.Branding); err != nil {
			rows.Close()
			return nil, fmt.Errorf("organization %s: branding: %w", o.ID, err)
		}
		o.CreatedAt, o.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Connections, err = q.queryStrings(ctx, `SELECT connection_id FROM organization_connections
			WHERE tenant_id = ? AND org_id = ? ORDER BY connection_id`, tenantID, out[i].ID)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetOrganizationConnections makes conns exactly the organization's connections; each must exist.
func (q *queries) SetOrganizationConnections(ctx context.Context, tenantID, orgID string, conns []string) error {
	if _, err := q.exec(ctx, `DELETE FROM organization_connections WHERE tenant_id = ? AND org_id = ?`, tenantID, orgID); err != nil {
		return fmt.Errorf("set organization connections: %w", err)
	}
	for _, c := range conns {
		if _, err := q.exec(ctx, `INSERT INTO organization_connections (tenant_id, org_id, connection_id) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, org_id, connection_id) DO NOTHING`, tenantID, orgID, c); err != nil {
			return fmt.Errorf("set organization connections: %s: %w", c, err)
		}
	}
	return nil
}

// AddOrganizationMember makes the user a member; ErrConflict when already one.
func (q *queries) AddOrganizationMember(ctx context.Context, tenantID, orgID, userID string) error {
	_, err := q.exec(ctx, `INSERT INTO organization_members (tenant_id, org_id, user_id, joined_at) VALUES (?, ?, ?, ?)`,
		tenantID, orgID, userID, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("add organization member: %w", err)
	}
	return nil
}

// RemoveOrganizationMember ends the membership and its roles; ErrNotFound when not a member.
func (q *queries) RemoveOrganizationMember(ctx context.Context, tenantID, orgID, userID string) error {
	if _, err := q.exec(ctx, `DELETE FROM organization_member_roles WHERE tenant_id = ? AND org_id = ? AND user_id = ?`,
		tenantID, orgID, userID); err != nil {
		return fmt.Errorf("remove organization member: %w", err)
	}
	if err := q.execOne(ctx, `DELETE FROM organization_members WHERE tenant_id = ? AND org_id = ? AND user_id = ?`,
		tenantID, orgID, userID); err != nil {
		return fmt.Errorf("remove organization member: %w", err)
	}
	return nil
}

// SetOrganizationMemberRoles makes roles exactly the member's roles in the organization; each must exist.
// Run it in a transaction.
func (q *queries) SetOrganizationMemberRoles(ctx context.Context, tenantID, orgID, userID string, roles []string) error {
	if _, err := q.exec(ctx, `DELETE FROM organization_member_roles WHERE tenant_id = ? AND org_id = ? AND user_id = ?`,
		tenantID, orgID, userID); err != nil {
		return fmt.Errorf("set organization member roles: %w", err)
	}
	for _, r := range roles {
		if _, err := q.exec(ctx, `INSERT INTO organization_member_roles (tenant_id, org_id, user_id, role) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, org_id, user_id, role) DO NOTHING`, tenantID, orgID, userID, r); err != nil {
			return fmt.Errorf("set organization member roles: %s: %w", r, err)
		}
	}
	return nil
}

// GetOrganizationMember returns the user's membership, or ErrNotFound when not a member.
func (q *queries) GetOrganizationMember(ctx context.Context, tenantID, orgID, userID string) (OrgMember, error) {
	ms, err := q.listOrganizationMembers(ctx, tenantID, orgID, `AND m.user_id = ?`, userID)
	if err != nil {
		return OrgMember{}, fmt.Errorf("get organization member: %w", err)
	}
	if len(ms) == 0 {
		return OrgMember{}, fmt.Errorf("get organization member: %w", ErrNotFound)
	}
	return ms[0], nil
}

// ListOrganizationMembers returns up to limit members with user id > after, ordered by user id.
func (q *queries) ListOrganizationMembers(ctx context.Context, tenantID, orgID, after string, limit int) ([]OrgMember, error) {
	ms, err := q.listOrganizationMembers(ctx, tenantID, orgID, `AND m.user_id > ? ORDER BY m.user_id LIMIT ?`, after, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list organization members: %w", err)
	}
	return ms, nil
}

func (q *queries) listOrganizationMembers(ctx context.Context, tenantID, orgID, where string, args ...any) ([]OrgMember, error) {
	rows, err := q.query(ctx, `SELECT m.user_id, u.email, m.joined_at FROM organization_members m
		JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id
		WHERE m.tenant_id = ? AND m.org_id = ? `+where, append([]any{tenantID, orgID}, args...)...)
	if err != nil {
		return nil, err
	}
	var out []OrgMember
	for rows.Next() {
		var m OrgMember
		var joined int64
		if err := rows.Scan(&m.UserID, &m.Email, &joined); err != nil {
			rows.Close()
			return nil, err
		}
		m.JoinedAt = time.Unix(joined, 0)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Roles, err = q.queryStrings(ctx, `SELECT role FROM organization_member_roles
			WHERE tenant_id = ? AND org_id = ? AND user_id = ? ORDER BY role`, tenantID, orgID, out[i].UserID)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UserOrganizations returns the ids of the organizations the user is a member of, sorted.
func (q *queries) UserOrganizations(ctx context.Context, tenantID, userID string) ([]string, error) {
	out, err := q.queryStrings(ctx, `SELECT org_id FROM organization_members WHERE tenant_id = ? AND user_id = ? ORDER BY org_id`,
		tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("user organizations: %w", err)
	}
	return out, nil
}

// ListUserOrganizations returns the organizations the user is a member of, with their connections,
// ordered by display name (then name) as a person choosing one reads them.
func (q *queries) ListUserOrganizations(ctx context.Context, tenantID, userID string) ([]Organization, error) {
	os, err := q.listOrganizations(ctx, tenantID, `AND id IN (SELECT org_id FROM organization_members WHERE tenant_id = ? AND user_id = ?)
		ORDER BY CASE WHEN display_name = '' THEN name ELSE display_name END, name`, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("list user organizations: %w", err)
	}
	return os, nil
}

// OrganizationConnectionIDs returns the ids of the connections that belong to some organization, sorted:
// an organization's enterprise sign-in, offered on the sign-in pages of that organization only.
func (q *queries) OrganizationConnectionIDs(ctx context.Context, tenantID string) ([]string, error) {
	out, err := q.queryStrings(ctx, `SELECT DISTINCT connection_id FROM organization_connections WHERE tenant_id = ? ORDER BY connection_id`,
		tenantID)
	if err != nil {
		return nil, fmt.Errorf("organization connections: %w", err)
	}
	return out, nil
}
