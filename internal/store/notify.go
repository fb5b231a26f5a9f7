package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cache invalidation across nodes. Nodes cache tenants, clients, signing keys and "not revoked" answers
// for a few seconds; the store methods that change those rows publish a message naming what changed, and
// every node's listener drops the matching entries. The TTLs stay as a safety net.
//
// On PostgreSQL a message is a NOTIFY on one channel, sent inside the transaction of the change, so it is
// delivered to every node (this one included) only if and when the change commits. On SQLite the message
// is delivered in-process after the commit, and also appended to the notifications table in the same
// transaction: a server's listener polls PRAGMA data_version and reads the rows another process (the umm
// CLI) committed (notify_sqlite.go).
//
// Payloads name rows (tenant, client id, grant id, jti); they never carry secrets. The methods that publish:
// CreateTenant and UpdateTenant (TopicTenant); UpsertClient and DeleteClient (TopicClient);
// InsertSigningKey, SetSigningKeyStatus and DeleteRetiredSigningKeys (TopicKeys; PruneRetiredSigningKeys
// does not: a key past retention leaves every node's JWKS at its next reload anyway); RevokeGrant,
// RevokeGrantsByUser and RevokeAccessToken (TopicRevoke); EnqueueOutbox (TopicOutbox); InsertWebhook, UpdateWebhook and
// RedeliverWebhookDelivery (TopicWebhook).

// Topics of the messages the store publishes.
const (
	// TopicAll (payload "") asks to drop everything: a listener sends it when it (re)connects, since it
	// may have missed messages while it was not listening.
	TopicAll = "*"
	// TopicKeys (payload: tenant id): the tenant's signing keys changed (created, rotated, deleted).
	TopicKeys = "keys"
	// TopicTenant (payload: tenant id): the tenant was created or its name or settings changed.
	TopicTenant = "tenant"
	// TopicClient (payload: "tenant:client_id"): the client was created, changed or deleted.
	TopicClient = "client"
	// TopicRevoke: a revocation. Payload "tenant:grant:ID" (the grant, its refresh tokens and the access
	// tokens carrying its gid), "tenant:jti:JTI" (one access token), or "tenant" (revocations too many to
	// name: forget every "not revoked" answer of the tenant).
	TopicRevoke = "revoke"
	// TopicOutbox (payload: the message's kind): a message was queued in the outbox; dispatchers look for
	// due messages at once instead of at their next poll.
	TopicOutbox = "outbox"
	// TopicWebhook (payload: tenant id): a webhook subscription was created or changed, or a delivery was
	// asked again; dispatchers scan and claim at once.
	TopicWebhook = "webhook"
)

// RevokedGrant and RevokedToken are the kinds of a TopicRevoke payload.
const (
	RevokedGrant = "grant"
	RevokedToken = "jti"
)

// notifyChannel is the PostgreSQL channel of every message: "topic:payload".
const notifyChannel = "umm_invalidate"

// maxNotifyMessage bounds a message (PostgreSQL's limit is 8000 bytes). The longest the store sends names
// a client: a 63-byte tenant id and a client id of at most 128 characters (512 bytes in UTF-8).
const maxNotifyMessage = 1024

// maxNamedRevocations is how many grants one change names before it sends a tenant-wide TopicRevoke.
const maxNamedRevocations = 32

// Listener reconnection backoff on PostgreSQL.
const (
	listenBackoffMin = 250 * time.Millisecond
	listenBackoffMax = 10 * time.Second
)

// listenPingEvery is how long the listener waits in silence before checking its connection (tests shorten it).
var listenPingEvery = time.Minute

// Notify publishes topic with payload when tx commits; nothing is published when it rolls back. The
// same message sent twice in one transaction is delivered once. Payloads must be short and never secret.
func (tx *Tx) Notify(ctx context.Context, topic, payload string) error {
	msg, err := notifyMessage(topic, payload)
	if err != nil {
		return err
	}
	if tx.pg {
		if _, err := tx.exec(ctx, `SELECT pg_notify('`+notifyChannel+`', ?)`, msg); err != nil {
			return fmt.Errorf("notify %s: %w", topic, err)
		}
		return nil
	}
	for _, m := range tx.pending {
		if m == msg {
			return nil
		}
	}
	if err := tx.appendNotification(ctx, tx.origin, msg); err != nil {
		return err
	}
	tx.pending = append(tx.pending, msg)
	return nil
}

// notifyNow publishes a message for a change made outside a transaction (already committed).
func (db *DB) notifyNow(ctx context.Context, topic, payload string) error {
	msg, err := notifyMessage(topic, payload)
	if err != nil {
		return err
	}
	if db.pg {
		if _, err := db.exec(ctx, `SELECT pg_notify('`+notifyChannel+`', ?)`, msg); err != nil {
			return fmt.Errorf("notify %s: %w", topic, err)
		}
		return nil
	}
	if err := db.appendNotification(ctx, db.hub.origin, msg); err != nil {
		return err
	}
	db.hub.deliver([]string{msg})
	return nil
}

