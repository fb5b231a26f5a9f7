// Package store is UMM's only persistence: one concrete type over database/sql for SQLite (the embedded
// default, modernc.org/sqlite) and PostgreSQL (pgx stdlib), with forward-only migrations embedded in the
// binary. Every method takes the tenant explicitly. Methods live on queries, so the same call works on *DB
// and inside a transaction on *Tx. Only config is imported; every other package imports store.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// Sentinels: the store has only these two; test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries holds every data-access method; DB and Tx embed it.
type queries struct {
	ex execer
	pg bool
	// publish sends a cache invalidation message (notify.go): at once for a DB, on commit for a Tx.
	publish func(ctx context.Context, topic, payload string) error
	// stmts counts the statements run on this store, transactions included (Statements).
	stmts *atomic.Int64
}

// DB is an open store.
type DB struct {
	queries
	sql  *sql.DB
	kind string // "sqlite" or "postgres"
	path string // SQLite file path
	url  string // PostgreSQL URL, for the listener's own connection
	hub  *hub   // SQLite: in-process subscribers of Listen

	listenerPID atomic.Uint32 // PostgreSQL backend of the listener's connection (tests end it)
	dsn         string        // SQLite: the data source name, for the listener's own connection
}

// Tx is a transaction; pass it explicitly, never in a context.
type Tx struct {
	queries
	tx      *sql.Tx
	pending []string // SQLite: messages to deliver after the commit
	origin  string   // SQLite: this process, in the notifications table
}

// Open connects to url (sqlite:PATH or postgres://...) without migrating. For SQLite it creates the
// parent directory and turns on WAL, foreign keys, a busy timeout and full fsync on commit, so that a
// write that returned success survives the process being killed.
func Open(ctx context.Context, url string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if dir := filepath.Dir(path); dir != "" && path != ":memory:" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
			// Create the file owner-only before SQLite does (it would use 0644); its -wal and -shm files
			// take the same mode.
			f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return nil, fmt.Errorf("create database file: %w", err)
			}
			f.Close()
		}
		dsn := "file:" + path + "?_txlock=immediate" +
			"&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.SetMaxOpenConns(DefaultSQLiteMaxOpenConns)
		db.SetMaxIdleConns(DefaultSQLiteMaxOpenConns)
		db.SetConnMaxIdleTime(0)
		s := &DB{queries: queries{ex: db, stmts: new(atomic.Int64)}, sql: db, kind: "sqlite", path: path, hub: hubFor(path), dsn: dsn}
		s.publish = s.notifyNow
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		return s, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		db, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(DefaultPostgresMaxOpenConns)
		db.SetMaxIdleConns(DefaultPostgresMaxOpenConns)
		db.SetConnMaxLifetime(30 * time.Minute)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("connect postgres: %w", err)
		}
		s := &DB{queries: queries{ex: db, pg: true, stmts: new(atomic.Int64)}, sql: db, kind: "postgres", url: url}
		s.publish = s.notifyNow
		return s, nil
	default:
		return nil, fmt.Errorf("database url %q: must start with sqlite: or postgres://", url)
	}
}

// SetMaxOpenConns bounds the pool (database.max_open_conns).
func (db *DB) SetMaxOpenConns(n int) {
	if n > 0 {
		db.sql.SetMaxOpenConns(n)
		db.sql.SetMaxIdleConns(n)
	}
}

// Kind is "sqlite" or "postgres".
func (db *DB) Kind() string { return db.kind }

// Close closes the pool.
func (db *DB) Close() error { return db.sql.Close() }

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// InTx runs fn in a transaction, committing when it returns nil and rolling back otherwise. Messages
// published in it (Notify) are delivered only after a successful commit.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{queries: queries{ex: stx, pg: db.pg, stmts: db.stmts}, tx: stx}
	if db.hub != nil {
		tx.origin = db.hub.origin
	}
	tx.publish = tx.Notify
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	db.hub.deliver(tx.pending)
	return nil
}

// Statements is how many statements this store has run (transactions included). Tests use it to prove
// that two code paths do the same database work, where timing them would be flaky.
func (db *DB) Statements() int64 { return db.stmts.Load() }

var rebindCache sync.Map // query -> postgres form

// q rewrites ? placeholders to $n for PostgreSQL.
func (q *queries) q(query string) string {
	if !q.pg {
		return query
	}
	if v, ok := rebindCache.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	rebindCache.Store(query, out)
	return out
}

func (q *queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	q.stmts.Add(1)
	res, err := q.ex.ExecContext(ctx, q.q(query), args...)
	return res, mapErr(err)
}

func (q *queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q.stmts.Add(1)
	rows, err := q.ex.QueryContext(ctx, q.q(query), args...)
	return rows, mapErr(err)
}

func (q *queries) row(ctx context.Context, query string, args ...any) *sql.Row {
	q.stmts.Add(1)
	return q.ex.QueryRowContext(ctx, q.q(query), args...)
}

// queryStrings runs query, which returns one text column, and reads every row.
func (q *queries) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// execOne runs a statement that must change exactly one row; zero rows is ErrNotFound.
func (q *queries) execOne(ctx context.Context, query string, args ...any) error {
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// mapErr turns driver errors into the store's sentinels: unique violations become ErrConflict and
// sql.ErrNoRows becomes ErrNotFound.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505") ||
		strings.Contains(msg, "PRIMARY KEY constraint failed") {
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// scanErr maps a Scan error.
func scanErr(err error) error { return mapErr(err) }
