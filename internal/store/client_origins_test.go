package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestClientAllowedOriginsRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tenant := storetest.Tenant(t, db)
		c := store.Client{TenantID: tenant, ClientID: "spa", TokenEndpointAuthMethod: "none",
			RedirectURIs: []string{"https://spa.example/cb"}, AllowedOrigins: []string{"https://app.example", "http://localhost:5173"}}
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetClient(ctx, tenant, "spa")
		if err != nil || !slices.Equal(got.AllowedOrigins, c.AllowedOrigins) {
			t.Fatalf("GetClient = %q, %v; want allowed origins %q", got.AllowedOrigins, err, c.AllowedOrigins)
		}
		c.AllowedOrigins = nil
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if list, err := db.ListClients(ctx, tenant); err != nil || len(list) != 1 || len(list[0].AllowedOrigins) != 0 {
			t.Fatalf("ListClients after clearing = %+v, %v", list, err)
		}
	})
}

func TestGetTenantRefusesMalformedIDs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// A NUL byte in a text parameter is an error in PostgreSQL, not a missing row: the one tenant-id rule
		// answers it (and every other impossible id) as not found, the same on both databases.
		for _, id := range []string{"a\x00b", "Upper", strings.Repeat("a", 64), ""} {
			if _, err := db.GetTenant(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetTenant(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})
}
