package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestWebhookSubscriptionsAndDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		now := time.Now()
		appendEvent := func(typ string, at time.Time) {
			t.Helper()
			if err := db.AppendEvent(ctx, store.Event{TenantID: tid, Type: typ, Subject: "u1", CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		appendEvent("user.created", now.Add(-time.Hour)) // before the subscription: never delivered

		w := store.Webhook{TenantID: tid, ID: "wh1", URL: "https://hooks.example.com/a", EventTypes: []string{"user.created"},
			Enabled: true, Secret: []byte("sealed-1"), CreatedAt: now}
		if err := db.InsertWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertWebhook(ctx, w); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a second insert of the same id = %v, want ErrConflict", err)
		}
		got, err := db.GetWebhook(ctx, tid, "wh1")
		if err != nil || got.URL != w.URL || len(got.EventTypes) != 1 || !got.Enabled || string(got.Secret) != "sealed-1" {
			t.Fatalf("GetWebhook = %+v, %v", got, err)
		}
		if _, err := db.GetWebhook(ctx, storetest.Tenant(t, db), "wh1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant's GetWebhook = %v, want ErrNotFound", err)
		}

		t.Run("a scan writes one delivery per subscribed event, once however often it runs", func(t *testing.T) {
			appendEvent("user.created", now)
			appendEvent("user.deleted", now) // not subscribed
			for range 3 {
				if _, err := db.ScanWebhookEvents(ctx, got, 0, now, time.Minute, 1000); err != nil {
					t.Fatal(err)
				}
			}
			ds, err := db.ListWebhookDeliveries(ctx, tid, "wh1", 0, 10)
			if err != nil || len(ds) != 1 || ds[0].EventType != "user.created" || ds[0].Status != store.DeliveryPending {
				t.Fatalf("deliveries = %+v, %v", ds, err)
			}
		})

		t.Run("an event committed late below the cursor is found by the next scan within the window", func(t *testing.T) {
			if db.Kind() != "postgres" {
				t.Skip("SQLite has one writer: transactions commit in id order")
			}
			w, _ := db.GetWebhook(ctx, tid, "wh1")
			// A transaction takes an id, then another commits a higher one and a scan runs, then the first commits.
			inTx, scanned, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				done <- db.InTx(ctx, func(tx *store.Tx) error {
					if err := tx.AppendEvent(ctx, store.Event{TenantID: tid, Type: "user.created", Subject: "late", CreatedAt: now}); err != nil {
						return err
					}
					close(inTx)
					<-scanned
					return nil
				})
			}()
			<-inTx
			appendEvent("user.created", now)
			first, err := db.ScanWebhookEvents(ctx, w, 0, now, time.Minute, 1000)
			if err != nil {
				t.Fatal(err)
			}
			close(scanned)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if ds, _ := db.ListWebhookDeliveries(ctx, tid, "wh1", 0, 10); len(ds) != 2 {
				t.Fatalf("deliveries before the late commit is scanned = %d, want 2", len(ds))
			}
			w, _ = db.GetWebhook(ctx, tid, "wh1")
			// A scan past the highest id read cannot see it; a scan from the cursor does.
			if quick, err := db.ScanWebhookEvents(ctx, w, first.Last, now, time.Minute, 1000); err != nil || quick.Written != 0 {
				t.Fatalf("a scan from the last id read = %+v, %v; want nothing written", quick, err)
			}
			if full, err := db.ScanWebhookEvents(ctx, w, 0, now, time.Minute, 1000); err != nil || full.Written != 1 {
				t.Fatalf("a scan from the cursor = %+v, %v; want the late event", full, err)
			}
			ds, _ := db.ListWebhookDeliveries(ctx, tid, "wh1", 0, 10)
			if len(ds) != 3 {
				t.Fatalf("deliveries after a late commit = %d, want 3: %+v", len(ds), ds)
			}
		})

		t.Run("the cursor moves only past events older than the window", func(t *testing.T) {
			w, _ := db.GetWebhook(ctx, tid, "wh1")
			if _, err := db.ScanWebhookEvents(ctx, w, 0, now, time.Minute, 1000); err != nil {
				t.Fatal(err)
			}
			if w2, _ := db.GetWebhook(ctx, tid, "wh1"); w2.EventCursor != w.EventCursor {
				t.Errorf("cursor moved from %d to %d over events inside the window", w.EventCursor, w2.EventCursor)
			}
			res, err := db.ScanWebhookEvents(ctx, w, 0, now.Add(2*time.Minute), time.Minute, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if w2, _ := db.GetWebhook(ctx, tid, "wh1"); w2.EventCursor != res.Last || res.Last <= w.EventCursor {
				t.Errorf("cursor = %d after the window passed, want %d", w2.EventCursor, res.Last)
			}
		})

		t.Run("claim leases a due delivery once and finish records the outcome", func(t *testing.T) {
			claimed, err := db.ClaimWebhookDeliveries(ctx, time.Now(), time.Now().Add(time.Minute), 100)
			if err != nil || len(claimed) == 0 {
				t.Fatalf("claim = %v, %v", claimed, err)
			}
			again, err := db.ClaimWebhookDeliveries(ctx, time.Now(), time.Now().Add(time.Minute), 100)
			if err != nil || len(again) != 0 {
				t.Fatalf("a second claim = %v, %v; want nothing while leased", again, err)
			}
			d := claimed[0]
			if d.Attempts != 1 || d.FirstAttemptAt.IsZero() {
				t.Errorf("claimed = %+v", d)
			}
			d.Status, d.LastStatusCode, d.LastDuration, d.LastAttemptAt = store.DeliverySucceeded, 204, 12*time.Millisecond, time.Now()
			if err := db.FinishWebhookDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
			stale := d
			stale.Attempts = 7
			if err := db.FinishWebhookDelivery(ctx, stale); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("finish by a stale claim = %v, want ErrNotFound", err)
			}
			if n, err := db.DeleteFinishedWebhookDeliveries(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
				t.Errorf("garbage collection of a fresh log = %d, %v; want nothing deleted", n, err)
			}
			back, _ := db.GetWebhookDelivery(ctx, tid, "wh1", d.ID)
			if back.Status != store.DeliverySucceeded || back.LastStatusCode != 204 || back.LastDuration != 12*time.Millisecond {
				t.Errorf("after finish = %+v", back)
			}
			if err := db.RedeliverWebhookDelivery(ctx, tid, "wh1", d.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			back, _ = db.GetWebhookDelivery(ctx, tid, "wh1", d.ID)
			if back.Status != store.DeliveryPending || !back.FirstAttemptAt.IsZero() {
				t.Errorf("after redeliver = %+v", back)
			}
		})

		t.Run("garbage collection forgets finished deliveries and keeps pending ones", func(t *testing.T) {
			ds, _ := db.ListWebhookDeliveries(ctx, tid, "wh1", 0, 10)
			claimed, _ := db.ClaimWebhookDeliveries(ctx, time.Now(), time.Now().Add(time.Minute), 1)
			if len(claimed) != 1 {
				t.Fatalf("claim = %+v", claimed)
			}
			c := claimed[0]
			c.Status, c.LastAttemptAt = store.DeliverySucceeded, time.Now().Add(-48*time.Hour)
			if err := db.FinishWebhookDelivery(ctx, c); err != nil {
				t.Fatal(err)
			}
			if n, err := db.DeleteFinishedWebhookDeliveries(ctx, time.Now().Add(-24*time.Hour)); err != nil || n != 1 {
				t.Fatalf("DeleteFinishedWebhookDeliveries = %d, %v; want the old succeeded one", n, err)
			}
			if after, _ := db.ListWebhookDeliveries(ctx, tid, "wh1", 0, 10); len(after) != len(ds)-1 {
				t.Errorf("deliveries %d -> %d", len(ds), len(after))
			}
		})

		t.Run("a disabled subscription's deliveries are not claimed", func(t *testing.T) {
			if ok, err := db.DisableWebhook(ctx, tid, "wh1", "failing", time.Now()); err != nil || !ok {
				t.Fatalf("DisableWebhook = %v, %v", ok, err)
			}
			if ok, _ := db.DisableWebhook(ctx, tid, "wh1", "failing", time.Now()); ok {
				t.Error("disabling twice reported a change")
			}
			got, err := db.ClaimWebhookDeliveries(ctx, time.Now(), time.Now().Add(time.Minute), 100)
			if err != nil || len(got) != 0 {
				t.Fatalf("claim while disabled = %+v, %v", got, err)
			}
		})

		t.Run("rotation keeps the previous secret and reseal replaces only unchanged values", func(t *testing.T) {
			if err := db.RotateWebhookSecret(ctx, tid, "wh1", []byte("sealed-2"), now.Add(24*time.Hour), now); err != nil {
				t.Fatal(err)
			}
			w, _ := db.GetWebhook(ctx, tid, "wh1")
			if string(w.Secret) != "sealed-2" || string(w.PreviousSecret) != "sealed-1" || w.PreviousExpiresAt.Unix() != now.Add(24*time.Hour).Unix() {
				t.Fatalf("after rotation = %+v", w)
			}
			all, err := db.ListSealedWebhookSecrets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var mine []store.SealedWebhookSecret
			for _, s := range all {
				if s.TenantID == tid {
					mine = append(mine, s)
				}
			}
			if len(mine) != 2 {
				t.Fatalf("sealed secrets = %+v", mine)
			}
			for _, s := range mine {
				if ok, err := db.ReplaceWebhookSecret(ctx, s, append([]byte("re-"), s.Sealed...)); err != nil || !ok {
					t.Fatalf("replace = %v, %v", ok, err)
				}
				if ok, _ := db.ReplaceWebhookSecret(ctx, s, []byte("x")); ok {
					t.Error("a replace of a value changed meanwhile succeeded")
				}
			}
			w, _ = db.GetWebhook(ctx, tid, "wh1")
			if string(w.Secret) != "re-sealed-2" || string(w.PreviousSecret) != "re-sealed-1" {
				t.Errorf("after reseal = %+v", w)
			}
		})

		t.Run("list pages by id and delete removes the deliveries", func(t *testing.T) {
			for _, id := range []string{"wh0", "wh2"} {
				if err := db.InsertWebhook(ctx, store.Webhook{TenantID: tid, ID: id, URL: "https://x.example", Enabled: true, Secret: []byte("s"), CreatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			page, err := db.ListWebhooks(ctx, tid, "wh0", 1)
			if err != nil || len(page) != 1 || page[0].ID != "wh1" {
				t.Fatalf("ListWebhooks after wh0 = %+v, %v", page, err)
			}
			if err := db.DeleteWebhook(ctx, tid, "wh1"); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteWebhook(ctx, tid, "wh1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second delete = %v", err)
			}
			if ds, _ := db.ListWebhookDeliveries(ctx, tid, "wh1", 0, 10); len(ds) != 0 {
				t.Errorf("deliveries left: %+v", ds)
			}
		})
	})
}
