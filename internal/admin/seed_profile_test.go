package admin_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func profileSeed() []config.TenantSeed {
	maxLen := 100
	return []config.TenantSeed{{
		ID: "acme", Name: "Acme",
		Registration: &config.Registration{Enabled: true, AllowedEmailDomains: []string{"example.com"}},
		Profile: &config.ProfileSchema{
			Fields: []config.ProfileField{
				{Name: "company", Type: "string", Label: map[string]string{"en": "Company", "de": "Firma"}, Required: true,
					Registration: true, Editable: true, MaxLength: &maxLen, Claim: &config.FieldClaim{Scope: "profile"}},
				{Name: "newsletter", Type: "boolean", Registration: true, Editable: true},
			},
			Progressive: []config.ProgressiveField{{Field: "phone_number", AfterSignIns: 3}},
		},
		Clients: []config.ClientSeed{{ClientID: "web", ClientSecret: "web-secret-123", RedirectURIs: []string{"https://app.example.com/cb"},
			GrantTypes: []string{"authorization_code"}, RequiredProfileFields: []string{"company", "phone_number"},
			InitiateLoginURI: "https://app.example.com/login"}},
		Users: []config.UserSeed{{Email: "ada@example.com", GivenName: "Ada",
			Attributes: map[string]any{"company": "Acme", "newsletter": true, "phone_number": "+49 30 123456",
				"address": map[string]any{"locality": "Berlin", "postal_code": 10115}}}},
	}}
}

func TestApplySeedProfile(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		seed := profileSeed()
		if _, err := f.admin.ApplySeed(ctx, seed); err != nil {
			t.Fatal(err)
		}
		t.Run("the tenant's registration and schema are stored", func(t *testing.T) {
			tn, err := db.GetTenant(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			if !tn.Settings.Registration.Enabled || !tn.Settings.Registration.EmailVerificationRequired() ||
				!reflect.DeepEqual(tn.Settings.Profile, *seed[0].Profile) {
				t.Fatalf("settings = %+v", tn.Settings)
			}
		})
		t.Run("the client's profile fields are stored", func(t *testing.T) {
			c, err := db.GetClient(ctx, "acme", "web")
			if err != nil || !slices.Equal(c.RequiredProfileFields, []string{"company", "phone_number"}) ||
				c.InitiateLoginURI != "https://app.example.com/login" {
				t.Fatalf("client = %+v, %v", c, err)
			}
		})
		t.Run("the user's attributes are validated, normalized and stored", func(t *testing.T) {
			u, err := f.admin.FindUser(ctx, "acme", "ada@example.com")
			if err != nil {
				t.Fatal(err)
			}
			want := store.Profile{
				Claims:     map[string]any{"phone_number": "+4930123456", "address": map[string]string{"locality": "Berlin", "postal_code": "10115"}},
				Attributes: map[string]any{"company": "Acme", "newsletter": true},
			}
			if !reflect.DeepEqual(u.Profile, want) {
				t.Fatalf("profile = %#v\nwant %#v", u.Profile, want)
			}
		})
		t.Run("applying the same seed again changes nothing", func(t *testing.T) {
			before := countEvents(t, db, "acme", "")
			res, err := f.admin.ApplySeed(ctx, seed)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Applied) != 0 || res.Unchanged != 3 || countEvents(t, db, "acme", "") != before {
				t.Fatalf("result = %+v; want nothing applied, no event", res)
			}
		})
		t.Run("a changed attribute is applied, and a value changed since stays when the seed did not change it", func(t *testing.T) {
			u, _ := f.admin.FindUser(ctx, "acme", "ada@example.com")
			if _, err := f.admin.UpdateProfile(ctx, "acme", u.ID, map[string]any{"nickname": "countess"}, "test"); err != nil {
				t.Fatal(err)
			}
			seed := profileSeed()
			seed[0].Users[0].Attributes["company"] = "Acme Corp"
			res, err := f.admin.ApplySeed(ctx, seed)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Applied, []string{"user acme/ada@example.com"}) {
				t.Fatalf("applied %v", res.Applied)
			}
			u, _ = f.admin.FindUser(ctx, "acme", "ada@example.com")
			if u.Profile.Attributes["company"] != "Acme Corp" || u.Profile.Claims["nickname"] != "countess" {
				t.Fatalf("profile = %#v", u.Profile)
			}
		})
		t.Run("a seed attribute the validator refuses stops the seed naming it, changing nothing", func(t *testing.T) {
			seed := profileSeed()
			seed[0].Users[0].GivenName = "Augusta"
			seed[0].Users[0].Attributes["company"] = strings.Repeat("x", 101)
			_, err := f.admin.ApplySeed(ctx, seed)
			if err == nil || !strings.Contains(err.Error(), "tenants[0].users[0]") ||
				!strings.Contains(err.Error(), "attributes.company: must be at most 100 characters") {
				t.Fatalf("err = %v", err)
			}
			if u, _ := f.admin.FindUser(ctx, "acme", "ada@example.com"); u.GivenName != "Ada" {
				t.Fatalf("given name changed to %q by a refused seed entry", u.GivenName)
			}
		})
	})
}

