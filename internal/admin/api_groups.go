package admin

import (
	"net/http"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/store"
)

// apiGroup is a group as the management API shows it. Its roles are held by every member; PATCH
// changes them with the name and description.
type apiGroup struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Roles       []string `json:"roles" doc:"The roles every member holds through the group; PATCH sets the full list."`
	CreatedAt   string   `json:"created_at"`
}

// groupBody is the body of POST /groups and the writable view of a group in PATCH.
type groupBody struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Roles       []string `json:"roles"`
}

func (b groupBody) input() authz.GroupInput {
	return authz.GroupInput{Name: b.Name, Description: b.Description, Roles: b.Roles}
}

func groupJSON(g store.Group) apiGroup {
	roles := g.Roles
	if roles == nil {
		roles = []string{}
	}
	return apiGroup{ID: g.ID, Name: g.Name, Description: g.Description, Roles: roles, CreatedAt: timeJSON(g.CreatedAt)}
}

// apiGroupMember is a user in a group.
type apiGroupMember struct {
	UserID  string `json:"user_id"`
	Email   string `json:"email"`
	AddedAt string `json:"added_at"`
}

// addGroupMemberBody is the body of POST /groups/{id}/members.
type addGroupMemberBody struct {
	UserID string `json:"user_id"`
}

func (a *API) registerGroups() {
	const base = "/tenants/{tenant}/groups"
	r, w := scopeRead("groups"), scopeWrite("groups")
	a.handle("GET", base, r, a.listGroups)
	a.handle("POST", base, w, a.createGroup)
	a.handle("GET", base+"/{id}", r, a.getGroup)
	a.handle("PATCH", base+"/{id}", w, a.patchGroup)
	a.handle("DELETE", base+"/{id}", w, a.deleteGroup)
	a.handle("GET", base+"/{id}/members", r, a.listGroupMembers)
	a.handle("POST", base+"/{id}/members", w, a.addGroupMember)
	a.handle("DELETE", base+"/{id}/members/{user_id}", w, a.removeGroupMember)

	const tag = "groups"
	a.document("GET", base, opDoc{summary: "List groups", tag: tag, list: true, answer: apiGroup{}, query: pageParams})
	a.document("POST", base, opDoc{summary: "Create a group holding roles", tag: tag, body: groupBody{}, status: http.StatusCreated, answer: apiGroup{}, etag: true})
	a.document("GET", base+"/{id}", opDoc{summary: "Get a group", tag: tag, answer: apiGroup{}, etag: true})
	a.document("PATCH", base+"/{id}", opDoc{summary: "Change a group's name, description or roles (the full list)", tag: tag, body: apiGroup{}, patch: true, answer: apiGroup{}, etag: true})
	a.document("DELETE", base+"/{id}", opDoc{summary: "Delete a group; its members lose the roles they held through it", tag: tag, status: http.StatusNoContent, etag: true})
	a.document("GET", base+"/{id}/members", opDoc{summary: "List a group's members", tag: tag, list: true, answer: apiGroupMember{}, query: pageParams})
	a.document("POST", base+"/{id}/members", opDoc{summary: "Add a user to a group", tag: tag, body: addGroupMemberBody{}, status: http.StatusCreated, answer: apiGroupMember{}})
	a.document("DELETE", base+"/{id}/members/{user_id}", opDoc{summary: "Take a user out of a group", tag: tag, status: http.StatusNoContent})
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	gs, err := az.ListGroups(r.Context(), c.tenant, p.after, p.limit+1)
	if err != nil {
		return err
	}
	out := make([]apiGroup, len(gs))
	for i, g := range gs {
		out[i] = groupJSON(g)
	}
	writeList(w, p, out, func(g apiGroup) string { return g.ID })
	return nil
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	var b groupBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	g, err := az.CreateGroup(r.Context(), c.tenant, b.input(), c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusCreated, a.location(c, "groups", g.ID), groupJSON(g))
}

// groupOf loads the path's group.
func (a *API) groupOf(r *http.Request, c *call) (*authz.Service, store.Group, error) {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return nil, store.Group{}, err
	}
	g, err := az.GetGroup(r.Context(), c.tenant, r.PathValue("id"))
	return az, g, err
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	_, g, err := a.groupOf(r, c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", groupJSON(g))
}

func (a *API) patchGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	az, g, err := a.groupOf(r, c)
	if err != nil {
		return err
	}
	cur := groupJSON(g)
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	var b groupBody
	if err := patchInto(r, cur, &b, "id", "created_at"); err != nil {
		return err
	}
	g, err = az.UpdateGroup(r.Context(), c.tenant, g.ID, b.input(), c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", groupJSON(g))
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	az, g, err := a.groupOf(r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, groupJSON(g)); err != nil {
		return err
	}
	if err := az.DeleteGroup(r.Context(), c.tenant, g.ID, c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func groupMemberJSON(m store.GroupMember) apiGroupMember {
	return apiGroupMember{UserID: m.UserID, Email: m.Email, AddedAt: timeJSON(m.AddedAt)}
}

func (a *API) listGroupMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	ms, err := az.ListGroupMembers(r.Context(), c.tenant, r.PathValue("id"), p.after, p.limit+1)
	if err != nil {
		return err
	}
	out := make([]apiGroupMember, len(ms))
	for i, m := range ms {
		out[i] = groupMemberJSON(m)
	}
	writeList(w, p, out, func(m apiGroupMember) string { return m.UserID })
	return nil
}

func (a *API) addGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	var b addGroupMemberBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.UserID == "" {
		return invalidInput("user_id is required", FieldError{Field: "user_id", Message: "is required: the id of the user to add"})
	}
	groupID := r.PathValue("id")
	if err := az.AddGroupMember(r.Context(), c.tenant, groupID, b.UserID, c.actor()); err != nil {
		return err
	}
	u, err := a.svc.identity.GetUser(r.Context(), c.tenant, b.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiGroupMember{UserID: u.ID, Email: u.Email, AddedAt: timeJSON(a.now())})
	return nil
}

func (a *API) removeGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	if _, err := az.GetGroup(r.Context(), c.tenant, r.PathValue("id")); err != nil {
		return err
	}
	if err := az.RemoveGroupMember(r.Context(), c.tenant, r.PathValue("id"), r.PathValue("user_id"), c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
