package management

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Organization is a customer organization of the tenant (B2B), with its members and sign-in connections.
type Organization struct {
	ID          string         `json:"id,omitempty"`
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name,omitempty"`
	Branding    map[string]any `json:"branding,omitempty"`
	Connections []string       `json:"connections,omitempty"` // connection ids
	CreatedAt   time.Time      `json:"created_at,omitzero"`
	UpdatedAt   time.Time      `json:"updated_at,omitzero"`
	ETag        string         `json:"-"`
}

func (o *Organization) setETag(s string) { o.ETag = s }

// OrganizationPatch is a JSON merge patch of an organization. In Branding, a key mapped to nil removes
// that setting; Connections, when not nil, replaces the list.
type OrganizationPatch struct {
	Name        *string        `json:"name,omitempty"`
	DisplayName *string        `json:"display_name,omitempty"`
	Branding    map[string]any `json:"branding,omitempty"`
	Connections []string       `json:"connections,omitzero"`
}

// OrganizationMember is a user's membership of an organization.
type OrganizationMember struct {
	UserID   string    `json:"user_id"`
	Email    string    `json:"email,omitempty"`
	Roles    []string  `json:"roles"`
	JoinedAt time.Time `json:"joined_at,omitzero"`
}

// ListOrganizations returns one page of organizations.
func (c *Client) ListOrganizations(ctx context.Context, opts ListOptions) (*Page[Organization], error) {
	return list[Organization](ctx, c, "/organizations", opts.values())
}

// AllOrganizations iterates over every organization.
func (c *Client) AllOrganizations(ctx context.Context, opts ListOptions) iter.Seq2[Organization, error] {
	return all[Organization](ctx, c, "/organizations", opts.values())
}

// GetOrganization returns the organization id.
func (c *Client) GetOrganization(ctx context.Context, id string) (*Organization, error) {
	return call[Organization](ctx, c, request{method: http.MethodGet, path: "/organizations" + seg(id)}, nil)
}

// CreateOrganization creates an organization.
func (c *Client) CreateOrganization(ctx context.Context, o Organization) (*Organization, error) {
	return call[Organization](ctx, c, request{method: http.MethodPost, path: "/organizations", body: o}, nil)
}

// UpdateOrganization applies patch to the organization id.
func (c *Client) UpdateOrganization(ctx context.Context, id string, patch OrganizationPatch, opts ...RequestOption) (*Organization, error) {
	return call[Organization](ctx, c, request{method: http.MethodPatch, path: "/organizations" + seg(id), body: patch,
		contentType: mergePatch}, opts)
}

// DeleteOrganization deletes the organization id.
func (c *Client) DeleteOrganization(ctx context.Context, id string, opts ...RequestOption) error {
	return c.exec(ctx, request{method: http.MethodDelete, path: "/organizations" + seg(id)}, opts)
}

// ListOrganizationMembers returns one page of the members of the organization id.
func (c *Client) ListOrganizationMembers(ctx context.Context, id string, opts ListOptions) (*Page[OrganizationMember], error) {
	return list[OrganizationMember](ctx, c, "/organizations"+seg(id)+"/members", opts.values())
}

// AllOrganizationMembers iterates over every member of the organization id.
func (c *Client) AllOrganizationMembers(ctx context.Context, id string, opts ListOptions) iter.Seq2[OrganizationMember, error] {
	return all[OrganizationMember](ctx, c, "/organizations"+seg(id)+"/members", opts.values())
}

// AddOrganizationMember makes the user userID a member of the organization id with roles (organization
// role names).
func (c *Client) AddOrganizationMember(ctx context.Context, id, userID string, roles []string) error {
	return c.exec(ctx, request{method: http.MethodPost, path: "/organizations" + seg(id) + "/members",
		body: OrganizationMember{UserID: userID, Roles: nonNil(roles)}}, nil)
}

// SetOrganizationMemberRoles replaces the roles of the member userID in the organization id.
func (c *Client) SetOrganizationMemberRoles(ctx context.Context, id, userID string, roles []string) ([]string, error) {
	r, err := call[rolesBody](ctx, c, request{method: http.MethodPut,
		path: "/organizations" + seg(id) + "/members" + seg(userID) + "/roles", body: rolesBody{Roles: nonNil(roles)}}, nil)
	if err != nil {
		return nil, err
	}
	return r.Roles, nil
}

// RemoveOrganizationMember removes the user userID from the organization id.
func (c *Client) RemoveOrganizationMember(ctx context.Context, id, userID string) error {
	return c.exec(ctx, request{method: http.MethodDelete, path: "/organizations" + seg(id) + "/members" + seg(userID)}, nil)
}
