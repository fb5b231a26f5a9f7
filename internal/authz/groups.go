package authz

import (
	"context"
	"fmt"
	"strings"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// GroupInput is what a group is created or replaced with.
type GroupInput struct {
	Name        string
	Description string
	Roles       []string
}

func (in GroupInput) check(p *problems) {
	if strings.TrimSpace(in.Name) == "" {
		p.add("name", "is required")
	} else if len(in.Name) > 100 {
		p.add("name", "is longer than 100 characters")
	}
	if len(in.Description) > 500 {
		p.add("description", "is longer than 500 characters")
	}
}

// GetGroup returns the group with its roles.
func (s *Service) GetGroup(ctx context.Context, tenantID, id string) (store.Group, error) {
	g, err := s.db.GetGroup(ctx, tenantID, id)
	return g, notFound(err, "group", id)
}

// ListGroups returns up to limit groups with id > after, ordered by id.
func (s *Service) ListGroups(ctx context.Context, tenantID, after string, limit int) ([]store.Group, error) {
	return s.db.ListGroups(ctx, tenantID, after, limit)
}

// ListGroupMembers returns up to limit members of the group with user id > after.
func (s *Service) ListGroupMembers(ctx context.Context, tenantID, groupID, after string, limit int) ([]store.GroupMember, error) {
	if _, err := s.GetGroup(ctx, tenantID, groupID); err != nil {
		return nil, err
	}
	return s.db.ListGroupMembers(ctx, tenantID, groupID, after, limit)
}

// CreateGroup creates a group holding existing roles.
func (s *Service) CreateGroup(ctx context.Context, tenantID string, in GroupInput, actor string) (store.Group, error) {
	id := keys.NewID()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var p problems
		in.check(&p)
		if err := checkRoles(ctx, tx, tenantID, "roles", in.Roles, &p); err != nil {
			return err
		}
		if err := p.err(); err != nil {
			return err
		}
		if err := tx.CreateGroup(ctx, store.Group{TenantID: tenantID, ID: id, Name: in.Name, Description: in.Description}); err != nil {
			return conflict(err, "name", "a group named "+in.Name+" exists")
		}
		if err := tx.SetGroupRoles(ctx, tenantID, id, dedupe(in.Roles)); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.GroupChanged(events.TypeGroupCreated, tenantID, actor, id, in.Name))
	})
	if err != nil {
		return store.Group{}, fmt.Errorf("create group: %w", err)
	}
	return s.GetGroup(ctx, tenantID, id)
}

// UpdateGroup replaces the group's name, description and roles.
func (s *Service) UpdateGroup(ctx context.Context, tenantID, id string, in GroupInput, actor string) (store.Group, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var p problems
		in.check(&p)
		if err := checkRoles(ctx, tx, tenantID, "roles", in.Roles, &p); err != nil {
			return err
		}
		if err := p.err(); err != nil {
			return err
		}
		if err := tx.UpdateGroup(ctx, store.Group{TenantID: tenantID, ID: id, Name: in.Name, Description: in.Description}); err != nil {
			return conflict(notFound(err, "group", id), "name", "a group named "+in.Name+" exists")
		}
		if err := tx.SetGroupRoles(ctx, tenantID, id, dedupe(in.Roles)); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.GroupChanged(events.TypeGroupUpdated, tenantID, actor, id, in.Name))
	})
	if err != nil {
		return store.Group{}, fmt.Errorf("update group: %w", err)
	}
	return s.GetGroup(ctx, tenantID, id)
}

// DeleteGroup removes the group; its members lose the roles they held through it.
func (s *Service) DeleteGroup(ctx context.Context, tenantID, id, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		g, err := tx.GetGroup(ctx, tenantID, id)
		if err != nil {
			return notFound(err, "group", id)
		}
		if err := tx.DeleteGroup(ctx, tenantID, id); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.GroupChanged(events.TypeGroupDeleted, tenantID, actor, id, g.Name))
	})
}

// AddGroupMember adds an existing user to the group; a user already in it is a ConflictError.
func (s *Service) AddGroupMember(ctx context.Context, tenantID, groupID, userID, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetGroup(ctx, tenantID, groupID); err != nil {
			return notFound(err, "group", groupID)
		}
		if err := checkUser(ctx, tx, tenantID, userID); err != nil {
			return err
		}
		if err := tx.AddGroupMember(ctx, tenantID, groupID, userID); err != nil {
			return conflict(err, "user_id", "the user is already a member of this group")
		}
		return tx.AppendEvent(ctx, events.GroupMember(events.TypeGroupMemberAdded, tenantID, actor, groupID, userID))
	})
}

// RemoveGroupMember takes the user out of the group.
func (s *Service) RemoveGroupMember(ctx context.Context, tenantID, groupID, userID, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RemoveGroupMember(ctx, tenantID, groupID, userID); err != nil {
			return notFound(err, "member", userID)
		}
		return tx.AppendEvent(ctx, events.GroupMember(events.TypeGroupMemberRemoved, tenantID, actor, groupID, userID))
	})
}
