package admin_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestClientAllowedOrigins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		tenant := storetest.Tenant(t, db)
		spa := func(origins ...string) admin.ClientInput {
			return admin.ClientInput{ClientID: "spa", RedirectURIs: []string{"https://spa.example/cb"},
				TokenEndpointAuthMethod: "none", AllowedOrigins: origins}
		}

		t.Run("allowed origins are stored in the form browsers send", func(t *testing.T) {
			seed := config.ClientSeed{ClientID: "spa", RedirectURIs: []string{"https://spa.example/cb"},
				TokenEndpointAuthMethod: "none", AllowedOrigins: []string{"HTTPS://App.Example:443", "http://localhost:5173/"}}
			c, err := f.admin.UpsertClient(ctx, tenant, admin.ClientFromSeed(seed), "test")
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"https://app.example", "http://localhost:5173"}
			if !slices.Equal(c.AllowedOrigins, want) {
				t.Fatalf("stored allowed origins %q, want %q", c.AllowedOrigins, want)
			}
			if got, _ := db.GetClient(ctx, tenant, "spa"); !slices.Equal(got.AllowedOrigins, want) {
				t.Fatalf("read back %q, want %q", got.AllowedOrigins, want)
			}
			if seed.AllowedOrigins[0] != "HTTPS://App.Example:443" {
				t.Errorf("the seed's list was changed to %q", seed.AllowedOrigins)
			}
		})
		t.Run("an update replaces the list, and an empty list clears it", func(t *testing.T) {
			c, err := f.admin.UpsertClient(ctx, tenant, spa(), "test")
			if err != nil {
				t.Fatal(err)
			}
			if len(c.AllowedOrigins) != 0 {
				t.Fatalf("allowed origins %q after clearing", c.AllowedOrigins)
			}
		})
		for _, tt := range []struct {
			name    string
			origins []string
			want    string
		}{
			{"an origin with a path is refused", []string{"https://app.example/spa"}, "allowed_origins[0]"},
			{"a wildcard is refused", []string{"https://ok.example", "https://*.example"}, "allowed_origins[1]"},
			{"plain http to a public host is refused", []string{"http://app.example"}, "https"},
			{"the same origin twice is refused, also when written differently", []string{"https://a.example", "https://A.example:443"}, "appears twice"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.admin.UpsertClient(ctx, tenant, spa(tt.origins...), "test")
				if err == nil || !strings.Contains(err.Error(), tt.want) || !admin.IsInvalid(err) {
					t.Fatalf("UpsertClient = %v, want an invalid-input error containing %q", err, tt.want)
				}
			})
		}
		t.Run("a filesystem: redirect URI is refused like javascript:", func(t *testing.T) {
			in := spa()
			in.RedirectURIs = []string{"filesystem:https://spa.example/temporary/cb"}
			if _, err := f.admin.UpsertClient(ctx, tenant, in, "test"); err == nil || !strings.Contains(err.Error(), "scheme") {
				t.Fatalf("UpsertClient = %v, want the scheme refused", err)
			}
		})
	})
}
