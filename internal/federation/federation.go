package federation

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Errors a connector answers; the pages map each to its own message.
var (
	// ErrBadCredentials: the directory refused the login and password (or has no such user).
	ErrBadCredentials = errors.New("federation: wrong login or password")
	// ErrUnavailable: the upstream could not be reached or answered with a server error; try again later.
	ErrUnavailable = errors.New("federation: upstream unavailable")
	// ErrDenied: the person cancelled or the upstream refused the sign-in (OAuth error=access_denied).
	ErrDenied = errors.New("federation: sign-in refused upstream")
	// ErrInvalidResponse: what came back fails a check (state, nonce, signature, issuer, audience,
	// expiry, replay, ...). Its message says which; it is logged, never shown as is.
	ErrInvalidResponse = errors.New("federation: invalid upstream response")
	// ErrNotFound: the tenant has no such connection, or it is disabled.
	ErrNotFound = errors.New("federation: no such connection")
)

// Identity is what an upstream says about the person who signed in there.
type Identity struct {
	Connection    string // the connection's id
	Subject       string // the upstream's stable id of the account (OIDC sub, SAML NameID, LDAP DN)
	Email         string
	EmailVerified bool // the upstream says the address is verified
	// Profile holds the profile fields the connection maps (name, given_name, family_name, locale,
	// phone_number, picture, and the tenant's custom fields), only those the upstream gave.
	Profile map[string]string
	// Groups are the upstream groups or roles (before role_mapping).
	Groups []string
	// AMR is what the upstream reported it checked (OIDC amr), when it did.
	AMR []string
	// Claims are the upstream's claims or attributes as received, kept on the linked identity.
	Claims map[string]any
	// Tokens are the upstream's tokens; nil unless the connection has store_tokens.
	Tokens *Tokens
}

// Tokens are an upstream's tokens after a code exchange.
type Tokens struct {
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// Begin is what a redirecting sign-in keeps between AuthURL and Exchange. The caller fills State, Nonce
// and Verifier with fresh random values before AuthURL, which may set RequestID, and keeps it all on its
// flow row for Exchange.
type Begin struct {
	State     string `json:"state"`              // OAuth state / SAML RelayState
	Nonce     string `json:"nonce,omitempty"`    // OIDC nonce
	Verifier  string `json:"verifier,omitempty"` // PKCE code verifier (S256)
	RequestID string `json:"request_id,omitempty"`
	LoginHint string `json:"login_hint,omitempty"` // passed upstream where the protocol allows
}

// Redirector signs in by sending the browser upstream and back to the connection's callback.
type Redirector interface {
	// AuthURL is where to send the browser.
	AuthURL(ctx context.Context, b *Begin) (string, error)
	// Exchange checks the callback request (query or form, already parsed) against b and answers the
	// identity. It fails with ErrDenied, ErrUnavailable or ErrInvalidResponse.
	Exchange(ctx context.Context, r *http.Request, b Begin) (Identity, error)
}

// Metadata is a connector that publishes a metadata document (SAML SP metadata).
type Metadata interface {
	Metadata(ctx context.Context) ([]byte, error)
}

// PasswordChecker signs in with a login and password checked by the upstream (LDAP bind).
type PasswordChecker interface {
	// Authenticate answers the identity of login when password is right, ErrBadCredentials when not.
	Authenticate(ctx context.Context, login, password string) (Identity, error)
}

// Directory is a PasswordChecker whose users can be read back without their password (directory sync).
type Directory interface {
	PasswordChecker
	// Lookup reads the entry of subject (a DN); found is false when it is gone from the directory.
	Lookup(ctx context.Context, subject string) (id Identity, found bool, err error)
}

// Connector is one usable connection: its settings and what it can do (Redirector, PasswordChecker,
// Metadata, Directory: type-assert Impl).
type Connector struct {
	Config config.Connection
	Impl   any
}

// Redirector returns the connection's Redirector, nil when it signs in otherwise.
func (c Connector) Redirector() Redirector { r, _ := c.Impl.(Redirector); return r }

// PasswordChecker returns the connection's PasswordChecker, nil when it signs in otherwise.
func (c Connector) PasswordChecker() PasswordChecker { p, _ := c.Impl.(PasswordChecker); return p }

// Env is what a connector is built with: where UMM is, how it reaches upstreams, and the tenant's key
// for what it signs (SAML AuthnRequests).
type Env struct {
	TenantID string
	// CallbackURL is the connection's OAuth redirect URI (/t/{tenant}/connections/{id}/callback); ACSURL
	// and MetadataURL its SAML endpoints (/t/{tenant}/connections/{id}/saml/acs and .../saml/metadata,
	// which is also its SAML entity id).
	CallbackURL, ACSURL, MetadataURL string
	HTTP                             *http.Client
	DB                               *store.DB
	Now                              func() time.Time
	Log                              *slog.Logger
	// Signer and Certificate sign SAML AuthnRequests (nil when the server has none for the tenant).
	Signer      crypto.Signer
	Certificate *x509.Certificate
}

// builders make a connector of each type.
var builders = map[string]func(ctx context.Context, env Env, c config.Connection) (any, error){
	config.ConnOIDC:      newOIDC,
	config.ConnOAuth2:    newOAuth2,
	config.ConnGoogle:    newPreset,
	config.ConnApple:     newPreset,
	config.ConnMicrosoft: newPreset,
	config.ConnGitHub:    newPreset,
	config.ConnGitLab:    newPreset,
	config.ConnFacebook:  newPreset,
	config.ConnLinkedIn:  newPreset,
	config.ConnSAML:      newSAML,
	config.ConnLDAP:      newLDAP,
}

// SAMLKeySource gives the tenant's key and certificate for what SAML connectors sign.
type SAMLKeySource func(ctx context.Context, tenantID string) (crypto.Signer, *x509.Certificate, error)

// Deps is what Service needs; server fills it.
type Deps struct {
	DB        *store.DB
	Keyring   *keys.Keyring
	PublicURL string
	HTTP      *http.Client // nil: a client with a 10 s timeout
	Now       func() time.Time
	Log       *slog.Logger
	SAMLKeys  SAMLKeySource // nil: SAML connectors sign nothing
}

// Service reads a tenant's connections and builds their connectors. A built connector is kept while
// its stored row does not change, so discovery documents, keys and directory connection pools are
// reused across sign-ins; a changed row builds a new one (and closes the old one's pool).
type Service struct {
	d Deps

	mu    sync.Mutex
	built map[string]builtConnector // by tenant id + "/" + connection id
}

type builtConnector struct {
	version string // what the row said when it was built
	conn    Connector
}

// closer is a connector holding resources (a directory's connection pool).
type closer interface{ Close() error }

// New builds the service.
func New(d Deps) *Service {
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}
}

