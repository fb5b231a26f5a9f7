package management

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// OAuthClient is an application registered with the tenant (an OAuth client).
type OAuthClient struct {
	ClientID                string   `json:"client_id,omitempty"`
	Name                    string   `json:"name,omitempty"`
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	Scopes                  []string `json:"scopes,omitempty"`
	FirstParty              bool     `json:"first_party,omitempty"`
	AllowedOrigins          []string `json:"allowed_origins,omitempty"`
	MFAPolicy               string   `json:"mfa_policy,omitempty"`
	// ClientSecret is set only in the answer of CreateClient: store it then, it is not shown again.
	ClientSecret string    `json:"client_secret,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
	ETag         string    `json:"-"`
}

func (o *OAuthClient) setETag(s string) { o.ETag = s }

// ClientPatch is a JSON merge patch of a client: nil fields are left as they are; an empty, non-nil
// list empties that list.
type ClientPatch struct {
	Name                    *string  `json:"name,omitempty"`
	RedirectURIs            []string `json:"redirect_uris,omitzero"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitzero"`
	GrantTypes              []string `json:"grant_types,omitzero"`
	TokenEndpointAuthMethod *string  `json:"token_endpoint_auth_method,omitempty"`
	Scopes                  []string `json:"scopes,omitzero"`
	FirstParty              *bool    `json:"first_party,omitempty"`
	AllowedOrigins          []string `json:"allowed_origins,omitzero"`
	MFAPolicy               *string  `json:"mfa_policy,omitempty"`
}

// ListClients returns one page of clients.
func (c *Client) ListClients(ctx context.Context, opts ListOptions) (*Page[OAuthClient], error) {
	return list[OAuthClient](ctx, c, "/clients", opts.values())
}

// AllClients iterates over every client.
func (c *Client) AllClients(ctx context.Context, opts ListOptions) iter.Seq2[OAuthClient, error] {
	return all[OAuthClient](ctx, c, "/clients", opts.values())
}

// GetClient returns the client clientID.
func (c *Client) GetClient(ctx context.Context, clientID string) (*OAuthClient, error) {
	return call[OAuthClient](ctx, c, request{method: http.MethodGet, path: "/clients" + seg(clientID)}, nil)
}

// CreateClient registers a client. The answer carries its ClientSecret, once, for a confidential client.
func (c *Client) CreateClient(ctx context.Context, client OAuthClient) (*OAuthClient, error) {
	return call[OAuthClient](ctx, c, request{method: http.MethodPost, path: "/clients", body: client}, nil)
}

// UpdateClient applies patch to the client clientID.
func (c *Client) UpdateClient(ctx context.Context, clientID string, patch ClientPatch, opts ...RequestOption) (*OAuthClient, error) {
	return call[OAuthClient](ctx, c, request{method: http.MethodPatch, path: "/clients" + seg(clientID), body: patch,
		contentType: mergePatch}, opts)
}

// DeleteClient deletes the client clientID.
func (c *Client) DeleteClient(ctx context.Context, clientID string, opts ...RequestOption) error {
	return c.exec(ctx, request{method: http.MethodDelete, path: "/clients" + seg(clientID)}, opts)
}

// RotateClientSecret gives the client clientID a new secret and returns it; it is not shown again.
func (c *Client) RotateClientSecret(ctx context.Context, clientID string) (string, error) {
	r, err := call[struct {
		ClientSecret string `json:"client_secret"`
	}](ctx, c, request{method: http.MethodPost, path: "/clients" + seg(clientID) + "/rotate-secret"}, nil)
	if err != nil {
		return "", err
	}
	return r.ClientSecret, nil
}
