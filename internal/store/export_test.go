package store

import (
	"context"
	"time"
)

// ListenerPID returns the PostgreSQL backend pid of db's listener connection (0 before it listens).
func ListenerPID(db *DB) uint32 { return db.listenerPID.Load() }

// SetListenPingEvery changes how long a listener waits in silence before pinging, until the test ends.
func SetListenPingEvery(t interface{ Cleanup(func()) }, d time.Duration) {
	old := listenPingEvery
	listenPingEvery = d
	t.Cleanup(func() { listenPingEvery = old })
}

// MigrationVersions returns the version of every embedded migration, in order (numbers may have gaps).
func MigrationVersions() []int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.version
	}
	return out
}

// Count runs a SELECT COUNT(*) query (with ? placeholders) and returns its result.
func Count(t interface {
	Helper()
	Fatalf(string, ...any)
}, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.row(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// AsOtherProcess makes db behave as a handle opened by another process: it no longer shares this
// process's in-process delivery of SQLite messages with the other handles of its file.
func AsOtherProcess(db *DB) {
	db.hub = &hub{origin: newOrigin()}
}

// SetSQLitePollEvery changes how often SQLite listeners poll, until the test ends.
func SetSQLitePollEvery(t interface{ Cleanup(func()) }, d time.Duration) {
	old := sqlitePollEvery
	sqlitePollEvery = d
	t.Cleanup(func() { sqlitePollEvery = old })
}
