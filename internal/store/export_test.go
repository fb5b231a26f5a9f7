package store

import "time"

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
