package identity

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// ApplyProfile writes validated values (ValidateProfile's result) into u: the names into their columns,
// the other standard claims into Profile.Claims, custom fields into Profile.Attributes; nil clears a
// value. It returns the names of the fields that changed, sorted. A new phone number is not verified.
func ApplyProfile(u *store.User, values map[string]any) []string {
	u.Profile = u.Profile.Clone()
	var changed []string
	for name, v := range values {
		switch name {
		case "given_name", "family_name":
			s, _ := v.(string)
			col := &u.GivenName
			if name == "family_name" {
				col = &u.FamilyName
			}
			if *col != s {
				*col = s
				changed = append(changed, name)
			}
			continue
		}
		m := &u.Profile.Attributes
		if _, standard := config.StandardClaims[name]; standard {
			m = &u.Profile.Claims
		}
		old, had := (*m)[name]
		if v == nil {
			if had {
				delete(*m, name)
				changed = append(changed, name)
			}
			continue
		}
		if had && reflect.DeepEqual(old, v) {
			continue
		}
		if *m == nil {
			*m = map[string]any{}
		}
		(*m)[name] = v
		changed = append(changed, name)
	}
	if slices.Contains(changed, "phone_number") {
		if _, ok := u.Profile.Claims["phone_number_verified"]; ok {
			delete(u.Profile.Claims, "phone_number_verified")
			changed = append(changed, "phone_number_verified")
		}
	}
	sort.Strings(changed)
	return changed
}

// UpdateProfile validates values against the tenant's profile schema for purpose (PurposeAdmin for the
// CLI, the seed and the API; the pages pass theirs), then writes the fields that changed with a
// user.updated event naming them, and a new updated_at. Fields not in values keep their value. Invalid
// values are FieldErrors; nothing changed means no write and no event.
func (s *Service) UpdateProfile(ctx context.Context, tenantID, userID, purpose string, values map[string]any, actor string) (store.User, error) {
	var out store.User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		t, err := tx.GetTenant(ctx, tenantID)
		if err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		now := s.now()
		clean, errs := ValidateProfile(t.Settings.Profile, purpose, values, now)
		if errs != nil {
			return errs
		}
		next := u
		fields := ApplyProfile(&next, clean)
		if err := checkNames(next.GivenName, next.FamilyName); err != nil {
			return err
		}
		if len(fields) == 0 {
			out = u
			return nil
		}
		next.UpdatedAt = now
		if err := tx.UpdateUser(ctx, next); err != nil {
			return err
		}
		next.UpdatedAt = now.Truncate(1e9)
		out = next
		return tx.AppendEvent(ctx, at(events.UserUpdated(tenantID, userID, actor, fields), now))
	})
	if err != nil {
		return store.User{}, fmt.Errorf("update profile: %w", err)
	}
	return out, nil
}

// newUserProfile validates the profile values of a new account against the tenant's schema (as an
// operator's write) and applies them to u.
func (s *Service) newUserProfile(ctx context.Context, u *store.User, values map[string]any) error {
	if len(values) == 0 {
		return nil
	}
	t, err := s.db.GetTenant(ctx, u.TenantID)
	if err != nil {
		return err
	}
	clean, errs := ValidateProfile(t.Settings.Profile, PurposeAdmin, values, s.now())
	if errs != nil {
		return errs
	}
	ApplyProfile(u, clean)
	return checkNames(u.GivenName, u.FamilyName)
}
