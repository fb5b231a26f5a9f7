package admin_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestPlaygroundClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, db)
		if _, err := f.admin.CreateTenant(ctx, admin.TenantInput{ID: "play", Settings: store.TenantSettings{Playground: true}}, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.admin.CreateTenant(ctx, admin.TenantInput{ID: "work"}, "test"); err != nil {
			t.Fatal(err)
		}
		base := "http://localhost:8080"
		redirect := func(tenant string) string { return base + "/t/" + tenant + "/playground/callback" }

		written, err := f.admin.EnsurePlaygroundClients(ctx, "playground", redirect)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("a tenant with the playground on gets a public first-party client with the exact callback", func(t *testing.T) {
			if !slices.Equal(written, []string{"client play/playground"}) {
				t.Errorf("written = %q", written)
			}
			c, err := db.GetClient(ctx, "play", "playground")
			if err != nil {
				t.Fatal(err)
			}
			if c.TokenEndpointAuthMethod != "none" || !c.FirstParty || len(c.SecretHash) != 0 ||
				!slices.Equal(c.RedirectURIs, []string{"http://localhost:8080/t/play/playground/callback"}) ||
				!slices.Equal(c.GrantTypes, []string{"authorization_code"}) {
				t.Errorf("client = %+v", c)
			}
			if n := countEvents(t, db, "play", events.TypeClientUpserted); n != 1 {
				t.Errorf("%d client events, want 1", n)
			}
		})
		t.Run("a tenant with the playground off gets no client", func(t *testing.T) {
			if _, err := db.GetClient(ctx, "work", "playground"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetClient = %v, want not found", err)
			}
		})
		t.Run("a second start writes nothing", func(t *testing.T) {
			written, err := f.admin.EnsurePlaygroundClients(ctx, "playground", redirect)
			if err != nil || len(written) != 0 {
				t.Errorf("written = %q, %v; want nothing", written, err)
			}
			if n := countEvents(t, db, "play", events.TypeClientUpserted); n != 1 {
				t.Errorf("%d client events, want still 1", n)
			}
		})
		t.Run("a new public URL moves the redirect URI", func(t *testing.T) {
			base = "https://id.example.com"
			if _, err := f.admin.EnsurePlaygroundClients(ctx, "playground", redirect); err != nil {
				t.Fatal(err)
			}
			c, err := db.GetClient(ctx, "play", "playground")
			if err != nil || !slices.Equal(c.RedirectURIs, []string{"https://id.example.com/t/play/playground/callback"}) {
				t.Errorf("client = %+v, %v", c, err)
			}
		})
	})
}

func TestTheDefaultTenantHasThePlaygroundOn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		res, err := f.admin.ApplySeed(context.Background(), nil)
		if err != nil || !res.DefaultTenantCreated {
			t.Fatalf("ApplySeed = %+v, %v", res, err)
		}
		tn, err := db.GetTenant(context.Background(), admin.DefaultTenantID)
		if err != nil || !tn.Settings.Playground {
			t.Errorf("tenant default = %+v, %v; want the playground on", tn, err)
		}
	})
}
