package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// DefaultTenantID is the tenant created at first start when the database has none and the seed names none.
const DefaultTenantID = "default"

// TenantInput is a tenant to create or update.
type TenantInput struct {
	ID       string
	Name     string // defaults to the id
	Settings store.TenantSettings
}

func (in *TenantInput) validate() error {
	var p problems
	if err := config.CheckTenantID(in.ID); err != nil {
		p.add("id", err.Error())
	}
	if in.Name == "" {
		in.Name = in.ID
	}
	if len(in.Name) > 200 {
		p.add("name", "must be at most 200 characters")
	}
	for _, d := range []struct {
		field string
		v     int64
	}{
		{"settings.session_idle", in.Settings.SessionIdle},
		{"settings.session_absolute", in.Settings.SessionAbsolute},
		{"settings.access_token_ttl", in.Settings.AccessTokenTTL},
		{"settings.id_token_ttl", in.Settings.IDTokenTTL},
		{"settings.refresh_token_ttl", in.Settings.RefreshTokenTTL},
		{"settings.code_ttl", in.Settings.CodeTTL},
		{"settings.device_code_ttl", in.Settings.DeviceCodeTTL},
		{"settings.login_request_ttl", in.Settings.LoginRequestTTL},
	} {
		if d.v < 0 {
			p.add(d.field, "must not be negative (0 takes the default)")
		}
	}
	checkPasswordPolicy(&p, in.Settings.PasswordPolicy)
	in.validateProfile(&p)
	checkLook(&p, in.Settings.Look)
	if f := in.Settings.EmailFrom; f != "" {
		if err := config.CheckFrom(f); err != nil {
			p.add("settings.email_from", err.Error())
		}
	}
	return p.err()
}

// SettingsFromConfig converts the seed's per-tenant lifetimes to the stored form (whole seconds).
func SettingsFromConfig(s *config.TenantSettings) store.TenantSettings {
	if s == nil {
		return store.TenantSettings{}
	}
	sec := func(d config.Duration) int64 { return int64(d.D() / time.Second) }
	return store.TenantSettings{
		SessionIdle:     sec(s.SessionIdle),
		SessionAbsolute: sec(s.SessionAbsolute),
		AccessTokenTTL:  sec(s.AccessTokenTTL),
		IDTokenTTL:      sec(s.IDTokenTTL),
		RefreshTokenTTL: sec(s.RefreshTokenTTL),
		CodeTTL:         sec(s.CodeTTL),
		DeviceCodeTTL:   sec(s.DeviceCodeTTL),
		LoginRequestTTL: sec(s.LoginRequestTTL),
		Playground:      s.Playground,
	}
}

// CreateTenant creates a tenant; store.ErrConflict when the id is taken.
func (s *Service) CreateTenant(ctx context.Context, in TenantInput, actor string) (store.Tenant, error) {
	if err := in.validate(); err != nil {
		return store.Tenant{}, err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		return s.createTenant(ctx, tx, in, actor)
	})
	if err != nil {
		return store.Tenant{}, err
	}
	return s.db.GetTenant(ctx, in.ID)
}

func (s *Service) createTenant(ctx context.Context, tx *store.Tx, in TenantInput, actor string) error {
	if err := tx.CreateTenant(ctx, store.Tenant{ID: in.ID, Name: in.Name, Settings: in.Settings}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("tenant %s already exists: %w", in.ID, err)
		}
		return err
	}
	return tx.AppendEvent(ctx, events.TenantCreated(in.ID, actor))
}

// UpsertTenant creates the tenant or replaces its name and settings. It reports whether it created it.
func (s *Service) UpsertTenant(ctx context.Context, in TenantInput, actor string) (created bool, err error) {
	if err := in.validate(); err != nil {
		return false, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		created, err = s.upsertTenant(ctx, tx, in, actor)
		return err
	})
	return created, err
}

func (s *Service) upsertTenant(ctx context.Context, tx *store.Tx, in TenantInput, actor string) (bool, error) {
	old, err := tx.GetTenant(ctx, in.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true, s.createTenant(ctx, tx, in, actor)
	case err != nil:
		return false, err
	}
	if old.Name == in.Name && old.Settings.Equal(in.Settings) {
		return false, nil
	}
	if err := tx.UpdateTenant(ctx, store.Tenant{ID: in.ID, Name: in.Name, Settings: in.Settings}); err != nil {
		return false, fmt.Errorf("update tenant %s: %w", in.ID, err)
	}
	return false, tx.AppendEvent(ctx, events.TenantUpdated(in.ID, actor))
}

// GetTenant returns the tenant or an error wrapping store.ErrNotFound.
func (s *Service) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	t, err := s.db.GetTenant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, fmt.Errorf("tenant %q does not exist (umm tenants list shows the tenants): %w", id, store.ErrNotFound)
	}
	return t, err
}

// ListTenants returns every tenant ordered by id.
func (s *Service) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	return s.db.ListTenants(ctx)
}

// requireTenant gives a not-found error that says what to do.
func (s *Service) requireTenant(ctx context.Context, id string) error {
	_, err := s.GetTenant(ctx, id)
	return err
}
