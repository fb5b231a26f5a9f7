package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestSeedStoresTheTenantsLook(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		seed := testSeed()
		seed[0].DefaultLocale = "fr"
		seed[0].Branding = &config.Branding{DisplayName: "ACME", PrimaryColor: "#1a56db", SupportEmail: "help@example.com"}
		seed[0].Messages = map[string]config.Messages{"de": {"login.title": "Willkommen"}}
		if _, err := f.admin.ApplySeed(ctx, seed); err != nil {
			t.Fatal(err)
		}
		tn, err := db.GetTenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if l := tn.Settings.Look; l.DefaultLocale != "fr" || l.Branding.PrimaryColor != "#1a56db" || l.Messages["de"]["login.title"] != "Willkommen" {
			t.Fatalf("stored look = %+v", l)
		}

		t.Run("a second application of the same seed changes nothing", func(t *testing.T) {
			res, err := f.admin.ApplySeed(ctx, seed)
			if err != nil || len(res.Applied) != 0 {
				t.Fatalf("applied %v, %v", res.Applied, err)
			}
		})
		t.Run("an override of a key no message has is refused, naming it", func(t *testing.T) {
			bad := testSeed()
			bad[0].Messages = map[string]config.Messages{"de": {"login.titel": "Willkommen"}}
			_, err := f.admin.ApplySeed(ctx, bad)
			if err == nil || !strings.Contains(err.Error(), "login.titel") {
				t.Fatalf("err = %v, want the unknown key named", err)
			}
		})
		t.Run("a primary colour without enough contrast is refused with its ratio", func(t *testing.T) {
			bad := testSeed()
			bad[0].Branding = &config.Branding{PrimaryColor: "#ffff00"}
			_, err := f.admin.ApplySeed(ctx, bad)
			if err == nil || !strings.Contains(err.Error(), "1.07:1") {
				t.Fatalf("err = %v, want the contrast ratio", err)
			}
		})
	})
}
