package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Token endpoint authentication methods (RFC 7591 §2, OIDC Core §9).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none"
)

// DefaultGrantTypes are given to a client registered without a grant type list.
var DefaultGrantTypes = []string{"authorization_code", "refresh_token"}

// ClientInput is a client to create or replace. Scopes empty means the standard scopes.
type ClientInput struct {
	ClientID string
	Name     string
	// Secret is the client secret for client_secret_basic/_post. UpsertClient keeps the stored secret when it
	// is empty; CreateClient generates one. UMM stores only keys.Keyring.HashSecret of it.
	Secret                  keys.Secret
	RedirectURIs            []string
	PostLogoutRedirectURIs  []string
	GrantTypes              []string
	Scopes                  []string
	TokenEndpointAuthMethod string // empty: client_secret_basic with a secret, private_key_jwt with keys, else none
	FirstParty              bool   // trusted: no consent page
	JWKS                    string // inline JWK Set (private_key_jwt)
	JWKSURI                 string // or where to fetch it
	IDTokenAlg              string // RS256 (default) or ES256
	// AllowedOrigins are web origins whose browser apps may call the token endpoints (CORS), in addition
	// to the origins of a public client's redirect URIs. Stored in canonical form (config.CheckOrigin).
	AllowedOrigins []string
	// Single logout (clients_logout.go): where the client hears that a session it got tokens in ended.
	BackchannelLogoutURI              string
	BackchannelLogoutSessionRequired  bool
	FrontchannelLogoutURI             string
	FrontchannelLogoutSessionRequired bool
	// Profile (seed_profile.go): fields the user must have filled, and the client's own sign-in start.
	RequiredProfileFields []string
	InitiateLoginURI      string
	// MFAPolicy replaces the tenant's MFA policy for this client (empty: the tenant's).
	MFAPolicy string
	// OrganizationRequired: users sign in to the client within an organization. TokenClaims are the
	// authorization claims (config.TokenClaims) its tokens carry.
	OrganizationRequired bool
	TokenClaims          []string
}

// ClientFromSeed converts a seed entry.
func ClientFromSeed(c config.ClientSeed) ClientInput {
	return ClientInput{
		ClientID: c.ClientID, Name: c.Name, Secret: keys.Secret(c.ClientSecret),
		RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes: c.GrantTypes, Scopes: c.Scopes, TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		FirstParty: c.FirstParty, JWKS: c.JWKS, JWKSURI: c.JWKSURI, IDTokenAlg: c.IDTokenSignedResponseAlg,
		AllowedOrigins:       c.AllowedOrigins,
		BackchannelLogoutURI: c.BackchannelLogoutURI, BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI: c.FrontchannelLogoutURI, FrontchannelLogoutSessionRequired: c.FrontchannelLogoutSessionRequired,
		RequiredProfileFields: c.RequiredProfileFields, InitiateLoginURI: c.InitiateLoginURI,
		MFAPolicy: c.MFAPolicy, OrganizationRequired: c.OrganizationRequired, TokenClaims: c.TokenClaims,
	}
}

// usesSecret reports whether the auth method authenticates with a shared secret.
func usesSecret(method string) bool { return method == AuthSecretBasic || method == AuthSecretPost }

// normalize fills defaults. hasStoredSecret says an existing client already has a secret hash.
func (in *ClientInput) normalize(hasStoredSecret bool) {
	in.ClientID = strings.TrimSpace(in.ClientID)
	in.Name = strings.TrimSpace(in.Name)
	if in.TokenEndpointAuthMethod == "" {
		switch {
		case in.Secret != "":
			in.TokenEndpointAuthMethod = AuthSecretBasic
		case in.JWKS != "" || in.JWKSURI != "":
			in.TokenEndpointAuthMethod = AuthPrivateKeyJWT
		case hasStoredSecret:
			in.TokenEndpointAuthMethod = AuthSecretBasic
		default:
			in.TokenEndpointAuthMethod = AuthNone
		}
	}
	if len(in.GrantTypes) == 0 {
		in.GrantTypes = slices.Clone(DefaultGrantTypes)
		if in.TokenEndpointAuthMethod != AuthNone && len(in.RedirectURIs) == 0 {
			// A confidential client without redirect URIs is a machine client.
			in.GrantTypes = []string{"client_credentials"}
		}
	}
	if in.IDTokenAlg == "" {
		in.IDTokenAlg = "RS256"
	}
	// Browsers send the Origin header in one form (lower case, no default port): store that form, so a
	// lookup is an exact comparison. A value that is no origin stays as given for validate to report.
	origins := make([]string, len(in.AllowedOrigins))
	for i, o := range in.AllowedOrigins {
		if canon, err := config.CheckOrigin(strings.TrimSpace(o)); err == nil {
			o = canon
		}
		origins[i] = o
	}
	in.AllowedOrigins = origins
}

