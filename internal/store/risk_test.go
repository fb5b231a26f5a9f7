package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func createUser(t *testing.T, db *store.DB, tid, id string) {
	t.Helper()
	if err := db.CreateUser(context.Background(), store.User{TenantID: tid, ID: id, Email: id + "@example.com", EmailNorm: id + "@example.com"}); err != nil {
		t.Fatal(err)
	}
}

func TestUserNetworks(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := storetest.OpenBackend(t, backend)
			ctx := context.Background()
			tid := storetest.Tenant(t, db)
			createUser(t, db, tid, "ann")
			createUser(t, db, tid, "bob")
			t0 := time.Unix(1_800_000_000, 0)

			t.Run("a user without rows has no history", func(t *testing.T) {
				h, err := db.NetworkHistory(ctx, tid, "ann", "203.0.113.0/24", "DE")
				if err != nil || h != (store.NetworkHistory{}) {
					t.Fatalf("got %+v, %v", h, err)
				}
			})

			berlin := store.UserNetwork{TenantID: tid, UserID: "ann", Network: "203.0.113.0/24", Country: "DE",
				Latitude: 52.520008, Longitude: 13.404954, HasLocation: true, LastSeenAt: t0}
			if err := db.RecordUserNetwork(ctx, berlin); err != nil {
				t.Fatal(err)
			}
			// A network the geo database does not know: no country, no place.
			if err := db.RecordUserNetwork(ctx, store.UserNetwork{TenantID: tid, UserID: "ann", Network: "2001:db8:1:2::/64",
				LastSeenAt: t0.Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}

			t.Run("the history knows the network, the country and the last place", func(t *testing.T) {
				h, err := db.NetworkHistory(ctx, tid, "ann", "203.0.113.0/24", "DE")
				if err != nil {
					t.Fatal(err)
				}
				if !h.Any || !h.KnownNetwork || !h.KnownCountry {
					t.Fatalf("got %+v", h)
				}
				l := h.Last
				if l.Network != "203.0.113.0/24" || l.Country != "DE" || !l.HasLocation || l.Latitude != 52.520008 ||
					l.Longitude != 13.404954 || !l.LastSeenAt.Equal(t0) || !l.FirstSeenAt.Equal(t0) {
					t.Fatalf("last place = %+v", l)
				}
			})
			t.Run("another network and country are unknown", func(t *testing.T) {
				h, err := db.NetworkHistory(ctx, tid, "ann", "198.51.100.0/24", "FR")
				if err != nil || !h.Any || h.KnownNetwork || h.KnownCountry {
					t.Fatalf("got %+v, %v", h, err)
				}
			})
			t.Run("an unknown country is never known, though rows without a country exist", func(t *testing.T) {
				h, err := db.NetworkHistory(ctx, tid, "ann", "2001:db8:1:2::/64", "")
				if err != nil || !h.KnownNetwork || h.KnownCountry {
					t.Fatalf("got %+v, %v", h, err)
				}
			})
			t.Run("another user's rows are not this user's history", func(t *testing.T) {
				h, err := db.NetworkHistory(ctx, tid, "bob", "203.0.113.0/24", "DE")
				if err != nil || h.Any {
					t.Fatalf("got %+v, %v", h, err)
				}
			})
			t.Run("a refresh without geo keeps the place and the first sighting", func(t *testing.T) {
				if err := db.RecordUserNetwork(ctx, store.UserNetwork{TenantID: tid, UserID: "ann", Network: "203.0.113.0/24",
					LastSeenAt: t0.Add(time.Minute)}); err != nil {
					t.Fatal(err)
				}
				ns, err := db.UserNetworks(ctx, tid, "ann")
				if err != nil || len(ns) != 2 {
					t.Fatalf("got %+v, %v", ns, err)
				}
				n := ns[0]
				if n.Network != "203.0.113.0/24" || n.Country != "DE" || !n.HasLocation || n.Latitude != 52.520008 ||
					!n.FirstSeenAt.Equal(t0) || !n.LastSeenAt.Equal(t0.Add(time.Minute)) {
					t.Fatalf("refreshed row = %+v", n)
				}
				if ns[1].HasLocation || ns[1].Country != "" {
					t.Fatalf("row without geo = %+v", ns[1])
				}
			})
			t.Run("a refresh with a new place replaces it", func(t *testing.T) {
				moved := berlin
				moved.Country, moved.Latitude, moved.Longitude, moved.LastSeenAt = "PL", 52.229676, 21.012229, t0.Add(2*time.Minute)
				if err := db.RecordUserNetwork(ctx, moved); err != nil {
					t.Fatal(err)
				}
				h, err := db.NetworkHistory(ctx, tid, "ann", "203.0.113.0/24", "DE")
				if err != nil || h.KnownCountry || h.Last.Country != "PL" || h.Last.Latitude != 52.229676 || h.Last.Longitude != 21.012229 {
					t.Fatalf("got %+v, %v", h, err)
				}
			})
			t.Run("only the newest networks of a user are kept", func(t *testing.T) {
				for i := range 60 {
					if err := db.RecordUserNetwork(ctx, store.UserNetwork{TenantID: tid, UserID: "bob",
						Network: fmt.Sprintf("10.0.%d.0/24", i), LastSeenAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
						t.Fatal(err)
					}
				}
				ns, err := db.UserNetworks(ctx, tid, "bob")
				if err != nil || len(ns) != 50 {
					t.Fatalf("%d rows, %v; want 50", len(ns), err)
				}
				if ns[0].Network != "10.0.59.0/24" || ns[49].Network != "10.0.10.0/24" {
					t.Fatalf("kept %s .. %s, want the newest 10.0.59.0/24 .. 10.0.10.0/24", ns[0].Network, ns[49].Network)
				}
				if anns, _ := db.UserNetworks(ctx, tid, "ann"); len(anns) != 2 {
					t.Fatalf("the cap of one user removed another's rows: %d left", len(anns))
				}
			})
			t.Run("deleting a user deletes its networks", func(t *testing.T) {
				if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteUser(ctx, tid, "bob") }); err != nil {
					t.Fatal(err)
				}
				if n := store.Count(t, db, `SELECT COUNT(*) FROM user_networks WHERE tenant_id = ? AND user_id = ?`, tid, "bob"); n != 0 {
					t.Fatalf("%d rows left", n)
				}
				if n := store.Count(t, db, `SELECT COUNT(*) FROM user_networks WHERE tenant_id = ? AND user_id = ?`, tid, "ann"); n != 2 {
					t.Fatalf("the other user has %d rows, want 2", n)
				}
			})
			t.Run("deleting the tenant deletes its networks", func(t *testing.T) {
				if err := db.DeleteTenant(ctx, tid); err != nil {
					t.Fatal(err)
				}
				if n := store.Count(t, db, `SELECT COUNT(*) FROM user_networks WHERE tenant_id = ?`, tid); n != 0 {
					t.Fatalf("%d rows left", n)
				}
			})
		})
	}
}
