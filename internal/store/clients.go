package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Client is a registered OAuth 2.0 / OIDC client. SecretHash is a keyed hash (never the secret).
type Client struct {
	TenantID                string
	ClientID                string
	Name                    string
	SecretHash              []byte // nil for public clients and private_key_jwt
	RedirectURIs            []string
	PostLogoutRedirectURIs  []string
	GrantTypes              []string
	Scopes                  []string
	TokenEndpointAuthMethod string // client_secret_basic, client_secret_post, private_key_jwt, none
	FirstParty              bool
	JWKS                    string // inline JWK Set JSON for private_key_jwt
	JWKSURI                 string
	IDTokenAlg              string // RS256 (default) or ES256
	CreatedAt, UpdatedAt    time.Time
	AllowedOrigins          []string // web origins allowed to call the token endpoints (CORS), canonical form
	// OpenID Connect Back-Channel Logout 1.0 §2.2 and Front-Channel Logout 1.0 §2: where the client is told
	// that a session in which it received tokens ended, and whether it needs the sid (and iss) to act on it.
	BackchannelLogoutURI              string
	BackchannelLogoutSessionRequired  bool
	FrontchannelLogoutURI             string
	FrontchannelLogoutSessionRequired bool
}

// Public reports whether the client has no credentials (PKCE required).
func (c Client) Public() bool { return c.TokenEndpointAuthMethod == "none" }

// HasGrant reports whether the client may use grant type g.
func (c Client) HasGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

const clientCols = `tenant_id, client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, grant_types,
	scopes, token_endpoint_auth_method, first_party, jwks, jwks_uri, id_token_alg, created_at, updated_at,
	allowed_origins, backchannel_logout_uri, backchannel_logout_session_required, frontchannel_logout_uri,
	frontchannel_logout_session_required`

// UpsertClient creates the client or replaces every field of an existing one (created_at is kept).
func (q *queries) UpsertClient(ctx context.Context, c Client) error {
	now := time.Now().Unix()
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = "RS256"
	}
	_, err := q.exec(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, client_id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash,
		redirect_uris = excluded.redirect_uris, post_logout_redirect_uris = excluded.post_logout_redirect_uris,
		grant_types = excluded.grant_types, scopes = excluded.scopes,
		token_endpoint_auth_method = excluded.token_endpoint_auth_method, first_party = excluded.first_party,
		jwks = excluded.jwks, jwks_uri = excluded.jwks_uri, id_token_alg = excluded.id_token_alg,
		updated_at = excluded.updated_at, allowed_origins = excluded.allowed_origins,
		backchannel_logout_uri = excluded.backchannel_logout_uri,
		backchannel_logout_session_required = excluded.backchannel_logout_session_required,
		frontchannel_logout_uri = excluded.frontchannel_logout_uri,
		frontchannel_logout_session_required = excluded.frontchannel_logout_session_required`,
		c.TenantID, c.ClientID, c.Name, c.SecretHash, jsonList(c.RedirectURIs), jsonList(c.PostLogoutRedirectURIs),
		jsonList(c.GrantTypes), jsonList(c.Scopes), c.TokenEndpointAuthMethod, c.FirstParty, c.JWKS, c.JWKSURI,
		c.IDTokenAlg, now, now, jsonList(c.AllowedOrigins), c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired,
		c.FrontchannelLogoutURI, c.FrontchannelLogoutSessionRequired)
	if err != nil {
		return fmt.Errorf("upsert client %s: %w", c.ClientID, err)
	}
	return q.notify(ctx, TopicClient, c.TenantID+":"+c.ClientID)
}

// GetClient returns the client or ErrNotFound.
func (q *queries) GetClient(ctx context.Context, tenantID, clientID string) (Client, error) {
	rows, err := q.query(ctx, `SELECT `+clientCols+` FROM clients WHERE tenant_id = ? AND client_id = ?`, tenantID, clientID)
	if err != nil {
		return Client{}, fmt.Errorf("get client: %w", err)
	}
	cs, err := scanClients(rows)
	if err != nil {
		return Client{}, fmt.Errorf("get client: %w", err)
	}
	if len(cs) == 0 {
		return Client{}, fmt.Errorf("get client %s: %w", clientID, ErrNotFound)
	}
	return cs[0], nil
}

// ListClients returns a tenant's clients ordered by client_id.
func (q *queries) ListClients(ctx context.Context, tenantID string) ([]Client, error) {
	rows, err := q.query(ctx, `SELECT `+clientCols+` FROM clients WHERE tenant_id = ? ORDER BY client_id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return scanClients(rows)
}

// DeleteClient removes the client; ErrNotFound when absent.
func (q *queries) DeleteClient(ctx context.Context, tenantID, clientID string) error {
	if err := q.execOne(ctx, `DELETE FROM clients WHERE tenant_id = ? AND client_id = ?`, tenantID, clientID); err != nil {
		return err
	}
	return q.notify(ctx, TopicClient, tenantID+":"+clientID)
}

func scanClients(rows interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}) ([]Client, error) {
	defer rows.Close()
	var out []Client
	for rows.Next() {
		var c Client
		var redirects, logouts, grants, scopes, origins string
		var created, updated int64
		if err := rows.Scan(&c.TenantID, &c.ClientID, &c.Name, &c.SecretHash, &redirects, &logouts, &grants, &scopes,
			&c.TokenEndpointAuthMethod, &c.FirstParty, &c.JWKS, &c.JWKSURI, &c.IDTokenAlg, &created, &updated,
			&origins, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired, &c.FrontchannelLogoutURI,
			&c.FrontchannelLogoutSessionRequired); err != nil {
			return nil, err
		}
		c.RedirectURIs, c.PostLogoutRedirectURIs = parseList(redirects), parseList(logouts)
		c.GrantTypes, c.Scopes = parseList(grants), parseList(scopes)
		c.AllowedOrigins = parseList(origins)
		c.CreatedAt, c.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, c)
	}
	return out, rows.Err()
}
