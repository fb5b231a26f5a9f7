package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
)

// Authz returns the authorization service the seed and the API share.
func (s *Service) Authz() *authz.Service { return s.authz }

// seedAPIsAndRoles applies the tenant's apis, then its roles (which grant the apis' permissions). They
// come before the users, whose roles may name them.
func (s *Service) seedAPIsAndRoles(ctx context.Context, tp string, t config.TenantSeed, res *SeedResult) error {
	for j, a := range t.APIs {
		if err := retryConflict(func() error { return s.seedAPI(ctx, t.ID, a, res) }); err != nil {
			return fmt.Errorf("seed %s.apis[%d] (api %s): %w", tp, j, a.Identifier, err)
		}
	}
	for j, r := range t.Roles {
		if err := retryConflict(func() error { return s.seedRole(ctx, t.ID, r, res) }); err != nil {
			return fmt.Errorf("seed %s.roles[%d] (role %s): %w", tp, j, r.Name, err)
		}
	}
	return nil
}

// seedGroupsAndOrganizations applies the tenant's groups and organizations, after its users (members are
// named by email).
func (s *Service) seedGroupsAndOrganizations(ctx context.Context, tp string, t config.TenantSeed, res *SeedResult) error {
	for j, g := range t.Groups {
		if err := retryConflict(func() error { return s.seedGroup(ctx, t.ID, g, res) }); err != nil {
			return fmt.Errorf("seed %s.groups[%d] (group %s): %w", tp, j, g.Name, err)
		}
	}
	for j, o := range t.Organizations {
		if err := retryConflict(func() error { return s.seedOrganization(ctx, t.ID, o, res) }); err != nil {
			return fmt.Errorf("seed %s.organizations[%d] (organization %s): %w", tp, j, o.ID, err)
		}
	}
	return nil
}

// seedAuthzItem applies one item through the authz service when its fingerprint changed since it was
// last applied. The service commits each write with its event; the fingerprint is recorded after, so a
// start interrupted in between applies the item again, which changes nothing.
func (s *Service) seedAuthzItem(ctx context.Context, tenantID, kind, key string, item any, res *SeedResult, apply func() error) error {
	name := kind + ":" + key
	fp, err := s.fingerprint(kind, tenantID, item)
	if err != nil {
		return err
	}
	old, err := s.db.GetSeedFingerprint(ctx, tenantID, name)
	if err != nil {
		return err
	}
	if old == fp {
		res.Unchanged++
		return nil
	}
	if err := apply(); err != nil {
		return err
	}
	res.Applied = append(res.Applied, kind+" "+tenantID+"/"+key)
	return s.db.SetSeedFingerprint(ctx, tenantID, name, fp)
}

func (s *Service) seedAPI(ctx context.Context, tenantID string, a config.APISeed, res *SeedResult) error {
	return s.seedAuthzItem(ctx, tenantID, "api", a.Identifier, a, res, func() error {
		in := authz.APIInput{Identifier: a.Identifier, Name: a.Name, TokenLifetime: a.TokenLifetime.D(), Claims: a.Claims}
		for _, p := range a.Permissions {
			in.Permissions = append(in.Permissions, store.APIPermission{Name: p.Name, Description: p.Description})
		}
		old, err := s.authz.APIByIdentifier(ctx, tenantID, a.Identifier)
		switch {
		case err == nil:
			_, err = s.authz.UpdateAPI(ctx, tenantID, old.ID, in, events.ActorSeed)
		case errors.Is(err, store.ErrNotFound):
			_, err = s.authz.CreateAPI(ctx, tenantID, in, events.ActorSeed)
		}
		return err
	})
}

func (s *Service) seedRole(ctx context.Context, tenantID string, r config.RoleSeed, res *SeedResult) error {
	return s.seedAuthzItem(ctx, tenantID, "role", r.Name, r, res, func() error {
		in := authz.RoleInput{Name: r.Name, Description: r.Description}
		for _, p := range r.Permissions {
			in.Permissions = append(in.Permissions, authz.PermissionRef{API: p.API, Permission: p.Permission})
		}
		_, err := s.authz.GetRole(ctx, tenantID, r.Name)
		switch {
		case err == nil:
			_, err = s.authz.UpdateRole(ctx, tenantID, r.Name, in, events.ActorSeed)
		case errors.Is(err, store.ErrNotFound):
			_, err = s.authz.CreateRole(ctx, tenantID, in, events.ActorSeed)
		}
		return err
	})
}

