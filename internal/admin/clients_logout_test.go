package admin_test

import (
	"context"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestClientLogoutSettingsAreStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		f := newFixture(t, db)
		tenant := storetest.Tenant(t, db)
		seed := config.ClientSeed{ClientID: "web", ClientSecret: "a-long-enough-secret", RedirectURIs: []string{"https://app.example.com/cb"},
			BackchannelLogoutURI: "https://app.example.com/bc", BackchannelLogoutSessionRequired: true,
			FrontchannelLogoutURI: "https://app.example.com/fc", FrontchannelLogoutSessionRequired: true}
		c, err := f.admin.UpsertClient(context.Background(), tenant, admin.ClientFromSeed(seed), "test")
		if err != nil {
			t.Fatal(err)
		}
		if c.BackchannelLogoutURI != seed.BackchannelLogoutURI || !c.BackchannelLogoutSessionRequired ||
			c.FrontchannelLogoutURI != seed.FrontchannelLogoutURI || !c.FrontchannelLogoutSessionRequired {
			t.Errorf("stored %+v", c)
		}
		// Replacing the client without them removes them: the seed and the CLI describe the whole client.
		seed.BackchannelLogoutURI, seed.BackchannelLogoutSessionRequired = "", false
		seed.FrontchannelLogoutURI, seed.FrontchannelLogoutSessionRequired = "", false
		if c, err = f.admin.UpsertClient(context.Background(), tenant, admin.ClientFromSeed(seed), "test"); err != nil {
			t.Fatal(err)
		}
		if c.BackchannelLogoutURI != "" || c.FrontchannelLogoutURI != "" || c.BackchannelLogoutSessionRequired {
			t.Errorf("after replacing: %+v", c)
		}
	})
}
