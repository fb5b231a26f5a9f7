package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestEnqueueOutboxWakesDispatchers: a committed outbox message is announced (TopicOutbox, payload its
// kind) to listeners on other handles, so that every node's dispatcher looks at once; a rolled-back one
// is not.
func TestEnqueueOutboxWakesDispatchers(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			writer, reader := openPair(t, backend)
			in := listen(t, reader)
			tid := storetest.Tenant(t, writer)
			kind := uniqueName(t) // other tests share the PostgreSQL channel
			enqueue := func(k string, fail error) error {
				return writer.InTx(ctx, func(tx *store.Tx) error {
					if err := tx.EnqueueOutbox(ctx, store.OutboxMessage{TenantID: tid, Kind: k}); err != nil {
						return err
					}
					return fail
				})
			}
			boom := errors.New("boom")
			if err := enqueue(kind+"-rolled-back", boom); !errors.Is(err, boom) {
				t.Fatalf("enqueue = %v, want boom", err)
			}
			if err := enqueue(kind, nil); err != nil {
				t.Fatal(err)
			}
			for _, p := range in.await(t, store.TopicOutbox, kind) {
				if p == kind+"-rolled-back" {
					t.Error("a rolled-back message was announced")
				}
			}
		})
	}
}