// SetClock makes the service read time from now, the clock the rest of the server reads, so that the
// times upstream answers carry are checked against the same time as everything else. Call it before the
// service is used.
func (s *Service) SetClock(now func() time.Time) { s.d.Now = now }

// SecretsAAD binds a connection's sealed secrets to it.
func SecretsAAD(tenantID, id string) []byte { return keys.ConnectionSecretsAAD(tenantID, id) }

// Decode turns a stored row into its settings, secrets unsealed.
func (s *Service) Decode(row store.Connection) (config.Connection, error) {
	return Decode(s.d.Keyring, row)
}

// Decode turns a stored row into its settings, secrets unsealed with kr.
func Decode(kr *keys.Keyring, row store.Connection) (config.Connection, error) {
	var c config.Connection
	if err := json.Unmarshal([]byte(row.Config), &c); err != nil {
		return c, fmt.Errorf("connection %s: stored settings: %w", row.ID, err)
	}
	c.ID, c.Type, c.DisplayName, c.Disabled = row.ID, row.Type, row.DisplayName, row.Disabled
	if len(row.Secrets) > 0 {
		plain, err := kr.Open(row.Secrets, SecretsAAD(row.TenantID, row.ID))
		if err != nil {
			return c, fmt.Errorf("connection %s: secrets: %w", row.ID, err)
		}
		var sec config.ConnectionSecrets
		if err := json.Unmarshal(plain, &sec); err != nil {
			return c, fmt.Errorf("connection %s: secrets: %w", row.ID, err)
		}
		c = c.WithSecrets(sec)
	}
	return c, nil
}

// Encode turns settings into a row to store, secrets sealed with kr.
func Encode(kr *keys.Keyring, tenantID string, position int, c config.Connection) (store.Connection, error) {
	cfg, err := json.Marshal(c)
	if err != nil {
		return store.Connection{}, err
	}
	row := store.Connection{TenantID: tenantID, ID: c.ID, Type: c.Type, DisplayName: c.DisplayName, Disabled: c.Disabled,
		Position: position, Config: string(cfg)}
	if sec := c.Secrets(); sec != (config.ConnectionSecrets{}) {
		plain, err := json.Marshal(sec)
		if err != nil {
			return store.Connection{}, err
		}
		if row.Secrets, err = kr.Seal(plain, SecretsAAD(tenantID, c.ID)); err != nil {
			return store.Connection{}, err
		}
	}
	return row, nil
}

