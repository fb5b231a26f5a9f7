package oidc

import (
	"container/list"
	"sync"
	"time"
)

// maxTenantMisses bounds the unknown tenant ids a node remembers.
const maxTenantMisses = 4096

// tenantMissTTL is how long an unknown tenant id is remembered (a tenant created meanwhile is announced by
// an invalidation message, which forgets it at once).
const tenantMissTTL = tenantCacheTTL / 6

// missLRU remembers unknown tenant ids, so that a flood of requests for one costs one query per TTL. It is
// a least-recently-used set of at most maxTenantMisses ids, kept apart from the known tenants: requests for
// random ids evict only other misses, never a tenant that exists, and an id that keeps being asked for
// stays remembered however many others pass through. Each id it does not hold costs one query, which the
// caller's rate limits bound. The zero value is ready; it is safe for concurrent use.
type missLRU struct {
	mu    sync.Mutex
	max   int        // 0: maxTenantMisses
	order *list.List // of *missEntry, most recently used first
	byID  map[string]*list.Element
}

type missEntry struct {
	id      string
	expires time.Time
}

func (m *missLRU) lazyInit() {
	if m.byID == nil {
		m.order, m.byID = list.New(), map[string]*list.Element{}
	}
	if m.max <= 0 {
		m.max = maxTenantMisses
	}
}

// has reports whether id is a remembered miss at now (and marks it recently used).
func (m *missLRU) has(id string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lazyInit()
	el, ok := m.byID[id]
	if !ok {
		return false
	}
	if !now.Before(el.Value.(*missEntry).expires) {
		m.order.Remove(el)
		delete(m.byID, id)
		return false
	}
	m.order.MoveToFront(el)
	return true
}

// add remembers id as unknown until now+tenantMissTTL, evicting the least recently used miss when full.
func (m *missLRU) add(id string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lazyInit()
	if el, ok := m.byID[id]; ok {
		el.Value.(*missEntry).expires = now.Add(tenantMissTTL)
		m.order.MoveToFront(el)
		return
	}
	for m.order.Len() >= m.max {
		last := m.order.Back()
		m.order.Remove(last)
		delete(m.byID, last.Value.(*missEntry).id)
	}
	m.byID[id] = m.order.PushFront(&missEntry{id: id, expires: now.Add(tenantMissTTL)})
}

// del forgets id (a tenant of that id was just created).
func (m *missLRU) del(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.byID[id]; ok {
		m.order.Remove(el)
		delete(m.byID, id)
	}
}

// clear forgets every miss.
func (m *missLRU) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.order, m.byID = nil, nil
}

// len is the number of misses held.
func (m *missLRU) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byID)
}
