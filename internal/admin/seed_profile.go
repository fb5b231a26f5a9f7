package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
)

// profileFromSeed copies a seed tenant's registration and profile blocks into its stored settings.
func profileFromSeed(t config.TenantSeed, st *store.TenantSettings) {
	if t.Registration != nil {
		st.Registration = *t.Registration
	}
	if t.Profile != nil {
		st.Profile = *t.Profile
	}
	if t.MFA != nil {
		st.MFA = *t.MFA
	}
	if t.Login != nil {
		st.Login = *t.Login
	}
	if t.WebAuthn != nil {
		st.WebAuthn = *t.WebAuthn
	}
	if t.Risk != nil {
		st.Risk = *t.Risk
	}
}

// validateTenantProfile adds the problems of a tenant's registration and profile schema: the same checks
// as the configuration file, for every path that writes a tenant.
func (in *TenantInput) validateProfile(p *problems) {
	*p = append(*p, config.CheckRegistration("settings.registration.", in.Settings.Registration)...)
	*p = append(*p, config.CheckProfileSchema("settings.profile.", in.Settings.Profile)...)
	*p = append(*p, config.CheckMFA("settings.mfa.", in.Settings.MFA)...)
	*p = append(*p, config.CheckLogin("settings.login.", in.Settings.Login)...)
	*p = append(*p, config.CheckWebAuthn("settings.webauthn.", in.Settings.WebAuthn)...)
}

// validateProfile checks the client's initiate_login_uri.
func (in *ClientInput) validateProfile(p *problems) {
	*p = append(*p, config.CheckMFAPolicy("mfa_policy", in.MFAPolicy)...)
	if in.InitiateLoginURI != "" {
		if err := config.CheckInitiateLoginURI(in.InitiateLoginURI); err != nil {
			p.add("initiate_login_uri", err.Error())
		}
	}
}

// checkClientProfile checks, inside the transaction that writes the client, that each of its required
// profile fields is a standard claim or a field of the tenant's schema.
func checkClientProfile(ctx context.Context, tx *store.Tx, tenantID string, in ClientInput) error {
	if len(in.RequiredProfileFields) == 0 {
		return nil
	}
	t, err := tx.GetTenant(ctx, tenantID)
	if err != nil {
		return err
	}
	var p problems
	for i, f := range in.RequiredProfileFields {
		if !t.Settings.Profile.Knows(f) {
			p.add(fmt.Sprintf("required_profile_fields[%d]", i),
				fmt.Sprintf("%q is neither a standard claim nor a field of tenant %s's profile", f, tenantID))
		}
	}
	return p.err()
}

// profileValues are the profile values of a user input: its attributes (standard claims and custom fields).
func (in UserInput) profileValues() map[string]any {
	if len(in.Attributes) == 0 {
		return nil
	}
	return maps.Clone(in.Attributes)
}

// UpdateProfile sets some profile values of a user (standard claims and custom attributes) as an
// operator: checked by identity's one validator against the tenant's schema; an empty value clears one.
func (s *Service) UpdateProfile(ctx context.Context, tenantID, userID string, values map[string]any, actor string) (store.User, error) {
	u, err := s.identity.UpdateProfile(ctx, tenantID, userID, identity.PurposeAdmin, values, actor)
	return u, invalidUser(err)
}

// seedUserProfile brings a seeded user's attributes to what the seed lists. Values the seed does not name
// are left as they are (an attribute is cleared by seeding it empty).
func (s *Service) seedUserProfile(ctx context.Context, u store.User, in UserInput) error {
	if len(in.Attributes) == 0 {
		return nil
	}
	_, err := s.UpdateProfile(ctx, u.TenantID, u.ID, in.profileValues(), events.ActorSeed)
	return err
}

// profileProblems turns identity's field errors into problems naming each field under attributes, so a
// seed entry, a flag and an API field read the same: "attributes.company: must be at most 100 characters".
func profileProblems(err error) (*InvalidError, bool) {
	var fe identity.FieldErrors
	if !errors.As(err, &fe) {
		return nil, false
	}
	ie := &InvalidError{cause: err}
	for _, e := range fe {
		ie.Problems = append(ie.Problems, "attributes."+e.Error())
	}
	return ie, true
}

// checkAttributes validates profile values before a change that also writes other fields, so that a bad
// value refuses the whole change instead of leaving half of it applied.
func (s *Service) checkAttributes(ctx context.Context, tenantID string, values map[string]any) error {
	if len(values) == 0 {
		return nil
	}
	t, err := s.db.GetTenant(ctx, tenantID)
	if err != nil {
		return err
	}
	if _, errs := identity.ValidateProfile(t.Settings.Profile, identity.PurposeAdmin, values, s.now()); errs != nil {
		return invalidUser(errs)
	}
	return nil
}
