package oidc

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/umm-project/umm/internal/store"
)

// Per-node caches of the back channel. They keep the hot paths (client_credentials, introspection) free of
// database reads: every entry lives a few seconds, so a change made on another node (a client's secret
// rotated, an access token revoked) is seen by this node within that time, and at once on the node that
// made it (which updates its own cache).
const (
	clientCacheTTL    = 5 * time.Second
	ipCheckCacheTTL   = 2 * time.Second
	revokedCacheTTL   = 2 * time.Second // how long "not revoked" is believed
	maxCacheEntries   = 100_000         // per cache; a full cache is emptied (the entries are cheap to refetch)
	maxVerifiedTokens = 20_000          // access tokens whose signature this node has checked
	jwksCacheTTL      = 5 * time.Minute
	jwksRefetchWindow = 30 * time.Second // a kid not in a JWKS older than this triggers a refetch
)

// backChannel holds the token endpoint's per-node state for one Provider. It never refers to the
// Provider, so that the Provider can be collected (see state).
type backChannel struct {
	clients  ttlCache[clientEntry]  // tenant \x00 client_id
	ipCheck  ttlCache[time.Time]    // tenant \x00 ip -> zero: not throttled; else throttled until then
	revoked  ttlCache[bool]         // tenant \x00 jti -> revoked
	grantsRv ttlCache[bool]         // tenant \x00 grant id -> revoked on this node
	verified ttlCache[accessClaims] // tenant \x00 SHA-256(access token) -> its verified claims, until exp
	jwks     ttlCache[jwksEntry]    // jwks_uri -> fetched key set
	jwksMu   sync.Mutex             // one fetch at a time per node
	httpGet  func(ctx context.Context, uri string) ([]byte, error)
}

type clientEntry struct {
	c     store.Client
	found bool
}

var backChannels sync.Map // weak.Pointer[Provider] -> *backChannel

// state returns p's back-channel state, creating it on first use. The state lives in a side table keyed
// by a weak pointer (Provider is declared in provider.go, owned by the front-channel code), removed when
// the Provider is collected.
func (p *Provider) state() *backChannel {
	key := weak.Make(p)
	if v, ok := backChannels.Load(key); ok {
		return v.(*backChannel)
	}
	bc := &backChannel{httpGet: fetchURL}
	bc.verified.limit = maxVerifiedTokens
	v, loaded := backChannels.LoadOrStore(key, bc)
	if !loaded {
		runtime.AddCleanup(p, func(k weak.Pointer[Provider]) { backChannels.Delete(k) }, key)
	}
	return v.(*backChannel)
}

// client returns the tenant's client from the per-node cache (clientCacheTTL), reading the database on a
// miss. An unknown client is cached too (briefly), so a flood of requests naming one costs no queries.
func (p *Provider) client(ctx context.Context, tenantID, clientID string) (store.Client, error) {
	bc := p.state()
	key := tenantID + "\x00" + clientID
	if e, ok := bc.clients.get(key); ok {
		if !e.found {
			return store.Client{}, fmt.Errorf("client %s: %w", clientID, store.ErrNotFound)
		}
		return e.c, nil
	}
	c, err := p.db.GetClient(ctx, tenantID, clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		bc.clients.put(key, clientEntry{}, clientCacheTTL)
		return store.Client{}, err
	case err != nil:
		return store.Client{}, err
	}
	bc.clients.put(key, clientEntry{c: c, found: true}, clientCacheTTL)
	return c, nil
}

// ttlCache is a concurrent map whose entries expire. It is bounded: when it holds maxCacheEntries it
// is emptied, which only costs refetches.
type ttlCache[V any] struct {
	m     sync.Map // string -> ttlEntry[V]
	n     atomic.Int64
	limit int64 // entries; 0 means maxCacheEntries
}

type ttlEntry[V any] struct {
	v       V
	expires int64 // unix nanoseconds
}

func (c *ttlCache[V]) get(key string) (V, bool) {
	if v, ok := c.m.Load(key); ok {
		e := v.(ttlEntry[V])
		if time.Now().UnixNano() < e.expires {
			return e.v, true
		}
	}
	var zero V
	return zero, false
}

func (c *ttlCache[V]) put(key string, v V, ttl time.Duration) {
	limit := c.limit
	if limit == 0 {
		limit = maxCacheEntries
	}
	if c.n.Load() >= limit {
		c.m.Clear()
		c.n.Store(0)
	}
	if _, loaded := c.m.Swap(key, ttlEntry[V]{v: v, expires: time.Now().Add(ttl).UnixNano()}); !loaded {
		c.n.Add(1)
	}
}

func (c *ttlCache[V]) del(key string) {
	if _, loaded := c.m.LoadAndDelete(key); loaded {
		c.n.Add(-1)
	}
}
