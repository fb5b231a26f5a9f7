package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Cross-process invalidation on SQLite. Every message is also a row of the notifications table, written in
// the transaction of the change, so it exists exactly when the change committed. A listening server keeps
// one connection of its own (outside the pool, which it must not starve) on which it polls PRAGMA
// data_version (a counter that moves when another connection commits); when it moves, it reads the rows
// appended since and delivers those another process wrote (its own process's messages already arrived
// in-process). The poll costs one pragma per interval.

// sqlitePollEvery is how often a SQLite listener checks for commits of other processes (tests shorten it).
var sqlitePollEvery = 100 * time.Millisecond

// notificationRetention is how long a row stays in the notifications table: far longer than a poll.
const notificationRetention = time.Minute

// newOrigin names a process (one hub per database file and process).
func newOrigin() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// appendNotification writes msg to the notifications table (SQLite only).
func (q *queries) appendNotification(ctx context.Context, origin, msg string) error {
	if q.pg {
		return nil
	}
	if _, err := q.exec(ctx, `INSERT INTO notifications (origin, message, created_ms) VALUES (?, ?, ?)`,
		origin, msg, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// pollNotifications starts following the notifications table from its current end and returns the
// messages other processes append, until ctx ends. After a failure it sends TopicAll once it works again,
// since messages may have been missed.
func (db *DB) pollNotifications(ctx context.Context, log *slog.Logger) <-chan string {
	out := make(chan string)
	if db.dsn == "" || strings.Contains(db.dsn, ":memory:") || strings.Contains(db.dsn, "mode=memory") {
		return out // an in-memory database has no other process
	}
	var last int64
	lastErr := db.row(ctx, `SELECT COALESCE(MAX(id), 0) FROM notifications`).Scan(&last)
	go func() {
		own, err := sql.Open("sqlite", db.dsn)
		if err != nil {
			log.WarnContext(ctx, "cannot follow changes of other processes; caches fall back to their TTLs", "err", err)
			return
		}
		defer own.Close()
		own.SetMaxOpenConns(1)
		p := &poller{db: db, own: own, last: last, failed: lastErr != nil}
		defer p.close()
		t := time.NewTicker(sqlitePollEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			msgs, err := p.poll(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !p.failed {
					log.WarnContext(ctx, "reading changes of other processes failed; caches fall back to their TTLs until it works", "err", err)
				}
				p.failed = true
				p.close()
				continue
			}
			for _, m := range msgs {
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// poller is the state of one SQLite listener's poll loop.
type poller struct {
	db         *DB
	own        *sql.DB   // one connection outside the pool
	conn       *sql.Conn // data_version is per connection
	version    int64
	last       int64 // highest notification id seen
	failed     bool  // the last poll failed: messages may have been missed
	lastPruned time.Time
}

func (p *poller) close() {
	if p.conn != nil {
		_ = p.conn.Close()
		p.conn = nil
	}
}

// poll returns the messages other processes committed since the last call.
func (p *poller) poll(ctx context.Context) ([]string, error) {
	if p.conn == nil {
		c, err := p.own.Conn(ctx)
		if err != nil {
			return nil, err
		}
		p.conn, p.version = c, -1
	}
	var v int64
	if err := p.conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return nil, err
	}
	if v == p.version && !p.failed {
		return nil, nil
	}
	p.version = v
	rows, err := p.conn.QueryContext(ctx, `SELECT id, origin, message FROM notifications WHERE id > ? ORDER BY id`, p.last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	if p.failed {
		out = append(out, TopicAll+":")
	}
	for rows.Next() {
		var id int64
		var origin, msg string
		if err := rows.Scan(&id, &origin, &msg); err != nil {
			return nil, err
		}
		p.last = id
		if origin != p.db.hub.origin {
			out = append(out, msg)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	p.failed = false
	if now := time.Now(); now.Sub(p.lastPruned) > notificationRetention {
		p.lastPruned = now
		if _, err := p.conn.ExecContext(ctx, `DELETE FROM notifications WHERE created_ms < ?`,
			now.Add(-notificationRetention).UnixMilli()); err != nil {
			return out, nil // pruning is tidiness; the next round tries again
		}
	}
	return out, nil
}
