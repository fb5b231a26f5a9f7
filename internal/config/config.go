// Package config owns UMM's typed configuration: defaults, the YAML file, UMM_* environment overrides and
// validation that reports every problem at once by its key path. It imports nothing else from UMM; every
// other package receives only the section it needs.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is the whole configuration of a umm process.
type Config struct {
	Server    Server       `yaml:"server"`
	Database  Database     `yaml:"database"`
	Secrets   Secrets      `yaml:"secrets"`
	Log       Log          `yaml:"log"`
	Keys      Keys         `yaml:"keys"`
	Security  Security     `yaml:"security"`
	Tenants   []TenantSeed `yaml:"tenants"`
	Events    Events       `yaml:"events"`
	Email     Email        `yaml:"email"`
	SMS       SMS          `yaml:"sms"`
	Templates Templates    `yaml:"templates"`
	Risk      Risk         `yaml:"risk"`
	Admin     Admin        `yaml:"admin"`
	Webhooks  Webhooks     `yaml:"webhooks"`
}

// Events configures the event log (audit record and outbox).
type Events struct {
	// Retention is how long events are kept; older ones are deleted by the garbage collector.
	Retention Duration `yaml:"retention"`
}

// Server configures the HTTP listener.
type Server struct {
	Addr              string   `yaml:"addr"`
	PublicURL         string   `yaml:"public_url"`
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	ShutdownTimeout   Duration `yaml:"shutdown_timeout"`
	MaxBodyBytes      int64    `yaml:"max_body_bytes"`
	MaxHeaderBytes    int      `yaml:"max_header_bytes"`
	// MetricsAddr is a separate listener for /metrics (for example 127.0.0.1:9090); empty: none.
	MetricsAddr string `yaml:"metrics_addr"`
	// MetricsToken, when set, serves /metrics on the public listener to requests bearing it.
	MetricsToken string `yaml:"metrics_token"`
}

// Database selects and tunes the store.
type Database struct {
	// URL is sqlite:PATH (the embedded default) or postgres://...
	URL          string `yaml:"url"`
	MaxOpenConns int    `yaml:"max_open_conns"`
	// DirectURL reaches PostgreSQL without a transaction-mode pooler, for the LISTEN connection; empty: URL.
	DirectURL string `yaml:"direct_url"`
}

// Secrets holds the master key that encrypts secrets at rest and keys hashes of client secrets.
type Secrets struct {
	// MasterKey is 32 bytes, base64 (std or URL alphabet). Empty: read MasterKeyFile, creating it if absent.
	MasterKey     string `yaml:"master_key"`
	MasterKeyFile string `yaml:"master_key_file"`
	// PreviousMasterKeys (base64) and PreviousMasterKeyFiles are further keys accepted for opening secrets
	// at rest, never for sealing: the steps of a master key rotation (umm keys rotate-master).
	PreviousMasterKeys     []string `yaml:"previous_master_keys"`
	PreviousMasterKeyFiles []string `yaml:"previous_master_key_files"`
}

// Log configures the process logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // auto (text on a terminal, else json), json, text
}

// Keys configures signing-key rotation.
type Keys struct {
	// RotationInterval is how long a key signs before the next one takes over; 0 disables scheduled rotation.
	RotationInterval Duration `yaml:"rotation_interval"`
	// RetainRetired is how long a retired key stays in the JWKS (must exceed every token lifetime).
	RetainRetired Duration `yaml:"retain_retired"`
}