// List returns the tenant's connections (disabled ones too), in button order, without their secrets:
// what the sign-in page needs to draw its buttons and route addresses.
func (s *Service) List(ctx context.Context, tenantID string) ([]config.Connection, error) {
	rows, err := s.d.DB.ListConnections(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]config.Connection, 0, len(rows))
	for _, r := range rows {
		r.Secrets = nil
		c, err := Decode(nil, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Get returns one enabled connection's settings without its secrets (what the sign-in page needs to
// send a browser there); ErrNotFound when the tenant has none by that id or it is disabled.
func (s *Service) Get(ctx context.Context, tenantID, id string) (config.Connection, error) {
	row, err := s.enabledRow(ctx, tenantID, id)
	if err != nil {
		return config.Connection{}, err
	}
	row.Secrets = nil
	return Decode(nil, row)
}

// enabledRow is the stored row of an enabled connection; ErrNotFound when there is none or it is disabled.
func (s *Service) enabledRow(ctx context.Context, tenantID, id string) (store.Connection, error) {
	row, err := s.d.DB.GetConnection(ctx, tenantID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.Disabled) {
		return store.Connection{}, ErrNotFound
	}
	return row, err
}

// Env is the environment of a tenant's connection id (withKeys: with the tenant's SAML key, which only
// SAML connectors use).
func (s *Service) Env(ctx context.Context, tenantID, id string, withKeys bool) (Env, error) {
	base := s.d.PublicURL + "/t/" + url.PathEscape(tenantID) + "/connections/" + url.PathEscape(id)
	env := Env{TenantID: tenantID, CallbackURL: base + "/callback", ACSURL: base + "/saml/acs",
		MetadataURL: base + "/saml/metadata", HTTP: s.d.HTTP, DB: s.d.DB, Now: s.d.Now, Log: s.d.Log}
	if withKeys && s.d.SAMLKeys != nil {
		signer, cert, err := s.d.SAMLKeys(ctx, tenantID)
		if err != nil {
			return env, err
		}
		env.Signer, env.Certificate = signer, cert
	}
	return env, nil
}

// Connector returns the connector of an enabled connection, built once per version of its row.
func (s *Service) Connector(ctx context.Context, tenantID, id string) (Connector, error) {
	row, err := s.enabledRow(ctx, tenantID, id)
	if err != nil {
		return Connector{}, err
	}
	key, version := tenantID+"/"+id, row.Type+"\x00"+row.Config+"\x00"+string(row.Secrets)
	s.mu.Lock()
	b, ok := s.built[key]
	s.mu.Unlock()
	if ok && b.version == version {
		return b.conn, nil
	}
	c, err := s.Decode(row)
	if err != nil {
		return Connector{}, err
	}
	conn, err := s.Build(ctx, tenantID, c)
	if err != nil {
		return Connector{}, err
	}
	s.mu.Lock()
	if s.built == nil {
		s.built = map[string]builtConnector{}
	}
	old, had := s.built[key]
	s.built[key] = builtConnector{version: version, conn: conn}
	s.mu.Unlock()
	if had {
		if cl, ok := old.conn.Impl.(closer); ok {
			_ = cl.Close()
		}
	}
	return conn, nil
}

// Close releases what the built connectors hold.
func (s *Service) Close() {
	s.mu.Lock()
	built := s.built
	s.built = nil
	s.mu.Unlock()
	for _, b := range built {
		if cl, ok := b.conn.Impl.(closer); ok {
			_ = cl.Close()
		}
	}
}

// Build makes the connector of settings c.
func (s *Service) Build(ctx context.Context, tenantID string, c config.Connection) (Connector, error) {
	build, ok := builders[c.Type]
	if !ok {
		return Connector{}, fmt.Errorf("connection %s: type %q is not supported", c.ID, c.Type)
	}
	env, err := s.Env(ctx, tenantID, c.ID, c.Type == config.ConnSAML)
	if err != nil {
		return Connector{}, err
	}
	impl, err := build(ctx, env, c)
	if err != nil {
		return Connector{}, fmt.Errorf("connection %s: %w", c.ID, err)
	}
	return Connector{Config: c, Impl: impl}, nil
}
