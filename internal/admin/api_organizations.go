package admin

import (
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
	a.handle("GET", base, r, a.listOrganizations)
	a.handle("POST", base, w, a.createOrganization)
	a.handle("GET", base+"/{id}", r, a.getOrganization)
	a.handle("PATCH", base+"/{id}", w, a.patchOrganization)
	a.handle("DELETE", base+"/{id}", w, a.deleteOrganization)
	a.handle("GET", base+"/{id}/members", r, a.listOrgMembers)
	a.handle("POST", base+"/{id}/members", w, a.addOrgMember)
	a.handle("PUT", base+"/{id}/members/{user_id}/roles", w, a.putOrgMemberRoles)
	a.handle("DELETE", base+"/{id}/members/{user_id}", w, a.removeOrgMember)

	const tag = "organizations"
	a.document("GET", base, opDoc{summary: "List organizations", tag: tag, list: true, answer: apiOrganization{}, query: pageParams})
	a.document("POST", base, opDoc{summary: "Create an organization", tag: tag, body: organizationBody{}, status: http.StatusCreated, answer: apiOrganization{}, etag: true})
	a.document("GET", base+"/{id}", opDoc{summary: "Get an organization", tag: tag, answer: apiOrganization{}, etag: true})
	a.document("PATCH", base+"/{id}", opDoc{summary: "Change an organization's name, display name, branding or connections", tag: tag, body: apiOrganization{}, patch: true, answer: apiOrganization{}, etag: true})
	a.document("DELETE", base+"/{id}", opDoc{summary: "Delete an organization and its memberships", tag: tag, status: http.StatusNoContent, etag: true})
	a.document("GET", base+"/{id}/members", opDoc{summary: "List an organization's members with their roles there", tag: tag, list: true, answer: apiOrgMember{}, query: pageParams})
	a.document("POST", base+"/{id}/members", opDoc{summary: "Make a user a member holding roles", tag: tag, body: addOrgMemberBody{}, status: http.StatusCreated, answer: apiOrgMember{}})
	a.document("PUT", base+"/{id}/members/{user_id}/roles", opDoc{summary: "Set a member's roles in the organization (the full list)", tag: tag, body: rolesBody{}, answer: rolesBody{}})
	a.document("DELETE", base+"/{id}/members/{user_id}", opDoc{summary: "End a user's membership and the roles held through it", tag: tag, status: http.StatusNoContent})
}

func (a *API) listOrganizations(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	orgs, err := az.ListOrganizations(r.Context(), c.tenant, p.after, p.limit+1)
	if err != nil {
		return err
	}
	out := make([]apiOrganization, len(orgs))
	for i, o := range orgs {
		out[i] = organizationJSON(o)
	}
	writeList(w, p, out, func(o apiOrganization) string { return o.ID })
	return nil
}

func (a *API) createOrganization(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	var b organizationBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	o, err := az.CreateOrganization(r.Context(), c.tenant, b.input(), c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusCreated, a.location(c, "organizations", o.ID), organizationJSON(o))
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

func (a *API) getOrganization(w http.ResponseWriter, r *http.Request, c *call) error {
	_, o, err := a.organizationOf(r, c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", organizationJSON(o))
}

func (a *API) patchOrganization(w http.ResponseWriter, r *http.Request, c *call) error {
	az, o, err := a.organizationOf(r, c)
	if err != nil {
		return err
	}
	cur := organizationJSON(o)
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	var b organizationBody
	if err := patchInto(r, cur, &b, "id", "created_at", "updated_at"); err != nil {
		return err
	}
	b.ID = o.ID
	o, err = az.UpdateOrganization(r.Context(), c.tenant, o.ID, b.input(), c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", organizationJSON(o))
}

func (a *API) deleteOrganization(w http.ResponseWriter, r *http.Request, c *call) error {
	az, o, err := a.organizationOf(r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, organizationJSON(o)); err != nil {
		return err
	}
	if err := az.DeleteOrganization(r.Context(), c.tenant, o.ID, c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listOrgMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	ms, err := az.ListOrganizationMembers(r.Context(), c.tenant, r.PathValue("id"), p.after, p.limit+1)
	if err != nil {
		return err
	}
	out := make([]apiOrgMember, len(ms))
	for i, m := range ms {
		out[i] = orgMemberJSON(m)
	}
	writeList(w, p, out, func(m apiOrgMember) string { return m.UserID })
	return nil
}

func (a *API) addOrgMember(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	var b addOrgMemberBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.UserID == "" {
		return invalidInput("user_id is required", FieldError{Field: "user_id", Message: "is required: the id of the user to add"})
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
