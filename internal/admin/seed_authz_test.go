package admin_test

import (
	"context"
	"slices"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func authzSeed() []config.TenantSeed {
	return []config.TenantSeed{{
		ID: "acme", Name: "Acme",
		Users: []config.UserSeed{{Email: "ada@example.com", Roles: []string{"viewer"}}, {Email: "bob@example.com"}},
		APIs: []config.APISeed{{Identifier: "https://api.acme.example", Name: "Orders", Claims: []string{"permissions"},
			Permissions: []config.PermissionDef{{Name: "orders:read"}, {Name: "orders:write", Description: "Change orders"}}}},
		Roles: []config.RoleSeed{{Name: "editor", Permissions: []config.PermissionRef{
			{API: "https://api.acme.example", Permission: "orders:read"}, {API: "https://api.acme.example", Permission: "orders:write"}}}},
		Groups: []config.GroupSeed{{Name: "staff", Roles: []string{"editor"}, Members: []string{"bob@example.com"}}},
		Organizations: []config.OrganizationSeed{{ID: "globex", Name: "Globex",
			Members: []config.OrgMember{{Email: "ada@example.com", Roles: []string{"editor"}}}}},
		Clients: []config.ClientSeed{{ClientID: "web", RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"},
			TokenEndpointAuthMethod: "none", OrganizationRequired: true, TokenClaims: []string{"roles", "org_id"}}},
	}}
}

func TestApplySeedAuthz(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		if _, err := f.admin.ApplySeed(ctx, authzSeed()); err != nil {
			t.Fatal(err)
		}
		t.Run("the seed's model is in place and grants what it says", func(t *testing.T) {
			s := f.admin.Authz()
			bob, err := db.GetUserByEmail(ctx, "acme", "bob@example.com")
			if err != nil {
				t.Fatal(err)
			}
			ok, reason, err := s.Check(ctx, "acme", bob.ID, "orders:write", "https://api.acme.example", "")
			if err != nil || !ok || reason != "granted by role editor through group staff" {
				t.Errorf("bob: %v %q %v", ok, reason, err)
			}
			ada, _ := db.GetUserByEmail(ctx, "acme", "ada@example.com")
			ok, reason, err = s.Check(ctx, "acme", ada.ID, "orders:write", "https://api.acme.example", "globex")
			if err != nil || !ok || reason != "granted by role editor in organization globex" {
				t.Errorf("ada in globex: %v %q %v", ok, reason, err)
			}
			c, err := db.GetClient(ctx, "acme", "web")
			if err != nil || !c.OrganizationRequired || !slices.Equal(c.TokenClaims, []string{"roles", "org_id"}) {
				t.Errorf("client = %+v, %v", c, err)
			}
		})
		t.Run("applying the seed again writes nothing", func(t *testing.T) {
			before, _ := db.ListEvents(ctx, "acme", 0, "", 1000)
			res, err := f.admin.ApplySeed(ctx, authzSeed())
			if err != nil {
				t.Fatal(err)
			}
			after, _ := db.ListEvents(ctx, "acme", 0, "", 1000)
			if len(res.Applied) != 0 || len(after) != len(before) {
				t.Errorf("applied %v; events %d -> %d", res.Applied, len(before), len(after))
			}
		})
		t.Run("a changed permission list is applied and taken from the role", func(t *testing.T) {
			seed := authzSeed()
			seed[0].APIs[0].Permissions = seed[0].APIs[0].Permissions[:1]
			seed[0].Roles[0].Permissions = seed[0].Roles[0].Permissions[:1]
			res, err := f.admin.ApplySeed(ctx, seed)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(res.Applied, "api acme/https://api.acme.example") || !slices.Contains(res.Applied, "role acme/editor") {
				t.Errorf("applied %v", res.Applied)
			}
			r, err := db.GetRole(ctx, "acme", "editor")
			if err != nil || len(r.Permissions) != 1 {
				t.Errorf("editor = %+v, %v", r, err)
			}
		})
	})
}
