package store_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestDefaultPoolLetsFiveNodesShareADefaultPostgreSQL checks the default pool against the server the tests
// run on: five nodes, each with its pool and its LISTEN connection, fit in max_connections minus the
// connections reserved for superusers, with room left for the CLI and an administrator. On PostgreSQL's
// defaults (100, 3) that is 85 of 97.
func TestDefaultPoolLetsFiveNodesShareADefaultPostgreSQL(t *testing.T) {
	const nodes, spare = 5, 5
	db := storetest.OpenBackend(t, "postgres")
	ctx := context.Background()
	if got := store.MaxOpenConns(db); got != store.DefaultPostgresMaxOpenConns {
		t.Fatalf("pool bound = %d, want the default %d", got, store.DefaultPostgresMaxOpenConns)
	}
	setting := func(name string) int {
		v, err := store.ShowSetting(ctx, db, name)
		if err != nil {
			t.Fatalf("SHOW %s: %v", name, err)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("SHOW %s = %q", name, v)
		}
		return n
	}
	maxConns, reserved := setting("max_connections"), setting("superuser_reserved_connections")
	if maxConns > 100 {
		t.Skipf("max_connections is %d: this check is about PostgreSQL's default of 100", maxConns)
	}
	need := nodes*(store.DefaultPostgresMaxOpenConns+store.ListenerConns) + spare
	if need > maxConns-reserved {
		t.Errorf("%d nodes with the default pool of %d need %d connections (with %d spare), but max_connections %d leaves %d",
			nodes, store.DefaultPostgresMaxOpenConns, need, spare, maxConns, maxConns-reserved)
	}
	t.Run("database.max_open_conns overrides the default", func(t *testing.T) {
		db.SetMaxOpenConns(4)
		if got := store.MaxOpenConns(db); got != 4 {
			t.Errorf("pool bound = %d after SetMaxOpenConns(4)", got)
		}
	})
}
