package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// jwksTestServer serves a JWK Set (of one fresh key) and counts its requests; handle, when set, answers
// instead.
type jwksTestServer struct {
	*httptest.Server
	hits   atomic.Int32
	body   string
	handle func(w http.ResponseWriter, r *http.Request)
}

func newJWKSTestServer(t *testing.T, tls bool, handle func(w http.ResponseWriter, r *http.Request)) *jwksTestServer {
	t.Helper()
	s := &jwksTestServer{body: jwksJSON(t, newAssertionKey(t, jose.ES256, "k1")), handle: handle}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.handle != nil {
			s.handle(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write([]byte(s.body))
	})
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// testFetcher is a fetcher that trusts srv's test certificate (when srv is TLS), on clock now.
func testFetcher(now func() time.Time, timeout time.Duration, allowPrivate, development bool, srv *jwksTestServer) *jwksFetcher {
	f := newJWKSFetcher(now, timeout, allowPrivate, development)
	trustTestServer(f, srv)
	return f
}

func trustTestServer(f *jwksFetcher, srv *jwksTestServer) {
	if srv != nil && srv.TLS != nil {
		f.client.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	}
}

func TestJWKSFetchTargets(t *testing.T) {
	ctx := context.Background()
	tlsSrv := newJWKSTestServer(t, true, nil)
	httpSrv := newJWKSTestServer(t, false, nil)
	localhostTLS := strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name                      string
		srv                       *jwksTestServer
		uri                       string
		allowPrivate, development bool
		wantErr                   error // nil: the fetch succeeds; errAny: any error
		wantHit                   bool
	}{
		{"https is fetched when private networks are allowed", tlsSrv, tlsSrv.URL, true, false, nil, true},
		{"a loopback address is refused by default", tlsSrv, tlsSrv.URL, false, false, errPrivateTarget, false},
		{"a name that resolves to loopback is refused when connecting", tlsSrv, localhostTLS, false, false, errPrivateTarget, false},
		{"http is refused outside development, even when private networks are allowed", httpSrv, httpSrv.URL, true, false, errAny, false},
		{"development allows http to loopback", httpSrv, httpSrv.URL, false, true, nil, true},
		{"development allows https to loopback", tlsSrv, tlsSrv.URL, false, true, nil, true},
		{"development does not open private networks", nil, "https://10.255.255.1/jwks", false, true, errPrivateTarget, false},
		{"a link-local metadata address is refused", nil, "https://169.254.169.254/latest", false, true, errPrivateTarget, false},
		{"an IPv4-mapped loopback address is refused", nil, "https://[::ffff:127.0.0.1]:1/jwks", false, false, errPrivateTarget, false},
		{"development refuses http to another host", nil, "http://93.184.215.14/jwks", true, true, errAny, false},
		{"another scheme is refused", nil, "ftp://keys.example.com/jwks", true, true, errAny, false},
		{"credentials in the URL are refused", nil, "https://user:pw@keys.example.com/jwks", true, true, errAny, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFetcher(time.Now, 2*time.Second, tt.allowPrivate, tt.development, tt.srv)
			var before int32
			if tt.srv != nil {
				before = tt.srv.hits.Load()
			}
			set, err := f.keys(ctx, tt.uri, "")
			switch {
			case tt.wantErr == nil && (err != nil || len(set.Keys) != 1):
				t.Fatalf("keys = %v, %v; want the served set", set, err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("keys error = %v, want %v", err, tt.wantErr)
			}
			if tt.srv != nil && (tt.srv.hits.Load() > before) != tt.wantHit {
				t.Errorf("the server was asked %d times; want a request: %v", tt.srv.hits.Load()-before, tt.wantHit)
			}
		})
	}
}

// errAny stands for any error in TestJWKSFetchTargets.
var errAny = errors.New("any error")

func TestJWKSFetchLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("a redirect is not followed", func(t *testing.T) {
		var target atomic.Int32
		srv := newJWKSTestServer(t, true, nil)
		srv.handle = func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/moved" {
				target.Add(1)
				_, _ = w.Write([]byte(srv.body))
				return
			}
			http.Redirect(w, r, "/moved", http.StatusFound)
		}
		f := testFetcher(time.Now, 2*time.Second, true, false, srv)
		if _, err := f.keys(ctx, srv.URL+"/jwks", ""); err == nil || !strings.Contains(err.Error(), "redirect") {
			t.Fatalf("keys error = %v, want a refused redirect", err)
		}
		if target.Load() != 0 {
			t.Fatal("the redirect was followed")
		}
	})
	t.Run("a document over 64 KiB is refused, with or without Content-Length", func(t *testing.T) {
		big := `{"keys":[],"pad":"` + strings.Repeat("a", maxJWKSBytes) + `"}`
		for _, chunked := range []bool{false, true} {
			srv := newJWKSTestServer(t, true, func(w http.ResponseWriter, r *http.Request) {
				if chunked {
					_, _ = w.Write([]byte(big[:100]))
					w.(http.Flusher).Flush()
					_, _ = w.Write([]byte(big[100:]))
					return
				}
				_, _ = w.Write([]byte(big))
			})
			f := testFetcher(time.Now, 2*time.Second, true, false, srv)
			if _, err := f.keys(ctx, srv.URL, ""); err == nil || !strings.Contains(err.Error(), "larger than") {
				t.Fatalf("chunked %v: keys error = %v, want too large", chunked, err)
			}
		}
	})
	t.Run("a document of 64 KiB is read", func(t *testing.T) {
		srv := newJWKSTestServer(t, true, nil)
		srv.body = srv.body[:len(srv.body)-1] + `,"pad":"` + strings.Repeat("a", maxJWKSBytes-len(srv.body)-9) + `"}`
		if len(srv.body) != maxJWKSBytes {
			t.Fatalf("test document is %d bytes", len(srv.body))
		}
		f := testFetcher(time.Now, 2*time.Second, true, false, srv)
		if set, err := f.keys(ctx, srv.URL, ""); err != nil || len(set.Keys) != 1 {
			t.Fatalf("keys = %v, %v", set, err)
		}
	})
	t.Run("a slow server times out", func(t *testing.T) {
		release := make(chan struct{})
		srv := newJWKSTestServer(t, true, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		f := testFetcher(time.Now, 50*time.Millisecond, true, false, srv)
		start := time.Now()
		_, err := f.keys(ctx, srv.URL, "")
		if err == nil {
			t.Fatal("a server that never answers gave keys")
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("gave up after %s, want about the 50ms timeout", took)
		}
	})
	t.Run("a non-200 answer is an error", func(t *testing.T) {
		srv := newJWKSTestServer(t, true, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
		f := testFetcher(time.Now, 2*time.Second, true, false, srv)
		if _, err := f.keys(ctx, srv.URL, ""); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("keys error = %v", err)
		}
	})
}

// waitFor waits until cond holds, failing the test after a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestJWKSFetchConcurrency(t *testing.T) {
	ctx := context.Background()
	t.Run("concurrent requests for one jwks_uri share one fetch", func(t *testing.T) {
		release := make(chan struct{})
		srv := newJWKSTestServer(t, true, nil)
		srv.handle = func(w http.ResponseWriter, r *http.Request) {
			<-release
			_, _ = w.Write([]byte(srv.body))
		}
		f := testFetcher(time.Now, 5*time.Second, true, false, srv)
		const n = 10
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				set, err := f.keys(ctx, srv.URL, "")
				if err == nil && len(set.Keys) != 1 {
					err = errors.New("wrong set")
				}
				errs <- err
			})
		}
		waitFor(t, "every request waits for the fetch", func() bool { return f.waiting.Load() == n && srv.hits.Load() == 1 })
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if h := srv.hits.Load(); h != 1 {
			t.Fatalf("%d fetches, want 1", h)
		}
	})
	t.Run("a slow jwks_uri does not hold up another", func(t *testing.T) {
		release := make(chan struct{})
		slow := newJWKSTestServer(t, true, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		fast := newJWKSTestServer(t, true, nil)
		f := testFetcher(time.Now, 5*time.Second, true, false, slow)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = f.keys(ctx, slow.URL, "")
		}()
		waitFor(t, "the slow server is asked", func() bool { return slow.hits.Load() == 1 })
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		// Both test servers use the same test certificate, so the fetcher trusts both.
		if set, err := f.keys(fctx, fast.URL, ""); err != nil || len(set.Keys) != 1 {
			t.Errorf("the other jwks_uri waited for the slow one: %v, %v", set, err)
		}
		close(release)
		<-done
	})
	t.Run("a request that gives up does not cancel the fetch others wait for", func(t *testing.T) {
		release := make(chan struct{})
		srv := newJWKSTestServer(t, true, nil)
		srv.handle = func(w http.ResponseWriter, r *http.Request) {
			<-release
			_, _ = w.Write([]byte(srv.body))
		}
		f := testFetcher(time.Now, 5*time.Second, true, false, srv)
		cctx, cancel := context.WithCancel(ctx)
		first := make(chan error, 1)
		go func() { _, err := f.keys(cctx, srv.URL, ""); first <- err }()
		waitFor(t, "the fetch starts", func() bool { return srv.hits.Load() == 1 })
		second := make(chan error, 1)
		go func() { _, err := f.keys(ctx, srv.URL, ""); second <- err }()
		waitFor(t, "both wait", func() bool { return f.waiting.Load() == 2 })
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Errorf("the cancelled request got %v", err)
		}
		close(release)
		if err := <-second; err != nil {
			t.Errorf("the other request got %v", err)
		}
		if h := srv.hits.Load(); h != 1 {
			t.Errorf("%d fetches, want 1", h)
		}
	})
}

