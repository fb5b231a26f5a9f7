package store

// Connection budget. A node holds at most DefaultPostgresMaxOpenConns pooled connections plus one for
// LISTEN (ListenerConns), so N nodes need N*(16+1) of PostgreSQL's max_connections, whose default of 100
// keeps superuser_reserved_connections (3) for administrators: five nodes take 85 and leave 12 for
// migrations run by hand, the CLI, psql and monitoring. With database.max_open_conns the operator trades
// nodes for connections per node; beyond that a pooler (PgBouncer) belongs in front (README).
const (
	// DefaultPostgresMaxOpenConns is the PostgreSQL pool size when database.max_open_conns is 0. A node
	// spends most of a request's time hashing or waiting on the network, not in the database; 16
	// connections keep two CPU cores' worth of requests in flight.
	DefaultPostgresMaxOpenConns = 16
	// DefaultSQLiteMaxOpenConns is the SQLite pool size: one writer at a time, readers in parallel (WAL).
	DefaultSQLiteMaxOpenConns = 8
	// ListenerConns is the connections a node holds outside its pool: the LISTEN connection that receives
	// cache invalidations.
	ListenerConns = 1
)

// SetDirectURL sets the PostgreSQL URL of the LISTEN connection (database.direct_url) when the pool goes
// through a transaction-mode pooler, which cannot keep a LISTEN: its server connection goes back to the
// pool after every statement. Empty keeps the pool's URL. SQLite ignores it.
func (db *DB) SetDirectURL(u string) {
	if u != "" && db.pg {
		db.url = u
	}
}
