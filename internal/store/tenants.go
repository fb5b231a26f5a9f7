package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/config"
)

// TenantSettings are the per-tenant lifetimes (seconds; zero means "use the default") and switches.
type TenantSettings struct {
	SessionIdle     int64 `json:"session_idle,omitempty"`
	SessionAbsolute int64 `json:"session_absolute,omitempty"`
	AccessTokenTTL  int64 `json:"access_token_ttl,omitempty"`
	IDTokenTTL      int64 `json:"id_token_ttl,omitempty"`
	RefreshTokenTTL int64 `json:"refresh_token_ttl,omitempty"`
	CodeTTL         int64 `json:"code_ttl,omitempty"`
	DeviceCodeTTL   int64 `json:"device_code_ttl,omitempty"`
	LoginRequestTTL int64 `json:"login_request_ttl,omitempty"`
	// Playground turns on the tenant's playground page and its built-in public client "playground".
	Playground bool `json:"playground,omitempty"`
	// PasswordPolicy is the tenant's password policy (password_history.go).
	PasswordPolicy PasswordPolicy `json:"password_policy,omitzero"`
	// Registration and Profile: self-service sign-up and the profile schema (seed_profile.go in config).
	Registration config.Registration  `json:"registration,omitzero"`
	Profile      config.ProfileSchema `json:"profile,omitzero"`
	// Look is the tenant's default language, branding and message overrides.
	Look config.TenantLook `json:"look,omitzero"`
	// EmailFrom is the sender of the tenant's email; empty: email.from.
	EmailFrom string `json:"email_from,omitempty"`
	// MFA, Login and WebAuthn: second factors, sign-in methods and the passkey relying party.
	MFA      config.MFA      `json:"mfa,omitzero"`
	Login    config.Login    `json:"login,omitzero"`
	WebAuthn config.WebAuthn `json:"webauthn,omitzero"`
	// Risk overrides the global risk policy's weights, thresholds and lists for this tenant.
	Risk config.RiskPolicy `json:"risk,omitzero"`
}

// Defaults used when a setting is zero.
const (
	DefaultSessionIdle     = 24 * time.Hour
	DefaultSessionAbsolute = 14 * 24 * time.Hour
	DefaultAccessTokenTTL  = 10 * time.Minute
	DefaultIDTokenTTL      = 10 * time.Minute
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultCodeTTL         = 60 * time.Second
	DefaultDeviceCodeTTL   = 10 * time.Minute
	DefaultLoginRequestTTL = 30 * time.Minute
)

func orDefault(v int64, d time.Duration) time.Duration {
	if v > 0 {
		return time.Duration(v) * time.Second
	}
	return d
}

// Lifetimes with defaults applied.
func (s TenantSettings) SessionIdleD() time.Duration {
	return orDefault(s.SessionIdle, DefaultSessionIdle)
}
func (s TenantSettings) SessionAbsoluteD() time.Duration {
	return orDefault(s.SessionAbsolute, DefaultSessionAbsolute)
}
func (s TenantSettings) AccessTokenTTLD() time.Duration {
	return orDefault(s.AccessTokenTTL, DefaultAccessTokenTTL)
}
func (s TenantSettings) IDTokenTTLD() time.Duration {
	return orDefault(s.IDTokenTTL, DefaultIDTokenTTL)
}
func (s TenantSettings) RefreshTokenTTLD() time.Duration {
	return orDefault(s.RefreshTokenTTL, DefaultRefreshTokenTTL)
}
func (s TenantSettings) CodeTTLD() time.Duration { return orDefault(s.CodeTTL, DefaultCodeTTL) }
func (s TenantSettings) DeviceCodeTTLD() time.Duration {
	return orDefault(s.DeviceCodeTTL, DefaultDeviceCodeTTL)
}
func (s TenantSettings) LoginRequestTTLD() time.Duration {
	return orDefault(s.LoginRequestTTL, DefaultLoginRequestTTL)
}

// Tenant is an isolated user pool with its own issuer.
type Tenant struct {
	ID        string
	Name      string
	Settings  TenantSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CreateTenant inserts t; an existing id is ErrConflict.
func (q *queries) CreateTenant(ctx context.Context, t Tenant) error {
	settings, _ := json.Marshal(t.Settings)
	now := time.Now().Unix()
	_, err := q.exec(ctx, `INSERT INTO tenants (id, name, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Name, string(settings), now, now)
	if err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	return q.notify(ctx, TopicTenant, t.ID) // nodes may remember it as unknown
}

// UpdateTenant changes name and settings.
func (q *queries) UpdateTenant(ctx context.Context, t Tenant) error {
	settings, _ := json.Marshal(t.Settings)
	if err := q.execOne(ctx, `UPDATE tenants SET name = ?, settings = ?, updated_at = ? WHERE id = ?`,
		t.Name, string(settings), time.Now().Unix(), t.ID); err != nil {
		return err
	}
	return q.notify(ctx, TopicTenant, t.ID)
}

// GetTenant returns the tenant or ErrNotFound.
func (q *queries) GetTenant(ctx context.Context, id string) (Tenant, error) {
	if !config.ValidTenantID(id) {
		// No such row can exist: every caller (pages, protocol endpoints, CLI) gets the same answer for
		// an id from a URL or a flag, without a query.
		return Tenant{}, fmt.Errorf("get tenant %q: %w", id, ErrNotFound)
	}
	t, err := scanTenant(q.row(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = ?`, id))
	if err != nil {
		return t, fmt.Errorf("get tenant %s: %w", id, scanErr(err))
	}
	return t, nil
}

// ListTenants returns every tenant ordered by id.
func (q *queries) ListTenants(ctx context.Context) ([]Tenant, error) {
	rows, err := q.query(ctx, `SELECT `+tenantCols+` FROM tenants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// GetSeedFingerprint returns what the seed last applied for item ("" when never).
func (q *queries) GetSeedFingerprint(ctx context.Context, tenantID, item string) (string, error) {
	var fp string
	err := q.row(ctx, `SELECT fingerprint FROM seed_state WHERE tenant_id = ? AND item = ?`, tenantID, item).Scan(&fp)
	if err != nil {
		if err = scanErr(err); isNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("get seed state: %w", err)
	}
	return fp, nil
}

// SetSeedFingerprint records what the seed applied for item.
func (q *queries) SetSeedFingerprint(ctx context.Context, tenantID, item, fingerprint string) error {
	_, err := q.exec(ctx, `INSERT INTO seed_state (tenant_id, item, fingerprint, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, item) DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
		tenantID, item, fingerprint, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("set seed state: %w", err)
	}
	return nil
}

const tenantCols = `id, name, settings, created_at, updated_at`

// scanTenant reads one row of tenantCols.
func scanTenant(row interface{ Scan(...any) error }) (Tenant, error) {
	var t Tenant
	var settings string
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Name, &settings, &created, &updated); err != nil {
		return t, err
	}
	_ = json.Unmarshal([]byte(settings), &t.Settings)
	t.CreatedAt, t.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
	return t, nil
}
