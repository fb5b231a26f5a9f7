package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// OrganizationInput is what an organization is created or replaced with. The caller chooses ID: it is
// what clients send as organization=ID, so it is stable and readable.
type OrganizationInput struct {
	ID          string
	Name        string
	DisplayName string
	Branding    map[string]any
	Connections []string
}

func (in OrganizationInput) check(ctx context.Context, tx *store.Tx, tenantID string, p *problems) error {
	if strings.TrimSpace(in.Name) == "" {
		p.add("name", "is required")
	} else if len(in.Name) > 100 {
		p.add("name", "is longer than 100 characters")
	}
	if len(in.DisplayName) > 200 {
		p.add("display_name", "is longer than 200 characters")
	}
	if b, err := config.BrandingFromMap(in.Branding); err != nil {
		p.add("branding", "%v", err)
	} else {
		for _, msg := range (config.TenantLook{Branding: b}).Validate("organization") {
			field, text, _ := strings.Cut(strings.TrimPrefix(msg, "organization."), ": ")
			p.add(field, "%s", text)
		}
	}
	for i, c := range in.Connections {
		_, err := tx.GetConnection(ctx, tenantID, c)
		if errors.Is(err, store.ErrNotFound) {
			p.add(fmt.Sprintf("connections[%d]", i), "%q is not a connection of this tenant", c)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// GetOrganization returns the organization with its connections.
func (s *Service) GetOrganization(ctx context.Context, tenantID, id string) (store.Organization, error) {
	o, err := s.db.GetOrganization(ctx, tenantID, id)
	return o, notFound(err, "organization", id)
}

// ListOrganizations returns up to limit organizations with id > after, ordered by id.
func (s *Service) ListOrganizations(ctx context.Context, tenantID, after string, limit int) ([]store.Organization, error) {
	return s.db.ListOrganizations(ctx, tenantID, after, limit)
}

// ListOrganizationMembers returns up to limit members with user id > after, with their roles there.
func (s *Service) ListOrganizationMembers(ctx context.Context, tenantID, orgID, after string, limit int) ([]store.OrgMember, error) {
	if _, err := s.GetOrganization(ctx, tenantID, orgID); err != nil {
		return nil, err
	}
	return s.db.ListOrganizationMembers(ctx, tenantID, orgID, after, limit)
}

// CreateOrganization creates an organization; its connections must be the tenant's.
func (s *Service) CreateOrganization(ctx context.Context, tenantID string, in OrganizationInput, actor string) (store.Organization, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var p problems
		if err := config.CheckOrganizationID(in.ID); err != nil {
			p.add("id", "%v", err)
		}
		if err := in.check(ctx, tx, tenantID, &p); err != nil {
			return err
		}
		if err := p.err(); err != nil {
			return err
		}
		// Which field clashes is told apart before the insert: after a failed statement PostgreSQL takes no
		// more queries in the transaction.
		if _, err := tx.GetOrganization(ctx, tenantID, in.ID); err == nil {
			return &ConflictError{Field: "id", Message: "an organization with id " + in.ID + " exists"}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		o := store.Organization{TenantID: tenantID, ID: in.ID, Name: in.Name, DisplayName: in.DisplayName, Branding: in.Branding}
		if err := tx.CreateOrganization(ctx, o); err != nil {
			return conflict(err, "name", "an organization named "+in.Name+" exists")
		}
		if err := tx.SetOrganizationConnections(ctx, tenantID, in.ID, dedupe(in.Connections)); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.OrganizationChanged(events.TypeOrganizationCreated, tenantID, actor, in.ID, in.Name))
	})
	if err != nil {
		return store.Organization{}, fmt.Errorf("create organization: %w", err)
	}
	return s.GetOrganization(ctx, tenantID, in.ID)
}

// UpdateOrganization replaces the organization's name, display name, branding and connections.
func (s *Service) UpdateOrganization(ctx context.Context, tenantID, id string, in OrganizationInput, actor string) (store.Organization, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var p problems
		if in.ID != "" && in.ID != id {
			p.add("id", "an organization's id cannot change")
		}
		if err := in.check(ctx, tx, tenantID, &p); err != nil {
			return err
		}
		if err := p.err(); err != nil {
			return err
		}
		o := store.Organization{TenantID: tenantID, ID: id, Name: in.Name, DisplayName: in.DisplayName, Branding: in.Branding}
		if err := tx.UpdateOrganization(ctx, o); err != nil {
			return conflict(notFound(err, "organization", id), "name", "an organization named "+in.Name+" exists")
		}
		if err := tx.SetOrganizationConnections(ctx, tenantID, id, dedupe(in.Connections)); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.OrganizationChanged(events.TypeOrganizationUpdated, tenantID, actor, id, in.Name))
	})
	if err != nil {
		return store.Organization{}, fmt.Errorf("update organization: %w", err)
	}
	return s.GetOrganization(ctx, tenantID, id)
}

