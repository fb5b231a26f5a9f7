package oidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// A flood of requests for random tenant ids must neither push the known tenants out of the cache nor
// leave the node querying the database for every request: misses live in a bounded LRU of their own.
func TestUnknownTenantFloodKeepsTheCacheUseful(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		master := make([]byte, 32)
		_, _ = rand.Read(master)
		s := newStack(t, db, master)
		p := s.p
		p.tenantMisses.max = 64 // the production bound is maxTenantMisses; a small one keeps the test fast
		known := storetest.Tenant(t, db)
		if _, err := p.loadTenant(ctx, known); err != nil {
			t.Fatal(err)
		}
		queries := func(id string) int64 {
			t.Helper()
			before := db.Statements()
			_, err := p.loadTenant(ctx, id)
			if id != known && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("loadTenant(%q) = %v, want not found", id, err)
			}
			return db.Statements() - before
		}
		const hot = "hot-unknown-tenant"
		if n := queries(hot); n != 1 {
			t.Fatalf("the first lookup of an unknown id ran %d statements, want 1", n)
		}
		for i := range 10 * p.tenantMisses.max {
			queries(fmt.Sprintf("random-%d", i))
			if i%16 == 0 {
				queries(hot) // an id that keeps being asked for stays remembered
			}
		}
		t.Run("the misses held stay within the bound", func(t *testing.T) {
			if n := p.tenantMisses.len(); n > p.tenantMisses.max {
				t.Fatalf("%d misses held, bound %d", n, p.tenantMisses.max)
			}
		})
		t.Run("a known tenant is still served from the cache", func(t *testing.T) {
			if n := queries(known); n != 0 {
				t.Fatalf("the known tenant cost %d statements after the flood, want 0", n)
			}
		})
		t.Run("an unknown id asked for again is answered from the cache", func(t *testing.T) {
			if n := queries(hot); n != 0 {
				t.Fatalf("a remembered unknown id cost %d statements after the flood, want 0", n)
			}
			last := fmt.Sprintf("random-%d", 10*p.tenantMisses.max-1)
			if n := queries(last); n != 0 {
				t.Fatalf("the most recent unknown id cost %d statements, want 0", n)
			}
		})
		t.Run("a tenant created under a remembered id is found at once", func(t *testing.T) {
			if err := db.CreateTenant(ctx, store.Tenant{ID: hot, Name: "Hot"}); err != nil {
				t.Fatal(err)
			}
			p.Invalidate(store.TopicTenant, hot)
			if tn, err := p.loadTenant(ctx, hot); err != nil || tn.ID != hot {
				t.Fatalf("loadTenant = %+v, %v", tn, err)
			}
		})
	})
}