// validate checks everything about the client and says what to fix. hasStoredSecret: an update may
// leave Secret empty to keep the stored one.
func (in *ClientInput) validate(hasStoredSecret bool) error {
	var p problems
	if err := config.CheckClientID(in.ClientID); err != nil {
		p.add("client_id", err.Error())
	}
	if err := config.CheckTokenClaims(in.TokenClaims); err != nil {
		p.add("token_claims", err.Error())
	}
	if len(in.Name) > 200 {
		p.add("name", "must be at most 200 characters")
	}
	m := in.TokenEndpointAuthMethod
	if !slices.Contains(config.AuthMethods, m) {
		p.add("token_endpoint_auth_method", fmt.Sprintf("%q is not one of %s", m, strings.Join(config.AuthMethods, ", ")))
	}
	seen := map[string]bool{}
	for _, g := range in.GrantTypes {
		switch {
		case !slices.Contains(config.GrantTypes, g):
			p.add("grant_types", fmt.Sprintf("%q is not one of %s", g, strings.Join(config.GrantTypes, ", ")))
		case seen[g]:
			p.add("grant_types", fmt.Sprintf("%q appears twice", g))
		}
		seen[g] = true
	}
	if seen["refresh_token"] && !seen["authorization_code"] && !seen["urn:ietf:params:oauth:grant-type:device_code"] {
		p.add("grant_types", "refresh_token needs authorization_code or the device_code grant, which issue refresh tokens")
	}
	if seen["authorization_code"] && len(in.RedirectURIs) == 0 {
		p.add("redirect_uris", "authorization_code needs at least one redirect URI")
	}
	checkURIs := func(field string, uris []string) {
		dup := map[string]bool{}
		for i, u := range uris {
			f := fmt.Sprintf("%s[%d]", field, i)
			if err := config.CheckRedirectURI(u); err != nil {
				p.add(f, err.Error())
			} else if dup[u] {
				p.add(f, fmt.Sprintf("%q appears twice", u))
			}
			dup[u] = true
		}
	}
	checkURIs("redirect_uris", in.RedirectURIs)
	checkURIs("post_logout_redirect_uris", in.PostLogoutRedirectURIs)
	origins := map[string]bool{}
	for i, o := range in.AllowedOrigins {
		f := fmt.Sprintf("allowed_origins[%d]", i)
		if _, err := config.CheckOrigin(o); err != nil {
			p.add(f, err.Error())
		} else if origins[o] {
			p.add(f, fmt.Sprintf("%q appears twice", o))
		}
		origins[o] = true
	}
	for i, s := range in.Scopes {
		if s == "" || strings.IndexFunc(s, func(r rune) bool { return r < 0x21 || r == 0x22 || r == 0x5c || r > 0x7e }) >= 0 {
			p.add(fmt.Sprintf("scopes[%d]", i), fmt.Sprintf("%q is not a scope token (visible ASCII without spaces, quotes or backslashes)", s))
		}
	}
	switch m {
	case AuthNone:
		// A public client has no credentials: PKCE is required for it (store.Client.Public).
		if in.Secret != "" {
			p.add("client_secret", "a public client (token_endpoint_auth_method none) has no secret; remove it or choose client_secret_basic")
		}
		if seen["client_credentials"] {
			p.add("grant_types", "client_credentials needs a confidential client (client_secret_basic, client_secret_post or private_key_jwt)")
		}
		if in.JWKS != "" || in.JWKSURI != "" {
			p.add("jwks", "a public client (token_endpoint_auth_method none) has no keys; choose private_key_jwt to use them")
		}
	case AuthSecretBasic, AuthSecretPost:
		if in.Secret == "" && !hasStoredSecret {
			p.add("client_secret", "required for "+m)
		} else if in.Secret != "" && len(in.Secret) < 8 {
			p.add("client_secret", "must be at least 8 characters (UMM generates 256-bit secrets when it creates a client)")
		}
		if in.JWKS != "" || in.JWKSURI != "" {
			p.add("jwks", m+" does not use keys; choose private_key_jwt to use them")
		}
	case AuthPrivateKeyJWT:
		if in.Secret != "" {
			p.add("client_secret", "private_key_jwt authenticates with keys, not a secret; remove it")
		}
		switch {
		case in.JWKS == "" && in.JWKSURI == "":
			p.add("jwks", "private_key_jwt needs jwks (an inline JWK Set) or jwks_uri")
		case in.JWKS != "" && in.JWKSURI != "":
			p.add("jwks", "set jwks or jwks_uri, not both")
		case in.JWKS != "":
			if err := checkJWKS(in.JWKS); err != nil {
				p.add("jwks", err.Error())
			}
		default:
			if err := checkJWKSURI(in.JWKSURI); err != nil {
				p.add("jwks_uri", err.Error())
			}
		}
	}
	switch in.IDTokenAlg {
	case "RS256", "ES256":
	default:
		p.add("id_token_signed_response_alg", fmt.Sprintf("%q must be RS256 or ES256", in.IDTokenAlg))
	}
	in.validateLogout(&p)
	in.validateProfile(&p)
	return p.err()
}

