package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

// Authorization claims (config.TokenClaims) a client or an API asks its tokens to carry.
const (
	claimRoles       = "roles"
	claimPermissions = "permissions"
	claimGroups      = "groups"
	claimOrgID       = "org_id"
	claimOrgRoles    = "org_roles"
)

// managementScopePrefix starts the scopes of the management API (umm:users:read, umm:admin, ...).
const managementScopePrefix = "umm:"

// errInvalidTarget is RFC 8707 §2's error for a resource the server will not issue tokens for.
func errInvalidTarget(desc string) *Error {
	return newErr("invalid_target", http.StatusBadRequest, nil, desc)
}

// errSeveralResources answers a request naming more than one resource: UMM issues a token for one API
// at a time, so its aud and scope are unambiguous.
func errSeveralResources() *Error {
	return errInvalidTarget("send exactly one resource per request: a token is issued for one API at a time")
}

// lookupResource returns the API whose identifier is resource (RFC 8707 §2), or nil when resource is
// empty. A malformed or unknown resource is invalid_target.
func (p *Provider) lookupResource(ctx context.Context, tenantID, resource string) (*store.API, error) {
	if resource == "" || resource == p.managementAudience() {
		// The management API is no API of the tenant: its tokens are recognised by their umm: scopes,
		// which give them its audience whether or not a client names it as the resource.
		return nil, nil
	}
	if config.CheckAPIIdentifier(resource) != nil {
		return nil, errInvalidTarget("resource must be an absolute URI without a fragment (RFC 8707)")
	}
	api, err := p.db.GetAPIByIdentifier(ctx, tenantID, resource)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidTarget("resource is not the identifier of an API of this tenant")
	}
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	return &api, nil
}

// resolveOrganization decides the organization a signed-in user gets tokens for: the one the request
// named, which the user must be a member of, or, for a client that requires one, the user's only
// organization.
func (p *Provider) resolveOrganization(ctx context.Context, tenantID string, client store.Client, userID, requested string) (string, error) {
	if requested != "" {
		_, err := p.db.GetOrganizationMember(ctx, tenantID, requested, userID)
		if errors.Is(err, store.ErrNotFound) {
			return "", errAccessDenied("the user is not a member of the organization the request names")
		}
		if err != nil {
			return "", fmt.Errorf("organization membership: %w", err)
		}
		return requested, nil
	}
	if !client.OrganizationRequired {
		return "", nil
	}
	orgs, err := p.db.UserOrganizations(ctx, tenantID, userID)
	if err != nil {
		return "", err
	}
	switch len(orgs) {
	case 1:
		return orgs[0], nil
	case 0:
		return "", errAccessDenied("this application is for members of an organization, and the user is a member of none")
	}
	// The hosted pages ask a member of several which one; a request that got here without that choice
	// (it was completed elsewhere) cannot pick one for the user.
	return "", errInvalidRequest("this client requires organization=<organization id>: the user is a member of several organizations")
}

// organizationChoice reports whether a signed-in user must choose an organization on the hosted pages
// before the client gets a code: the client requires one, the request named none, and the user is a
// member of several.
func (p *Provider) organizationChoice(ctx context.Context, tenantID string, client store.Client, userID, requested string) (bool, error) {
	if !client.OrganizationRequired || requested != "" {
		return false, nil
	}
	orgs, err := p.db.UserOrganizations(ctx, tenantID, userID)
	if err != nil {
		return false, err
	}
	return len(orgs) > 1, nil
}

// applyAuthz settles what a grant's tokens say about authorization, before they are minted. With an API
// (a.api), the permissions of that API among the scopes stay only when the user's roles grant them (for
// client_credentials: when the client may request them, which the scopes already are). Permissions of
// other APIs, or of any API when no resource was named, are left out: they only mean something in a
// token for their API. For a user, it also loads the roles, groups and organization roles the claims
// need.
func (p *Provider) applyAuthz(ctx context.Context, t store.Tenant, a *authorization) error {
	if a.user == nil && a.api == nil {
		// client_credentials without a resource keeps its registered scopes and costs no query.
		return nil
	}
	var candidates []string
	for _, s := range a.scopes {
		if !slices.Contains(standardScopes, s) && !strings.HasPrefix(s, managementScopePrefix) {
			candidates = append(candidates, s)
		}
	}
	permissions, err := p.db.APIPermissionNames(ctx, t.ID, candidates)
	if err != nil {
		return err
	}
	// A user's roles are read only when something depends on them: the API's permissions, the
	// organization, or a roles or groups claim.
	needAccess := a.api != nil || a.orgID != "" || wantsUserClaims(a.client.TokenClaims)
	if a.user != nil && needAccess {
		apiID := ""
		if a.api != nil {
			apiID = a.api.ID
		}
		acc, err := p.authz.Access(ctx, t.ID, a.subject, a.orgID, apiID)
		if err != nil {
			return fmt.Errorf("user access: %w", err)
		}
		if a.orgID != "" && !acc.OrgMember {
			// Removed from the organization since the grant was made: its tokens end with the membership.
			return errInvalidGrant(nil, "the user is no longer a member of the organization this grant is for: sign in again")
		}
		a.access = &acc
	}
	var granted []string
	allowed := allowedScopes(a.client)
	scopes := make([]string, 0, len(a.scopes))
	for _, s := range a.scopes {
		switch {
		case a.api != nil && a.api.HasPermission(s):
			// The client must be registered for the permission (the authorization endpoint already left
			// out what it may not request; this holds for every grant), and the user's roles must grant it.
			if !slices.Contains(allowed, s) || (a.user != nil && !slices.Contains(a.access.PermissionNames(), s)) {
				continue
			}
			granted = append(granted, s)
		case slices.Contains(permissions, s):
			continue
		}
		scopes = append(scopes, s)
	}
	a.scopes, a.permissions = scopes, granted
	return nil
}

// authzClaims returns the authorization claims named in want (config.TokenClaims) for a's tokens. The
// organization's id and roles are always there when the user signed in to one.
func authzClaims(a *authorization, want []string) map[string]any {
	out := map[string]any{}
	if slices.Contains(want, claimPermissions) && (a.api != nil) {
		out[claimPermissions] = nonNil(a.permissions)
	}
	if a.access != nil {
		if slices.Contains(want, claimRoles) {
			out[claimRoles] = nonNil(a.access.RoleNames())
		}
		if slices.Contains(want, claimGroups) {
			out[claimGroups] = nonNil(a.access.Groups)
		}
	}
	if a.orgID != "" {
		out[claimOrgID] = a.orgID
		roles := []string{}
		if a.access != nil {
			roles = nonNil(a.access.OrgRoles)
		}
		out[claimOrgRoles] = roles
	}
	return out
}

// wantsUserClaims reports whether claims names a claim made of what the user holds.
func wantsUserClaims(claims []string) bool {
	return slices.Contains(claims, claimRoles) || slices.Contains(claims, claimGroups)
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
