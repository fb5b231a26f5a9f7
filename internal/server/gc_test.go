package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// One garbage collection pass prunes what the abuse-resistance work added: events past events.retention
// (in batches), expired known devices, clients recorded for sessions that no longer exist, stale
// throttles; it keeps a hard lock however old.
func TestGarbageCollectionPrunesEventsDevicesAndOrphans(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			now := time.Unix(1_900_000_000, 0)
			cfg := servertest.Config("http://127.0.0.1:1", storetest.URL(t, backend), t.TempDir())
			srv, err := server.New(ctx, cfg, nil, server.WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			server.SetEventBatch(srv, 10)
			tid := servertest.TenantID
			user, err := srv.Admin.FindUser(ctx, tid, servertest.UserEmail)
			if err != nil {
				t.Fatal(err)
			}
			old := now.Add(-cfg.Events.Retention.D() - time.Hour)
			err = srv.DB.InTx(ctx, func(tx *store.Tx) error {
				for range 25 { // three batches of 10
					if err := tx.AppendEvent(ctx, store.Event{TenantID: tid, Type: "test.old", CreatedAt: old}); err != nil {
						return err
					}
				}
				return tx.AppendEvent(ctx, store.Event{TenantID: tid, Type: "test.recent", CreatedAt: now.Add(-time.Hour)})
			})
			if err != nil {
				t.Fatal(err)
			}
			for name, expires := range map[string]time.Time{"expired": now.Add(-time.Minute), "live": now.Add(time.Hour)} {
				err := srv.DB.RememberDevice(ctx, store.KnownDevice{TenantID: tid, DeviceHash: []byte(name), UserID: user.ID,
					CreatedAt: old, LastSeenAt: old, ExpiresAt: expires})
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := srv.DB.AddSessionClient(ctx, tid, "no-such-session", servertest.PublicClientID, now); err != nil {
				t.Fatal(err)
			}
			long := now.Add(-30 * 24 * time.Hour)
			if _, err := srv.DB.AddAccountFailure(ctx, tid, "acct:hard", long, long.Add(-time.Hour), 1, time.Unix(253402300799, 0)); err != nil {
				t.Fatal(err)
			}
			if _, err := srv.DB.AddAccountFailure(ctx, tid, "aip:stale:192.0.2.1", long, long.Add(-time.Hour), 10, long); err != nil {
				t.Fatal(err)
			}

			server.CollectOnce(ctx, srv)

			evs, err := srv.DB.ListEvents(ctx, tid, 0, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			var oldLeft, recent int
			for _, e := range evs {
				switch e.Type {
				case "test.old":
					oldLeft++
				case "test.recent":
					recent++
				}
			}
			if oldLeft != 0 || recent != 1 {
				t.Errorf("after a pass: %d events past retention left (want 0), %d recent (want 1)", oldLeft, recent)
			}
			devs, err := srv.DB.ListKnownDevices(ctx, tid, user.ID)
			if err != nil || len(devs) != 1 || string(devs[0].DeviceHash) != "live" {
				t.Errorf("known devices after a pass = %+v, %v; want only the live one", devs, err)
			}
			if cs, err := srv.DB.SessionClients(ctx, tid, "no-such-session"); err != nil || len(cs) != 0 {
				t.Errorf("orphan session clients = %v, %v; want none", cs, err)
			}
			ths, err := srv.DB.GetThrottles(ctx, tid, "acct:hard", "aip:stale:192.0.2.1")
			if err != nil || ths["acct:hard"].Failures != 1 || ths["aip:stale:192.0.2.1"].Failures != 0 {
				t.Errorf("throttles after a pass = %+v, %v; want the hard lock kept and the stale count gone", ths, err)
			}
		})
	}
}
