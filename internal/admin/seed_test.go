package admin_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func testSeed() []config.TenantSeed {
	return []config.TenantSeed{{
		ID: "acme", Name: "Acme",
		Settings: &config.TenantSettings{AccessTokenTTL: config.Duration(5 * time.Minute)},
		Clients: []config.ClientSeed{
			{ClientID: "web", ClientSecret: "web-secret-123", RedirectURIs: []string{"https://app.example.com/cb"},
				GrantTypes: []string{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "client_secret_basic"},
			{ClientID: "cli", TokenEndpointAuthMethod: "none", RedirectURIs: []string{"http://127.0.0.1/cb"},
				GrantTypes: []string{"authorization_code", "urn:ietf:params:oauth:grant-type:device_code"}},
		},
		Users: []config.UserSeed{
			{Email: "ada@example.com", Password: "first password 1", GivenName: "Ada", Roles: []string{"admin"}},
		},
	}}
}

func TestApplySeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		seed := testSeed()
		signIn := func(t *testing.T, password string) bool {
			t.Helper()
			_, err := f.identity.Authenticate(ctx, "acme", "ada@example.com", password, "192.0.2.1")
			return err == nil
		}

		res, err := f.admin.ApplySeed(ctx, seed)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("the first application creates the tenant, clients and user", func(t *testing.T) {
			want := []string{"tenant acme", "client acme/web", "client acme/cli", "user acme/ada@example.com"}
			if !slices.Equal(res.Applied, want) || res.DefaultTenantCreated {
				t.Fatalf("result = %+v, want applied %v", res, want)
			}
			tn, err := db.GetTenant(ctx, "acme")
			if err != nil || tn.Name != "Acme" || tn.Settings.AccessTokenTTL != 300 {
				t.Fatalf("tenant = %+v, %v", tn, err)
			}
			c, err := db.GetClient(ctx, "acme", "web")
			if err != nil || !f.keyring.CheckSecret("web-secret-123", c.SecretHash) {
				t.Fatalf("client web = %+v, %v (secret must be stored hashed)", c, err)
			}
			if !signIn(t, "first password 1") {
				t.Fatal("the seeded user cannot sign in")
			}
		})
		t.Run("a second application with the same seed changes nothing", func(t *testing.T) {
			before, _ := db.ListEvents(ctx, "acme", 0, "", 1000)
			res, err := f.admin.ApplySeed(ctx, seed)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Applied) != 0 || res.Unchanged != 4 {
				t.Fatalf("result = %+v, want nothing applied and 4 unchanged", res)
			}
			after, _ := db.ListEvents(ctx, "acme", 0, "", 1000)
			if len(after) != len(before) {
				t.Fatalf("%d new events", len(after)-len(before))
			}
			us, _ := f.identity.ListUsers(ctx, "acme", "", 100)
			cs, _ := db.ListClients(ctx, "acme")
			if len(us) != 1 || len(cs) != 2 {
				t.Fatalf("%d users and %d clients, want 1 and 2", len(us), len(cs))
			}
		})
		t.Run("a password and a client changed since are not reset by an unchanged seed", func(t *testing.T) {
			u, err := f.admin.FindUser(ctx, "acme", "ada@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.admin.SetPassword(ctx, "acme", u.ID, "changed by the owner", "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.admin.UpsertClient(ctx, "acme", admin.ClientInput{ClientID: "web",
				RedirectURIs: []string{"https://app.example.com/changed"}}, "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.admin.ApplySeed(ctx, seed); err != nil {
				t.Fatal(err)
			}
			if !signIn(t, "changed by the owner") || signIn(t, "first password 1") {
				t.Fatal("the seed reset a password it did not change")
			}
			c, _ := db.GetClient(ctx, "acme", "web")
			if c.RedirectURIs[0] != "https://app.example.com/changed" {
				t.Fatalf("the seed reset the client: %v", c.RedirectURIs)
			}
		})
		t.Run("a seed whose user entry changed but not its password keeps a password changed since", func(t *testing.T) {
			seed := testSeed()
			seed[0].Users[0].GivenName = "Augusta"
			res, err := f.admin.ApplySeed(ctx, seed)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"user acme/ada@example.com"}; !slices.Equal(res.Applied, want) {
				t.Fatalf("applied %v, want %v", res.Applied, want)
			}
			u, _ := f.admin.FindUser(ctx, "acme", "ada@example.com")
			if u.GivenName != "Augusta" {
				t.Fatalf("given name = %q, want the seed's new one", u.GivenName)
			}
			if !signIn(t, "changed by the owner") || signIn(t, "first password 1") {
				t.Fatal("a seed that changed only the name reset the password")
			}
			seed[0].Users[0].Password = ""
			if res, err := f.admin.ApplySeed(ctx, seed); err != nil || !slices.Equal(res.Applied, []string{"user acme/ada@example.com"}) {
				t.Fatalf("ApplySeed = %+v, %v", res, err)
			}
			if !signIn(t, "changed by the owner") {
				t.Fatal("a seed that dropped the password changed the user's password")
			}
		})
		t.Run("a seed entry that changed is applied again", func(t *testing.T) {
			seed := testSeed()
			seed[0].Users[0].Password = "second password 2"
			seed[0].Users[0].Roles = []string{"admin", "support"}
			seed[0].Clients[0].RedirectURIs = []string{"https://app.example.com/v2"}
			res, err := f.admin.ApplySeed(ctx, seed)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"client acme/web", "user acme/ada@example.com"}; !slices.Equal(res.Applied, want) {
				t.Fatalf("applied %v, want %v", res.Applied, want)
			}
			if !signIn(t, "second password 2") {
				t.Fatal("the changed seed password was not applied")
			}
			u, _ := f.admin.FindUser(ctx, "acme", "ada@example.com")
			if !slices.Equal(u.Roles, []string{"admin", "support"}) {
				t.Fatalf("roles = %v", u.Roles)
			}
			c, _ := db.GetClient(ctx, "acme", "web")
			if c.RedirectURIs[0] != "https://app.example.com/v2" || !f.keyring.CheckSecret("web-secret-123", c.SecretHash) {
				t.Fatalf("client = %+v", c)
			}
		})
		t.Run("an invalid seed entry names the item and the field", func(t *testing.T) {
			seed := testSeed()
			seed[0].Clients[1].RedirectURIs = []string{"not a uri"}
			_, err := f.admin.ApplySeed(ctx, seed)
			if err == nil || !strings.Contains(err.Error(), "tenants[0].clients[1]") || !strings.Contains(err.Error(), "redirect_uris[0]") {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

func TestDefaultTenant(t *testing.T) {
	ctx := context.Background()
	t.Run("an empty database with no seed gets tenant default, once", func(t *testing.T) {
		db := storetest.Open(t)
		f := newFixture(t, db)
		res, err := f.admin.ApplySeed(ctx, nil)
		if err != nil || !res.DefaultTenantCreated {
			t.Fatalf("ApplySeed = %+v, %v", res, err)
		}
		if _, err := db.GetTenant(ctx, "default"); err != nil {
			t.Fatal(err)
		}
		if res, err := f.admin.ApplySeed(ctx, nil); err != nil || res.DefaultTenantCreated {
			t.Fatalf("second ApplySeed = %+v, %v", res, err)
		}
	})
	t.Run("a database with a tenant gets no default", func(t *testing.T) {
		db := storetest.Open(t)
		f := newFixture(t, db)
		storetest.Tenant(t, db)
		if res, err := f.admin.ApplySeed(ctx, nil); err != nil || res.DefaultTenantCreated {
			t.Fatalf("ApplySeed = %+v, %v", res, err)
		}
	})
	t.Run("a seed naming tenants creates no default", func(t *testing.T) {
		db := storetest.Open(t)
		f := newFixture(t, db)
		if _, err := f.admin.ApplySeed(ctx, testSeed()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetTenant(ctx, "default"); err == nil {
			t.Fatal("tenant default was created although the seed names a tenant")
		}
	})
}

// TestApplySeedConcurrently: nodes starting together apply the same seed at once; each succeeds and the
// result has every item once.
func TestApplySeedConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		const nodes = 4
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() { _, errs[i] = f.admin.ApplySeed(ctx, testSeed()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
		}
		us, _ := f.identity.ListUsers(ctx, "acme", "", 100)
		cs, _ := db.ListClients(ctx, "acme")
		ts, _ := db.ListTenants(ctx)
		if len(us) != 1 || len(cs) != 2 || len(ts) != 1 {
			t.Fatalf("%d users, %d clients, %d tenants; want 1, 2, 1", len(us), len(cs), len(ts))
		}
		if n := countEvents(t, db, "acme", "user.created"); n != 1 {
			t.Fatalf("%d user.created events, want 1", n)
		}
		if _, err := f.identity.Authenticate(ctx, "acme", "ada@example.com", "first password 1", "192.0.2.1"); err != nil {
			t.Fatalf("the seeded user cannot sign in: %v", err)
		}
	})
}
