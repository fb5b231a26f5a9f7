package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestSAMLApps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		t0 := time.Unix(1_800_000_000, 0)

		t.Run("an app reads back and an upsert replaces its settings but keeps its creation time", func(t *testing.T) {
			a := store.SAMLApp{TenantID: tid, EntityID: "https://sp.example.com/a", Name: "A", Config: `{"x":1}`, UpdatedAt: t0}
			if err := db.UpsertSAMLApp(ctx, a); err != nil {
				t.Fatal(err)
			}
			a.Name, a.Config, a.UpdatedAt = "A2", `{"x":2}`, t0.Add(time.Hour)
			if err := db.UpsertSAMLApp(ctx, a); err != nil {
				t.Fatal(err)
			}
			got, err := db.GetSAMLApp(ctx, tid, a.EntityID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "A2" || got.Config != `{"x":2}` || !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("GetSAMLApp = %+v", got)
			}
		})

		t.Run("another tenant does not see the app", func(t *testing.T) {
			other := storetest.Tenant(t, db)
			if _, err := db.GetSAMLApp(ctx, other, "https://sp.example.com/a"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetSAMLApp in another tenant = %v, want ErrNotFound", err)
			}
		})

		t.Run("list is ordered by entity id and delete removes one app once", func(t *testing.T) {
			if err := db.UpsertSAMLApp(ctx, store.SAMLApp{TenantID: tid, EntityID: "https://sp.example.com/0", Config: "{}"}); err != nil {
				t.Fatal(err)
			}
			list, err := db.ListSAMLApps(ctx, tid)
			if err != nil || len(list) != 2 || list[0].EntityID != "https://sp.example.com/0" || list[1].EntityID != "https://sp.example.com/a" {
				t.Fatalf("ListSAMLApps = %+v, %v", list, err)
			}
			if err := db.DeleteSAMLApp(ctx, tid, "https://sp.example.com/0"); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteSAMLApp(ctx, tid, "https://sp.example.com/0"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second delete = %v, want ErrNotFound", err)
			}
			if list, _ := db.ListSAMLApps(ctx, tid); len(list) != 1 {
				t.Errorf("after delete: %+v", list)
			}
		})
	})
}
