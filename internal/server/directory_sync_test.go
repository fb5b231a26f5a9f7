package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/federation/ldaptest"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestDirectorySyncSchedule: a connection with sync_interval is synced when it is due, once per interval
// (a second pass right after runs nothing), and a user gone from the directory is disabled by it.
func TestDirectorySyncSchedule(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := ldaptest.Start(t,
				ldaptest.NewEntry("cn=umm,dc=corp,dc=example", "objectClass", "person", "cn", "umm", "userPassword", "service-pass"),
				ldaptest.NewEntry("uid=ann,ou=people,dc=corp,dc=example", "objectClass", "person", "uid", "ann",
					"mail", "ann@corp.example", "userPassword", "ann-pass"))
			clock := &settableClock{}
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithClock(clock.Now),
				servertest.WithSeed(func(ts *config.TenantSeed) {
					ts.Connections = []config.Connection{{ID: "directory", Type: config.ConnLDAP, URL: dir.URL(),
						BindDN: "cn=umm,dc=corp,dc=example", BindPassword: "service-pass", BaseDN: "ou=people,dc=corp,dc=example",
						UserFilter: "(mail={login})", SyncInterval: config.Duration(time.Hour), Timeout: config.Duration(2 * time.Second)}}
				}))
			ctx := context.Background()
			tn, err := srv.DB.GetTenant(ctx, srv.Tenant)
			if err != nil {
				t.Fatal(err)
			}
			u, err := srv.Identity.ProvisionFederated(ctx, tn, identity.Upstream{Connection: "directory",
				Subject: "uid=ann,ou=people,dc=corp,dc=example", Email: "ann@corp.example", EmailVerified: true})
			if err != nil {
				t.Fatal(err)
			}
			synced := func() int {
				evs, err := srv.DB.ListEvents(ctx, srv.Tenant, 0, events.TypeDirectorySynced, 100)
				if err != nil {
					t.Fatal(err)
				}
				return len(evs)
			}
			// Never synced: due at once.
			srv.SyncDirectoriesNow(ctx)
			if n := synced(); n != 1 {
				t.Fatalf("%d syncs after the first pass, want 1", n)
			}
			dir.Remove("uid=ann,ou=people,dc=corp,dc=example")
			srv.SyncDirectoriesNow(ctx)
			if n := synced(); n != 1 {
				t.Fatalf("%d syncs after a second pass within the interval, want still 1", n)
			}
			if got, _ := srv.DB.GetUser(ctx, srv.Tenant, u.ID); got.Disabled {
				t.Fatal("a sync that was not due disabled the user")
			}
			clock.Advance(time.Hour + time.Minute)
			srv.SyncDirectoriesNow(ctx)
			if n := synced(); n != 2 {
				t.Fatalf("%d syncs an interval later, want 2", n)
			}
			if got, _ := srv.DB.GetUser(ctx, srv.Tenant, u.ID); !got.Disabled {
				t.Error("the user gone from the directory is still enabled after the due sync")
			}
		})
	}
}
