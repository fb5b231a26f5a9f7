package admin

import (
	"context"
	"net/http"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/store"
)

// apiOrganization is an organization as the management API shows it.
type apiOrganization struct {
	ID          string         `json:"id" doc:"Chosen at creation and fixed: clients send it as organization=ID."`
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
	Branding    map[string]any `json:"branding"`
	Connections []string       `json:"connections" doc:"Ids of the tenant's connections its members sign in with."`
	CreatedAt   string         `json:"created_at"`
	UpdatedAt   string         `json:"updated_at"`
}

// organizationBody is the body of POST /organizations and the writable view of one in PATCH.
type organizationBody struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
	Branding    map[string]any `json:"branding"`
	Connections []string       `json:"connections"`
}

func (b organizationBody) input() authz.OrganizationInput {
	return authz.OrganizationInput{ID: b.ID, Name: b.Name, DisplayName: b.DisplayName, Branding: b.Branding, Connections: b.Connections}
}

func organizationJSON(o store.Organization) apiOrganization {
	branding := o.Branding
	if branding == nil {
		branding = map[string]any{}
	}
	conns := o.Connections
	if conns == nil {
		conns = []string{}
	}
	return apiOrganization{ID: o.ID, Name: o.Name, DisplayName: o.DisplayName, Branding: branding, Connections: conns,
		CreatedAt: timeJSON(o.CreatedAt), UpdatedAt: timeJSON(o.UpdatedAt)}
}

// apiOrgMember is a user's membership of an organization with the roles it holds there.
type apiOrgMember struct {
	UserID   string   `json:"user_id"`
	Email    string   `json:"email"`
	Roles    []string `json:"roles" doc:"Roles of the tenant the user holds within this organization."`
	JoinedAt string   `json:"joined_at"`
}

func orgMemberJSON(m store.OrgMember) apiOrgMember {
	roles := m.Roles
	if roles == nil {
		roles = []string{}
	}
	return apiOrgMember{UserID: m.UserID, Email: m.Email, Roles: roles, JoinedAt: timeJSON(m.JoinedAt)}
}

// addOrgMemberBody is the body of POST /organizations/{id}/members.
type addOrgMemberBody struct {
	UserID string   `json:"user_id"`
	Roles  []string `json:"roles"`
}

func (a *API) registerOrganizations() {
	const base = "/tenants/{tenant}/organizations"
	r, w := scopeRead("organizations"), scopeWrite("organizations")
	az := a.authzService()
	serveCRUD(a, crud[store.Organization, apiOrganization, organizationBody]{
		collection: "organizations", param: "id", readOnly: []string{"id", "created_at", "updated_at"},
		list: az.ListOrganizations, get: az.GetOrganization,
		create: func(ctx context.Context, tenant string, b organizationBody, actor string) (store.Organization, error) {
			return az.CreateOrganization(ctx, tenant, b.input(), actor)
		},
		update: func(ctx context.Context, tenant string, cur store.Organization, b organizationBody, actor string) (store.Organization, error) {
			b.ID = cur.ID
			return az.UpdateOrganization(ctx, tenant, cur.ID, b.input(), actor)
		},
		remove: func(ctx context.Context, tenant string, cur store.Organization, actor string) error {
			return az.DeleteOrganization(ctx, tenant, cur.ID, actor)
		},
		view: organizationJSON, key: func(x apiOrganization) string { return x.ID },
		listDoc:   "List organizations",
		createDoc: "Create an organization",
		getDoc:    "Get an organization",
		patchDoc:  "Change an organization's name, display name, branding or connections",
		deleteDoc: "Delete an organization and its memberships",
	})
	a.handle("GET", base+"/{id}/members", r, a.listOrgMembers)
	a.handle("POST", base+"/{id}/members", w, a.addOrgMember)
	a.handle("PUT", base+"/{id}/members/{user_id}/roles", w, a.putOrgMemberRoles)
	a.handle("DELETE", base+"/{id}/members/{user_id}", w, a.removeOrgMember)

	const tag = "organizations"
	a.document("GET", base+"/{id}/members", opDoc{summary: "List an organization's members with their roles there", tag: tag, list: true, answer: apiOrgMember{}, query: pageParams})
	a.document("POST", base+"/{id}/members", opDoc{summary: "Make a user a member holding roles", tag: tag, body: addOrgMemberBody{}, status: http.StatusCreated, answer: apiOrgMember{}})
	a.document("PUT", base+"/{id}/members/{user_id}/roles", opDoc{summary: "Set a member's roles in the organization (the full list)", tag: tag, body: rolesBody{}, answer: rolesBody{}})
	a.document("DELETE", base+"/{id}/members/{user_id}", opDoc{summary: "End a user's membership and the roles held through it", tag: tag, status: http.StatusNoContent})
}

// organizationOf loads the path's organization.
func (a *API) organizationOf(r *http.Request, c *call) (*authz.Service, store.Organization, error) {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return nil, store.Organization{}, err
	}
	o, err := az.GetOrganization(r.Context(), c.tenant, r.PathValue("id"))
	return az, o, err
}

func (a *API) listOrgMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	return listMembers(a, w, r, c, a.authzService().ListOrganizationMembers, orgMemberJSON, func(m apiOrgMember) string { return m.UserID })
}

func (a *API) addOrgMember(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	var b addOrgMemberBody
	if err := memberToAdd(r, &b, func(b addOrgMemberBody) string { return b.UserID }); err != nil {
		return err
	}
	orgID := r.PathValue("id")
	if err := az.AddOrganizationMember(r.Context(), c.tenant, orgID, b.UserID, b.Roles, c.actor()); err != nil {
		return err
	}
	m, err := a.db.GetOrganizationMember(r.Context(), c.tenant, orgID, b.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, orgMemberJSON(m))
	return nil
}

func (a *API) putOrgMemberRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	az, o, err := a.organizationOf(r, c)
	if err != nil {
		return err
	}
	var b rolesBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.Roles == nil {
		return invalidInput("roles is required", FieldError{Field: "roles", Message: "is required: the full list of the member's roles in the organization ([] removes them all)"})
	}
	userID := r.PathValue("user_id")
	if err := az.SetOrganizationMemberRoles(r.Context(), c.tenant, o.ID, userID, b.Roles, c.actor()); err != nil {
		return err
	}
	m, err := a.db.GetOrganizationMember(r.Context(), c.tenant, o.ID, userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rolesBody{Roles: orgMemberJSON(m).Roles})
	return nil
}

func (a *API) removeOrgMember(w http.ResponseWriter, r *http.Request, c *call) error {
	az, o, err := a.organizationOf(r, c)
	if err != nil {
		return err
	}
	if err := az.RemoveOrganizationMember(r.Context(), c.tenant, o.ID, r.PathValue("user_id"), c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
