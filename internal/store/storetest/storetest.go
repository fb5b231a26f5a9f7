// Package storetest opens real databases for tests: SQLite in t.TempDir(), and PostgreSQL when
// UMM_TEST_POSTGRES_URL is set (each Open gets a fresh schema there, dropped when the test ends).
// In CI (CI set) a missing PostgreSQL URL fails the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// Backend names a database the suite runs on.
type Backend struct {
	Name string // "sqlite" or "postgres"
	URL  string // for postgres: a URL whose search_path is a fresh schema
}

// PostgresURL returns UMM_TEST_POSTGRES_URL. When it is empty it skips t, or fails it when CI is set.
func PostgresURL(t testing.TB) string {
	u := os.Getenv("UMM_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("UMM_TEST_POSTGRES_URL is not set; in CI the PostgreSQL tests must run")
		}
		t.Skip("UMM_TEST_POSTGRES_URL not set: skipping PostgreSQL")
	}
	return u
}

// Backends returns the databases to run a suite on: SQLite always, PostgreSQL when configured (fails in
// CI when not configured).
func Backends(t testing.TB) []string {
	b := []string{"sqlite"}
	if os.Getenv("UMM_TEST_POSTGRES_URL") != "" {
		b = append(b, "postgres")
	} else if os.Getenv("CI") != "" {
		t.Fatal("UMM_TEST_POSTGRES_URL is not set; in CI the PostgreSQL tests must run")
	}
	return b
}

// Each runs fn as a subtest on every backend with a freshly migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, b := range Backends(t) {
		t.Run(b, func(t *testing.T) {
			fn(t, OpenBackend(t, b))
		})
	}
}

// Open returns a migrated SQLite store in t.TempDir().
func Open(t testing.TB) *store.DB { return OpenBackend(t, "sqlite") }

// URL returns a database URL for backend, ready for a server process to open and migrate: a SQLite file
// in t.TempDir(), or PostgreSQL with a fresh schema that is dropped when the test ends.
func URL(t testing.TB, backend string) string {
	switch backend {
	case "sqlite":
		return "sqlite:" + filepath.Join(t.TempDir(), "umm.db")
	case "postgres":
		return freshSchema(t, PostgresURL(t))
	}
	t.Fatalf("unknown backend %q", backend)
	return ""
}

// OpenBackend returns a migrated store on backend ("sqlite" or "postgres"), closed when the test ends.
func OpenBackend(t testing.TB, backend string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, URL(t, backend))
	if err != nil {
		t.Fatalf("open %s: %v", backend, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", backend, err)
	}
	return db
}

var sweepOnce sync.Once

// freshSchema creates schema umm_test_<time>_<rand> and returns base with search_path set to it.
func freshSchema(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sweepOnce.Do(func() { sweepOldSchemas(ctx, admin) })
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	schema := fmt.Sprintf("umm_test_%d_%s", time.Now().Unix(), hex.EncodeToString(rb[:]))
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer c.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		_, _ = c.ExecContext(cctx, "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("UMM_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// sweepOldSchemas drops test schemas left behind by killed runs more than two hours ago.
func sweepOldSchemas(ctx context.Context, db *sql.DB) {
	rows, err := db.QueryContext(ctx, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'umm_test_%'")
	if err != nil {
		return
	}
	var old []string
	cutoff := time.Now().Add(-2 * time.Hour).Unix()
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		var ts int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "umm_test_"), "%d_", &ts); err == nil && ts < cutoff {
			old = append(old, name)
		}
	}
	rows.Close()
	for _, name := range old {
		_, _ = db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE")
	}
}

// Tenant creates a tenant with a unique id for one test and returns its id.
func Tenant(t testing.TB, db *store.DB) string {
	t.Helper()
	var rb [5]byte
	_, _ = rand.Read(rb[:])
	id := "t-" + hex.EncodeToString(rb[:])
	if err := db.CreateTenant(context.Background(), store.Tenant{ID: id, Name: "Test " + id}); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return id
}
