package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestConcurrentMigrate starts two nodes on one empty database at once: two *store.DB handles (two
// connection pools, as two processes would have) call Migrate together. Both must succeed, and every
// migration must be applied exactly once.
func TestConcurrentMigrate(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			url := storetest.URL(t, backend)
			const nodes = 3
			dbs := make([]*store.DB, nodes)
			for i := range dbs {
				db, err := store.Open(ctx, url)
				if err != nil {
					t.Fatalf("open node %d: %v", i, err)
				}
				t.Cleanup(func() { db.Close() })
				dbs[i] = db
			}
			start := make(chan struct{})
			errs := make([]error, nodes)
			var wg sync.WaitGroup
			for i, db := range dbs {
				wg.Go(func() {
					<-start
					errs[i] = db.Migrate(ctx)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("node %d: Migrate: %v", i, err)
				}
			}
			for i, db := range dbs {
				if err := db.Ready(ctx); err != nil {
					t.Fatalf("node %d is not ready: %v", i, err)
				}
			}
			applied, err := dbs[0].AppliedMigrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := store.EmbeddedVersions(); !slices.Equal(applied, want) {
				t.Fatalf("schema_migrations has versions %v, want %v (each migration once)", applied, want)
			}
			// The schema works: a write through one node is read by the other.
			tid := storetest.Tenant(t, dbs[0])
			if _, err := dbs[1].GetTenant(ctx, tid); err != nil {
				t.Fatalf("the other node cannot read the tenant: %v", err)
			}
		})
	}
}

// TestReadyNeedsEveryMigration: Ready (behind /readyz) fails while the newest migration of this binary is
// not applied, as on a node started against a database another, older node migrated.
func TestReadyNeedsEveryMigration(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, backend)
			db, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Ready(ctx); err == nil {
				t.Fatal("Ready succeeded on an empty database")
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.Ready(ctx); err != nil {
				t.Fatalf("Ready after Migrate: %v", err)
			}
			driver, dsn := "pgx", url
			if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
				driver, dsn = "sqlite", "file:"+path
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.ExecContext(ctx, fmt.Sprintf("DELETE FROM schema_migrations WHERE version = %d", store.LatestVersion())); err != nil {
				t.Fatal(err)
			}
			if err := db.Ready(ctx); err == nil || !strings.Contains(err.Error(), "schema at version") {
				t.Fatalf("Ready with the newest migration missing = %v, want an error naming the versions", err)
			}
		})
	}
}