// DeleteOrganization removes the organization and its memberships.
func (s *Service) DeleteOrganization(ctx context.Context, tenantID, id, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.GetOrganization(ctx, tenantID, id)
		if err != nil {
			return notFound(err, "organization", id)
		}
		if err := tx.DeleteOrganization(ctx, tenantID, id); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.OrganizationChanged(events.TypeOrganizationDeleted, tenantID, actor, id, o.Name))
	})
}

// AddOrganizationMember makes an existing user a member holding roles (tenant roles) in the organization.
func (s *Service) AddOrganizationMember(ctx context.Context, tenantID, orgID, userID string, roles []string, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetOrganization(ctx, tenantID, orgID); err != nil {
			return notFound(err, "organization", orgID)
		}
		if err := checkUser(ctx, tx, tenantID, userID); err != nil {
			return err
		}
		var p problems
		if err := checkRoles(ctx, tx, tenantID, "roles", roles, &p); err != nil {
			return err
		}
		if err := p.err(); err != nil {
			return err
		}
		if err := tx.AddOrganizationMember(ctx, tenantID, orgID, userID); err != nil {
			return conflict(err, "user_id", "the user is already a member of this organization")
		}
		if err := tx.SetOrganizationMemberRoles(ctx, tenantID, orgID, userID, dedupe(roles)); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.OrganizationMember(events.TypeOrganizationMemberAdded, tenantID, actor, orgID, userID, dedupe(roles)))
	})
}

// SetOrganizationMemberRoles makes roles exactly the member's roles in the organization.
func (s *Service) SetOrganizationMemberRoles(ctx context.Context, tenantID, orgID, userID string, roles []string, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetOrganizationMember(ctx, tenantID, orgID, userID); err != nil {
			return notFound(err, "member", userID)
		}
		var p problems
		if err := checkRoles(ctx, tx, tenantID, "roles", roles, &p); err != nil {
			return err
		}
		if err := p.err(); err != nil {
			return err
		}
		if err := tx.SetOrganizationMemberRoles(ctx, tenantID, orgID, userID, dedupe(roles)); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.OrganizationMember(events.TypeOrganizationMemberRolesChanged, tenantID, actor, orgID, userID, dedupe(roles)))
	})
}

// RemoveOrganizationMember ends the user's membership and the roles held through it.
func (s *Service) RemoveOrganizationMember(ctx context.Context, tenantID, orgID, userID, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RemoveOrganizationMember(ctx, tenantID, orgID, userID); err != nil {
			return notFound(err, "member", userID)
		}
		return tx.AppendEvent(ctx, events.OrganizationMember(events.TypeOrganizationMemberRemoved, tenantID, actor, orgID, userID, nil))
	})
}

// JoinThroughConnection makes userID a member (with no roles) of organization orgID after the user signed
// in to it through connectionID, one of the organization's own connections: the organization's identity
// provider vouches for its people, so they join just in time, as an account is created just in time. It
// reports whether the user joined now; a connection that is not the organization's joins no one.
func (s *Service) JoinThroughConnection(ctx context.Context, tenantID, orgID, userID, connectionID string) (bool, error) {
	joined := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.GetOrganization(ctx, tenantID, orgID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !slices.Contains(o.Connections, connectionID) {
			return nil
		}
		if _, err := tx.GetOrganizationMember(ctx, tenantID, orgID, userID); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.AddOrganizationMember(ctx, tenantID, orgID, userID); err != nil {
			return err
		}
		joined = true
		e := events.OrganizationMember(events.TypeOrganizationMemberAdded, tenantID, userID, orgID, userID, nil)
		e.Data["connection"] = connectionID
		return tx.AppendEvent(ctx, e)
	})
	if err != nil {
		return false, fmt.Errorf("join organization %s: %w", orgID, err)
	}
	return joined, nil
}
