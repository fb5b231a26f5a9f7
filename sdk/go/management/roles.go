package management

import (
	"context"
	"iter"
	"net/http"
)

// Role is a named set of permissions on the tenant's APIs.
type Role struct {
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Permissions []RolePermission `json:"permissions"`
	ETag        string           `json:"-"`
}

func (r *Role) setETag(s string) { r.ETag = s }

// RolePermission is one permission of an API, granted by a role.
type RolePermission struct {
	API        string `json:"api"` // the API's identifier
	Permission string `json:"permission"`
}

// RolePatch is a JSON merge patch of a role; Permissions, when not nil, replaces the role's permissions.
type RolePatch struct {
	Description *string          `json:"description,omitempty"`
	Permissions []RolePermission `json:"permissions,omitzero"`
}

// ListRoles returns one page of roles.
func (c *Client) ListRoles(ctx context.Context, opts ListOptions) (*Page[Role], error) {
	return list[Role](ctx, c, "/roles", opts.values())
}

// AllRoles iterates over every role.
func (c *Client) AllRoles(ctx context.Context, opts ListOptions) iter.Seq2[Role, error] {
	return all[Role](ctx, c, "/roles", opts.values())
}

// GetRole returns the role name.
func (c *Client) GetRole(ctx context.Context, name string) (*Role, error) {
	return call[Role](ctx, c, request{method: http.MethodGet, path: "/roles" + seg(name)}, nil)
}

// CreateRole creates a role.
func (c *Client) CreateRole(ctx context.Context, r Role) (*Role, error) {
	r.Permissions = nonNil(r.Permissions)
	return call[Role](ctx, c, request{method: http.MethodPost, path: "/roles", body: r}, nil)
}

// UpdateRole applies patch to the role name.
func (c *Client) UpdateRole(ctx context.Context, name string, patch RolePatch, opts ...RequestOption) (*Role, error) {
	return call[Role](ctx, c, request{method: http.MethodPatch, path: "/roles" + seg(name), body: patch, contentType: mergePatch}, opts)
}

// DeleteRole deletes the role name.
func (c *Client) DeleteRole(ctx context.Context, name string, opts ...RequestOption) error {
	return c.exec(ctx, request{method: http.MethodDelete, path: "/roles" + seg(name)}, opts)
}
