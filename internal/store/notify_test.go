package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// inbox collects what a Listen subscriber receives.
type inbox chan [2]string

func (in inbox) fn(topic, payload string) {
	select {
	case in <- [2]string{topic, payload}:
	default: // a test that stopped reading must not block the listener
	}
}

// await returns the first message of topic whose payload is payload, failing after a few seconds. It
// returns the other messages of topic received before it.
func (in inbox) await(t *testing.T, topic, payload string) (before []string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-in:
			if m[0] == topic && m[1] == payload {
				return before
			}
			if m[0] == topic {
				before = append(before, m[1])
			}
		case <-timeout:
			t.Fatalf("no %s:%s message within 5s (got %v of that topic)", topic, payload, before)
			return nil
		}
	}
}

func uniqueName(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "n-" + hex.EncodeToString(b[:])
}

// listen starts db.Listen for the rest of the test and waits until it listens.
func listen(t *testing.T, db *store.DB) inbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	in := make(inbox, 1024)
	go func() {
		defer close(done)
		db.Listen(ctx, nil, in.fn)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	in.await(t, store.TopicAll, "")
	return in
}

func openPair(t *testing.T, backend string) (writer, reader *store.DB) {
	t.Helper()
	ctx := context.Background()
	url := storetest.URL(t, backend)
	var dbs [2]*store.DB
	for i := range dbs {
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		dbs[i] = db
	}
	return dbs[0], dbs[1]
}

func TestNotifyReachesListenersOnCommitOnly(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			writer, reader := openPair(t, backend)
			in := listen(t, reader) // another handle on the same database
			const topic = "test"
			name := uniqueName(t) // other tests share the PostgreSQL channel

			t.Run("a message sent in a committed transaction reaches the listener of another handle", func(t *testing.T) {
				err := writer.InTx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, topic, name+":commit") })
				if err != nil {
					t.Fatal(err)
				}
				in.await(t, topic, name+":commit")
			})
			t.Run("a message sent in a rolled-back transaction is never delivered", func(t *testing.T) {
				boom := errors.New("boom")
				err := writer.InTx(ctx, func(tx *store.Tx) error {
					if err := tx.Notify(ctx, topic, name+":rollback"); err != nil {
						return err
					}
					return boom
				})
				if !errors.Is(err, boom) {
					t.Fatalf("InTx = %v, want boom", err)
				}
				// Messages arrive in commit order: once a later one arrived, the rolled-back one never will.
				if err := writer.InTx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, topic, name+":after") }); err != nil {
					t.Fatal(err)
				}
				for _, p := range in.await(t, topic, name+":after") {
					if p == name+":rollback" {
						t.Fatal("the rolled-back message was delivered")
					}
				}
			})
			t.Run("a message is not delivered before its transaction commits, and once when sent twice", func(t *testing.T) {
				release, committed := make(chan struct{}), make(chan error, 1)
				sent := make(chan struct{})
				go func() {
					committed <- writer.InTx(ctx, func(tx *store.Tx) error {
						for range 2 {
							if err := tx.Notify(ctx, topic, name+":slow"); err != nil {
								return err
							}
						}
						close(sent)
						<-release
						return nil
					})
				}()
				<-sent
				if backend == "postgres" { // on SQLite the open transaction holds the write lock
					if err := writer.InTx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, topic, name+":marker") }); err != nil {
						t.Fatal(err)
					}
					for _, p := range in.await(t, topic, name+":marker") {
						if p == name+":slow" {
							t.Fatal("a message was delivered before its transaction committed")
						}
					}
				}
				close(release)
				if err := <-committed; err != nil {
					t.Fatal(err)
				}
				in.await(t, topic, name+":slow")
				if err := writer.InTx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, topic, name+":end") }); err != nil {
					t.Fatal(err)
				}
				for _, p := range in.await(t, topic, name+":end") {
					if p == name+":slow" {
						t.Fatal("a message sent twice in one transaction was delivered twice")
					}
				}
			})
			t.Run("changes to cached rows publish what changed", func(t *testing.T) {
				tid := storetest.Tenant(t, writer)
				in.await(t, store.TopicTenant, tid)
				c := store.Client{TenantID: tid, ClientID: "web", TokenEndpointAuthMethod: "none"}
				if err := writer.UpsertClient(ctx, c); err != nil { // outside a transaction
					t.Fatal(err)
				}
				in.await(t, store.TopicClient, tid+":web")
				long := store.Client{TenantID: tid, ClientID: strings.Repeat("\U0001F511", 128), TokenEndpointAuthMethod: "none"}
				if err := writer.UpsertClient(ctx, long); err != nil { // the longest client id admin accepts
					t.Fatal(err)
				}
				in.await(t, store.TopicClient, tid+":"+long.ClientID)
				if err := writer.InTx(ctx, func(tx *store.Tx) error {
					return tx.RevokeAccessToken(ctx, tid, "jti-1", time.Now().Add(time.Minute))
				}); err != nil {
					t.Fatal(err)
				}
				in.await(t, store.TopicRevoke, tid+":jti:jti-1")
				if _, err := writer.DeleteClient(ctx, tid, "web"); err != nil {
					t.Fatal(err)
				}
				in.await(t, store.TopicClient, tid+":web")
			})
			t.Run("a bad topic or an oversized payload is refused", func(t *testing.T) {
				for _, tc := range []struct{ topic, payload string }{
					{"", "x"}, {"a:b", "x"}, {topic, strings.Repeat("x", 1100)},
				} {
					err := writer.InTx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, tc.topic, tc.payload) })
					if err == nil {
						t.Errorf("Notify(%q, %d bytes) succeeded", tc.topic, len(tc.payload))
					}
				}
			})
		})
	}
}