// Security configures password hashing and brute-force protection.
type Security struct {
	Argon2MemoryKiB     uint32 `yaml:"argon2_memory_kib"`
	Argon2Iterations    uint32 `yaml:"argon2_iterations"`
	Argon2Parallelism   uint8  `yaml:"argon2_parallelism"`
	MaxConcurrentHashes int    `yaml:"max_concurrent_hashes"`
	// AccountLockoutThreshold failures on one account from one client IP (IPv6: its /64) lock that IP out of
	// that account for AccountLockoutDuration; backoff starts at half of it.
	AccountLockoutThreshold int      `yaml:"account_lockout_threshold"`
	AccountLockoutDuration  Duration `yaml:"account_lockout_duration"`
	// IPLimitPerMinute bounds login, token and device-code attempts per client IP.
	IPLimitPerMinute int `yaml:"ip_limit_per_minute"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// JWKSURIAllowPrivateNetworks lets clients' jwks_uri reach loopback, private and other non-public
	// addresses; off, only public addresses are fetched (loopback too when public_url is http).
	JWKSURIAllowPrivateNetworks bool `yaml:"jwks_uri_allow_private_networks"`
	// DeviceLockoutThreshold is AccountLockoutThreshold for a browser that signed in to the account before
	// (the umm_device cookie): its own, much higher budget.
	DeviceLockoutThreshold int `yaml:"device_lockout_threshold"`
	// AccountHardLockThreshold failures on one account from unknown browsers, wherever they come from,
	// lock it for every unknown browser until a password recovery or an operator lifts the lock.
	AccountHardLockThreshold int `yaml:"account_hard_lock_threshold"`
	// AccountAttackThreshold such failures start an attack episode (event account.attack_detected, once).
	AccountAttackThreshold int `yaml:"account_attack_threshold"`
	// AccountFailureWindow: an account-wide count with no failure for this long starts again (the episode ends).
	AccountFailureWindow Duration `yaml:"account_failure_window"`
	// DeviceCookieTTL is the lifetime of the umm_device cookie and of the known device it names.
	DeviceCookieTTL Duration `yaml:"device_cookie_ttl"`
	// Caps on rows anonymous requests create (pending, unexpired rows).
	PendingLoginRequestsPerIP      int `yaml:"pending_login_requests_per_ip"`
	PendingLoginRequestsPerBrowser int `yaml:"pending_login_requests_per_browser"`
	PendingDeviceCodesPerIP        int `yaml:"pending_device_codes_per_ip"`
	PendingDeviceCodesPerClient    int `yaml:"pending_device_codes_per_client"`
}

// TenantSeed is one entry of the tenants block, upserted at every start.
type TenantSeed struct {
	ID       string          `yaml:"id"`
	Name     string          `yaml:"name"`
	Settings *TenantSettings `yaml:"settings"`
	Clients  []ClientSeed    `yaml:"clients"`
	Users    []UserSeed      `yaml:"users"`

	// PasswordPolicy is the tenant's password policy (seed_password.go); nil takes the defaults.
	PasswordPolicy *PasswordPolicy `yaml:"password_policy"`
	// Registration and Profile: self-service sign-up and the profile schema (seed_profile.go).
	Registration *Registration  `yaml:"registration"`
	Profile      *ProfileSchema `yaml:"profile"`
	// DefaultLocale, Branding and Messages are how the tenant's pages and emails look (seed_branding.go).
	DefaultLocale string              `yaml:"default_locale"`
	Branding      *Branding           `yaml:"branding"`
	Messages      map[string]Messages `yaml:"messages"`
	Email         *TenantEmail        `yaml:"email"`
	// MFA, Login and WebAuthn are strong authentication: the second-factor policy, the sign-in methods
	// and the passkey relying party (seed_mfa.go).
	MFA      *MFA      `yaml:"mfa"`
	Login    *Login    `yaml:"login"`
	WebAuthn *WebAuthn `yaml:"webauthn"`
	// Risk overrides risk's weights, thresholds and allow/deny lists for this tenant (non-zero fields).
	Risk *RiskPolicy `yaml:"risk"`
	// Connections are the tenant's upstream identity providers (seed_connections.go); SAMLApps the
	// service providers it signs users in to as a SAML 2.0 IdP (seed_saml.go).
	Connections []Connection `yaml:"connections"`
	SAMLApps    []SAMLApp    `yaml:"saml_apps"`
	// APIs, Roles, Groups and Organizations are the tenant's authorization model (seed_authz.go).
	APIs          []APISeed          `yaml:"apis"`
	Roles         []RoleSeed         `yaml:"roles"`
	Groups        []GroupSeed        `yaml:"groups"`
	Organizations []OrganizationSeed `yaml:"organizations"`
}

// TenantSettings are the per-tenant lifetimes (zero values take the defaults) and switches.
type TenantSettings struct {
	SessionIdle     Duration `yaml:"session_idle"`
	SessionAbsolute Duration `yaml:"session_absolute"`
	AccessTokenTTL  Duration `yaml:"access_token_ttl"`
	IDTokenTTL      Duration `yaml:"id_token_ttl"`
	RefreshTokenTTL Duration `yaml:"refresh_token_ttl"`
	CodeTTL         Duration `yaml:"code_ttl"`
	DeviceCodeTTL   Duration `yaml:"device_code_ttl"`
	LoginRequestTTL Duration `yaml:"login_request_ttl"`
	// Playground turns on the tenant's playground page (/t/{tenant}/playground) and its built-in client.
	Playground bool `yaml:"playground"`
}

// ClientSeed is an OAuth client in the seed block.
type ClientSeed struct {
	ClientID                 string   `yaml:"client_id"`
	ClientSecret             string   `yaml:"client_secret"`
	Name                     string   `yaml:"name"`
	RedirectURIs             []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs   []string `yaml:"post_logout_redirect_uris"`
	GrantTypes               []string `yaml:"grant_types"`
	TokenEndpointAuthMethod  string   `yaml:"token_endpoint_auth_method"`
	Scopes                   []string `yaml:"scopes"`
	FirstParty               bool     `yaml:"first_party"`
	JWKS                     string   `yaml:"jwks"`
	JWKSURI                  string   `yaml:"jwks_uri"`
	IDTokenSignedResponseAlg string   `yaml:"id_token_signed_response_alg"`
	// AllowedOrigins are web origins whose browser apps may call the token endpoints (CORS), beyond the
	// origins of a public client's redirect URIs.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Single logout: where the client is told that a session it received tokens in ended.
	BackchannelLogoutURI              string `yaml:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired  bool   `yaml:"backchannel_logout_session_required"`
	FrontchannelLogoutURI             string `yaml:"frontchannel_logout_uri"`
	FrontchannelLogoutSessionRequired bool   `yaml:"frontchannel_logout_session_required"`
	// Profile fields the client needs before it gets tokens, and its OIDC Registration §2 login URI.
	RequiredProfileFields []string `yaml:"required_profile_fields"`
	InitiateLoginURI      string   `yaml:"initiate_login_uri"`
	// MFAPolicy replaces the tenant's mfa.policy for this client (off, optional, required, adaptive);
	// empty follows the tenant.
	MFAPolicy string `yaml:"mfa_policy"`
	// OrganizationRequired: users sign in to the client within an organization; TokenClaims are the
	// authorization claims (config.TokenClaims) its ID and access tokens carry.
	OrganizationRequired bool     `yaml:"organization_required"`
	TokenClaims          []string `yaml:"token_claims"`
}

