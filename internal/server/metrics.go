package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Where /metrics is served. It tells an attacker about load, errors and sign-in results, so it is not on
// the public listener by default: server.metrics_addr serves it on a listener of its own (meant for a
// loopback or private address), server.metrics_token serves it on the public listener to requests bearing
// that token. With neither, it is not served at all.

// publicMetrics is the /metrics handler of the public listener: the registry for a request bearing the
// token (compared in constant time), the mux's own 404 for any other, so that the route does not even
// reveal that it exists.
func publicMetrics(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got)) // equal lengths: the comparison time says nothing of the token
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// metricsListener serves /metrics alone on server.metrics_addr.
type metricsListener struct {
	once  sync.Once
	bound chan struct{} // closed once Serve has bound server.metrics_addr (or found it empty)
	addr  string        // the bound address; written before bound is closed
}

func (m *metricsListener) init() { m.once.Do(func() { m.bound = make(chan struct{}) }) }

// MetricsAddr is the address /metrics listens on (server.metrics_addr, with the port chosen when it was
// 0), or "" when it is not configured. It waits until Serve has bound the listener (or ctx ends).
func (s *Server) MetricsAddr(ctx context.Context) string {
	s.metrics.init()
	select {
	case <-s.metrics.bound:
		return s.metrics.addr
	case <-ctx.Done():
		return ""
	}
}

// listenMetrics binds server.metrics_addr and returns the server to run on it (nil when not configured).
func (s *Server) listenMetrics() (*http.Server, net.Listener, error) {
	s.metrics.init()
	addr := s.cfg.Server.MetricsAddr
	if addr == "" {
		close(s.metrics.bound)
		return nil, nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s (server.metrics_addr): %w", addr, err)
	}
	s.metrics.addr = ln.Addr().String()
	close(s.metrics.bound)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(s.registry))
	hs := s.httpServer()
	hs.Handler = mux
	return hs, ln, nil
}

// serveMetrics runs hs on ln until ctx ends.
func serveMetrics(ctx context.Context, hs *http.Server, ln net.Listener) error {
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
		_ = hs.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve metrics: %w", err)
		}
		return nil
	}
}
