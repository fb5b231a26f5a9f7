package admin_test

import (
	"context"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestApplySeedTenantEmailFrom(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		seed := []config.TenantSeed{{ID: "acme", Name: "Acme", Email: &config.TenantEmail{From: "Acme <accounts@acme.example>"}}}
		if _, err := f.admin.ApplySeed(ctx, seed); err != nil {
			t.Fatal(err)
		}
		tn, err := db.GetTenant(ctx, "acme")
		if err != nil || tn.Settings.EmailFrom != "Acme <accounts@acme.example>" {
			t.Fatalf("tenant = %+v, %v; want the seed's email.from stored", tn, err)
		}
		seed[0].Email = nil
		res, err := f.admin.ApplySeed(ctx, seed)
		if err != nil {
			t.Fatal(err)
		}
		if tn, _ := db.GetTenant(ctx, "acme"); tn.Settings.EmailFrom != "" || len(res.Applied) != 1 {
			t.Errorf("after dropping email.from from the seed: tenant %+v, result %+v", tn, res)
		}
		seed[0].Email = &config.TenantEmail{From: "nobody"}
		if _, err := f.admin.ApplySeed(ctx, seed); err == nil {
			t.Error("a sender that is no address was stored")
		}
	})
}