// UserSeed is a user in the seed block.
type UserSeed struct {
	Email         string   `yaml:"email"`
	Password      string   `yaml:"password"`
	GivenName     string   `yaml:"given_name"`
	FamilyName    string   `yaml:"family_name"`
	EmailVerified bool     `yaml:"email_verified"`
	Roles         []string `yaml:"roles"`
	// Attributes are profile values: standard claims (nickname, phone_number, address, ...) and the
	// tenant's custom fields, validated like every other write.
	Attributes map[string]any `yaml:"attributes"`
}

// Default returns the configuration used when nothing is set: SQLite under ./data on localhost:8080.
func Default() Config {
	return Config{
		Server: Server{
			Addr:              "localhost:8080",
			PublicURL:         "http://localhost:8080",
			ReadHeaderTimeout: Duration(5 * time.Second),
			ReadTimeout:       Duration(15 * time.Second),
			WriteTimeout:      Duration(30 * time.Second),
			IdleTimeout:       Duration(120 * time.Second),
			ShutdownTimeout:   Duration(20 * time.Second),
			MaxBodyBytes:      64 << 10,
			MaxHeaderBytes:    32 << 10,
		},
		Database: Database{URL: "sqlite:data/umm.db"},
		Secrets:  Secrets{MasterKeyFile: "data/master.key"},
		Log:      Log{Level: "info", Format: "auto"},
		Keys: Keys{
			RotationInterval: Duration(30 * 24 * time.Hour),
			RetainRetired:    Duration(7 * 24 * time.Hour),
		},
		Security: Security{
			Argon2MemoryKiB:         19 * 1024, // OWASP: m=19 MiB, t=2, p=1
			Argon2Iterations:        2,
			Argon2Parallelism:       1,
			MaxConcurrentHashes:     0, // 0: number of CPUs
			AccountLockoutThreshold: 10,
			AccountLockoutDuration:  Duration(15 * time.Minute),
			IPLimitPerMinute:        120,
			// Clients' jwks_uri reach only public addresses unless an operator opens private networks.
			JWKSURIAllowPrivateNetworks: false,

			DeviceLockoutThreshold:         100,
			AccountHardLockThreshold:       1000,
			AccountAttackThreshold:         20,
			AccountFailureWindow:           Duration(24 * time.Hour),
			DeviceCookieTTL:                Duration(400 * 24 * time.Hour), // the longest browsers keep a cookie
			PendingLoginRequestsPerIP:      500,
			PendingLoginRequestsPerBrowser: 20,
			PendingDeviceCodesPerIP:        20,
			PendingDeviceCodesPerClient:    1000,
		},
		Events:   Events{Retention: Duration(400 * 24 * time.Hour)},
		Email:    defaultEmail(),
		Risk:     DefaultRisk(),
		SMS:      defaultSMS(),
		Admin:    defaultAdmin(),
		Webhooks: defaultWebhooks(),
	}
}

