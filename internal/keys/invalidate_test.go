package keys

import (
	"context"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestInvalidationMessages(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db1, db2 := twoNodes(t, backend)
			clk := newClock() // frozen: only the messages can make the nodes reload
			a, b := newTestManager(db1, clk), newTestManager(db2, clk)
			lctx, stop := context.WithCancel(ctx)
			listening, stopped := make(chan struct{}, 1), make(chan struct{})
			go func() {
				defer close(stopped)
				db2.Listen(lctx, nil, func(topic, payload string) {
					b.Invalidate(topic, payload)
					if topic == store.TopicAll {
						listening <- struct{}{}
					}
				})
			}()
			t.Cleanup(func() { stop(); <-stopped })
			<-listening
			tenant, other := storetest.Tenant(t, db1), storetest.Tenant(t, db1)

			kidOf := func(m *Manager) string {
				tok, err := m.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "u"})
				if err != nil {
					t.Fatal(err)
				}
				h, _ := segments(t, tok)
				return h["kid"].(string)
			}
			t.Run("a rotation on one node makes the other sign with the new key", func(t *testing.T) {
				before := kidOf(b) // cached on b
				if err := a.Rotate(ctx, tenant); err != nil {
					t.Fatal(err)
				}
				want := currentKids(t, db1, tenant)[ES256]
				if want == before {
					t.Fatal("the rotation did not change the current key")
				}
				for deadline := time.Now().Add(5 * time.Second); kidOf(b) != want; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("node b still signs with %s, want %s", before, want)
					}
				}
			})
			t.Run("a message about another tenant leaves the cached keys alone", func(t *testing.T) {
				doc, _ := b.JWKS(ctx, tenant)
				b.Invalidate(store.TopicKeys, other)
				b.Invalidate(store.TopicClient, tenant+":web")
				if again, _ := b.JWKS(ctx, tenant); &again[0] != &doc[0] {
					t.Fatal("the key set was reloaded")
				}
			})
			t.Run("a message to drop everything reloads every tenant's keys", func(t *testing.T) {
				doc, _ := b.JWKS(ctx, tenant)
				b.Invalidate(store.TopicAll, "")
				if again, _ := b.JWKS(ctx, tenant); &again[0] == &doc[0] {
					t.Fatal("the key set was served from the cache")
				}
			})
		})
	}
}

func TestInvalidatedKeysStillServeWhenTheReloadFails(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	m := newTestManager(db, newClock())
	tenant := storetest.Tenant(t, db)
	if _, err := m.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "u"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	m.Invalidate(store.TopicKeys, tenant)
	if _, err := m.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "u"}); err != nil {
		t.Fatalf("sign after an invalidation with the database down: %v", err)
	}
}
