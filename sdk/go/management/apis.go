package management

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// API is a resource server registered with the tenant: the audience of the access tokens issued for it
// and the permissions roles grant on it.
type API struct {
	ID          string          `json:"id,omitempty"`
	Identifier  string          `json:"identifier"` // https://api.example.com: the tokens' aud
	Name        string          `json:"name,omitempty"`
	Permissions []APIPermission `json:"permissions,omitempty"`
	// TokenLifetime is the access tokens' lifetime in seconds; 0: the tenant's default.
	TokenLifetime int `json:"token_lifetime,omitempty"`
	// Claims are the authorization claims its tokens carry: "roles", "permissions", "groups", "org_id",
	// "org_roles".
	Claims    []string  `json:"claims,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	ETag      string    `json:"-"`
}

func (a *API) setETag(s string) { a.ETag = s }

// APIPermission is a permission an API defines.
type APIPermission struct {
	Name        string `json:"name"` // orders:read
	Description string `json:"description"`
}

// APIPatch is a JSON merge patch of an API; the lists, when not nil, replace the API's.
type APIPatch struct {
	Name          *string         `json:"name,omitempty"`
	Permissions   []APIPermission `json:"permissions,omitzero"`
	TokenLifetime *int            `json:"token_lifetime,omitempty"`
	Claims        []string        `json:"claims,omitzero"`
}

// ListAPIs returns one page of APIs.
func (c *Client) ListAPIs(ctx context.Context, opts ListOptions) (*Page[API], error) {
	return list[API](ctx, c, "/apis", opts.values())
}

// AllAPIs iterates over every API.
func (c *Client) AllAPIs(ctx context.Context, opts ListOptions) iter.Seq2[API, error] {
	return all[API](ctx, c, "/apis", opts.values())
}

// GetAPI returns the API id.
func (c *Client) GetAPI(ctx context.Context, id string) (*API, error) {
	return call[API](ctx, c, request{method: http.MethodGet, path: "/apis" + seg(id)}, nil)
}

// CreateAPI registers an API.
func (c *Client) CreateAPI(ctx context.Context, a API) (*API, error) {
	return call[API](ctx, c, request{method: http.MethodPost, path: "/apis", body: a}, nil)
}

// UpdateAPI applies patch to the API id.
func (c *Client) UpdateAPI(ctx context.Context, id string, patch APIPatch, opts ...RequestOption) (*API, error) {
	return call[API](ctx, c, request{method: http.MethodPatch, path: "/apis" + seg(id), body: patch, contentType: mergePatch}, opts)
}

// DeleteAPI deletes the API id.
func (c *Client) DeleteAPI(ctx context.Context, id string, opts ...RequestOption) error {
	return c.exec(ctx, request{method: http.MethodDelete, path: "/apis" + seg(id)}, opts)
}