// checkJWKS checks an inline JWK Set is a JSON object with at least one key having kty.
func checkJWKS(s string) error {
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(s), &set); err != nil {
		return fmt.Errorf("is not a JWK Set (JSON object with a keys array): %v", err)
	}
	if len(set.Keys) == 0 {
		return errors.New("the JWK Set has no keys")
	}
	for i, k := range set.Keys {
		if _, ok := k["kty"].(string); !ok {
			return fmt.Errorf("key %d has no kty", i)
		}
		if _, ok := k["d"]; ok {
			return fmt.Errorf("key %d contains private key material (d); register only public keys", i)
		}
	}
	return nil
}

// checkJWKSURI requires https, except on loopback hosts (development and tests).
func checkJWKSURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%q must be an absolute https URL", s)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && config.LoopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%q must use https (http only for localhost)", s)
}

// CreateClient registers a new client; store.ErrConflict when the client id is taken. For
// client_secret_basic/_post without a Secret it generates a 256-bit random secret and returns it: it is
// shown once and only its hash is stored. An empty auth method means client_secret_basic here.
func (s *Service) CreateClient(ctx context.Context, tenantID string, in ClientInput, actor string) (store.Client, keys.Secret, error) {
	if in.TokenEndpointAuthMethod == "" && in.JWKS == "" && in.JWKSURI == "" {
		in.TokenEndpointAuthMethod = AuthSecretBasic
	}
	var secret keys.Secret
	if usesSecret(in.TokenEndpointAuthMethod) && in.Secret == "" {
		secret = keys.Secret(keys.NewToken())
		in.Secret = secret
	}
	in.normalize(false)
	if err := in.validate(false); err != nil {
		return store.Client{}, "", err
	}
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return store.Client{}, "", err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetClient(ctx, tenantID, in.ClientID); err == nil {
			return fmt.Errorf("client %s already exists in tenant %s: %w", in.ClientID, tenantID, store.ErrConflict)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return s.writeClient(ctx, tx, tenantID, in, nil, actor)
	})
	if err != nil {
		return store.Client{}, "", err
	}
	c, err := s.db.GetClient(ctx, tenantID, in.ClientID)
	return c, secret, err
}

// UpsertClient creates the client or replaces every field of it; an empty Secret keeps the stored one.
func (s *Service) UpsertClient(ctx context.Context, tenantID string, in ClientInput, actor string) (store.Client, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return store.Client{}, err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		return s.upsertClient(ctx, tx, tenantID, in, actor)
	})
	if err != nil {
		return store.Client{}, err
	}
	return s.db.GetClient(ctx, tenantID, in.ClientID)
}

func (s *Service) upsertClient(ctx context.Context, tx *store.Tx, tenantID string, in ClientInput, actor string) error {
	var stored []byte
	in.ClientID = strings.TrimSpace(in.ClientID)
	old, err := tx.GetClient(ctx, tenantID, in.ClientID)
	switch {
	case err == nil:
		stored = old.SecretHash
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	in.normalize(len(stored) > 0)
	if err := in.validate(len(stored) > 0); err != nil {
		return err
	}
	return s.writeClient(ctx, tx, tenantID, in, stored, actor)
}

// writeClient stores a validated client with its event. stored is the existing secret hash, kept when
// in.Secret is empty and the method still uses a secret.
func (s *Service) writeClient(ctx context.Context, tx *store.Tx, tenantID string, in ClientInput, stored []byte, actor string) error {
	var hash []byte
	if usesSecret(in.TokenEndpointAuthMethod) {
		hash = stored
		if in.Secret != "" {
			hash = s.keyring.HashSecret(string(in.Secret))
		}
	}
	c := store.Client{
		TenantID: tenantID, ClientID: in.ClientID, Name: in.Name, SecretHash: hash,
		RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		GrantTypes: in.GrantTypes, Scopes: in.Scopes, TokenEndpointAuthMethod: in.TokenEndpointAuthMethod,
		FirstParty: in.FirstParty, JWKS: in.JWKS, JWKSURI: in.JWKSURI, IDTokenAlg: in.IDTokenAlg,
		AllowedOrigins: in.AllowedOrigins,
	}
	c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired = in.BackchannelLogoutURI, in.BackchannelLogoutSessionRequired
	c.FrontchannelLogoutURI, c.FrontchannelLogoutSessionRequired = in.FrontchannelLogoutURI, in.FrontchannelLogoutSessionRequired
	c.RequiredProfileFields, c.InitiateLoginURI = in.RequiredProfileFields, in.InitiateLoginURI
	c.MFAPolicy = in.MFAPolicy
	c.OrganizationRequired, c.TokenClaims = in.OrganizationRequired, in.TokenClaims
	if err := checkClientProfile(ctx, tx, tenantID, in); err != nil {
		return err
	}
	if err := tx.UpsertClient(ctx, c); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, events.ClientUpserted(tenantID, in.ClientID, actor))
}

// GetClient returns a client or an error wrapping store.ErrNotFound.
func (s *Service) GetClient(ctx context.Context, tenantID, clientID string) (store.Client, error) {
	return s.db.GetClient(ctx, tenantID, clientID)
}

// ListClients returns a tenant's clients ordered by client id.
func (s *Service) ListClients(ctx context.Context, tenantID string) ([]store.Client, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	return s.db.ListClients(ctx, tenantID)
}
