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
	// TokensNotBefore: access tokens issued at or before this second belong to an earlier client registered
	// under the same id (deleted since) and are refused. Set by the store when the id has a tombstone.
	TokensNotBefore int64
	// PreviousSecretHash is the secret replaced by the last rotation, accepted until PreviousSecretExpiresAt.
	PreviousSecretHash      []byte
	PreviousSecretExpiresAt time.Time
	// RequiredProfileFields the user must have filled before the client gets tokens; InitiateLoginURI
	// starts the client's own sign-in (OIDC Registration §2).
	RequiredProfileFields []string
	InitiateLoginURI      string
	// MFAPolicy replaces the tenant's MFA policy for this client; empty follows the tenant.
	MFAPolicy string
	// OrganizationRequired: users sign in to this client within an organization (organization=ID).
	// TokenClaims are the authorization claims its tokens carry (roles, permissions, groups, org_id,
	// org_roles).
	OrganizationRequired bool
	TokenClaims          []string
}

// Public reports whether the client has no credentials (PKCE required).
func (c Client) Public() bool { return c.TokenEndpointAuthMethod == "none" }

// HasGrant reports whether the client may use grant type g.
func (c Client) HasGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

const clientCols = `tenant_id, client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, grant_types,
	scopes, token_endpoint_auth_method, first_party, jwks, jwks_uri, id_token_alg, created_at, updated_at,
	allowed_origins, backchannel_logout_uri, backchannel_logout_session_required, frontchannel_logout_uri,
	frontchannel_logout_session_required, required_profile_fields, initiate_login_uri,
	tokens_not_before, previous_secret_hash, previous_secret_expires_at, mfa_policy, organization_required, token_claims`

// UpsertClient creates the client or replaces every field of an existing one (created_at is kept). A new
// client whose id was deleted before starts after the deletion (TokensNotBefore), so nothing issued to the
// deleted one comes back. Changing the secret hash drops a previous secret still in its grace period.
func (q *queries) UpsertClient(ctx context.Context, c Client) error {
	now := time.Now().Unix()
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = "RS256"
	}
	_, err := q.exec(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
		COALESCE((SELECT deleted_at FROM client_tombstones WHERE tenant_id = ? AND client_id = ?), 0), NULL, 0, ?, ?, ?)
		ON CONFLICT (tenant_id, client_id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash,
		previous_secret_hash = CASE WHEN clients.secret_hash = excluded.secret_hash THEN clients.previous_secret_hash END,
		previous_secret_expires_at = CASE WHEN clients.secret_hash = excluded.secret_hash
			THEN clients.previous_secret_expires_at ELSE 0 END,
		redirect_uris = excluded.redirect_uris, post_logout_redirect_uris = excluded.post_logout_redirect_uris,
		grant_types = excluded.grant_types, scopes = excluded.scopes,
		token_endpoint_auth_method = excluded.token_endpoint_auth_method, first_party = excluded.first_party,
		jwks = excluded.jwks, jwks_uri = excluded.jwks_uri, id_token_alg = excluded.id_token_alg,
		updated_at = excluded.updated_at, allowed_origins = excluded.allowed_origins,
		backchannel_logout_uri = excluded.backchannel_logout_uri,
		backchannel_logout_session_required = excluded.backchannel_logout_session_required,
		frontchannel_logout_uri = excluded.frontchannel_logout_uri,
		frontchannel_logout_session_required = excluded.frontchannel_logout_session_required,
		required_profile_fields = excluded.required_profile_fields, initiate_login_uri = excluded.initiate_login_uri,
		mfa_policy = excluded.mfa_policy, organization_required = excluded.organization_required,
		token_claims = excluded.token_claims`,
		c.TenantID, c.ClientID, c.Name, c.SecretHash, jsonList(c.RedirectURIs), jsonList(c.PostLogoutRedirectURIs),
		jsonList(c.GrantTypes), jsonList(c.Scopes), c.TokenEndpointAuthMethod, c.FirstParty, c.JWKS, c.JWKSURI,
		c.IDTokenAlg, now, now, jsonList(c.AllowedOrigins), c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired,
		c.FrontchannelLogoutURI, c.FrontchannelLogoutSessionRequired, jsonList(c.RequiredProfileFields), c.InitiateLoginURI,
		c.TenantID, c.ClientID, c.MFAPolicy, c.OrganizationRequired, jsonList(c.TokenClaims))
	if err != nil {
		return fmt.Errorf("upsert client %s: %w", c.ClientID, err)
	}
	// The tombstone is now in the row; a later deletion writes a new one.
	if _, err := q.exec(ctx, `DELETE FROM client_tombstones WHERE tenant_id = ? AND client_id = ?`, c.TenantID, c.ClientID); err != nil {
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
		var redirects, logouts, grants, scopes, origins, required, claims string
		var created, updated, prevExpires int64
		if err := rows.Scan(&c.TenantID, &c.ClientID, &c.Name, &c.SecretHash, &redirects, &logouts, &grants, &scopes,
			&c.TokenEndpointAuthMethod, &c.FirstParty, &c.JWKS, &c.JWKSURI, &c.IDTokenAlg, &created, &updated,
			&origins, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired, &c.FrontchannelLogoutURI,
			&c.FrontchannelLogoutSessionRequired, &required, &c.InitiateLoginURI, &c.TokensNotBefore, &c.PreviousSecretHash, &prevExpires, &c.MFAPolicy,
			&c.OrganizationRequired, &claims); err != nil {
			return nil, err
		}
		if prevExpires > 0 {
			c.PreviousSecretExpiresAt = time.Unix(prevExpires, 0)
		}
		c.RedirectURIs, c.PostLogoutRedirectURIs = parseList(redirects), parseList(logouts)
		c.GrantTypes, c.Scopes = parseList(grants), parseList(scopes)
		c.AllowedOrigins, c.RequiredProfileFields = parseList(origins), parseList(required)
		c.TokenClaims = parseList(claims)
		c.CreatedAt, c.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, c)
	}
	return out, rows.Err()
}