// seedUserID returns the id of the tenant's user with email.
func (s *Service) seedUserID(ctx context.Context, tenantID, email string) (string, error) {
	norm, err := identity.NormalizeEmail(email)
	if err != nil {
		return "", &InvalidError{Problems: []string{"email: " + err.Error()}}
	}
	u, err := s.db.GetUserByEmail(ctx, tenantID, norm)
	if errors.Is(err, store.ErrNotFound) {
		return "", &InvalidError{Problems: []string{fmt.Sprintf("members: %s is not a user of this tenant", email)}}
	}
	return u.ID, err
}

// ensureRoles creates the roles the seed names that exist nowhere yet (a role given only to users in the
// seed is created with them; a group or membership naming it may come first).
func (s *Service) ensureRoles(ctx context.Context, tenantID string, roles []string) error {
	for _, r := range roles {
		if _, err := s.authz.GetRole(ctx, tenantID, r); errors.Is(err, store.ErrNotFound) {
			if _, err := s.authz.CreateRole(ctx, tenantID, authz.RoleInput{Name: r}, events.ActorSeed); err != nil &&
				!errors.Is(err, store.ErrConflict) {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// seedGroup creates or updates the group and adds the seed's members it lacks. Members added through the
// API stay: the seed only adds.
func (s *Service) seedGroup(ctx context.Context, tenantID string, g config.GroupSeed, res *SeedResult) error {
	return s.seedAuthzItem(ctx, tenantID, "group", g.Name, g, res, func() error {
		if err := s.ensureRoles(ctx, tenantID, g.Roles); err != nil {
			return err
		}
		in := authz.GroupInput{Name: g.Name, Description: g.Description, Roles: g.Roles}
		old, err := s.db.GetGroupByName(ctx, tenantID, g.Name)
		var saved store.Group
		switch {
		case err == nil:
			saved, err = s.authz.UpdateGroup(ctx, tenantID, old.ID, in, events.ActorSeed)
		case errors.Is(err, store.ErrNotFound):
			saved, err = s.authz.CreateGroup(ctx, tenantID, in, events.ActorSeed)
		}
		if err != nil {
			return err
		}
		for _, email := range g.Members {
			uid, err := s.seedUserID(ctx, tenantID, email)
			if err != nil {
				return err
			}
			if err := s.authz.AddGroupMember(ctx, tenantID, saved.ID, uid, events.ActorSeed); err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
		}
		return nil
	})
}

// seedOrganization creates or updates the organization, adds the seed's members it lacks and gives each
// seeded member the seed's roles there.
func (s *Service) seedOrganization(ctx context.Context, tenantID string, o config.OrganizationSeed, res *SeedResult) error {
	return s.seedAuthzItem(ctx, tenantID, "organization", o.ID, o, res, func() error {
		in := authz.OrganizationInput{ID: o.ID, Name: o.Name, DisplayName: o.DisplayName, Connections: o.Connections}
		if o.Branding != nil {
			in.Branding = o.Branding.Map()
		}
		old, err := s.authz.GetOrganization(ctx, tenantID, o.ID)
		switch {
		case err == nil:
			if o.Branding == nil {
				in.Branding = old.Branding // set through the API; the seed names none
			}
			_, err = s.authz.UpdateOrganization(ctx, tenantID, o.ID, in, events.ActorSeed)
		case errors.Is(err, store.ErrNotFound):
			_, err = s.authz.CreateOrganization(ctx, tenantID, in, events.ActorSeed)
		}
		if err != nil {
			return err
		}
		for _, m := range o.Members {
			if err := s.ensureRoles(ctx, tenantID, m.Roles); err != nil {
				return err
			}
			uid, err := s.seedUserID(ctx, tenantID, m.Email)
			if err != nil {
				return err
			}
			_, err = s.db.GetOrganizationMember(ctx, tenantID, o.ID, uid)
			switch {
			case err == nil:
				err = s.authz.SetOrganizationMemberRoles(ctx, tenantID, o.ID, uid, m.Roles, events.ActorSeed)
			case errors.Is(err, store.ErrNotFound):
				err = s.authz.AddOrganizationMember(ctx, tenantID, o.ID, uid, m.Roles, events.ActorSeed)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}
