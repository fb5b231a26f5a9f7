package store

import "context"

// MaxOpenConns is the pool bound of db.
func MaxOpenConns(db *DB) int { return db.sql.Stats().MaxOpenConnections }

// ShowSetting reads a PostgreSQL setting through db's pool.
func ShowSetting(ctx context.Context, db *DB, name string) (string, error) {
	var v string
	err := db.sql.QueryRowContext(ctx, "SHOW "+name).Scan(&v)
	return v, err
}