func TestProfileThroughTheAdminService(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		if _, err := f.admin.ApplySeed(ctx, profileSeed()); err != nil {
			t.Fatal(err)
		}
		t.Run("create refuses a value and names it", func(t *testing.T) {
			_, err := f.admin.CreateUser(ctx, "acme", admin.UserInput{Email: "bob@example.com",
				Attributes: map[string]any{"newsletter": "perhaps", "birthdate": "1990-02-30"}}, "test")
			if !admin.IsInvalid(err) || !strings.Contains(err.Error(), "attributes.birthdate: is not a date (YYYY-MM-DD)") ||
				!strings.Contains(err.Error(), "attributes.newsletter: must be true or false") {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("update refuses an unknown attribute before changing the name", func(t *testing.T) {
			u, _ := f.admin.FindUser(ctx, "acme", "ada@example.com")
			given := "Augusta"
			_, err := f.admin.UpdateUser(ctx, "acme", u.ID, admin.UserPatch{GivenName: &given,
				Attributes: map[string]any{"fax": "1"}}, "test")
			if !admin.IsInvalid(err) || !strings.Contains(err.Error(), "attributes.fax: is neither a standard claim") {
				t.Fatalf("err = %v", err)
			}
			if u, _ := f.admin.FindUser(ctx, "acme", "ada@example.com"); u.GivenName != "Ada" {
				t.Fatal("the name changed although the update was refused")
			}
		})
		t.Run("update sets and clears attributes", func(t *testing.T) {
			u, _ := f.admin.FindUser(ctx, "acme", "ada@example.com")
			got, err := f.admin.UpdateUser(ctx, "acme", u.ID, admin.UserPatch{Attributes: map[string]any{"newsletter": "", "website": "https://ada.example"}}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got.Profile.Attributes["newsletter"]; ok || got.Profile.Claims["website"] != "https://ada.example" {
				t.Fatalf("profile = %#v", got.Profile)
			}
		})
		t.Run("a tenant with a bad schema is refused with every problem", func(t *testing.T) {
			st := store.TenantSettings{Profile: config.ProfileSchema{Fields: []config.ProfileField{{Name: "sub"}, {Name: "x", Type: "select"}}}}
			_, err := f.admin.CreateTenant(ctx, admin.TenantInput{ID: "bad", Settings: st}, "test")
			if !admin.IsInvalid(err) || !strings.Contains(err.Error(), `settings.profile.fields[0].name: "sub" is a reserved claim name`) ||
				!strings.Contains(err.Error(), "settings.profile.fields[1].options") {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a client requiring a field the tenant does not have is refused", func(t *testing.T) {
			_, err := f.admin.UpsertClient(ctx, "acme", admin.ClientInput{ClientID: "app", Secret: "app-secret-123",
				RedirectURIs: []string{"https://app.example.com/cb"}, RequiredProfileFields: []string{"fax"}}, "test")
			if !admin.IsInvalid(err) || !strings.Contains(err.Error(), `required_profile_fields[0]: "fax" is neither`) {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("a client with an http initiate_login_uri is refused", func(t *testing.T) {
			_, err := f.admin.UpsertClient(ctx, "acme", admin.ClientInput{ClientID: "app", Secret: "app-secret-123",
				RedirectURIs: []string{"https://app.example.com/cb"}, InitiateLoginURI: "http://app.example.com/login"}, "test")
			if !admin.IsInvalid(err) || !strings.Contains(err.Error(), "initiate_login_uri") {
				t.Fatalf("err = %v", err)
			}
		})
	})
}
