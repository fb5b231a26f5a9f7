package oidc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// Per-node caches of the back channel (fields of Provider). They keep the hot paths (client_credentials, introspection) free of
// database reads. A change made on another node (a client's secret rotated, an access token revoked)
// reaches this node as an invalidation message (invalidate.go) that drops the entries concerned; should
// messages be lost, every entry lives only a few seconds anyway. The node that made a change updates its
// own cache at once.
const (
	clientCacheTTL    = 5 * time.Second
	ipCheckCacheTTL   = 2 * time.Second
	revokedCacheTTL   = 2 * time.Second // how long "not revoked" is believed
	maxCacheEntries   = 100_000         // per cache; a full cache is emptied (the entries are cheap to refetch)
	maxVerifiedTokens = 20_000          // access tokens whose signature this node has checked
	jwksCacheTTL      = 5 * time.Minute
	jwksRefetchWindow = 30 * time.Second // a kid not in a JWKS older than this triggers a refetch
)

// clientEntry is a cached client lookup; found is false for a client that does not exist.
type clientEntry struct {
	c     store.Client
	found bool
}

// client returns the tenant's client from the per-node cache (clientCacheTTL), reading the database on a
// miss. An unknown client is cached too (briefly), so a flood of requests naming one costs no queries.
func (p *Provider) client(ctx context.Context, tenantID, clientID string) (store.Client, error) {
	key := tenantID + "\x00" + clientID
	if e, ok := p.clients.get(key); ok {
		if !e.found {
			return store.Client{}, fmt.Errorf("client %s: %w", clientID, store.ErrNotFound)
		}
		return e.c, nil
	}
	gen := p.invalidations.Load()
	defer p.dropIfInvalidated(gen, func() { p.clients.del(key) })
	c, err := p.db.GetClient(ctx, tenantID, clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.clients.put(key, clientEntry{}, clientCacheTTL)
		return store.Client{}, err
	case err != nil:
		return store.Client{}, err
	}
	p.clients.put(key, clientEntry{c: c, found: true}, clientCacheTTL)
	return c, nil
}

// ttlCache is a concurrent map whose entries expire. It is bounded: when it holds maxCacheEntries it
// is emptied, which only costs refetches.
type ttlCache[V any] struct {
	m     sync.Map // string -> ttlEntry[V]
	n     atomic.Int64
	limit int64         // entries; 0 means maxCacheEntries
	ttl   time.Duration // when set, replaces the ttl of every put (Deps.CacheTTL)
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
	if c.ttl > 0 {
		ttl = c.ttl
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

// delPrefix deletes every entry whose key starts with prefix.
func (c *ttlCache[V]) delPrefix(prefix string) {
	c.m.Range(func(k, _ any) bool {
		if strings.HasPrefix(k.(string), prefix) {
			c.del(k.(string))
		}
		return true
	})
}

func (c *ttlCache[V]) clear() {
	c.m.Clear()
	c.n.Store(0)
}
