package admin

import (
	"context"
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
	az := a.authzService()
	serveCRUD(a, crud[store.Group, apiGroup, groupBody]{
		collection: "groups", param: "id", readOnly: []string{"id", "created_at"},
		list: az.ListGroups, get: az.GetGroup,
		create: func(ctx context.Context, tenant string, b groupBody, actor string) (store.Group, error) {
			return az.CreateGroup(ctx, tenant, b.input(), actor)
		},
		update: func(ctx context.Context, tenant string, cur store.Group, b groupBody, actor string) (store.Group, error) {
			return az.UpdateGroup(ctx, tenant, cur.ID, b.input(), actor)
		},
		remove: func(ctx context.Context, tenant string, cur store.Group, actor string) error {
			return az.DeleteGroup(ctx, tenant, cur.ID, actor)
		},
		view: groupJSON, key: func(x apiGroup) string { return x.ID },
		listDoc:   "List groups",
		createDoc: "Create a group holding roles",
		getDoc:    "Get a group",
		patchDoc:  "Change a group's name, description or roles (the full list)",
		deleteDoc: "Delete a group; its members lose the roles they held through it",
	})
	a.handle("GET", base+"/{id}/members", r, a.listGroupMembers)
	a.handle("POST", base+"/{id}/members", w, a.addGroupMember)
	a.handle("DELETE", base+"/{id}/members/{user_id}", w, a.removeGroupMember)

	const tag = "groups"
	a.document("GET", base+"/{id}/members", opDoc{summary: "List a group's members", tag: tag, list: true, answer: apiGroupMember{}, query: pageParams})
	a.document("POST", base+"/{id}/members", opDoc{summary: "Add a user to a group", tag: tag, body: addGroupMemberBody{}, status: http.StatusCreated, answer: apiGroupMember{}})
	a.document("DELETE", base+"/{id}/members/{user_id}", opDoc{summary: "Take a user out of a group", tag: tag, status: http.StatusNoContent})
}

func groupMemberJSON(m store.GroupMember) apiGroupMember {
	return apiGroupMember{UserID: m.UserID, Email: m.Email, AddedAt: timeJSON(m.AddedAt)}
}

func (a *API) listGroupMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	return listMembers(a, w, r, c, a.authzService().ListGroupMembers, groupMemberJSON, func(m apiGroupMember) string { return m.UserID })
}

// listMembers answers a page of the members of the path's group or organization.
func listMembers[M, J any](a *API, w http.ResponseWriter, r *http.Request, c *call,
	list func(ctx context.Context, tenantID, parentID, after string, limit int) ([]M, error), view func(M) J, key func(J) string) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	ms, err := list(r.Context(), c.tenant, r.PathValue("id"), p.after, p.limit+1)
	if err != nil {
		return err
	}
	writePage(w, p, ms, view, key)
	return nil
}

// memberToAdd reads the body of a POST .../members, which must name the user.
func memberToAdd[B any](r *http.Request, b *B, userID func(B) string) error {
	if err := decodeBody(r, b); err != nil {
		return err
	}
	if userID(*b) == "" {
		return invalidInput("user_id is required", FieldError{Field: "user_id", Message: "is required: the id of the user to add"})
	}
	return nil
}

func (a *API) addGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	var b addGroupMemberBody
	if err := memberToAdd(r, &b, func(b addGroupMemberBody) string { return b.UserID }); err != nil {
		return err
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
