package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration)     { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock                   { return &clock{t: time.Unix(1_800_000_000, 0)} }
func payload(t *testing.T, v any) []byte { b, err := json.Marshal(v); must(t, err); return b }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func enqueue(t *testing.T, db *store.DB, tid string, c *clock, sid string) {
	t.Helper()
	must(t, db.EnqueueOutbox(context.Background(), store.OutboxMessage{TenantID: tid, Kind: "test",
		Payload: payload(t, map[string]string{"client_id": "web", "sid": sid}), CreatedAt: c.now()}))
}

func outcomes(t *testing.T, db *store.DB, tid, typ string) []store.Event {
	t.Helper()
	es, err := db.ListEvents(context.Background(), tid, 0, typ, 1000)
	must(t, err)
	return es
}

// TestOutbox runs its cases one after another: an outbox claims every tenant's messages on its database.
func TestOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		t.Run("a failing delivery is retried with exponential backoff until it succeeds", func(t *testing.T) {
			tid, c := storetest.Tenant(t, db), newClock()
			enqueue(t, db, tid, c, "s1")
			var calls int
			o := events.NewOutbox(db, nil, map[string]events.Deliverer{"test": func(_ context.Context, m store.OutboxMessage) error {
				if m.TenantID != tid {
					return nil // another test's message
				}
				calls++
				if calls < 3 {
					return fmt.Errorf("status 503")
				}
				return nil
			}})
			o.Now = c.now
			run := func() {
				t.Helper()
				if _, err := o.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
			}
			run() // attempt 1 fails: due again after BaseDelay
			run()
			if calls != 1 {
				t.Fatalf("%d calls; a failed message must wait for its backoff", calls)
			}
			ms, err := db.ListOutbox(ctx, tid)
			must(t, err)
			if len(ms) != 1 || ms[0].LastError != "status 503" || !ms[0].NextAttemptAt.Equal(c.now().Add(o.BaseDelay)) {
				t.Fatalf("after one failure: %+v, want due in %v with the reason", ms, o.BaseDelay)
			}
			c.add(o.BaseDelay)
			run() // attempt 2 fails: due after twice BaseDelay
			c.add(2*o.BaseDelay - time.Second)
			run()
			if calls != 2 {
				t.Fatalf("%d calls; the second backoff must be twice the first", calls)
			}
			c.add(time.Second)
			run() // attempt 3 succeeds
			if calls != 3 {
				t.Fatalf("%d calls, want 3", calls)
			}
			if ms, _ := db.ListOutbox(ctx, tid); len(ms) != 0 {
				t.Errorf("a delivered message stays: %+v", ms)
			}
			es := outcomes(t, db, tid, events.TypeOutboxDelivered)
			if len(es) != 1 || es[0].ClientID != "web" || es[0].Subject != "s1" || es[0].Data["attempts"] != float64(3) {
				t.Errorf("delivered events %+v, want one naming web, s1 and 3 attempts", es)
			}
		})

		t.Run("attempts are bounded and the last failure is recorded", func(t *testing.T) {
			tid, c := storetest.Tenant(t, db), newClock()
			enqueue(t, db, tid, c, "s2")
			calls := 0
			o := events.NewOutbox(db, nil, map[string]events.Deliverer{"test": func(_ context.Context, m store.OutboxMessage) error {
				if m.TenantID == tid {
					calls++
				}
				return errors.New("connection refused")
			}})
			o.Now, o.MaxAttempts = c.now, 4
			for range 10 {
				_, err := o.RunOnce(ctx)
				must(t, err)
				c.add(o.MaxDelay)
			}
			if calls != 4 {
				t.Errorf("%d attempts, want MaxAttempts = 4", calls)
			}
			if ms, _ := db.ListOutbox(ctx, tid); len(ms) != 0 {
				t.Errorf("an abandoned message stays: %+v", ms)
			}
			es := outcomes(t, db, tid, events.TypeOutboxFailed)
			if len(es) != 1 || es[0].Data["reason"] != "connection refused" || es[0].Data["attempts"] != float64(4) {
				t.Errorf("failed events %+v, want one with the reason and 4 attempts", es)
			}
		})

		t.Run("an undeliverable message is given up at once", func(t *testing.T) {
			tid, c := storetest.Tenant(t, db), newClock()
			enqueue(t, db, tid, c, "s3")
			o := events.NewOutbox(db, nil, map[string]events.Deliverer{"test": func(_ context.Context, m store.OutboxMessage) error {
				return fmt.Errorf("%w: client deleted", events.ErrUndeliverable)
			}})
			o.Now = c.now
			_, err := o.RunOnce(ctx)
			must(t, err)
			if es := outcomes(t, db, tid, events.TypeOutboxFailed); len(es) != 1 || es[0].Data["attempts"] != float64(1) {
				t.Errorf("failed events %+v, want one after 1 attempt", es)
			}
		})

		t.Run("a claimed message is hidden from other claims until its lease ends", func(t *testing.T) {
			tid, c := storetest.Tenant(t, db), newClock()
			// Far in the future, so that no other test's claim takes it.
			c.add(1000 * time.Hour)
			enqueue(t, db, tid, c, "s4")
			claim := func() []store.OutboxMessage {
				ms, err := db.ClaimOutbox(ctx, c.now(), c.now().Add(time.Minute), 100)
				must(t, err)
				var mine []store.OutboxMessage
				for _, m := range ms {
					if m.TenantID == tid {
						mine = append(mine, m)
					}
				}
				return mine
			}
			first := claim()
			if len(first) != 1 || first[0].Attempts != 1 {
				t.Fatalf("first claim %+v, want the message at attempt 1", first)
			}
			if again := claim(); len(again) != 0 {
				t.Fatalf("claimed twice within the lease: %+v", again)
			}
			c.add(time.Minute)
			second := claim()
			if len(second) != 1 || second[0].Attempts != 2 {
				t.Fatalf("after the lease: %+v, want the message again at attempt 2", second)
			}
			if err := db.DeleteOutbox(ctx, first[0]); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the first claimer deleted a message claimed since: %v", err)
			}
			must(t, db.DeleteOutbox(ctx, second[0]))
		})
	})
}

