package management

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// User is a user of the tenant.
type User struct {
	ID            string         `json:"id,omitempty"`
	Email         string         `json:"email,omitempty"`
	EmailVerified bool           `json:"email_verified,omitempty"`
	GivenName     string         `json:"given_name,omitempty"`
	FamilyName    string         `json:"family_name,omitempty"`
	Status        string         `json:"status,omitempty"` // "active" or "blocked"
	Attributes    map[string]any `json:"attributes,omitempty"`
	Roles         []string       `json:"roles,omitempty"` // the roles held directly (groups and organizations add more)
	CreatedAt     time.Time      `json:"created_at,omitzero"`
	UpdatedAt     time.Time      `json:"updated_at,omitzero"`
	// ETag is the version this value was read at; pass it to IfMatch.
	ETag string `json:"-"`
}

func (u *User) setETag(s string) { u.ETag = s }

// User statuses.
const (
	UserActive  = "active"
	UserBlocked = "blocked"
)

// NewUser is a user to create.
type NewUser struct {
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified,omitempty"`
	GivenName     string         `json:"given_name,omitempty"`
	FamilyName    string         `json:"family_name,omitempty"`
	Attributes    map[string]any `json:"attributes,omitempty"`
	Roles         []string       `json:"roles,omitempty"`
	// Password, when set, is the user's initial password; otherwise the user sets one through recovery
	// or signs in another way.
	Password string `json:"password,omitempty"`
}

// UserPatch is a JSON merge patch (RFC 7396) of a user: nil fields are left as they are. In Attributes,
// a key mapped to nil removes that attribute.
type UserPatch struct {
	Email         *string        `json:"email,omitempty"`
	EmailVerified *bool          `json:"email_verified,omitempty"`
	GivenName     *string        `json:"given_name,omitempty"`
	FamilyName    *string        `json:"family_name,omitempty"`
	Status        *string        `json:"status,omitempty"`
	Attributes    map[string]any `json:"attributes,omitempty"`
}

// UserListOptions filter and page the users.
type UserListOptions struct {
	ListOptions
	Email     string // a whole address, or the beginning of addresses
	Name      string // the beginning of a given or family name (case-insensitive)
	Attribute string // name:value of a profile value, such as "department:sales"
	Role      string // users holding this role directly
	Org       string // members of this organization
	Status    string // UserActive or UserBlocked
	Sort      string // "id" (default), "email" or "created_at"
}

func (o UserListOptions) values() url.Values {
	q := o.ListOptions.values()
	setIf(q, "email", o.Email)
	setIf(q, "name", o.Name)
	setIf(q, "attribute", o.Attribute)
	setIf(q, "role", o.Role)
	setIf(q, "org", o.Org)
	setIf(q, "status", o.Status)
	setIf(q, "sort", o.Sort)
	return q
}

// ListUsers returns one page of users.
func (c *Client) ListUsers(ctx context.Context, opts UserListOptions) (*Page[User], error) {
	return list[User](ctx, c, "/users", opts.values())
}

// AllUsers iterates over every user matching opts, page after page.
func (c *Client) AllUsers(ctx context.Context, opts UserListOptions) iter.Seq2[User, error] {
	return all[User](ctx, c, "/users", opts.values())
}

// GetUser returns the user id.
func (c *Client) GetUser(ctx context.Context, id string) (*User, error) {
	return call[User](ctx, c, request{method: http.MethodGet, path: "/users" + seg(id)}, nil)
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, u NewUser) (*User, error) {
	return call[User](ctx, c, request{method: http.MethodPost, path: "/users", body: u}, nil)
}

// UpdateUser applies patch to the user id; with IfMatch, only if the user is unchanged since read.
func (c *Client) UpdateUser(ctx context.Context, id string, patch UserPatch, opts ...RequestOption) (*User, error) {
	return call[User](ctx, c, request{method: http.MethodPatch, path: "/users" + seg(id), body: patch, contentType: mergePatch}, opts)
}

// DeleteUser deletes the user id.
func (c *Client) DeleteUser(ctx context.Context, id string, opts ...RequestOption) error {
	return c.exec(ctx, request{method: http.MethodDelete, path: "/users" + seg(id)}, opts)
}

// SetUserRoles replaces the tenant roles of the user id by roles (role names), returning them as stored.
func (c *Client) SetUserRoles(ctx context.Context, id string, roles []string) ([]string, error) {
	r, err := call[rolesBody](ctx, c, request{method: http.MethodPut, path: "/users" + seg(id) + "/roles",
		body: rolesBody{Roles: nonNil(roles)}}, nil)
	if err != nil {
		return nil, err
	}
	return r.Roles, nil
}

type rolesBody struct {
	Roles []string `json:"roles"`
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
