package oidc

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

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