// Problems is every validation problem found, each naming its key path.
type Problems []string

func (p Problems) Error() string {
	return "invalid configuration:\n  - " + strings.Join(p, "\n  - ")
}

// Validate checks the whole configuration and returns Problems listing every issue, or nil.
func (c *Config) Validate() error {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if c.Server.Addr == "" {
		add("server.addr: must not be empty (for example localhost:8080)")
	} else if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		add("server.addr: %q is not host:port", c.Server.Addr)
	}
	if u, err := url.Parse(c.Server.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("server.public_url: %q must be an absolute http(s) URL such as https://id.example.com", c.Server.PublicURL)
	} else if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(u.Path, "/") {
		add("server.public_url: %q must have no query, fragment or trailing slash", c.Server.PublicURL)
	} else if !strings.HasPrefix(c.Server.PublicURL, u.Scheme+"://"+strings.ToLower(u.Host)) {
		// Issuers are compared as exact strings (OIDC Discovery §4.3), and cookies are Secure by the scheme.
		add("server.public_url: %q must be written with a lower-case scheme and host", c.Server.PublicURL)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{
		{"server.read_header_timeout", c.Server.ReadHeaderTimeout},
		{"server.read_timeout", c.Server.ReadTimeout},
		{"server.write_timeout", c.Server.WriteTimeout},
		{"server.idle_timeout", c.Server.IdleTimeout},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout},
	} {
		if d.v <= 0 {
			add("%s: must be a positive duration such as 10s", d.key)
		}
	}
	if c.Server.MaxBodyBytes < 1024 {
		add("server.max_body_bytes: %d is below the minimum of 1024", c.Server.MaxBodyBytes)
	}
	if c.Server.MaxHeaderBytes < 4096 {
		add("server.max_header_bytes: %d is below the minimum of 4096", c.Server.MaxHeaderBytes)
	}
	switch {
	case strings.HasPrefix(c.Database.URL, "sqlite:"):
		if strings.TrimPrefix(c.Database.URL, "sqlite:") == "" {
			add("database.url: sqlite: needs a file path, for example sqlite:data/umm.db")
		}
	case strings.HasPrefix(c.Database.URL, "postgres://"), strings.HasPrefix(c.Database.URL, "postgresql://"):
	default:
		add("database.url: %q must start with sqlite: or postgres://", c.Database.URL)
	}
	if c.Database.MaxOpenConns < 0 {
		add("database.max_open_conns: must not be negative")
	}
	if d := c.Database.DirectURL; d != "" && !strings.HasPrefix(d, "postgres://") && !strings.HasPrefix(d, "postgresql://") {
		add("database.direct_url: must be a postgres:// URL (SQLite ignores it)")
	}
	if c.Secrets.MasterKey != "" {
		if _, err := DecodeMasterKey(c.Secrets.MasterKey); err != nil {
			add("secrets.master_key: %v", err)
		}
	} else if c.Secrets.MasterKeyFile == "" {
		add("secrets.master_key_file: set it (or secrets.master_key)")
	}
	for i, k := range c.Secrets.PreviousMasterKeys {
		if _, err := DecodeMasterKey(k); err != nil {
			add("secrets.previous_master_keys[%d]: %v", i, err)
		}
	}
	for i, f := range c.Secrets.PreviousMasterKeyFiles {
		if strings.TrimSpace(f) == "" {
			add("secrets.previous_master_key_files[%d]: is empty", i)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q must be one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "text":
	default:
		add("log.format: %q must be auto, json or text", c.Log.Format)
	}
	if c.Keys.RotationInterval < 0 {
		add("keys.rotation_interval: must not be negative (0 disables scheduled rotation)")
	} else if c.Keys.RotationInterval > 0 && c.Keys.RotationInterval < Duration(time.Minute) {
		add("keys.rotation_interval: %s is shorter than the minimum of 1m", c.Keys.RotationInterval)
	}
	if c.Keys.RetainRetired < Duration(time.Hour) {
		add("keys.retain_retired: must be at least 1h so tokens signed by a retired key still verify")
	}
	s := c.Security
	if s.Argon2MemoryKiB < 8*1024 {
		add("security.argon2_memory_kib: %d is below the minimum of 8192", s.Argon2MemoryKiB)
	}
	if s.Argon2Iterations < 1 {
		add("security.argon2_iterations: must be at least 1")
	}
	if s.Argon2Parallelism < 1 {
		add("security.argon2_parallelism: must be at least 1")
	}
	if s.MaxConcurrentHashes < 0 {
		add("security.max_concurrent_hashes: must not be negative (0 means one per CPU)")
	}
	if s.AccountLockoutThreshold < 1 {
		add("security.account_lockout_threshold: must be at least 1")
	}
	if s.AccountLockoutDuration <= 0 {
		add("security.account_lockout_duration: must be a positive duration")
	}
	if s.IPLimitPerMinute < 1 {
		add("security.ip_limit_per_minute: must be at least 1")
	}
	p = append(p, validateAbuse(c)...)
	p = append(p, validateEmail(c.Email)...)
	p = append(p, validateRisk(c.Risk)...)
	p = append(p, validateSMS(c.SMS)...)
	p = append(p, validateAdmin(c.Admin)...)
	p = append(p, validateWebhooks(c.Webhooks)...)
	for i, cidr := range s.TrustedProxies {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			add("security.trusted_proxies[%d]: %q is not a CIDR such as 10.0.0.0/8", i, cidr)
		}
	}
	p = append(p, validateTenants(c.Tenants)...)
	// A retired signing key stays published for keys.retain_retired: every JWT must expire before that.
	for i, t := range c.Tenants {
		if t.Settings == nil {
			continue
		}
		for _, d := range []struct {
			key string
			v   Duration
		}{{"access_token_ttl", t.Settings.AccessTokenTTL}, {"id_token_ttl", t.Settings.IDTokenTTL}} {
			if d.v > c.Keys.RetainRetired {
				add("tenants[%d].settings.%s: %s is longer than keys.retain_retired (%s); tokens would outlive their signing key",
					i, d.key, d.v, c.Keys.RetainRetired)
			}
		}
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// ErrNoConfigFile is returned by Load when the named file does not exist.
var ErrNoConfigFile = errors.New("config file not found")

// Load builds the configuration: defaults, then the YAML file (if path is not empty), then UMM_* variables
// from environ, then validation. Every problem found on the way is returned together.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	var p Problems
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return cfg, fmt.Errorf("%w: %s", ErrNoConfigFile, path)
			}
			return cfg, fmt.Errorf("read config: %w", err)
		}
		p = append(p, decodeYAML(data, &cfg)...)
	}
	envProblems, fromEnv := applyEnv(&cfg, environ)
	p = append(p, envProblems...)
	// Validate even when decoding found problems, so that one run lists every problem at once. A problem
	// with a value from the environment names its variable: the operator may not know it is set.
	if err := cfg.Validate(); err != nil {
		p = append(p, attributeEnv(err.(Problems), fromEnv)...)
	}
	if len(p) > 0 {
		return cfg, p
	}
	return cfg, nil
}
