package authz

import (
	"context"
	"fmt"

	"github.com/umm-project/umm/internal/store"
)

// Access returns what the user holds: effective roles (direct, through groups, and through membership of
// orgID when given), groups, roles in the organization, and the permissions of the API apiID (when given).
func (s *Service) Access(ctx context.Context, tenantID, userID, orgID, apiID string) (store.Access, error) {
	return s.db.UserAccess(ctx, tenantID, userID, orgID, apiID)
}

// Check answers whether the user holds permission of the API identified by apiIdentifier, within
// organization orgID when not empty, and says why in plain words. An unknown user, API or organization is
// a NotFoundError; a permission the API does not define is simply not granted.
func (s *Service) Check(ctx context.Context, tenantID, userID, permission, apiIdentifier, orgID string) (bool, string, error) {
	if _, err := s.db.GetUser(ctx, tenantID, userID); err != nil {
		return false, "", notFound(err, "user", userID)
	}
	api, err := s.db.GetAPIByIdentifier(ctx, tenantID, apiIdentifier)
	if err != nil {
		return false, "", notFound(err, "api", apiIdentifier)
	}
	if orgID != "" {
		if _, err := s.db.GetOrganization(ctx, tenantID, orgID); err != nil {
			return false, "", notFound(err, "organization", orgID)
		}
	}
	if !api.HasPermission(permission) {
		return false, fmt.Sprintf("%s is not a permission of %s", permission, apiIdentifier), nil
	}
	a, err := s.db.UserAccess(ctx, tenantID, userID, orgID, api.ID)
	if err != nil {
		return false, "", fmt.Errorf("check: %w", err)
	}
	if orgID != "" && !a.OrgMember {
		return false, "not a member of organization " + orgID, nil
	}
	// The simplest explanation wins: a direct role, then a group's, then the organization's.
	var best *store.PermissionSource
	rank := func(r store.RoleSource) int {
		switch {
		case r.Group == "" && r.OrgID == "":
			return 0
		case r.Group != "":
			return 1
		}
		return 2
	}
	for i, p := range a.Permissions {
		if p.Permission == permission && (best == nil || rank(p.Via) < rank(best.Via)) {
			best = &a.Permissions[i]
		}
	}
	if best == nil {
		return false, "no role grants " + permission, nil
	}
	return true, reason(best.Via), nil
}

// reason says how a role is held.
func reason(r store.RoleSource) string {
	switch {
	case r.Group != "":
		return fmt.Sprintf("granted by role %s through group %s", r.Role, r.Group)
	case r.OrgID != "":
		return fmt.Sprintf("granted by role %s in organization %s", r.Role, r.OrgID)
	}
	return "granted by role " + r.Role
}
