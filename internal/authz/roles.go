package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// PermissionRef names a permission of an API by the API's identifier.
type PermissionRef struct {
	API        string // the API's identifier
	Permission string
}

// RoleInput is what a role is created or replaced with.
type RoleInput struct {
	Name        string
	Description string
	Permissions []PermissionRef
}

// GetRole returns the role with its permissions.
func (s *Service) GetRole(ctx context.Context, tenantID, name string) (store.Role, error) {
	r, err := s.db.GetRole(ctx, tenantID, name)
	return r, notFound(err, "role", name)
}

// ListRoles returns up to limit roles named after after, ordered by name.
func (s *Service) ListRoles(ctx context.Context, tenantID, after string, limit int) ([]store.Role, error) {
	return s.db.ListRolesPage(ctx, tenantID, after, limit)
}

// resolvePermissions maps refs to the APIs' ids, adding a problem for each that names no API or no
// permission of its API.
func resolvePermissions(ctx context.Context, tx *store.Tx, tenantID string, refs []PermissionRef, p *problems) ([]store.RolePermission, error) {
	apis := map[string]*store.API{}
	var out []store.RolePermission
	for i, ref := range refs {
		a, ok := apis[ref.API]
		if !ok {
			got, err := tx.GetAPIByIdentifier(ctx, tenantID, ref.API)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if err == nil {
				a = &got
			}
			apis[ref.API] = a
		}
		switch {
		case a == nil:
			p.add(fmt.Sprintf("permissions[%d].api", i), "%q is not the identifier of an API of this tenant", ref.API)
		case !a.HasPermission(ref.Permission):
			names := make([]string, len(a.Permissions))
			for j, ap := range a.Permissions {
				names[j] = ap.Name
			}
			p.add(fmt.Sprintf("permissions[%d].permission", i), "%q is not a permission of %s (it has: %s)",
				ref.Permission, ref.API, strings.Join(names, ", "))
		default:
			out = append(out, store.RolePermission{APIID: a.ID, APIIdentifier: a.Identifier, Permission: ref.Permission})
		}
	}
	return out, nil
}

// CreateRole creates a role granting permissions of existing APIs.
func (s *Service) CreateRole(ctx context.Context, tenantID string, in RoleInput, actor string) (store.Role, error) {
	var p problems
	if err := config.CheckRoleName(in.Name); err != nil {
		p.add("name", "%v", err)
	}
	if len(in.Description) > 500 {
		p.add("description", "is longer than 500 characters")
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		perms, err := resolvePermissions(ctx, tx, tenantID, in.Permissions, &p)
		if err != nil {
			return err
		}
		if err := p.err(); err != nil {
			return err
		}
		if err := tx.CreateRole(ctx, store.Role{TenantID: tenantID, Name: in.Name, Description: in.Description}); err != nil {
			return conflict(err, "name", "a role named "+in.Name+" exists")
		}
		if err := tx.SetRolePermissions(ctx, tenantID, in.Name, perms); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.RoleChanged(events.TypeRoleCreated, tenantID, actor, in.Name))
	})
	if err != nil {
		return store.Role{}, fmt.Errorf("create role: %w", err)
	}
	return s.GetRole(ctx, tenantID, in.Name)
}

// UpdateRole replaces the role's description and permissions (its name is its id and stays).
func (s *Service) UpdateRole(ctx context.Context, tenantID, name string, in RoleInput, actor string) (store.Role, error) {
	var p problems
	if in.Name != "" && in.Name != name {
		p.add("name", "a role cannot be renamed: create a role with the new name and delete this one")
	}
	if len(in.Description) > 500 {
		p.add("description", "is longer than 500 characters")
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		perms, err := resolvePermissions(ctx, tx, tenantID, in.Permissions, &p)
		if err != nil {
			return err
		}
		if err := p.err(); err != nil {
			return err
		}
		if err := tx.UpdateRole(ctx, store.Role{TenantID: tenantID, Name: name, Description: in.Description}); err != nil {
			return notFound(err, "role", name)
		}
		if err := tx.SetRolePermissions(ctx, tenantID, name, perms); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.RoleChanged(events.TypeRoleUpdated, tenantID, actor, name))
	})
	if err != nil {
		return store.Role{}, fmt.Errorf("update role: %w", err)
	}
	return s.GetRole(ctx, tenantID, name)
}

// SetRolePermissions replaces what the role grants, keeping its description.
func (s *Service) SetRolePermissions(ctx context.Context, tenantID, name string, refs []PermissionRef, actor string) (store.Role, error) {
	r, err := s.GetRole(ctx, tenantID, name)
	if err != nil {
		return r, err
	}
	return s.UpdateRole(ctx, tenantID, name, RoleInput{Description: r.Description, Permissions: refs}, actor)
}

// DeleteRole removes the role and every assignment of it.
func (s *Service) DeleteRole(ctx context.Context, tenantID, name, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteRole(ctx, tenantID, name); err != nil {
			return notFound(err, "role", name)
		}
		return tx.AppendEvent(ctx, events.RoleChanged(events.TypeRoleDeleted, tenantID, actor, name))
	})
}
