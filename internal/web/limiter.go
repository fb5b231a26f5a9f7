package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultLimiterKeys bounds the number of keys a Limiter remembers.
const DefaultLimiterKeys = 100_000

// Limiter is a set of in-memory token buckets by key (per node: limits that must hold across nodes are
// stored in the database by identity). Memory is bounded: buckets that have refilled are forgotten, and
// when MaxKeys are remembered anyway, arbitrary buckets are dropped (their keys start afresh). It is safe
// for concurrent use.
type Limiter struct {
	rate  float64 // tokens per second
	burst float64

	mu        sync.Mutex
	buckets   map[string]*bucket
	maxKeys   int
	lastSweep time.Time
	now       func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter allowing burst requests at once per key, refilled at rate per second.
// It panics unless rate > 0 and burst >= 1 (a wiring mistake; config validates its values).
func NewLimiter(rate float64, burst int) *Limiter {
	if !(rate > 0) || math.IsInf(rate, 0) || burst < 1 {
		panic(fmt.Sprintf("web: NewLimiter(%v, %d): rate must be > 0 and burst >= 1", rate, burst))
	}
	return &Limiter{
		rate:    rate,
		burst:   float64(burst),
		buckets: map[string]*bucket{},
		maxKeys: DefaultLimiterKeys,
		now:     time.Now,
	}
}

// Allow takes a token from key's bucket. When none is left it returns false and how long until one is.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	ok, _, retryAfter = l.Take(key)
	return ok, retryAfter
}

// Take is Allow that also reports the whole tokens left in the bucket (for RateLimit headers).
func (l *Limiter) Take(key string) (ok bool, remaining int, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	} else if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, int(b.tokens), 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	if wait < time.Millisecond {
		wait = time.Millisecond
	}
	return false, 0, wait
}

// fullAfter is how long an untouched bucket takes to refill completely, after which it can be forgotten.
func (l *Limiter) fullAfter() time.Duration {
	return time.Duration(l.burst / l.rate * float64(time.Second))
}

// makeRoom forgets refilled buckets every minute, and when the map is full, sweeps (at most once a
// second) and then drops arbitrary buckets down to 7/8 of the cap. Called with l.mu held.
func (l *Limiter) makeRoom(now time.Time) {
	full := len(l.buckets) >= l.maxKeys
	if now.Sub(l.lastSweep) >= time.Minute || (full && now.Sub(l.lastSweep) >= time.Second) {
		l.lastSweep = now
		idle := l.fullAfter()
		for k, b := range l.buckets {
			if now.Sub(b.last) >= idle {
				delete(l.buckets, k)
			}
		}
	}
	if len(l.buckets) < l.maxKeys {
		return
	}
	target := l.maxKeys - l.maxKeys/8
	if target >= l.maxKeys {
		target = l.maxKeys - 1
	}
	for k := range l.buckets { // map order is random enough
		if len(l.buckets) <= target {
			break
		}
		delete(l.buckets, k)
	}
}

// Len returns the number of keys remembered (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// LimitByIP answers 429 Too Many Requests, with Retry-After in whole seconds, to a client IP (ClientIP)
// that exceeds l; the body is JSON {"error":"slow_down",...} for API clients (WantsJSON), else a page.
// A nil l limits nothing.
func LimitByIP(l *Limiter, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := l.Allow(ClientIP(r))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		TooManyRequests(w, r, wait)
	})
}

// TooManyRequests answers 429 with Retry-After (whole seconds, at least 1): JSON
// {"error":"slow_down","error_description":...} for API clients, else a page.
func TooManyRequests(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
	secs := int(math.Ceil(retryAfter.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if secs == 1 {
		writeFailure(w, r, http.StatusTooManyRequests, "slow_down", "too many requests, retry later",
			"error.rate_limited.title", "error.rate_limited.one_second")
		return
	}
	writeFailure(w, r, http.StatusTooManyRequests, "slow_down", "too many requests, retry later",
		"error.rate_limited.title", "error.rate_limited.seconds", secs)
}
