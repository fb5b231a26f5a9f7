package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
)

// SeedResult says what ApplySeed changed.
type SeedResult struct {
	// DefaultTenantCreated: the database had no tenant and the seed named none, so tenant "default" was made.
	DefaultTenantCreated bool
	// Applied lists the seed items written this time ("tenant acme", "client acme/web", "user acme/a@example.com").
	Applied []string
	// Unchanged counts items skipped because the seed did not change them since they were last applied.
	Unchanged int
}

// ApplySeed applies the configuration's tenants: block through the same code path as the CLI and the API.
// It runs at every start and is idempotent: each item (a tenant's name and settings, a client, a user) has
// a fingerprint in seed_state, a keyed MAC of its canonical JSON, and is applied only when that fingerprint
// differs from the one last applied. So a restart creates nothing twice and does not undo a password or a
// client changed since through the CLI or the API, unless the seed entry itself was changed.
//
// When seeds is empty and the database has no tenant, it creates tenant "default".
func (s *Service) ApplySeed(ctx context.Context, seeds []config.TenantSeed) (SeedResult, error) {
	var res SeedResult
	if len(seeds) == 0 {
		created, err := s.ensureDefaultTenant(ctx)
		if err != nil {
			return res, err
		}
		res.DefaultTenantCreated = created
		return res, nil
	}
	for i, t := range seeds {
		tp := fmt.Sprintf("tenants[%d]", i)
		if err := retryConflict(func() error { return s.seedTenant(ctx, t, &res) }); err != nil {
			return res, fmt.Errorf("seed %s (tenant %s): %w", tp, t.ID, err)
		}
		for j, c := range t.Clients {
			if err := retryConflict(func() error { return s.seedClient(ctx, t.ID, c, &res) }); err != nil {
				return res, fmt.Errorf("seed %s.clients[%d] (client %s): %w", tp, j, c.ClientID, err)
			}
		}
		for j, c := range t.Connections {
			if err := retryConflict(func() error { return s.seedConnection(ctx, t.ID, j, c, &res) }); err != nil {
				return res, fmt.Errorf("seed %s.connections[%d] (connection %s): %w", tp, j, c.ID, err)
			}
		}
		for j, a := range t.SAMLApps {
			if err := retryConflict(func() error { return s.seedSAMLApp(ctx, t.ID, a, &res) }); err != nil {
				return res, fmt.Errorf("seed %s.saml_apps[%d] (SAML app %s): %w", tp, j, a.EntityID, err)
			}
		}
		if err := s.seedAPIsAndRoles(ctx, tp, t, &res); err != nil {
			return res, err
		}
		for j, u := range t.Users {
			if err := retryConflict(func() error { return s.seedUser(ctx, t.ID, u, &res) }); err != nil {
				return res, fmt.Errorf("seed %s.users[%d] (user %s): %w", tp, j, u.Email, err)
			}
		}
		if err := s.seedGroupsAndOrganizations(ctx, tp, t, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// retryConflict runs fn again once when it lost a race with another node applying the same seed.
func retryConflict(fn func() error) error {
	err := fn()
	if errors.Is(err, store.ErrConflict) {
		err = fn()
	}
	return err
}

// ensureDefaultTenant creates tenant "default" when the database has no tenant at all.
func (s *Service) ensureDefaultTenant(ctx context.Context) (bool, error) {
	ts, err := s.db.ListTenants(ctx)
	if err != nil {
		return false, err
	}
	if len(ts) > 0 {
		return false, nil
	}
	// The zero-config tenant is where a newcomer tries UMM out: its playground is on.
	_, err = s.CreateTenant(ctx, TenantInput{ID: DefaultTenantID, Name: "Default", Settings: store.TenantSettings{Playground: true}}, events.ActorSeed)
	if errors.Is(err, store.ErrConflict) { // another node made it first
		return false, nil
	}
	return err == nil, err
}

// fingerprint is the keyed MAC of an item's canonical JSON. Keyed, so seed_state does not reveal a seeded
// password or secret to someone who can read the database.
func (s *Service) fingerprint(kind, tenantID string, item any) (string, error) {
	b, err := json.Marshal(struct {
		Kind   string `json:"kind"`
		Tenant string `json:"tenant"`
		Item   any    `json:"item"`
	}{kind, tenantID, item})
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(s.keyring.MAC("umm seed", b)), nil
}

func (s *Service) seedTenant(ctx context.Context, t config.TenantSeed, res *SeedResult) error {
	in := TenantInput{ID: t.ID, Name: t.Name, Settings: SettingsFromConfig(t.Settings)}
	in.Settings.PasswordPolicy = PasswordPolicyFromConfig(t.PasswordPolicy)
	profileFromSeed(t, &in.Settings)
	in.Settings.Look = t.Look()
	if t.Email != nil {
		in.Settings.EmailFrom = t.Email.From
	}
	if err := in.validate(); err != nil {
		return err
	}
	fp, err := s.fingerprint("tenant", t.ID, struct {
		ID       string
		Name     string
		Settings store.TenantSettings
	}{in.ID, in.Name, in.Settings})
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.GetTenant(ctx, t.ID)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		old, err := tx.GetSeedFingerprint(ctx, t.ID, "tenant")
		if err != nil {
			return err
		}
		if exists && old == fp {
			res.Unchanged++
			return nil
		}
		if _, err := s.upsertTenant(ctx, tx, in, events.ActorSeed); err != nil {
			return err
		}
		res.Applied = append(res.Applied, "tenant "+t.ID)
		return tx.SetSeedFingerprint(ctx, t.ID, "tenant", fp)
	})
}

func (s *Service) seedClient(ctx context.Context, tenantID string, c config.ClientSeed, res *SeedResult) error {
	return s.seedItem(ctx, tenantID, "client", c.ClientID, c, res, func(tx *store.Tx) error {
		return s.upsertClient(ctx, tx, tenantID, ClientFromSeed(c), events.ActorSeed)
	})
}

// seedItem applies one seed item of kind (client, connection) named key when its fingerprint, made of
// fp, changed since it was last applied: apply writes it in the transaction that records the new
// fingerprint, and the item is listed as applied.
func (s *Service) seedItem(ctx context.Context, tenantID, kind, key string, fp any, res *SeedResult, apply func(tx *store.Tx) error) error {
	item := kind + ":" + key
	sum, err := s.fingerprint(kind, tenantID, fp)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		old, err := tx.GetSeedFingerprint(ctx, tenantID, item)
		if err != nil {
			return err
		}
		if old == sum {
			res.Unchanged++
			return nil
		}
		if err := apply(tx); err != nil {
			return err
		}
		res.Applied = append(res.Applied, kind+" "+tenantID+"/"+key)
		return tx.SetSeedFingerprint(ctx, tenantID, item, sum)
	})
}

