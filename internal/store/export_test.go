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