// TestOutboxTwoNodes runs two nodes' outboxes on one database at once: every message is delivered once.
func TestOutboxTwoNodes(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, backend)
			open := func() *store.DB {
				db, err := store.Open(ctx, url)
				must(t, err)
				t.Cleanup(func() { db.Close() })
				return db
			}
			db1, db2 := open(), open()
			must(t, db1.Migrate(ctx))
			tid, c := storetest.Tenant(t, db1), newClock()
			const n = 60
			for i := range n {
				enqueue(t, db1, tid, c, fmt.Sprintf("s%d", i))
			}
			var mu sync.Mutex
			seen := map[int64]int{}
			deliver := func(_ context.Context, m store.OutboxMessage) error {
				mu.Lock()
				seen[m.ID]++
				mu.Unlock()
				return nil
			}
			var wg sync.WaitGroup
			for _, db := range []*store.DB{db1, db2} {
				o := events.NewOutbox(db, nil, map[string]events.Deliverer{"test": deliver})
				o.Now, o.Batch = c.now, 5
				wg.Go(func() {
					for {
						k, err := o.RunOnce(ctx)
						if err != nil {
							t.Error(err)
							return
						}
						if k == 0 {
							return
						}
					}
				})
			}
			wg.Wait()
			if len(seen) != n {
				t.Errorf("%d messages delivered, want %d", len(seen), n)
			}
			for id, k := range seen {
				if k != 1 {
					t.Errorf("message %d delivered %d times", id, k)
				}
			}
			if es := outcomes(t, db1, tid, events.TypeOutboxDelivered); len(es) != n {
				t.Errorf("%d delivered events, want %d", len(es), n)
			}
		})
	}
}
