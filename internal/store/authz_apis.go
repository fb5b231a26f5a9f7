package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// API is a resource server a tenant protects: clients ask tokens for it by its Identifier (RFC 8707
// resource indicator), and roles grant its Permissions.
type API struct {
	TenantID      string
	ID            string
	Identifier    string
	Name          string
	TokenLifetime time.Duration // 0: the tenant's access token lifetime
	Claims        []string      // extra access token claims: roles, permissions, groups, org_id, org_roles
	Permissions   []APIPermission
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// APIPermission is one permission an API defines (orders:read).
type APIPermission struct {
	Name        string
	Description string
}

// HasPermission reports whether the API defines permission name.
func (a API) HasPermission(name string) bool {
	for _, p := range a.Permissions {
		if p.Name == name {
			return true
		}
	}
	return false
}

const apiCols = `tenant_id, id, identifier, name, token_lifetime, claims, created_at, updated_at`

// CreateAPI stores a new API with its permissions; an id or identifier in use is ErrConflict.
func (q *queries) CreateAPI(ctx context.Context, a API) error {
	now := time.Now().Unix()
	_, err := q.exec(ctx, `INSERT INTO apis (`+apiCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.TenantID, a.ID, a.Identifier, a.Name, int64(a.TokenLifetime/time.Second), jsonList(a.Claims), now, now)
	if err != nil {
		return fmt.Errorf("create api %s: %w", a.Identifier, err)
	}
	return q.setAPIPermissions(ctx, a.TenantID, a.ID, a.Permissions)
}

// UpdateAPI replaces the API's identifier, name, lifetime, claims and permissions. Permissions it no
// longer defines leave the roles that granted them. ErrNotFound when absent, ErrConflict when the
// identifier belongs to another API.
func (q *queries) UpdateAPI(ctx context.Context, a API) error {
	err := q.execOne(ctx, `UPDATE apis SET identifier = ?, name = ?, token_lifetime = ?, claims = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, a.Identifier, a.Name, int64(a.TokenLifetime/time.Second), jsonList(a.Claims),
		time.Now().Unix(), a.TenantID, a.ID)
	if err != nil {
		return fmt.Errorf("update api %s: %w", a.ID, err)
	}
	return q.setAPIPermissions(ctx, a.TenantID, a.ID, a.Permissions)
}

// setAPIPermissions makes perms exactly the API's permissions, keeping the role grants of those it keeps.
func (q *queries) setAPIPermissions(ctx context.Context, tenantID, apiID string, perms []APIPermission) error {
	current, err := q.queryStrings(ctx, `SELECT name FROM api_permissions WHERE tenant_id = ? AND api_id = ?`, tenantID, apiID)
	if err != nil {
		return fmt.Errorf("api permissions: %w", err)
	}
	keep := map[string]bool{}
	for _, p := range perms {
		keep[p.Name] = true
	}
	for _, name := range current {
		if keep[name] {
			continue
		}
		// Explicitly, so the result does not depend on SQLite's foreign_keys pragma.
		if _, err := q.exec(ctx, `DELETE FROM role_permissions WHERE tenant_id = ? AND api_id = ? AND permission = ?`,
			tenantID, apiID, name); err != nil {
			return fmt.Errorf("api permissions: remove %s: %w", name, err)
		}
		if _, err := q.exec(ctx, `DELETE FROM api_permissions WHERE tenant_id = ? AND api_id = ? AND name = ?`,
			tenantID, apiID, name); err != nil {
			return fmt.Errorf("api permissions: remove %s: %w", name, err)
		}
	}
	for _, p := range perms {
		if _, err := q.exec(ctx, `INSERT INTO api_permissions (tenant_id, api_id, name, description) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, api_id, name) DO UPDATE SET description = excluded.description`,
			tenantID, apiID, p.Name, p.Description); err != nil {
			return fmt.Errorf("api permissions: add %s: %w", p.Name, err)
		}
	}
	return nil
}

// GetAPI returns the API with id, with its permissions, or ErrNotFound.
func (q *queries) GetAPI(ctx context.Context, tenantID, id string) (API, error) {
	return q.getAPI(ctx, `id = ?`, tenantID, id)
}

// GetAPIByIdentifier returns the API whose identifier is exactly identifier, or ErrNotFound.
func (q *queries) GetAPIByIdentifier(ctx context.Context, tenantID, identifier string) (API, error) {
	return q.getAPI(ctx, `identifier = ?`, tenantID, identifier)
}

func (q *queries) getAPI(ctx context.Context, where, tenantID, v string) (API, error) {
	as, err := q.listAPIs(ctx, `WHERE tenant_id = ? AND `+where, tenantID, v)
	if err != nil {
		return API{}, fmt.Errorf("get api: %w", err)
	}
	if len(as) == 0 {
		return API{}, fmt.Errorf("get api %s: %w", v, ErrNotFound)
	}
	return as[0], nil
}

// ListAPIs returns up to limit APIs with id > after, ordered by id (keyset pagination).
func (q *queries) ListAPIs(ctx context.Context, tenantID, after string, limit int) ([]API, error) {
	as, err := q.listAPIs(ctx, `WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID, after, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list apis: %w", err)
	}
	return as, nil
}

func (q *queries) listAPIs(ctx context.Context, where string, args ...any) ([]API, error) {
	rows, err := q.query(ctx, `SELECT `+apiCols+` FROM apis `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []API
	for rows.Next() {
		var a API
		var lifetime, created, updated int64
		var claims string
		if err := rows.Scan(&a.TenantID, &a.ID, &a.Identifier, &a.Name, &lifetime, &claims, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		a.TokenLifetime = time.Duration(lifetime) * time.Second
		a.Claims = parseList(claims)
		a.CreatedAt, a.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Permissions, err = q.apiPermissions(ctx, out[i].TenantID, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (q *queries) apiPermissions(ctx context.Context, tenantID, apiID string) ([]APIPermission, error) {
	rows, err := q.query(ctx, `SELECT name, description FROM api_permissions WHERE tenant_id = ? AND api_id = ? ORDER BY name`,
		tenantID, apiID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIPermission
	for rows.Next() {
		var p APIPermission
		if err := rows.Scan(&p.Name, &p.Description); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeleteAPI removes the API, its permissions and the role grants of them. ErrNotFound when absent.
func (q *queries) DeleteAPI(ctx context.Context, tenantID, id string) error {
	for _, table := range []string{"role_permissions", "api_permissions"} {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = ? AND api_id = ?`, tenantID, id); err != nil {
			return fmt.Errorf("delete api %s: %w", id, err)
		}
	}
	if err := q.execOne(ctx, `DELETE FROM apis WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
		return fmt.Errorf("delete api %s: %w", id, err)
	}
	return nil
}

// pageLimit bounds a page's size: 1 to 1000, 100 when unset.
func pageLimit(limit int) int {
	if limit <= 0 || limit > 1000 {
		return 100
	}
	return limit
}

// APIPermissionNames returns those of names that are a permission of some API of the tenant, in the
// order given.
func (q *queries) APIPermissionNames(ctx context.Context, tenantID string, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	args := []any{tenantID}
	for _, n := range names {
		args = append(args, n)
	}
	ph := strings.Repeat("?, ", len(names))
	found, err := q.queryStrings(ctx, `SELECT DISTINCT name FROM api_permissions WHERE tenant_id = ? AND name IN (`+ph[:len(ph)-2]+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("api permission names: %w", err)
	}
	var out []string
	for _, n := range names { // in the order asked
		if slices.Contains(found, n) {
			out = append(out, n)
		}
	}
	return out, nil
}
