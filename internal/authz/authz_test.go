package authz_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

const ordersAPI = "https://api.acme.example"

// setup makes a tenant with users alice, bob and carol, the orders API, roles reader and editor, and
// group staff (holding editor) with bob in it.
func setup(t *testing.T, db *store.DB) (*authz.Service, string) {
	t.Helper()
	ctx := context.Background()
	tid := storetest.Tenant(t, db)
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := db.CreateUser(ctx, store.User{TenantID: tid, ID: u, Email: u + "@example.com", EmailNorm: u + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	s := authz.New(authz.Deps{DB: db})
	if _, err := s.CreateAPI(ctx, tid, authz.APIInput{Identifier: ordersAPI, Name: "Orders", TokenLifetime: 10 * time.Minute,
		Permissions: []store.APIPermission{{Name: "orders:read"}, {Name: "orders:write"}, {Name: "orders:delete"}}}, "test"); err != nil {
		t.Fatal(err)
	}
	for name, perms := range map[string][]string{"reader": {"orders:read"}, "editor": {"orders:read", "orders:write"}, "owner": {"orders:delete"}} {
		var refs []authz.PermissionRef
		for _, p := range perms {
			refs = append(refs, authz.PermissionRef{API: ordersAPI, Permission: p})
		}
		if _, err := s.CreateRole(ctx, tid, authz.RoleInput{Name: name, Permissions: refs}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	g, err := s.CreateGroup(ctx, tid, authz.GroupInput{Name: "staff", Roles: []string{"editor"}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(ctx, tid, g.ID, "bob", "test"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetUserRoles(ctx, tid, "alice", []string{"editor"}); err != nil {
		t.Fatal(err)
	}
	return s, tid
}

func fields(err error) []string {
	var ie *authz.InvalidError
	if !errors.As(err, &ie) {
		return nil
	}
	var out []string
	for _, p := range ie.Problems {
		out = append(out, p.Field)
	}
	return out
}

func TestValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		s, tid := setup(t, db)
		tests := []struct {
			name   string
			err    error
			fields []string
		}{
			{"an identifier that is not an absolute URI and permissions with spaces or twice are refused together",
				second(s.CreateAPI(ctx, tid, authz.APIInput{Identifier: "api.example", Permissions: []store.APIPermission{
					{Name: "orders read"}, {Name: "x"}, {Name: "x"}}}, "test")),
				[]string{"identifier", "permissions[0].name", "permissions[2].name"}},
			{"an identifier with a fragment is refused",
				second(s.CreateAPI(ctx, tid, authz.APIInput{Identifier: "https://api.example/#x"}, "test")), []string{"identifier"}},
			{"an unknown token claim is refused",
				second(s.CreateAPI(ctx, tid, authz.APIInput{Identifier: "https://b.example", Claims: []string{"email"}}, "test")), []string{"claims[0]"}},
			{"a role may grant only permissions APIs define",
				second(s.CreateRole(ctx, tid, authz.RoleInput{Name: "x", Permissions: []authz.PermissionRef{
					{API: ordersAPI, Permission: "orders:fly"}, {API: "https://nowhere.example", Permission: "a"}}}, "test")),
				[]string{"permissions[0].permission", "permissions[1].api"}},
			{"a group may hold only existing roles",
				second(s.CreateGroup(ctx, tid, authz.GroupInput{Name: "g", Roles: []string{"editor", "ghost"}}, "test")), []string{"roles[1]"}},
			{"an organization needs an id and a name, and its connections must exist",
				second(s.CreateOrganization(ctx, tid, authz.OrganizationInput{ID: "Not An Id", Connections: []string{"corp"}}, "test")),
				[]string{"id", "name", "connections[0]"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := fields(tt.err); !slices.Equal(got, tt.fields) {
					t.Errorf("problem fields = %v (err %v), want %v", got, tt.err, tt.fields)
				}
			})
		}

		t.Run("a second API with the same identifier is a conflict", func(t *testing.T) {
			_, err := s.CreateAPI(ctx, tid, authz.APIInput{Identifier: ordersAPI}, "test")
			var ce *authz.ConflictError
			if !errors.As(err, &ce) || ce.Field != "identifier" || !errors.Is(err, store.ErrConflict) {
				t.Errorf("err = %v, want a ConflictError on identifier", err)
			}
		})
		t.Run("an organization's id or name in use is a conflict on that field", func(t *testing.T) {
			if _, err := s.CreateOrganization(ctx, tid, authz.OrganizationInput{ID: "initech", Name: "Initech"}, "test"); err != nil {
				t.Fatal(err)
			}
			for field, in := range map[string]authz.OrganizationInput{
				"id":   {ID: "initech", Name: "Other"},
				"name": {ID: "other", Name: "Initech"},
			} {
				_, err := s.CreateOrganization(ctx, tid, in, "test")
				var ce *authz.ConflictError
				if !errors.As(err, &ce) || ce.Field != field {
					t.Errorf("%+v: err = %v, want a ConflictError on %s", in, err, field)
				}
			}
		})
		t.Run("a member of an unknown group or an unknown user is not found", func(t *testing.T) {
			if err := s.AddGroupMember(ctx, tid, "nope", "alice", "test"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown group: %v", err)
			}
			g, _ := s.CreateGroup(ctx, tid, authz.GroupInput{Name: "empty"}, "test")
			var nf *authz.NotFoundError
			if err := s.AddGroupMember(ctx, tid, g.ID, "ghost", "test"); !errors.As(err, &nf) || nf.Kind != "user" {
				t.Errorf("unknown user: %v", err)
			}
		})
	})
}

func second[T any](_ T, err error) error { return err }

func TestCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		s, tid := setup(t, db)
		if _, err := s.CreateOrganization(ctx, tid, authz.OrganizationInput{ID: "globex", Name: "Globex"}, "test"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddOrganizationMember(ctx, tid, "globex", "carol", []string{"owner"}, "test"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, user, perm, org string
			allowed               bool
			reason                string
		}{
			{"a direct role grants", "alice", "orders:write", "", true, "granted by role editor"},
			{"a group's role grants and says through which group", "bob", "orders:write", "", true, "granted by role editor through group staff"},
			{"a role held in an organization grants there", "carol", "orders:delete", "globex", true, "granted by role owner in organization globex"},
			{"a role held in an organization does not grant outside it", "carol", "orders:delete", "", false, "no role grants orders:delete"},
			{"a non-member is refused in the organization", "alice", "orders:write", "globex", false, "not a member of organization globex"},
			{"nothing grants what no role has", "alice", "orders:delete", "", false, "no role grants orders:delete"},
			{"a permission the API does not define is not granted", "alice", "orders:fly", "", false, "orders:fly is not a permission of " + ordersAPI},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ok, reason, err := s.Check(ctx, tid, tt.user, tt.perm, ordersAPI, tt.org)
				if err != nil || ok != tt.allowed || reason != tt.reason {
					t.Errorf("Check = %v, %q, %v; want %v, %q", ok, reason, err, tt.allowed, tt.reason)
				}
			})
		}
		t.Run("an unknown API or organization is not found", func(t *testing.T) {
			if _, _, err := s.Check(ctx, tid, "alice", "orders:read", "https://nowhere.example", ""); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown api: %v", err)
			}
			if _, _, err := s.Check(ctx, tid, "alice", "orders:read", ordersAPI, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown organization: %v", err)
			}
		})
		t.Run("removing a permission from the API takes it from the roles", func(t *testing.T) {
			a, err := s.APIByIdentifier(ctx, tid, ordersAPI)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateAPI(ctx, tid, a.ID, authz.APIInput{Identifier: ordersAPI, Permissions: []store.APIPermission{
				{Name: "orders:read"}, {Name: "orders:delete"}}}, "test"); err != nil {
				t.Fatal(err)
			}
			r, err := s.GetRole(ctx, tid, "editor")
			if err != nil || len(r.Permissions) != 1 || r.Permissions[0].Permission != "orders:read" {
				t.Errorf("editor = %+v, %v", r, err)
			}
		})
	})
}

func TestWritesRecordEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		s, tid := setup(t, db)
		if _, err := s.CreateOrganization(ctx, tid, authz.OrganizationInput{ID: "globex", Name: "Globex"}, "admin-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddOrganizationMember(ctx, tid, "globex", "alice", []string{"reader"}, "admin-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetOrganizationMemberRoles(ctx, tid, "globex", "alice", []string{"editor"}, "admin-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveOrganizationMember(ctx, tid, "globex", "alice", "admin-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRole(ctx, tid, "reader", "admin-1"); err != nil {
			t.Fatal(err)
		}
		evs, err := db.ListEvents(ctx, tid, 0, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		byActor := 0
		types := map[string]bool{}
		for _, e := range evs {
			types[e.Type] = true
			if strings.HasPrefix(e.Type, "organization.") && e.Actor == "admin-1" {
				byActor++
			}
		}
		for _, typ := range []string{"api.created", "role.created", "group.created", "group.member_added", "organization.created",
			"organization.member_added", "organization.member_roles_changed", "organization.member_removed", "role.deleted"} {
			if !types[typ] {
				t.Errorf("no %s event", typ)
			}
		}
		if byActor != 4 {
			t.Errorf("%d organization events name the actor, want 4", byActor)
		}
		t.Run("a refused write records nothing", func(t *testing.T) {
			_, err := s.CreateGroup(ctx, tid, authz.GroupInput{Name: "x", Roles: []string{"ghost"}}, "admin-1")
			if err == nil || !strings.Contains(err.Error(), "ghost") {
				t.Fatalf("err = %v", err)
			}
			after, err := db.ListEvents(ctx, tid, 0, "", 1000)
			if err != nil || len(after) != len(evs) {
				t.Errorf("events %d -> %d (%v)", len(evs), len(after), err)
			}
		})
	})
}
