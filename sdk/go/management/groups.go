package management

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Group is a set of users that share roles.
type Group struct {
	ID          string    `json:"id,omitempty"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Roles       []string  `json:"roles,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	ETag        string    `json:"-"`
}

func (g *Group) setETag(s string) { g.ETag = s }

// GroupPatch is a JSON merge patch of a group; Roles, when not nil, replaces the group's roles.
type GroupPatch struct {
	Name        *string  `json:"name,omitempty"`
	Description *string  `json:"description,omitempty"`
	Roles       []string `json:"roles,omitzero"`
}

// GroupMember is a user in a group.
type GroupMember struct {
	UserID  string    `json:"user_id"`
	Email   string    `json:"email,omitempty"`
	AddedAt time.Time `json:"added_at,omitzero"`
}

// ListGroups returns one page of groups.
func (c *Client) ListGroups(ctx context.Context, opts ListOptions) (*Page[Group], error) {
	return list[Group](ctx, c, "/groups", opts.values())
}

// AllGroups iterates over every group.
func (c *Client) AllGroups(ctx context.Context, opts ListOptions) iter.Seq2[Group, error] {
	return all[Group](ctx, c, "/groups", opts.values())
}

// GetGroup returns the group id.
func (c *Client) GetGroup(ctx context.Context, id string) (*Group, error) {
	return call[Group](ctx, c, request{method: http.MethodGet, path: "/groups" + seg(id)}, nil)
}

// CreateGroup creates a group.
func (c *Client) CreateGroup(ctx context.Context, g Group) (*Group, error) {
	return call[Group](ctx, c, request{method: http.MethodPost, path: "/groups", body: g}, nil)
}

// UpdateGroup applies patch to the group id.
func (c *Client) UpdateGroup(ctx context.Context, id string, patch GroupPatch, opts ...RequestOption) (*Group, error) {
	return call[Group](ctx, c, request{method: http.MethodPatch, path: "/groups" + seg(id), body: patch, contentType: mergePatch}, opts)
}

// DeleteGroup deletes the group id.
func (c *Client) DeleteGroup(ctx context.Context, id string, opts ...RequestOption) error {
	return c.exec(ctx, request{method: http.MethodDelete, path: "/groups" + seg(id)}, opts)
}

// ListGroupMembers returns one page of the members of the group id.
func (c *Client) ListGroupMembers(ctx context.Context, id string, opts ListOptions) (*Page[GroupMember], error) {
	return list[GroupMember](ctx, c, "/groups"+seg(id)+"/members", opts.values())
}

// AllGroupMembers iterates over every member of the group id.
func (c *Client) AllGroupMembers(ctx context.Context, id string, opts ListOptions) iter.Seq2[GroupMember, error] {
	return all[GroupMember](ctx, c, "/groups"+seg(id)+"/members", opts.values())
}

// AddGroupMember adds the user userID to the group id.
func (c *Client) AddGroupMember(ctx context.Context, id, userID string) error {
	return c.exec(ctx, request{method: http.MethodPost, path: "/groups" + seg(id) + "/members",
		body: map[string]string{"user_id": userID}}, nil)
}

// RemoveGroupMember removes the user userID from the group id.
func (c *Client) RemoveGroupMember(ctx context.Context, id, userID string) error {
	return c.exec(ctx, request{method: http.MethodDelete, path: "/groups" + seg(id) + "/members" + seg(userID)}, nil)
}
