package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// tokenPool is access tokens minted before an introspection phase, each handed out once, so that every
// introspection is of a token the server has not seen since it issued it. UMM remembers verified tokens
// and "not revoked" answers per node; a peer that reads its database for every introspection would
// otherwise be compared with a cache lookup.
type tokenPool struct {
	tokens []string
	next   atomic.Int64
}

// take returns the next unused token, or false when the pool is empty.
func (p *tokenPool) take() (string, bool) {
	i := p.next.Add(1) - 1
	if i >= int64(len(p.tokens)) {
		return "", false
	}
	return p.tokens[i], true
}

// used is how many tokens were handed out.
func (p *tokenPool) used() int { return int(min(p.next.Load(), int64(len(p.tokens)))) }

// mintPool issues client_credentials access tokens on t from concurrency workers for at most budget, or
// until it holds limit tokens.
func mintPool(t target, concurrency int, budget time.Duration, limit int) (*tokenPool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	c := newClient(concurrency)
	var (
		mu       sync.Mutex
		tokens   []string
		firstErr error
		wg       sync.WaitGroup
	)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				tok, err := t.ClientCredentials(ctx, c)
				mu.Lock()
				switch {
				case err == nil:
					tokens = append(tokens, tok)
				case ctx.Err() == nil && firstErr == nil:
					firstErr = err
				}
				full := len(tokens) >= limit || firstErr != nil
				mu.Unlock()
				if full {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("mint tokens to introspect: %w", firstErr)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("mint tokens to introspect: none issued within %s", budget)
	}
	return &tokenPool{tokens: tokens[:min(len(tokens), limit)]}, nil
}

// poolSize is how many tokens a distinct-token phase of length d needs when the server introspects at
// about rate (measured on the cached phase, which is no slower): a fifth more, within [100, limit].
func poolSize(rate float64, d time.Duration, limit int) int {
	n := int(rate*d.Seconds()*1.2) + 100
	return min(max(n, 100), limit)
}

// introspectDistinct runs the headline introspection phase: each request introspects a token of the
// pool that no request introspected before. The pool is sized from the rate of the cached phase
// (cachedRate); the phase ends early when the pool runs out (minting took longer than -mint), and says so.
func introspectDistinct(o options, t target, concurrency int, cachedRate float64) result {
	pool, err := mintPool(t, 64, o.mint, poolSize(cachedRate, o.d, o.poolLimit))
	if err != nil {
		return result{Failures: 1, FirstErr: err.Error(), Duration: time.Nanosecond}
	}
	r := runLoad(t.PID(), concurrency, o.d, nil, func(ctx context.Context, c *http.Client) error {
		tok, ok := pool.take()
		if !ok {
			return errPhaseDone
		}
		return t.Introspect(ctx, c, tok)
	})
	if pool.used() >= len(pool.tokens) {
		r.Note = fmt.Sprintf("the pool of %d tokens (what minting reached within %s) ran out after %s", len(pool.tokens), o.mint, r.Duration.Round(10*time.Millisecond))
	}
	return r
}

// introspectCached introspects one token again and again: what a resource server that does not cache
// answers costs when the server does (UMM answers it from its per-node cache).
func introspectCached(o options, t target, concurrency int) result {
	tok, err := t.ClientCredentials(context.Background(), newClient(1))
	if err != nil {
		return result{Failures: 1, FirstErr: "mint the token to introspect: " + err.Error(), Duration: time.Nanosecond}
	}
	return runLoad(t.PID(), concurrency, o.d, nil, func(ctx context.Context, c *http.Client) error {
		return t.Introspect(ctx, c, tok)
	})
}
