package oidc

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestTTLCache(t *testing.T) {
	t.Parallel()
	t.Run("an entry is found until it expires, then it is not", func(t *testing.T) {
		var c ttlCache[int]
		c.put("a", 1, time.Hour)
		c.put("b", 2, -time.Second)
		if v, ok := c.get("a"); !ok || v != 1 {
			t.Fatalf("a = %d, %v; want 1, true", v, ok)
		}
		if v, ok := c.get("b"); ok {
			t.Fatalf("expired b found: %d", v)
		}
		if _, ok := c.get("c"); ok {
			t.Fatal("absent c found")
		}
	})
	t.Run("a put replaces the entry without counting it twice", func(t *testing.T) {
		var c ttlCache[int]
		c.put("a", 1, time.Hour)
		c.put("a", 2, time.Hour)
		if v, _ := c.get("a"); v != 2 {
			t.Fatalf("a = %d, want 2", v)
		}
		if n := c.n.Load(); n != 1 {
			t.Fatalf("count %d, want 1", n)
		}
	})
	t.Run("a full cache is emptied before the next put", func(t *testing.T) {
		c := ttlCache[int]{limit: 10}
		for i := range 10 {
			c.put(fmt.Sprint(i), i, time.Hour)
		}
		if _, ok := c.get("9"); !ok {
			t.Fatal("the tenth entry is missing before the limit is passed")
		}
		c.put("new", 1, time.Hour)
		if _, ok := c.get("0"); ok {
			t.Fatal("an old entry survived the limit")
		}
		if _, ok := c.get("new"); !ok || c.n.Load() != 1 {
			t.Fatalf("after emptying: new present %v, count %d; want true, 1", ok, c.n.Load())
		}
	})
	t.Run("the configured ttl replaces the ttl of every put", func(t *testing.T) {
		c := ttlCache[int]{ttl: time.Hour}
		c.put("a", 1, -time.Second)
		if _, ok := c.get("a"); !ok {
			t.Fatal("entry expired by the put's ttl, not the configured one")
		}
	})
	t.Run("deleting by key and by prefix keeps the count right", func(t *testing.T) {
		var c ttlCache[int]
		for i := range 50 {
			c.put(fmt.Sprintf("t1\x00%d", i), i, time.Hour)
			c.put(fmt.Sprintf("t2\x00%d", i), i, time.Hour)
		}
		c.del("t2\x000")
		c.del("t2\x000") // twice: counted once
		c.delPrefix("t1\x00")
		if _, ok := c.get("t1\x007"); ok {
			t.Fatal("t1 entry survived delPrefix")
		}
		if _, ok := c.get("t2\x007"); !ok {
			t.Fatal("t2 entry deleted by another tenant's prefix")
		}
		if n := c.n.Load(); n != 49 {
			t.Fatalf("count %d, want 49", n)
		}
		c.clear()
		if _, ok := c.get("t2\x007"); ok || c.n.Load() != 0 {
			t.Fatalf("after clear: found %v, count %d", ok, c.n.Load())
		}
	})
	t.Run("parallel puts, gets and deletes agree on the count", func(t *testing.T) {
		var c ttlCache[int]
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 500 {
					k := fmt.Sprintf("%d-%d", w, i)
					c.put(k, i, time.Hour)
					if v, ok := c.get(k); !ok || v != i {
						t.Errorf("%s = %d, %v", k, v, ok)
					}
					if i%2 == 0 {
						c.del(k)
					}
				}
			})
		}
		wg.Wait()
		if n := c.n.Load(); n != 8*250 {
			t.Fatalf("count %d, want %d", n, 8*250)
		}
	})
}
