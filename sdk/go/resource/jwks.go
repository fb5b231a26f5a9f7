package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Bounds on how long a fetched key set is trusted. UMM serves its JWKS with max-age=60; a server that
// says nothing gets defaultKeysTTL, and no answer may pin a key set for longer than maxKeysTTL (a removed
// key must stop working) nor have it refetched more often than minKeysTTL.
const (
	minKeysTTL     = 30 * time.Second
	maxKeysTTL     = 24 * time.Hour
	defaultKeysTTL = 5 * time.Minute
)

// maxDocumentSize bounds the discovery and JWKS documents read.
const maxDocumentSize = 1 << 20

// fetchTimeout bounds one fetch of the discovery document or the key set. A fetch is shared by every
// request waiting for it, so it does not end when the request that started it is cancelled.
const fetchTimeout = 10 * time.Second

// keySet is the issuer's signing keys, fetched on first use and kept for the time the server's
// Cache-Control allows. A kid it does not know makes it fetch again, at most once per minRefresh, so a
// flood of tokens with made-up kids cannot turn into a flood of fetches. Concurrent callers share one
// fetch.
type keySet struct {
	issuer     string
	jwksURL    string // discovered when empty
	httpClient *http.Client
	now        func() time.Time
	minRefresh time.Duration

	mu        sync.Mutex
	keys      map[string]jose.JSONWebKey // by kid
	expires   time.Time                  // keys are stale after this
	lastFetch time.Time                  // the last attempt, successful or not
	lastErr   error                      // how the last attempt failed, nil when it succeeded
	inflight  *fetchCall
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// key returns the public key kid names. It returns an *Error invalid_token when the issuer does not
// publish kid, and an *Error with status 503 when the keys could not be fetched.
func (s *keySet) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		now := s.now()
		k, known := s.keys[kid]
		fresh := s.keys != nil && now.Before(s.expires)
		if known && fresh {
			s.mu.Unlock()
			return k, nil
		}
		// Join a fetch under way; else fetch when the keys are stale and the last fetch succeeded, or when
		// the last fetch is older than minRefresh (kid unknown, or the last fetch failed). Only once per
		// call, so that a kid still unknown after a fetch is refused.
		mayFetch := attempt == 0 && (s.inflight != nil || (!fresh && s.lastErr == nil) ||
			now.Sub(s.lastFetch) >= s.minRefresh)
		if !mayFetch {
			failing := s.lastErr != nil
			s.mu.Unlock()
			if known { // stale, but the refetch failed: keep trusting a key the issuer published
				return k, nil
			}
			if s.keys == nil || failing { // the issuer may publish kid by now: we cannot tell
				return jose.JSONWebKey{}, errUnavailable(nil, "the issuer's signing keys could not be fetched")
			}
			return jose.JSONWebKey{}, errInvalidToken(nil, "the token is signed with a key the issuer does not publish")
		}
		call := s.inflight
		if call == nil {
			call = &fetchCall{done: make(chan struct{})}
			s.inflight = call
			s.lastFetch = now
			go s.fetch(context.WithoutCancel(ctx), call)
		}
		s.mu.Unlock()
		select {
		case <-call.done:
		case <-ctx.Done():
			return jose.JSONWebKey{}, errUnavailable(ctx.Err(), "the request ended while the issuer's signing keys were fetched")
		}
		if call.err != nil {
			s.mu.Lock()
			k, known = s.keys[kid]
			s.mu.Unlock()
			if known {
				return k, nil
			}
			return jose.JSONWebKey{}, errUnavailable(call.err, "the issuer's signing keys could not be fetched")
		}
	}
}

func (s *keySet) fetch(ctx context.Context, call *fetchCall) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	keys, ttl, err := s.download(ctx)
	s.mu.Lock()
	if err == nil {
		s.keys, s.expires = keys, s.now().Add(ttl)
	}
	call.err, s.lastErr = err, err
	s.inflight = nil
	s.mu.Unlock()
	close(call.done)
}

func (s *keySet) download(ctx context.Context) (map[string]jose.JSONWebKey, time.Duration, error) {
	if s.jwksURL == "" {
		u, err := discoverJWKSURL(ctx, s.httpClient, s.issuer)
		if err != nil {
			return nil, 0, err
		}
		s.jwksURL = u // only the fetch goroutine, one at a time, reads and writes it
	}
	body, header, err := get(ctx, s.httpClient, s.jwksURL)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch jwks: %w", err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, 0, fmt.Errorf("decode jwks: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		// A key of a type this library does not know is skipped rather than failing the whole set.
		if err := k.UnmarshalJSON(raw); err != nil || k.KeyID == "" || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		keys[k.KeyID] = k
	}
	return keys, cacheTTL(header.Get("Cache-Control")), nil
}

// cacheTTL is how long a response with this Cache-Control may be used, within the bounds above.
func cacheTTL(cc string) time.Duration {
	ttl := defaultKeysTTL
	for _, d := range strings.Split(cc, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return minKeysTTL
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64); err == nil && n >= 0 {
				ttl = time.Duration(min(n, int64(maxKeysTTL/time.Second))) * time.Second
			}
		}
	}
	return min(max(ttl, minKeysTTL), maxKeysTTL)
}

// discoverJWKSURL reads jwks_uri from the issuer's OpenID Provider Metadata, after checking that the
// document is the issuer's own (OIDC Discovery §4.3).
func discoverJWKSURL(ctx context.Context, c *http.Client, issuer string) (string, error) {
	body, _, err := get(ctx, c, issuer+"/.well-known/openid-configuration")
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery: decode: %w", err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("discovery: the document names issuer %q, not %q", doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", errors.New("discovery: the document has no jwks_uri")
	}
	return doc.JWKSURI, nil
}

func get(ctx context.Context, c *http.Client, url string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxDocumentSize {
		return nil, nil, fmt.Errorf("GET %s: the document is larger than %d bytes", url, maxDocumentSize)
	}
	return body, resp.Header, nil
}
