package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for limiter tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newTestLimiter(rate float64, burst int) (*Limiter, *fakeClock) {
	c := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	l := NewLimiter(rate, burst)
	l.now = c.now
	return l, c
}

func TestLimiter(t *testing.T) {
	t.Run("a burst is allowed, then refused with a retry-after", func(t *testing.T) {
		l, _ := newTestLimiter(0.5, 3)
		for i := range 3 {
			if ok, _ := l.Allow("k"); !ok {
				t.Fatalf("request %d refused within the burst", i+1)
			}
		}
		ok, wait := l.Allow("k")
		if ok || wait != 2*time.Second {
			t.Errorf("Allow = %v, %v; want false, 2s", ok, wait)
		}
	})
	t.Run("tokens come back at the rate", func(t *testing.T) {
		l, c := newTestLimiter(2, 1)
		l.Allow("k")
		if ok, wait := l.Allow("k"); ok || wait != 500*time.Millisecond {
			t.Fatalf("Allow = %v, %v; want false, 500ms", ok, wait)
		}
		c.add(250 * time.Millisecond)
		if ok, wait := l.Allow("k"); ok || wait != 250*time.Millisecond {
			t.Fatalf("after 250ms Allow = %v, %v; want false, 250ms", ok, wait)
		}
		c.add(250 * time.Millisecond)
		if ok, _ := l.Allow("k"); !ok {
			t.Error("refused after the refill time")
		}
	})
	t.Run("refusals do not drain the bucket further", func(t *testing.T) {
		l, c := newTestLimiter(1, 1)
		l.Allow("k")
		for range 10 {
			l.Allow("k")
		}
		c.add(time.Second)
		if ok, _ := l.Allow("k"); !ok {
			t.Error("refused one second after the last allowed request")
		}
	})
	t.Run("keys are limited separately", func(t *testing.T) {
		l, _ := newTestLimiter(1, 1)
		l.Allow("a")
		if ok, _ := l.Allow("b"); !ok {
			t.Error("b refused because of a")
		}
	})
	t.Run("a bucket never holds more than the burst", func(t *testing.T) {
		l, c := newTestLimiter(10, 2)
		l.Allow("k")
		c.add(time.Hour)
		l.Allow("k")
		l.Allow("k")
		if ok, _ := l.Allow("k"); ok {
			t.Error("allowed more than the burst after a long pause")
		}
	})
	t.Run("refilled buckets are forgotten", func(t *testing.T) {
		l, c := newTestLimiter(1, 5)
		for i := range 100 {
			l.Allow(fmt.Sprint("ip", i))
		}
		c.add(2 * time.Minute)
		l.Allow("new")
		if n := l.Len(); n != 1 {
			t.Errorf("Len = %d, want 1", n)
		}
	})
	t.Run("memory stays bounded under many keys", func(t *testing.T) {
		l, c := newTestLimiter(0.001, 1)
		l.maxKeys = 1000
		for i := range 10_000 {
			if i%100 == 0 {
				c.add(time.Millisecond)
			}
			l.Allow(fmt.Sprint("ip", i))
		}
		if n := l.Len(); n > 1000 {
			t.Errorf("Len = %d, want <= 1000", n)
		}
	})
	t.Run("concurrent use is safe", func(t *testing.T) {
		l := NewLimiter(1000, 100)
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := 0
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					if ok, _ := l.Allow(fmt.Sprint("k", (g+i)%3)); ok {
						mu.Lock()
						allowed++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if allowed < 300 {
			t.Errorf("allowed %d, want at least the three bursts", allowed)
		}
	})
	t.Run("invalid parameters are refused at construction", func(t *testing.T) {
		for _, p := range []struct {
			rate  float64
			burst int
		}{{0, 1}, {-1, 1}, {1, 0}} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("NewLimiter(%v, %d) did not panic", p.rate, p.burst)
					}
				}()
				NewLimiter(p.rate, p.burst)
			}()
		}
	})
}

func TestLimitByIP(t *testing.T) {
	l, _ := newTestLimiter(0.1, 1)
	h := LimitByIP(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	do := func(path, ip, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, nil)
		r.RemoteAddr = ip + ":1234"
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("/t/acme/token", "192.0.2.1", ""); w.Code != 204 {
		t.Fatalf("first request: %d", w.Code)
	}
	tests := []struct {
		name, path, ip, accept string
		status                 int
		json                   bool
	}{
		{"an API client over the limit gets 429 JSON slow_down", "/t/acme/token", "192.0.2.1", "", 429, true},
		{"a browser over the limit gets a 429 page", "/t/acme/login", "192.0.2.1", "text/html", 429, false},
		{"another IP is still served", "/t/acme/token", "192.0.2.2", "", 204, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(tt.path, tt.ip, tt.accept)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			if tt.status != 429 {
				return
			}
			if got := w.Header().Get("Retry-After"); got != "10" {
				t.Errorf("Retry-After = %q, want 10", got)
			}
			if tt.json {
				var body map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != "slow_down" {
					t.Errorf("body = %s (%v)", w.Body, err)
				}
			} else if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(w.Body.String(), "10 seconds") {
				t.Errorf("Content-Type %q body %s", ct, w.Body)
			}
		})
	}
	t.Run("a nil limiter limits nothing", func(t *testing.T) {
		next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
		if h := LimitByIP(nil, next); h == nil {
			t.Error("nil handler")
		}
	})
	t.Run("a sub-second wait is announced as one second", func(t *testing.T) {
		w := httptest.NewRecorder()
		TooManyRequests(w, httptest.NewRequest("GET", "/t/acme/token", nil), 10*time.Millisecond)
		if got := w.Header().Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q", got)
		}
	})
}
