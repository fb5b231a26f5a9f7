package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestTenantLookIsStored(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		ten, err := db.GetTenant(ctx, tid)
		if err != nil {
			t.Fatal(err)
		}
		ten.Settings.Look = config.TenantLook{DefaultLocale: "fr",
			Branding: config.Branding{DisplayName: "Acmé", PrimaryColor: "#1a56db", SupportEmail: "help@example.com"},
			Messages: map[string]config.Messages{"de": {"login.title": "Willkommen"}}}
		if err := db.UpdateTenant(ctx, ten); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetTenant(ctx, tid)
		if err != nil {
			t.Fatal(err)
		}
		l := got.Settings.Look
		if l.DefaultLocale != "fr" || l.Branding != ten.Settings.Look.Branding || l.Messages["de"]["login.title"] != "Willkommen" {
			t.Errorf("look = %+v, want %+v", l, ten.Settings.Look)
		}
	})
}

func TestSetLoginRequestLang(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		lr := store.LoginRequest{TenantID: tid, ID: "lr1", Kind: store.LoginKindAuthorize, ClientID: "c",
			Params: store.AuthorizeParams{Scopes: []string{"openid"}, State: "s", Lang: "de"}, ExpiresAt: time.Now().Add(time.Hour)}
		if err := db.CreateLoginRequest(ctx, lr); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.GetLoginRequest(ctx, tid, "lr1"); got.Params.Lang != "de" {
			t.Fatalf("stored language = %q, want de", got.Params.Lang)
		}
		if err := db.SetLoginRequestLang(ctx, tid, "lr1", "es"); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetLoginRequest(ctx, tid, "lr1")
		if err != nil || got.Params.Lang != "es" || got.Params.State != "s" {
			t.Fatalf("after the switch: %+v, %v; want es and the other params kept", got.Params, err)
		}
		if err := db.SetLoginRequestLang(ctx, "other", "lr1", "fr"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant's request: %v, want ErrNotFound", err)
		}
		if err := db.SetLoginRequestStatus(ctx, tid, "lr1", store.LoginPending, store.LoginDenied); err != nil {
			t.Fatal(err)
		}
		if err := db.SetLoginRequestLang(ctx, tid, "lr1", "fr"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a finished request: %v, want ErrNotFound", err)
		}
	})
}
