package admin_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func ptr[T any](v T) *T { return &v }

func TestUpdates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, db)
		tid := storetest.Tenant(t, db)
		_, secret, err := f.admin.CreateClient(ctx, tid, admin.ClientInput{ClientID: "web",
			RedirectURIs: []string{"https://app.example.com/cb"}}, "test")
		if err != nil {
			t.Fatal(err)
		}

		t.Run("a client update changes only the fields given and keeps the secret", func(t *testing.T) {
			c, err := f.admin.UpdateClient(ctx, tid, "web", admin.ClientPatch{Name: ptr("Web Shop"),
				Scopes: ptr([]string{"openid", "email"})}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != "Web Shop" || !slices.Equal(c.Scopes, []string{"openid", "email"}) ||
				!slices.Equal(c.RedirectURIs, []string{"https://app.example.com/cb"}) || !f.keyring.CheckSecret(string(secret), c.SecretHash) {
				t.Errorf("after the update: %+v", c)
			}
			if n := countEvents(t, db, tid, events.TypeClientUpserted); n != 2 {
				t.Errorf("%d client.upserted events, want 2", n)
			}
		})
		t.Run("a client update keeps the MFA policy and initiate-login URI it does not name", func(t *testing.T) {
			_, _, err := f.admin.CreateClient(ctx, tid, admin.ClientInput{ClientID: "strict",
				RedirectURIs: []string{"https://strict.example.com/cb"}, MFAPolicy: "required",
				InitiateLoginURI: "https://strict.example.com/login"}, "test")
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.admin.UpdateClient(ctx, tid, "strict", admin.ClientPatch{Name: ptr("Strict")}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if c.MFAPolicy != "required" || c.InitiateLoginURI != "https://strict.example.com/login" {
				t.Errorf("a rename lost the MFA policy or the initiate-login URI: %+v", c)
			}
			c, err = f.admin.UpdateClient(ctx, tid, "strict", admin.ClientPatch{MFAPolicy: ptr("")}, "test")
			if err != nil || c.MFAPolicy != "" {
				t.Errorf("clearing the MFA policy: %+v, %v", c, err)
			}
		})
		t.Run("a client update keeps the browser origins and logout URIs it does not name", func(t *testing.T) {
			_, _, err := f.admin.CreateClient(ctx, tid, admin.ClientInput{ClientID: "spa", TokenEndpointAuthMethod: "none",
				RedirectURIs: []string{"https://spa.example.com/cb"}, AllowedOrigins: []string{"https://beta.example.com"},
				BackchannelLogoutURI: "https://spa.example.com/bc", BackchannelLogoutSessionRequired: true,
				FrontchannelLogoutURI: "https://spa.example.com/fc"}, "test")
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.admin.UpdateClient(ctx, tid, "spa", admin.ClientPatch{Name: ptr("SPA")}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != "SPA" || !slices.Equal(c.AllowedOrigins, []string{"https://beta.example.com"}) ||
				c.BackchannelLogoutURI != "https://spa.example.com/bc" || !c.BackchannelLogoutSessionRequired ||
				c.FrontchannelLogoutURI != "https://spa.example.com/fc" {
				t.Errorf("a rename lost settings: %+v", c)
			}
			c, err = f.admin.UpdateClient(ctx, tid, "spa", admin.ClientPatch{AllowedOrigins: ptr([]string{"https://gamma.example.com"}),
				BackchannelLogoutURI: ptr(""), BackchannelLogoutSessionRequired: ptr(false)}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.AllowedOrigins, []string{"https://gamma.example.com"}) || c.BackchannelLogoutURI != "" ||
				c.FrontchannelLogoutURI != "https://spa.example.com/fc" {
				t.Errorf("after changing origins and removing the back-channel URI: %+v", c)
			}
			if _, err := f.admin.UpdateClient(ctx, tid, "spa", admin.ClientPatch{AllowedOrigins: ptr([]string{"https://*.example.com"})}, "test"); !admin.IsInvalid(err) {
				t.Errorf("a wildcard origin = %v, want an invalid-input error", err)
			}
		})
		t.Run("a client update that breaks the client is refused whole", func(t *testing.T) {
			_, err := f.admin.UpdateClient(ctx, tid, "web", admin.ClientPatch{Name: ptr("Renamed"), RedirectURIs: ptr([]string{})}, "test")
			if !admin.IsInvalid(err) {
				t.Fatalf("UpdateClient without redirect URIs = %v, want an invalid-input error", err)
			}
			if c, _ := f.admin.GetClient(ctx, tid, "web"); c.Name != "Web Shop" {
				t.Errorf("a refused update changed the name to %q", c.Name)
			}
			if _, err := f.admin.UpdateClient(ctx, tid, "nope", admin.ClientPatch{Name: ptr("x")}, "test"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("updating an unknown client = %v, want ErrNotFound", err)
			}
		})
		t.Run("a secret rotation records its grace", func(t *testing.T) {
			newSecret, err := f.admin.RotateClientSecret(ctx, tid, "web", time.Hour, "test")
			if err != nil {
				t.Fatal(err)
			}
			c, _ := f.admin.GetClient(ctx, tid, "web")
			if !f.keyring.CheckSecret(string(newSecret), c.SecretHash) || !f.keyring.CheckSecret(string(secret), c.PreviousSecretHash) ||
				time.Until(c.PreviousSecretExpiresAt) < 59*time.Minute {
				t.Errorf("after the rotation: previous until %v", c.PreviousSecretExpiresAt)
			}
			if n := countEvents(t, db, tid, events.TypeClientSecretRotated); n != 1 {
				t.Errorf("%d client.secret_rotated events, want 1", n)
			}
			if _, err := f.admin.RotateClientSecret(ctx, tid, "web", 31*24*time.Hour, "test"); !admin.IsInvalid(err) {
				t.Errorf("a grace of 31 days = %v, want an invalid-input error", err)
			}
		})
		t.Run("a user update changes the profile and roles", func(t *testing.T) {
			u, err := f.admin.CreateUser(ctx, tid, admin.UserInput{Email: "ada@example.com", EmailVerified: true}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.db.UpsertRole(ctx, store.Role{TenantID: tid, Name: "admin"}); err != nil {
				t.Fatal(err)
			}
			got, err := f.admin.UpdateUser(ctx, tid, u.ID, admin.UserPatch{Email: ptr("ada@lovelace.example"),
				GivenName: ptr("Ada"), Roles: ptr([]string{"admin"})}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if got.Email != "ada@lovelace.example" || got.GivenName != "Ada" || got.EmailVerified || !slices.Equal(got.Roles, []string{"admin"}) {
				t.Errorf("after the update: %+v (a new address must be unverified)", got)
			}
			if _, err := f.admin.UpdateUser(ctx, tid, u.ID, admin.UserPatch{Email: ptr("no-at-sign")}, "test"); !admin.IsInvalid(err) {
				t.Errorf("an invalid address = %v, want an invalid-input error", err)
			}
		})
		t.Run("a tenant update changes the name and settings", func(t *testing.T) {
			got, err := f.admin.UpdateTenant(ctx, tid, admin.TenantPatch{Name: ptr("Acme"),
				Settings: func(s *store.TenantSettings) { s.AccessTokenTTL = 900 }}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Acme" || got.Settings.AccessTokenTTL != 900 {
				t.Errorf("after the update: %+v", got)
			}
			if _, err := f.admin.UpdateTenant(ctx, tid, admin.TenantPatch{Settings: func(s *store.TenantSettings) { s.CodeTTL = -1 }}, "test"); !admin.IsInvalid(err) {
				t.Errorf("a negative lifetime = %v, want an invalid-input error", err)
			}
		})
		t.Run("a client deletion revokes its grants with one event each", func(t *testing.T) {
			u, err := f.admin.CreateUser(ctx, tid, admin.UserInput{Email: "bob@example.com"}, "test")
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CreateGrant(ctx, store.Grant{TenantID: tid, ID: "g1", ClientID: "web", UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := f.admin.DeleteClient(ctx, tid, "web", "test"); err != nil {
				t.Fatal(err)
			}
			evs, err := db.ListEvents(ctx, tid, 0, events.TypeGrantRevoked, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Subject != "g1" || evs[0].ClientID != "web" {
				t.Errorf("grant.revoked events after the deletion: %+v", evs)
			}
		})
		t.Run("a tenant deletion leaves only its tenant.deleted event", func(t *testing.T) {
			if err := f.admin.DeleteTenant(ctx, tid, "test"); err != nil {
				t.Fatal(err)
			}
			evs, err := db.ListEvents(ctx, tid, 0, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Type != events.TypeTenantDeleted {
				t.Errorf("events of the deleted tenant: %+v", evs)
			}
			if err := f.admin.DeleteTenant(ctx, tid, "test"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("deleting it again = %v, want ErrNotFound", err)
			}
		})
	})
}
