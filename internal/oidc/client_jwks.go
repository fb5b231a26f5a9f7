package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"

	"github.com/umm-project/umm/internal/notify"
)

// Bounds on fetching a client's jwks_uri (private_key_jwt). The document is fetched from the back channel
// while a token request waits, at a URL a client registered: it must not let a client make the server wait,
// read without limit, follow redirects elsewhere or reach the server's own network.
const (
	jwksFetchTimeout  = 5 * time.Second
	maxJWKSBytes      = 64 << 10
	jwksCacheTTL      = 5 * time.Minute  // when the document says nothing about caching
	jwksMinCacheTTL   = 30 * time.Second // a shorter max-age (or no-store) is raised to this
	jwksMaxCacheTTL   = 24 * time.Hour   // a longer max-age is lowered to this
	jwksRefetchWindow = 30 * time.Second // a kid not in a JWKS older than this triggers a refetch
)

// errPrivateTarget is returned when a jwks_uri resolves to an address the server may not fetch from.
var errPrivateTarget = errors.New("jwks_uri resolves to a loopback, private or otherwise non-public address")

// jwksFetcher fetches and caches clients' JWK Sets (RFC 7591 §2 jwks_uri). Each URI is fetched by at most
// one request at a time (others wait for its answer); fetches of different URIs never wait on each other.
//
// Only https is fetched, never through a proxy, and the address is checked when the connection is made
// (after DNS resolution, so a name that resolves to an internal address is refused even if it resolved to
// a public one before). Loopback, private (RFC 1918, unique local), link-local, CGNAT and other
// non-public addresses are refused unless allowPrivate. In development (a server whose public URL is
// http), loopback addresses are allowed, and so is http to a loopback host (localhost or a loopback IP),
// so a client running on the same machine can serve its keys; other private addresses still need
// allowPrivate, and other hosts https.
type jwksFetcher struct {
	client       *http.Client
	cache        ttlCache[jwksEntry] // jwks_uri -> fetched key set
	flights      singleflight.Group
	now          func() time.Time
	allowPrivate bool
	development  bool
	waiting      atomic.Int64 // requests waiting for a fetch, for tests
}

type jwksEntry struct {
	set     *jose.JSONWebKeySet
	fetched time.Time
	expires time.Time
}

func newJWKSFetcher(now func() time.Time, timeout time.Duration, allowPrivate, development bool) *jwksFetcher {
	f := &jwksFetcher{now: now, allowPrivate: allowPrivate, development: development}
	dialer := &net.Dialer{Timeout: timeout, Control: f.checkDial}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would hide the target's address from checkDial
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
	}
	f.client = &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // answered as an error below: a jwks_uri is the document itself
		},
	}
	return f
}

// keys returns the JWK Set at uri: from the cache while it is fresh, unless kid is set, not in it, and the
// cached document is older than jwksRefetchWindow (the client may have rotated its keys).
func (f *jwksFetcher) keys(ctx context.Context, uri, kid string) (*jose.JSONWebKeySet, error) {
	if set, ok := f.cached(uri, kid); ok {
		return set, nil
	}
	f.waiting.Add(1)
	defer f.waiting.Add(-1)
	ch := f.flights.DoChan(uri, func() (any, error) {
		if set, ok := f.cached(uri, kid); ok {
			return set, nil // fetched by another request meanwhile
		}
		// The fetch serves every request waiting for it, so one caller's cancellation does not end it; its
		// own timeout does.
		return f.fetch(context.WithoutCancel(ctx), uri)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*jose.JSONWebKeySet), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *jwksFetcher) cached(uri, kid string) (*jose.JSONWebKeySet, bool) {
	e, ok := f.cache.get(uri)
	now := f.now()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	if kid != "" && !hasKid(e.set, kid) && now.Sub(e.fetched) >= jwksRefetchWindow {
		return nil, false
	}
	return e.set, true
}

func (f *jwksFetcher) fetch(ctx context.Context, uri string) (*jose.JSONWebKeySet, error) {
	if err := f.checkURL(uri); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks_uri: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, fmt.Errorf("fetch jwks_uri: status %d: redirects are not followed", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("fetch jwks_uri: status %d", resp.StatusCode)
	case resp.ContentLength > maxJWKSBytes:
		return nil, fmt.Errorf("fetch jwks_uri: document larger than %d bytes", maxJWKSBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch jwks_uri: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("fetch jwks_uri: document larger than %d bytes", maxJWKSBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("jwks_uri document: %w", err)
	}
	now := f.now()
	ttl := cacheLifetime(resp.Header.Get("Cache-Control"))
	f.cache.put(uri, jwksEntry{set: &set, fetched: now, expires: now.Add(ttl)}, jwksMaxCacheTTL)
	return &set, nil
}

// checkURL refuses, before any connection, what no address check could make acceptable.
func (f *jwksFetcher) checkURL(uri string) error {
	u, err := url.Parse(uri)
	switch {
	case err != nil || u.Host == "" || u.User != nil:
		return errors.New("jwks_uri is not an absolute URL without credentials")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && f.development && loopbackHost(u.Hostname()):
		return nil // checkDial checks the address it resolves to
	}
	return errors.New("jwks_uri must use https (http only to a loopback host in development)")
}

// loopbackHost reports whether host is localhost or a loopback IP literal.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// checkDial runs when a connection is made, with the address DNS resolved to: it refuses non-public
// addresses (see jwksFetcher).
func (f *jwksFetcher) checkDial(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("jwks_uri address %q: %w", host, err)
	}
	ip = ip.Unmap()
	switch {
	case notify.PublicAddr(ip), f.allowPrivate:
		return nil
	case f.development && ip.IsLoopback():
		return nil
	}
	return errPrivateTarget
}

// cacheLifetime is how long a jwks_uri document may be cached, from its Cache-Control header (RFC 9111
// §5.2.2): max-age within [jwksMinCacheTTL, jwksMaxCacheTTL]; no-store, no-cache and max-age=0 ask for the
// minimum (a client's keys are fetched for every assertion otherwise); jwksCacheTTL when nothing is said.
func cacheLifetime(header string) time.Duration {
	ttl, said := jwksCacheTTL, false
	for _, d := range strings.Split(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return jwksMinCacheTTL
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
			if err != nil || n < 0 {
				continue
			}
			if !said {
				ttl, said = time.Duration(min(n, int64(jwksMaxCacheTTL/time.Second)))*time.Second, true
			}
		}
	}
	return min(max(ttl, jwksMinCacheTTL), jwksMaxCacheTTL)
}

func hasKid(set *jose.JSONWebKeySet, kid string) bool { return len(set.Key(kid)) > 0 }
