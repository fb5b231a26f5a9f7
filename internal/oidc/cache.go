package oidc

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cacheShards spreads a cache's entries over independently locked maps, so parallel requests rarely
// wait for one another.
const cacheShards = 16

var cacheSeed = maphash.MakeSeed()

// ttlCache is a concurrent map whose entries expire. It is bounded: when it holds its limit (default
// maxCacheEntries) it is emptied, which only costs refetches.
//
// The entries live inline in the slots of plain maps rather than in a sync.Map, which allocates a node
// and a boxed value for each. A node that introspects many tokens holds tens of thousands of entries,
// and the garbage collector marks every object they own on each cycle; a node that signs people in runs
// many cycles, because every password hash allocates its argon2id memory (19 MiB by default). Fewer
// objects per entry keep those cycles short, so the caches of the back channel do not slow sign-ins.
type ttlCache[V any] struct {
	shards [cacheShards]cacheShard[V]
	n      atomic.Int64
	limit  int64         // entries; 0 means maxCacheEntries
	ttl    time.Duration // when set, replaces the ttl of every put (Deps.CacheTTL)
}

type cacheShard[V any] struct {
	mu sync.RWMutex
	m  map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires int64 // unix nanoseconds
}

func (c *ttlCache[V]) shard(key string) *cacheShard[V] {
	return &c.shards[maphash.String(cacheSeed, key)%cacheShards]
}

func (c *ttlCache[V]) get(key string) (V, bool) {
	s := c.shard(key)
	s.mu.RLock()
	e, ok := s.m[key]
	s.mu.RUnlock()
	if ok && time.Now().UnixNano() < e.expires {
		return e.v, true
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
		c.clear()
	}
	e := ttlEntry[V]{v: v, expires: time.Now().Add(ttl).UnixNano()}
	s := c.shard(key)
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[string]ttlEntry[V])
	}
	_, existed := s.m[key]
	s.m[key] = e
	s.mu.Unlock()
	if !existed {
		c.n.Add(1)
	}
}

func (c *ttlCache[V]) del(key string) {
	s := c.shard(key)
	s.mu.Lock()
	_, existed := s.m[key]
	delete(s.m, key)
	s.mu.Unlock()
	if existed {
		c.n.Add(-1)
	}
}

// delPrefix deletes every entry whose key starts with prefix.
func (c *ttlCache[V]) delPrefix(prefix string) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k := range s.m {
			if strings.HasPrefix(k, prefix) {
				delete(s.m, k)
				c.n.Add(-1)
			}
		}
		s.mu.Unlock()
	}
}

func (c *ttlCache[V]) clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		c.n.Add(-int64(len(s.m)))
		s.m = nil // a new map: clearing keeps the old one's size
		s.mu.Unlock()
	}
}