func notifyMessage(topic, payload string) (string, error) {
	if topic == "" || strings.Contains(topic, ":") {
		return "", fmt.Errorf("notify: bad topic %q", topic)
	}
	msg := topic + ":" + payload
	if len(msg) > maxNotifyMessage {
		return "", fmt.Errorf("notify %s: payload of %d bytes is too long", topic, len(payload))
	}
	return msg, nil
}

func splitMessage(msg string) (topic, payload string) {
	topic, payload, _ = strings.Cut(msg, ":")
	return topic, payload
}

// notifyRevokedGrants publishes the revocation of grants ids of tenantID: one message per grant, or one
// for the whole tenant when there are many.
func (q *queries) notifyRevokedGrants(ctx context.Context, tenantID string, ids []string) error {
	if len(ids) > maxNamedRevocations {
		return q.notify(ctx, TopicRevoke, tenantID)
	}
	for _, id := range ids {
		if err := q.notify(ctx, TopicRevoke, tenantID+":"+RevokedGrant+":"+id); err != nil {
			return err
		}
	}
	return nil
}

// Listen calls fn for every message published by any node on this database, until ctx ends; then it
// returns. It calls fn(TopicAll, "") once it listens, and again whenever messages may have been missed
// (after a reconnection). fn runs in Listen's goroutine, one call at a time, never in the goroutine that
// committed (which may hold locks fn needs); it should be quick.
//
// On PostgreSQL it holds one dedicated connection (outside the pool), reconnecting with backoff when it
// fails; log reports the failures. Note that LISTEN/NOTIFY is per database, not per schema. On SQLite it
// receives what this process commits on the same database file.
func (db *DB) Listen(ctx context.Context, log *slog.Logger, fn func(topic, payload string)) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !db.pg {
		sub, remove := db.hub.add()
		defer remove()
		others := db.pollNotifications(ctx, log)
		fn(TopicAll, "")
		for {
			select {
			case <-ctx.Done():
				return
			case msg := <-sub.ch:
				fn(splitMessage(msg))
			case msg := <-others:
				fn(splitMessage(msg))
			}
			if sub.overflow.Swap(false) {
				fn(TopicAll, "") // messages were dropped while this subscriber lagged
			}
		}
	}
	backoff := listenBackoffMin
	for {
		connected, err := db.listenOnce(ctx, fn)
		if ctx.Err() != nil {
			return
		}
		if connected {
			backoff = listenBackoffMin
		}
		log.WarnContext(ctx, "cache invalidation listener lost its connection; caches fall back to their TTLs until it reconnects",
			"err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenOnce connects, listens and delivers until the connection fails or ctx ends. connected reports
// whether it got as far as listening.
func (db *DB) listenOnce(ctx context.Context, fn func(topic, payload string)) (connected bool, err error) {
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	db.listenerPID.Store(conn.PgConn().PID())
	fn(TopicAll, "")
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPingEvery)
		n, err := conn.WaitForNotification(wctx)
		idle := err != nil && wctx.Err() != nil && ctx.Err() == nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return true, ctx.Err()
		case idle:
			// Nothing for a while: make sure the connection is still there (a dead peer may send no reset).
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		case err != nil:
			return true, fmt.Errorf("wait for notification: %w", err)
		default:
			fn(splitMessage(n.Payload))
		}
	}
}

// hub delivers SQLite messages to the subscribers of one database file in this process.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	origin string // names this process in the notifications table
}

// subscriber is one SQLite Listen: a queue that commits fill without waiting.
type subscriber struct {
	ch       chan string
	overflow atomic.Bool // a message was dropped because ch was full
}

// subscriberQueue is how many messages a SQLite subscriber may lag behind before it drops everything.
const subscriberQueue = 1024

// sqliteHubs shares one hub between the handles of the same SQLite file in this process.
var sqliteHubs sync.Map // absolute path -> *hub

func hubFor(path string) *hub {
	if path == "" || path == ":memory:" || strings.Contains(path, "mode=memory") {
		return &hub{origin: newOrigin()}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	h, _ := sqliteHubs.LoadOrStore(path, &hub{origin: newOrigin()})
	return h.(*hub)
}

func (h *hub) add() (s *subscriber, remove func()) {
	s = &subscriber{ch: make(chan string, subscriberQueue)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[*subscriber]struct{}{}
	}
	h.subs[s] = struct{}{}
	return s, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, s)
	}
}

// deliver queues msgs for every subscriber, in order, without blocking.
func (h *hub) deliver(msgs []string) {
	if h == nil || len(msgs) == 0 {
		return
	}
	h.mu.Lock() // also keeps the order of concurrent commits the same for every subscriber
	defer h.mu.Unlock()
	for s := range h.subs {
		for _, msg := range msgs {
			select {
			case s.ch <- msg:
			default:
				s.overflow.Store(true)
			}
		}
	}
}

var errNoNotify = errors.New("notify: no transaction or database")

// notify publishes through the DB or Tx these queries belong to.
func (q *queries) notify(ctx context.Context, topic, payload string) error {
	if q.publish == nil {
		return errNoNotify
	}
	return q.publish(ctx, topic, payload)
}