func TestIdleListenerPingsAndKeepsItsConnection(t *testing.T) {
	storetest.PostgresURL(t)
	store.SetListenPingEvery(t, 20*time.Millisecond) // not parallel: the setting is global
	ctx := context.Background()
	writer, reader := openPair(t, "postgres")
	in := listen(t, reader)
	pid := store.ListenerPID(reader)
	time.Sleep(200 * time.Millisecond) // several silent periods, each ending with a ping
	name := uniqueName(t)
	if err := writer.InTx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, "test", name) }); err != nil {
		t.Fatal(err)
	}
	in.await(t, "test", name)
	if got := store.ListenerPID(reader); got != pid {
		t.Fatalf("the listener reconnected (backend %d, then %d) although its connection was fine", pid, got)
	}
}

func TestListenerReconnects(t *testing.T) {
	storetest.PostgresURL(t)
	ctx := context.Background()
	writer, reader := openPair(t, "postgres")
	in := listen(t, reader)
	pid := store.ListenerPID(reader)
	admin, err := sql.Open("pgx", storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend($1)", int64(pid)); err != nil {
		t.Fatal(err)
	}
	t.Run("after losing its connection the listener reconnects and asks to drop everything", func(t *testing.T) {
		in.await(t, store.TopicAll, "")
		if store.ListenerPID(reader) == pid {
			t.Fatal("the listener still reports the terminated backend")
		}
	})
	t.Run("messages sent after the reconnection are delivered", func(t *testing.T) {
		name := uniqueName(t)
		if err := writer.InTx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, "test", name) }); err != nil {
			t.Fatal(err)
		}
		in.await(t, "test", name)
	})
}

func TestLaggingSQLiteSubscriberIsToldToDropEverything(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	db := storetest.Open(t)
	release, got := make(chan struct{}), make(inbox, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		first := true
		db.Listen(ctx, nil, func(topic, payload string) {
			if topic == "test" && first {
				first = false
				<-release // lag behind while the commits below fill the queue
			}
			got.fn(topic, payload)
		})
	}()
	defer func() { cancel(); <-done }()
	got.await(t, store.TopicAll, "")
	for i := range 1100 { // more than the subscriber's queue
		if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, "test", strconv.Itoa(i)) }); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	got.await(t, store.TopicAll, "")
}
