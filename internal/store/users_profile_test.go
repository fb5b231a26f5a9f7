package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestUserProfileRoundTrips(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		created := time.Unix(1_700_000_000, 0)
		u := store.User{TenantID: tid, ID: "u1", Email: "ada@example.com", EmailNorm: "ada@example.com",
			CreatedAt: created, UpdatedAt: created, Profile: store.Profile{
				Claims: map[string]any{"nickname": "ada", "phone_number": "+4930123456", "phone_number_verified": true,
					"address": map[string]string{"locality": "Berlin", "country": "DE"}},
				Attributes: map[string]any{"company": "Acme", "newsletter": false, "seats": int64(42)},
			}}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetUser(ctx, tid, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Profile, u.Profile) {
			t.Fatalf("profile = %#v\nwant %#v", got.Profile, u.Profile)
		}

		next := got
		next.Profile = got.Profile.Clone()
		delete(next.Profile.Claims, "address")
		next.Profile.Attributes["company"] = "Acme Corp"
		next.UpdatedAt = created.Add(time.Hour)
		if err := db.UpdateUser(ctx, next); err != nil {
			t.Fatal(err)
		}
		if got.Profile.Attributes["company"] != "Acme" {
			t.Fatal("Clone shares its maps with the original")
		}
		list, err := db.ListUsers(ctx, tid, "", 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("list = %v, %v", list, err)
		}
		if !reflect.DeepEqual(list[0].Profile, next.Profile) || !list[0].UpdatedAt.Equal(next.UpdatedAt) {
			t.Fatalf("after update: profile %#v at %v\nwant %#v at %v", list[0].Profile, list[0].UpdatedAt, next.Profile, next.UpdatedAt)
		}

		empty := next
		empty.Profile = store.Profile{}
		if err := db.UpdateUser(ctx, empty); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.GetUser(ctx, tid, "u1"); got.Profile.Claims != nil || got.Profile.Attributes != nil {
			t.Fatalf("cleared profile reads back as %#v", got.Profile)
		}
	})
}

func TestTenantProfileSettingsAndClientProfileFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		ten, err := db.GetTenant(ctx, tid)
		if err != nil {
			t.Fatal(err)
		}
		off, maxLen := false, 100
		ten.Settings.Registration = config.Registration{Enabled: true, RequireEmailVerification: &off, AllowedEmailDomains: []string{"example.com"}}
		ten.Settings.Profile = config.ProfileSchema{
			Fields: []config.ProfileField{{Name: "company", Type: "string", Label: map[string]string{"en": "Company", "de": "Firma"},
				Required: true, Registration: true, MaxLength: &maxLen, Claim: &config.FieldClaim{Scope: "profile"}}},
			Progressive: []config.ProgressiveField{{Field: "phone_number", AfterSignIns: 3}},
		}
		if err := db.UpdateTenant(ctx, ten); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetTenant(ctx, tid)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Settings.Equal(ten.Settings) || !reflect.DeepEqual(got.Settings.Profile, ten.Settings.Profile) {
			t.Fatalf("settings = %+v\nwant %+v", got.Settings, ten.Settings)
		}
		if got.Settings.Registration.EmailVerificationRequired() {
			t.Error("require_email_verification false did not survive the round trip")
		}

		c := store.Client{TenantID: tid, ClientID: "web", TokenEndpointAuthMethod: "none", GrantTypes: []string{"authorization_code"},
			RedirectURIs: []string{"https://a/cb"}, RequiredProfileFields: []string{"company", "phone_number"},
			InitiateLoginURI: "https://app.example.com/login"}
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		gc, err := db.GetClient(ctx, tid, "web")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gc.RequiredProfileFields, c.RequiredProfileFields) || gc.InitiateLoginURI != c.InitiateLoginURI {
			t.Fatalf("client = %v %q", gc.RequiredProfileFields, gc.InitiateLoginURI)
		}
		c.RequiredProfileFields, c.InitiateLoginURI = nil, ""
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if gc, _ := db.GetClient(ctx, tid, "web"); len(gc.RequiredProfileFields) != 0 || gc.InitiateLoginURI != "" {
			t.Fatalf("upsert kept %v %q", gc.RequiredProfileFields, gc.InitiateLoginURI)
		}
	})
}

func TestTenantSettingsEqual(t *testing.T) {
	t.Parallel()
	a := store.TenantSettings{Profile: config.ProfileSchema{Fields: []config.ProfileField{{Name: "company"}}}}
	b := store.TenantSettings{Profile: config.ProfileSchema{Fields: []config.ProfileField{{Name: "company", Type: "integer"}}}}
	if !a.Equal(a) || a.Equal(b) || (store.TenantSettings{}).Equal(a) {
		t.Fatal("Equal does not compare the profile schema")
	}
	if !(store.TenantSettings{Profile: config.ProfileSchema{Fields: []config.ProfileField{}}}).Equal(store.TenantSettings{}) {
		t.Fatal("an empty list and none differ")
	}
}
