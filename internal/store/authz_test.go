package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestAuthzAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []string{"alice", "bob", "carol"} {
			must(db.CreateUser(ctx, store.User{TenantID: tid, ID: u, Email: u + "@example.com", EmailNorm: u + "@example.com"}))
		}
		must(db.CreateAPI(ctx, store.API{TenantID: tid, ID: "api1", Identifier: "https://api.example", Name: "Orders",
			TokenLifetime: 5 * time.Minute, Claims: []string{"permissions"},
			Permissions: []store.APIPermission{{Name: "orders:read"}, {Name: "orders:write", Description: "change orders"}, {Name: "orders:delete"}}}))
		must(db.CreateAPI(ctx, store.API{TenantID: tid, ID: "api2", Identifier: "https://other.example",
			Permissions: []store.APIPermission{{Name: "orders:read"}}}))
		for _, r := range []string{"reader", "editor", "admin"} {
			must(db.CreateRole(ctx, store.Role{TenantID: tid, Name: r}))
		}
		must(db.SetRolePermissions(ctx, tid, "reader", []store.RolePermission{{APIID: "api1", Permission: "orders:read"}, {APIID: "api2", Permission: "orders:read"}}))
		must(db.SetRolePermissions(ctx, tid, "editor", []store.RolePermission{{APIID: "api1", Permission: "orders:write"}}))
		must(db.SetRolePermissions(ctx, tid, "admin", []store.RolePermission{{APIID: "api1", Permission: "orders:delete"}}))
		must(db.SetUserRoles(ctx, tid, "alice", []string{"reader"}))
		must(db.CreateGroup(ctx, store.Group{TenantID: tid, ID: "g1", Name: "staff"}))
		must(db.SetGroupRoles(ctx, tid, "g1", []string{"editor"}))
		must(db.AddGroupMember(ctx, tid, "g1", "alice"))
		must(db.CreateOrganization(ctx, store.Organization{TenantID: tid, ID: "acme", Name: "acme", Branding: map[string]any{"color": "#123456"}}))
		must(db.AddOrganizationMember(ctx, tid, "acme", "alice"))
		must(db.SetOrganizationMemberRoles(ctx, tid, "acme", "alice", []string{"admin"}))

		t.Run("permissions come from direct roles, groups and the named organization only", func(t *testing.T) {
			a, err := db.UserAccess(ctx, tid, "alice", "", "api1")
			must(err)
			if got, want := a.PermissionNames(), []string{"orders:read", "orders:write"}; !slices.Equal(got, want) {
				t.Errorf("without organization: permissions %v, want %v", got, want)
			}
			if got := a.Groups; !slices.Equal(got, []string{"staff"}) {
				t.Errorf("groups %v", got)
			}
			a, err = db.UserAccess(ctx, tid, "alice", "acme", "api1")
			must(err)
			if got, want := a.PermissionNames(), []string{"orders:delete", "orders:read", "orders:write"}; !slices.Equal(got, want) {
				t.Errorf("with organization: permissions %v, want %v", got, want)
			}
			if !a.OrgMember || !slices.Equal(a.OrgRoles, []string{"admin"}) {
				t.Errorf("org member %v roles %v", a.OrgMember, a.OrgRoles)
			}
			if got, want := a.RoleNames(), []string{"admin", "editor", "reader"}; !slices.Equal(got, want) {
				t.Errorf("roles %v, want %v", got, want)
			}
			var viaGroup bool
			for _, p := range a.Permissions {
				if p.Permission == "orders:write" && p.Via.Group == "staff" && p.Via.Role == "editor" {
					viaGroup = true
				}
			}
			if !viaGroup {
				t.Errorf("orders:write does not say it came through group staff: %+v", a.Permissions)
			}
		})

		t.Run("a user with nothing holds nothing and is no member", func(t *testing.T) {
			a, err := db.UserAccess(ctx, tid, "bob", "acme", "api1")
			must(err)
			if len(a.Roles) != 0 || len(a.Permissions) != 0 || a.OrgMember || len(a.Groups) != 0 {
				t.Errorf("access = %+v", a)
			}
		})

		t.Run("an API with another identifier keeps its own grants apart", func(t *testing.T) {
			a, err := db.UserAccess(ctx, tid, "alice", "", "api2")
			must(err)
			if got := a.PermissionNames(); !slices.Equal(got, []string{"orders:read"}) {
				t.Errorf("permissions %v", got)
			}
		})

		t.Run("an API reads back by identifier and a second with the same identifier conflicts", func(t *testing.T) {
			got, err := db.GetAPIByIdentifier(ctx, tid, "https://api.example")
			must(err)
			if got.ID != "api1" || got.TokenLifetime != 5*time.Minute || len(got.Permissions) != 3 || got.Permissions[2].Description != "change orders" {
				t.Errorf("GetAPIByIdentifier = %+v", got)
			}
			err = db.CreateAPI(ctx, store.API{TenantID: tid, ID: "api3", Identifier: "https://api.example"})
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("duplicate identifier: %v, want ErrConflict", err)
			}
		})

		t.Run("lists page by id", func(t *testing.T) {
			p1, err := db.ListAPIs(ctx, tid, "", 1)
			must(err)
			p2, err := db.ListAPIs(ctx, tid, p1[0].ID, 1)
			must(err)
			p3, err := db.ListAPIs(ctx, tid, p2[0].ID, 1)
			must(err)
			if p1[0].ID != "api1" || p2[0].ID != "api2" || len(p3) != 0 {
				t.Errorf("pages %v %v %v", p1, p2, p3)
			}
			rs, err := db.ListRolesPage(ctx, tid, "admin", 10)
			must(err)
			if len(rs) != 2 || rs[0].Name != "editor" || len(rs[0].Permissions) != 1 || rs[0].Permissions[0].APIIdentifier != "https://api.example" {
				t.Errorf("roles after admin = %+v", rs)
			}
		})

		t.Run("deleting a user removes the memberships", func(t *testing.T) {
			must(db.CreateUser(ctx, store.User{TenantID: tid, ID: "dave", Email: "dave@example.com", EmailNorm: "dave@example.com"}))
			must(db.AddGroupMember(ctx, tid, "g1", "dave"))
			must(db.AddOrganizationMember(ctx, tid, "acme", "dave"))
			must(db.SetOrganizationMemberRoles(ctx, tid, "acme", "dave", []string{"reader"}))
			must(db.DeleteUser(ctx, tid, "dave"))
			for _, table := range []string{"group_members", "organization_members", "organization_member_roles"} {
				if n := store.Count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ? AND user_id = ?`, tid, "dave"); n != 0 {
					t.Errorf("%s keeps %d rows of the deleted user", table, n)
				}
			}
		})

		t.Run("removing a permission from an API or deleting a role, group or organization removes what used it", func(t *testing.T) {
			must(db.UpdateAPI(ctx, store.API{TenantID: tid, ID: "api1", Identifier: "https://api.example",
				Permissions: []store.APIPermission{{Name: "orders:read"}, {Name: "orders:write"}}}))
			if n := store.Count(t, db, `SELECT COUNT(*) FROM role_permissions WHERE tenant_id = ? AND permission = ?`, tid, "orders:delete"); n != 0 {
				t.Errorf("role_permissions keeps %d rows of a removed permission", n)
			}
			must(db.DeleteRole(ctx, tid, "editor"))
			must(db.DeleteGroup(ctx, tid, "g1"))
			must(db.DeleteOrganization(ctx, tid, "acme"))
			must(db.DeleteAPI(ctx, tid, "api2"))
			for table, n := range map[string]int{
				"group_roles":               store.Count(t, db, `SELECT COUNT(*) FROM group_roles WHERE tenant_id = ?`, tid),
				"group_members":             store.Count(t, db, `SELECT COUNT(*) FROM group_members WHERE tenant_id = ?`, tid),
				"organization_members":      store.Count(t, db, `SELECT COUNT(*) FROM organization_members WHERE tenant_id = ?`, tid),
				"organization_member_roles": store.Count(t, db, `SELECT COUNT(*) FROM organization_member_roles WHERE tenant_id = ?`, tid),
				"role_permissions of api2":  store.Count(t, db, `SELECT COUNT(*) FROM role_permissions WHERE tenant_id = ? AND api_id = 'api2'`, tid),
			} {
				if n != 0 {
					t.Errorf("%s keeps %d rows", table, n)
				}
			}
			if _, err := db.GetOrganization(ctx, tid, "acme"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetOrganization after delete = %v", err)
			}
		})
	})
}
