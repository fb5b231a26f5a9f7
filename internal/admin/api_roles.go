package admin

import (
	"context"

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
	az := a.authzService()
	serveCRUD(a, crud[store.Role, apiRole, apiRole]{
		collection: "roles", param: "name", readOnly: []string{"name"},
		list: az.ListRoles, get: az.GetRole,
		create: func(ctx context.Context, tenant string, b apiRole, actor string) (store.Role, error) {
			return az.CreateRole(ctx, tenant, b.input(), actor)
		},
		update: func(ctx context.Context, tenant string, cur store.Role, b apiRole, actor string) (store.Role, error) {
			b.Name = cur.Name
			return az.UpdateRole(ctx, tenant, cur.Name, b.input(), actor)
		},
		remove: func(ctx context.Context, tenant string, cur store.Role, actor string) error {
			return az.DeleteRole(ctx, tenant, cur.Name, actor)
		},
		view: roleJSON, key: func(x apiRole) string { return x.Name },
		listDoc:   "List roles",
		createDoc: "Create a role granting permissions of the tenant's APIs",
		getDoc:    "Get a role",
		patchDoc:  "Change a role's description or permissions (its name cannot change)",
		deleteDoc: "Delete a role and every assignment of it",
	})
}