func TestJWKSCacheControl(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		cacheControl string
		fresh, stale time.Duration // still cached after fresh, refetched after stale
	}{
		{"max-age is respected", "public, max-age=120", 110 * time.Second, 121 * time.Second},
		{"a short max-age is raised to the minimum", "max-age=1", jwksMinCacheTTL - time.Second, jwksMinCacheTTL + time.Second},
		{"no-store is cached for the minimum", "no-store", jwksMinCacheTTL - time.Second, jwksMinCacheTTL + time.Second},
		{"a long max-age is lowered to the maximum", "max-age=99999999999", jwksMaxCacheTTL - time.Minute, jwksMaxCacheTTL + time.Second},
		{"no Cache-Control takes the default", "", jwksCacheTTL - time.Second, jwksCacheTTL + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSTestServer(t, true, nil)
			srv.handle = func(w http.ResponseWriter, r *http.Request) {
				if tt.cacheControl != "" {
					w.Header().Set("Cache-Control", tt.cacheControl)
				}
				_, _ = w.Write([]byte(srv.body))
			}
			var skew atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			f := testFetcher(now, 2*time.Second, true, false, srv)
			fetch := func() {
				t.Helper()
				if _, err := f.keys(ctx, srv.URL, ""); err != nil {
					t.Fatal(err)
				}
			}
			fetch()
			skew.Store(int64(tt.fresh))
			fetch()
			if h := srv.hits.Load(); h != 1 {
				t.Fatalf("%d fetches after %s, want 1 (cached)", h, tt.fresh)
			}
			skew.Store(int64(tt.stale))
			fetch()
			if h := srv.hits.Load(); h != 2 {
				t.Fatalf("%d fetches after %s, want 2 (expired)", h, tt.stale)
			}
		})
	}
	t.Run("an unknown kid refetches a document older than the refetch window", func(t *testing.T) {
		srv := newJWKSTestServer(t, true, nil)
		var skew atomic.Int64
		f := testFetcher(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }, 2*time.Second, true, false, srv)
		for _, step := range []struct {
			skew     time.Duration
			kid      string
			wantHits int32
		}{{0, "", 1}, {time.Second, "k1", 1}, {time.Second, "rotated", 1}, {jwksRefetchWindow + time.Second, "rotated", 2}} {
			skew.Store(int64(step.skew))
			if _, err := f.keys(ctx, srv.URL, step.kid); err != nil {
				t.Fatal(err)
			}
			if h := srv.hits.Load(); h != step.wantHits {
				t.Fatalf("after %s asking kid %q: %d fetches, want %d", step.skew, step.kid, h, step.wantHits)
			}
		}
	})
}

// TestPrivateKeyJWTWithPrivateJWKSURI checks security.jwks_uri_allow_private_networks end to end: a client
// whose jwks_uri is on a loopback address fails authentication by default, and passes with the setting.
func TestPrivateKeyJWTWithPrivateJWKSURI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		key := newAssertionKey(t, jose.ES256, "k1")
		srv := newJWKSTestServer(t, true, nil)
		srv.body = jwksJSON(t, key)
		for _, allow := range []bool{false, true} {
			e := newTokenEnv(t, db, func(s *config.Security) { s.JWKSURIAllowPrivateNetworks = allow })
			trustTestServer(e.p.clientJWKS, srv)
			c := store.Client{TenantID: e.tenant.ID, ClientID: "svc-private", GrantTypes: []string{grantClientCredentials},
				TokenEndpointAuthMethod: authPrivateKeyJWT, JWKSURI: srv.URL}
			if err := db.UpsertClient(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			before := srv.hits.Load()
			w := e.token(jwtAuth(key.sign(t, e.assertionClaimsFor("svc-private", e.tenant.ID))),
				url.Values{"grant_type": {grantClientCredentials}})
			if allow {
				wantTokenResponse(t, w)
				continue
			}
			wantOAuthError(t, w, http.StatusUnauthorized, "invalid_client")
			if srv.hits.Load() != before {
				t.Error("the private jwks_uri was fetched")
			}
		}
	})
}