// seedUser creates the user, or brings an existing one to what the seed says. The entry has two
// fingerprints: its profile (names, verified flag, roles) and its password. Each part is applied only when
// its own fingerprint changed, so editing a seeded user's name does not reset a password the user or an
// operator has changed since; editing the seed's password does (as an operator's reset, which ends the
// user's sessions and grants). The password's fingerprint commits in the transaction that sets it; the
// profile's is recorded after identity wrote the profile, so a start interrupted in between applies the
// profile again, which changes nothing.
func (s *Service) seedUser(ctx context.Context, tenantID string, u config.UserSeed, res *SeedResult) error {
	email, err := identity.NormalizeEmail(u.Email)
	if err != nil {
		return &InvalidError{Problems: []string{"email: " + err.Error()}}
	}
	profileItem, passwordItem := "user:"+email, "user-password:"+email
	profile := u
	profile.Password = ""
	fpProfile, err := s.fingerprint("user", tenantID, profile)
	if err != nil {
		return err
	}
	fpPassword, err := s.fingerprint("user-password", tenantID, struct{ Email, Password string }{email, u.Password})
	if err != nil {
		return err
	}
	oldProfile, err := s.db.GetSeedFingerprint(ctx, tenantID, profileItem)
	if err != nil {
		return err
	}
	oldPassword, err := s.db.GetSeedFingerprint(ctx, tenantID, passwordItem)
	if err != nil {
		return err
	}
	profileChanged, passwordChanged := oldProfile != fpProfile, oldPassword != fpPassword
	if !profileChanged && !passwordChanged {
		res.Unchanged++
		return nil
	}
	in := UserFromSeed(u)
	existing, err := s.identity.FindUserByEmail(ctx, tenantID, u.Email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := s.CreateUser(ctx, tenantID, in, events.ActorSeed); err != nil {
			return err
		}
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.SetSeedFingerprint(ctx, tenantID, profileItem, fpProfile); err != nil {
				return err
			}
			return tx.SetSeedFingerprint(ctx, tenantID, passwordItem, fpPassword)
		})
		if err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if profileChanged {
			if err := s.updateSeededUser(ctx, existing, in); err != nil {
				return err
			}
			if err := s.db.SetSeedFingerprint(ctx, tenantID, profileItem, fpProfile); err != nil {
				return err
			}
		}
		if passwordChanged {
			record := func(tx *store.Tx) error { return tx.SetSeedFingerprint(ctx, tenantID, passwordItem, fpPassword) }
			if in.Password == "" { // the seed no longer sets one: keep the user's, remember the change
				err = s.db.InTx(ctx, record)
			} else {
				err = s.setPassword(ctx, tenantID, existing.ID, in.Password, events.ActorSeed, record)
			}
			if err != nil {
				return err
			}
		}
	}
	res.Applied = append(res.Applied, "user "+tenantID+"/"+email)
	return nil
}

// updateSeededUser brings an existing user's profile and roles to what the seed says.
func (s *Service) updateSeededUser(ctx context.Context, u store.User, in UserInput) error {
	if err := s.checkAttributes(ctx, u.TenantID, in.Attributes); err != nil {
		return err
	}
	if u.GivenName != in.GivenName || u.FamilyName != in.FamilyName || u.EmailVerified != in.EmailVerified {
		if _, err := s.identity.UpdateUser(ctx, u.TenantID, u.ID, identity.Profile{
			Email: u.Email, GivenName: in.GivenName, FamilyName: in.FamilyName, EmailVerified: in.EmailVerified,
		}, events.ActorSeed); err != nil {
			return invalidUser(err)
		}
	}
	if err := s.seedUserProfile(ctx, u, in); err != nil {
		return err
	}
	roles := slices.Clone(in.Roles)
	slices.Sort(roles)
	if !slices.Equal(roles, u.Roles) {
		if err := s.SetRoles(ctx, u.TenantID, u.ID, in.Roles, events.ActorSeed); err != nil {
			return err
		}
	}
	return nil
}
