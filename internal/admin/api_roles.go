package admin

import (
	"net/http"
	"net/url"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/store"
)

// apiRole is a role as the management API shows it: its name is its id.
type apiRole struct {
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Permissions []apiGrantedPerm `json:"permissions"`
}

// apiGrantedPerm is a permission a role grants, named by its API's identifier.
type apiGrantedPerm struct {
	API        string `json:"api" doc:"The identifier of the API defining the permission."`
	Permission string `json:"permission"`
}

func roleJSON(r store.Role) apiRole {
	perms := make([]apiGrantedPerm, len(r.Permissions))
	for i, p := range r.Permissions {
		perms[i] = apiGrantedPerm{API: p.APIIdentifier, Permission: p.Permission}
	}
	return apiRole{Name: r.Name, Description: r.Description, Permissions: perms}
}

func (b apiRole) input() authz.RoleInput {
	refs := make([]authz.PermissionRef, len(b.Permissions))
	for i, p := range b.Permissions {
		refs[i] = authz.PermissionRef{API: p.API, Permission: p.Permission}
	}
	return authz.RoleInput{Name: b.Name, Description: b.Description, Permissions: refs}
}

func (a *API) registerRoles() {
	const base = "/tenants/{tenant}/roles"
	r, w := scopeRead("roles"), scopeWrite("roles")
	a.handle("GET", base, r, a.listRoles)
	a.handle("POST", base, w, a.createRole)
	a.handle("GET", base+"/{name}", r, a.getRole)
	a.handle("PATCH", base+"/{name}", w, a.patchRole)
	a.handle("DELETE", base+"/{name}", w, a.deleteRole)

	const tag = "roles"
	a.document("GET", base, opDoc{summary: "List roles", tag: tag, list: true, answer: apiRole{}, query: pageParams})
	a.document("POST", base, opDoc{summary: "Create a role granting permissions of the tenant's APIs", tag: tag, body: apiRole{}, status: http.StatusCreated, answer: apiRole{}, etag: true})
	a.document("GET", base+"/{name}", opDoc{summary: "Get a role", tag: tag, answer: apiRole{}, etag: true})
	a.document("PATCH", base+"/{name}", opDoc{summary: "Change a role's description or permissions (its name cannot change)", tag: tag, body: apiRole{}, patch: true, answer: apiRole{}, etag: true})
	a.document("DELETE", base+"/{name}", opDoc{summary: "Delete a role and every assignment of it", tag: tag, status: http.StatusNoContent, etag: true})
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	rs, err := az.ListRoles(r.Context(), c.tenant, p.after, p.limit+1)
	if err != nil {
		return err
	}
	out := make([]apiRole, len(rs))
	for i, x := range rs {
		out[i] = roleJSON(x)
	}
	writeList(w, p, out, func(x apiRole) string { return x.Name })
	return nil
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	var b apiRole
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	x, err := az.CreateRole(r.Context(), c.tenant, b.input(), c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusCreated, a.location(c, "roles", url.PathEscape(x.Name)), roleJSON(x))
}

// roleOf loads the path's role.
func (a *API) roleOf(r *http.Request, c *call) (*authz.Service, store.Role, error) {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return nil, store.Role{}, err
	}
	x, err := az.GetRole(r.Context(), c.tenant, r.PathValue("name"))
	return az, x, err
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request, c *call) error {
	_, x, err := a.roleOf(r, c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", roleJSON(x))
}

func (a *API) patchRole(w http.ResponseWriter, r *http.Request, c *call) error {
	az, x, err := a.roleOf(r, c)
	if err != nil {
		return err
	}
	cur := roleJSON(x)
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	var b apiRole
	if err := patchInto(r, cur, &b, "name"); err != nil {
		return err
	}
	b.Name = x.Name
	x, err = az.UpdateRole(r.Context(), c.tenant, x.Name, b.input(), c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", roleJSON(x))
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request, c *call) error {
	az, x, err := a.roleOf(r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, roleJSON(x)); err != nil {
		return err
	}
	if err := az.DeleteRole(r.Context(), c.tenant, x.Name, c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
