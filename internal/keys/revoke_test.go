package keys

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestRevokeRemovesAKeyOnEveryNode revokes keys on node a and checks that node b, whose clock is frozen
// so that only the invalidation message can make it reload, stops publishing and accepting them at once.
func TestRevokeRemovesAKeyOnEveryNode(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db1, db2 := twoNodes(t, backend)
			clk := newClock()
			a, b := newTestManager(db1, clk), newTestManager(db2, clk)
			lctx, stop := context.WithCancel(ctx)
			listening, stopped := make(chan struct{}, 1), make(chan struct{})
			go func() {
				defer close(stopped)
				db2.Listen(lctx, nil, func(topic, payload string) {
					b.Invalidate(topic, payload)
					if topic == store.TopicAll {
						select {
						case listening <- struct{}{}:
						default:
						}
					}
				})
			}()
			t.Cleanup(func() { stop(); <-stopped })
			<-listening
			tenant := storetest.Tenant(t, db1)
			eventually := func(what string, done func() bool) {
				t.Helper()
				for deadline := time.Now().Add(5 * time.Second); !done(); time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("node b: %s did not happen within 5s", what)
					}
				}
			}

			t.Run("a revoked current key leaves the JWKS, stops verifying and is replaced", func(t *testing.T) {
				tok, err := a.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "u"})
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := b.Verify(ctx, tenant, tok); err != nil { // cached on b
					t.Fatal(err)
				}
				before := countStatus(t, db1, tenant)
				revoked := currentKids(t, db1, tenant)[ES256]
				if alg, err := a.Revoke(ctx, tenant, revoked, "test"); err != nil || alg != ES256 {
					t.Fatalf("Revoke = %q, %v", alg, err)
				}
				eventually("the revoked key leaves the JWKS", func() bool {
					doc, err := b.JWKS(ctx, tenant)
					if err != nil {
						t.Fatal(err)
					}
					_, published := jwksKids(t, doc)[revoked]
					return !published
				})
				if _, _, err := b.Verify(ctx, tenant, tok); !errors.Is(err, ErrInvalidToken) {
					t.Errorf("a token signed by the revoked key verifies at node b: %v", err)
				}
				if after := countStatus(t, db1, tenant); after["ES256 current"] != 1 || after["ES256 next"] != 1 ||
					after["RS256 current"] != before["RS256 current"] {
					t.Errorf("keys after revoking the current ES256 key: %v (before %v)", after, before)
				}
				fresh, err := b.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "u"})
				if err != nil {
					t.Fatal(err)
				}
				if h, _ := segments(t, fresh); h["kid"] == revoked {
					t.Error("node b still signs with the revoked key")
				}
				if _, _, err := a.Verify(ctx, tenant, fresh); err != nil {
					t.Errorf("a token signed after the revocation does not verify: %v", err)
				}
			})
			t.Run("a revoked retired key leaves the others alone", func(t *testing.T) {
				if err := a.Rotate(ctx, tenant); err != nil {
					t.Fatal(err)
				}
				var retired string
				rows, _ := db1.ListSigningKeys(ctx, tenant)
				for _, r := range rows {
					if r.Status == store.KeyStatusRetired && r.Alg == RS256 {
						retired = r.KeyID
					}
				}
				current := currentKids(t, db1, tenant)
				if _, err := a.Revoke(ctx, tenant, retired, "test"); err != nil {
					t.Fatal(err)
				}
				if got := currentKids(t, db1, tenant); got[RS256] != current[RS256] || got[ES256] != current[ES256] {
					t.Errorf("revoking a retired key changed the current keys from %v to %v", current, got)
				}
			})
			t.Run("an unknown kid is not found", func(t *testing.T) {
				if _, err := a.Revoke(ctx, tenant, "no-such-kid", "test"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Revoke(unknown) = %v, want ErrNotFound", err)
				}
			})
		})
	}
}
