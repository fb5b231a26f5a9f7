package events

import "github.com/umm-project/umm/internal/store"

// Authorization: APIs and their permissions, roles, groups, organizations and memberships.
const (
	TypeAPICreated = "api.created"
	TypeAPIUpdated = "api.updated"
	TypeAPIDeleted = "api.deleted"

	TypeRoleCreated = "role.created"
	TypeRoleUpdated = "role.updated" // description or permissions
	TypeRoleDeleted = "role.deleted"

	TypeGroupCreated       = "group.created"
	TypeGroupUpdated       = "group.updated" // name, description or roles
	TypeGroupDeleted       = "group.deleted"
	TypeGroupMemberAdded   = "group.member_added"
	TypeGroupMemberRemoved = "group.member_removed"

	TypeOrganizationCreated            = "organization.created"
	TypeOrganizationUpdated            = "organization.updated"
	TypeOrganizationDeleted            = "organization.deleted"
	TypeOrganizationMemberAdded        = "organization.member_added"
	TypeOrganizationMemberRemoved      = "organization.member_removed"
	TypeOrganizationMemberRolesChanged = "organization.member_roles_changed"
)

// APIChanged records an API created, updated or deleted (typ is one of the api.* types).
func APIChanged(typ, tenantID, actor, apiID, identifier string) store.Event {
	return withData(ev(typ, tenantID, actor, apiID), "identifier", identifier)
}

// RoleChanged records a role created, updated or deleted (typ is one of the role.* types).
func RoleChanged(typ, tenantID, actor, role string) store.Event {
	return withData(ev(typ, tenantID, actor, role), "role", role)
}

// GroupChanged records a group created, updated or deleted (typ is one of the group.* types).
func GroupChanged(typ, tenantID, actor, groupID, name string) store.Event {
	return withData(ev(typ, tenantID, actor, groupID), "name", name)
}

// GroupMember records userID added to or removed from a group (group.member_added or member_removed).
func GroupMember(typ, tenantID, actor, groupID, userID string) store.Event {
	e := withData(ev(typ, tenantID, actor, groupID), "user_id", userID)
	return e
}

// OrganizationChanged records an organization created, updated or deleted.
func OrganizationChanged(typ, tenantID, actor, orgID, name string) store.Event {
	return withData(ev(typ, tenantID, actor, orgID), "name", name)
}

// OrganizationMember records a membership added or removed, or its roles changed (then roles says which).
func OrganizationMember(typ, tenantID, actor, orgID, userID string, roles []string) store.Event {
	e := withData(ev(typ, tenantID, actor, orgID), "user_id", userID)
	if typ != TypeOrganizationMemberRemoved {
		if roles == nil {
			roles = []string{}
		}
		e.Data["roles"] = roles
	}
	return e
}
