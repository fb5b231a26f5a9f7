package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/login"
	"github.com/umm-project/umm/internal/oidc"
	"github.com/umm-project/umm/internal/playground"
	"github.com/umm-project/umm/internal/saml"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// DefaultGCInterval is how often expired flow state is deleted.
const DefaultGCInterval = 5 * time.Minute

// Option changes how New builds the server (tests use them).
type Option func(*options)

type options struct {
	now        func() time.Time
	gcInterval time.Duration
	outboxPoll time.Duration
	eventBatch int // events deleted per statement by the garbage collector (0: eventPruneBatch)
	cacheTTL   time.Duration
}

// WithClock makes every component read time from now instead of time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithCacheTTL sets how long the per-node caches of clients, revocations and signing keys believe an
// entry; tests set it far beyond their waits to prove that changes travel by invalidation messages.
func WithCacheTTL(d time.Duration) Option { return func(o *options) { o.cacheTTL = d } }

// WithGCInterval sets how often expired flow state is deleted (DefaultGCInterval).
func WithGCInterval(d time.Duration) Option { return func(o *options) { o.gcInterval = d } }

// WithOutboxPoll sets how often the outbox dispatcher looks for due messages when nothing wakes it
// (2 s by default); tests set it far beyond their waits to prove that new messages wake it.
func WithOutboxPoll(d time.Duration) Option { return func(o *options) { o.outboxPoll = d } }

// Server is a built UMM: its services, its HTTP handler and its workers.
type Server struct {
	*Services
	cfg      config.Config
	log      *slog.Logger
	opts     options
	handler  http.Handler
	registry *prometheus.Registry
	sessions *session.Manager
	provider *oidc.Provider
	api      *admin.API // the management API, whose event streams end at shutdown
	seed     admin.SeedResult
	// bootstrap is the operator tenant's first client, created by this start (Banner prints its secret).
	bootstrap *admin.Bootstrap
	outbox    *events.Outbox            // this node's dispatcher (outbox.go), woken by invalidate
	webhooks  *events.WebhookDispatcher // this node's webhook dispatcher (webhooks.go), woken by invalidate

	mu      sync.Mutex
	closed  bool
	serving bool

	metrics metricsListener // server.metrics_addr (metrics.go)
}

// New builds everything from cfg: it opens and migrates the store, loads (or creates) the master key,
// applies the seed (the tenants: block, or tenant "default" on an empty database) through admin, and wires
// the surfaces on one mux behind the middleware chain. It does not listen: call Run, or Serve with a
// listener. log should be the process logger (cmd/umm builds it from cfg.Log).
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Option) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = slog.New(web.NewLogHandler(log.Handler()))
	o := options{now: time.Now, gcInterval: DefaultGCInterval, outboxPoll: outboxEvery}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	proxies, err := web.ParseTrustedProxies(cfg.Security.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("security.trusted_proxies: %w", err)
	}

	svc, err := OpenServices(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Server{Services: svc, cfg: cfg, log: log, opts: o}
	if err := s.build(ctx, proxies); err != nil {
		svc.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) build(ctx context.Context, proxies []netip.Prefix) error {
	cfg, log, now := s.cfg, s.log, s.opts.now
	s.Identity.Now = now
	s.Federation.SetClock(now)

	res, err := s.Admin.ApplySeed(ctx, cfg.Tenants)
	if err != nil {
		return err
	}
	s.seed = res
	if res.DefaultTenantCreated {
		log.InfoContext(ctx, "created tenant default", "tenant", admin.DefaultTenantID)
	}
	for _, item := range res.Applied {
		log.InfoContext(ctx, "seed applied", "item", item)
	}
	if b, created, err := s.Admin.EnsureOperatorTenant(ctx, cfg.Admin.Tenant); err != nil {
		return fmt.Errorf("operator tenant %s: %w", cfg.Admin.Tenant, err)
	} else if created {
		s.bootstrap = &b
		log.InfoContext(ctx, "created the operator tenant and its bootstrap client (the secret is printed once at start, never logged)",
			"tenant", b.Tenant, "client_id", b.ClientID)
	}
	playgroundClients, err := s.Admin.EnsurePlaygroundClients(ctx, playground.ClientID, func(tenantID string) string {
		return playground.RedirectURI(cfg.Server.PublicURL, tenantID)
	})
	if err != nil {
		return err
	}
	for _, item := range playgroundClients {
		log.InfoContext(ctx, "playground client written", "item", item)
	}

	web.SetTrustedProxies(proxies)
	secure := strings.HasPrefix(cfg.Server.PublicURL, "https://")
	sessions := session.New(s.DB, secure, log)
	sessions.Now = now
	sessions.ClientIP = web.ClientIP
	s.sessions = sessions
	csrf := web.NewCSRF(s.Keyring.MAC("umm csrf", nil), secure, cfg.Server.PublicURL)

	s.registry = prometheus.NewRegistry()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := web.NewMetrics(s.registry)

	provider, err := oidc.New(oidc.Deps{
		DB: s.DB, Keys: s.Keys, Keyring: s.Keyring, Identity: s.Identity, Sessions: sessions, Metrics: metrics,
		CSRF: csrf, PublicURL: cfg.Server.PublicURL, Log: log, Now: now,
		JWKSAllowPrivateNetworks: cfg.Security.JWKSURIAllowPrivateNetworks,
		Security:                 cfg.Security,
		CacheTTL:                 s.opts.cacheTTL,
		Authz:                    s.Authz,
	})
	if err != nil {
		return err
	}
	s.Keys.SetCacheTTL(s.opts.cacheTTL)
	s.provider = provider
	if s.outbox, err = s.newOutbox(); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	s.webhooks = s.newWebhooks()
	pages, err := login.New(login.Deps{
		DB: s.DB, Identity: s.Identity, Sessions: sessions, CSRF: csrf, Metrics: metrics, Keyring: s.Keyring,
		PublicURL: cfg.Server.PublicURL, Log: log, Now: now, DeviceCookieTTL: cfg.Security.DeviceCookieTTL.D(),
		Risk: s.Risk, Federation: s.Federation, Authz: s.Authz,
	})
	if err != nil {
		return err
	}

	idp, err := saml.New(saml.Deps{
		DB: s.DB, Keys: s.Keys, Keyring: s.Keyring, Sessions: sessions, PublicURL: cfg.Server.PublicURL,
		Log: log, Now: now, Security: cfg.Security,
	})
	if err != nil {
		return err
	}

	start, err := playground.New(playground.Deps{DB: s.DB, PublicURL: cfg.Server.PublicURL, Log: log})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	if tok := cfg.Server.MetricsToken; tok != "" {
		mux.Handle("GET /metrics", publicMetrics(tok, metricsHandler(s.registry)))
	}
	mux.Handle("GET /static/", web.Static())
	s.api = admin.NewAPI(admin.APIDeps{
		Service: s.Admin, DB: s.DB, Keys: s.Keys, Sessions: sessions, PublicURL: cfg.Server.PublicURL,
		Admin: cfg.Admin, Log: log, Now: now,
	})
	s.api.Routes(mux)
	provider.Routes(mux)
	pages.Routes(mux)
	idp.Routes(mux)
	start.Routes(mux)

	s.handler = web.Chain(mux,
		web.RequestID,
		web.AccessLog(log),
		web.Recover(log),
		web.SecurityHeaders(cfg.Server.PublicURL),
		web.MaxBody(cfg.Server.MaxBodyBytes),
		metrics.Middleware,
	)
	start.Backend = s.handler // the playground's token and UserInfo requests, answered in-process
	return nil
}

// Handler is the server's whole HTTP handler (mux and middleware).
func (s *Server) Handler() http.Handler { return s.handler }

// Registry is the server's own Prometheus registry, served at /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Sessions is the browser session manager.
func (s *Server) Sessions() *session.Manager { return s.sessions }

// Bootstrap is the operator tenant's first client when this start created it: its secret exists nowhere
// else (only its hash is stored).
func (s *Server) Bootstrap() (admin.Bootstrap, bool) {
	if s.bootstrap == nil {
		return admin.Bootstrap{}, false
	}
	return *s.bootstrap, true
}

// Seed reports what the seed application at New changed.
func (s *Server) Seed() admin.SeedResult { return s.seed }

// Run listens on server.addr and serves until ctx ends (cmd/umm cancels it on SIGINT or SIGTERM), then
// shuts down gracefully and closes the store.
func (s *Server) Run(ctx context.Context) error {
	ln, err := Listen(s.cfg.Server.Addr)
	if err != nil {
		s.Close()
		return err
	}
	return s.RunOn(ctx, ln)
}

// RunOn is Run on a listener the caller opened (with Listen, before New, so that a busy port is found
// before anything is created).
func (s *Server) RunOn(ctx context.Context, ln net.Listener) error {
	s.log.InfoContext(ctx, "listening", "addr", ln.Addr().String(), "public_url", s.cfg.Server.PublicURL)
	err := s.Serve(ctx, ln)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// Serve serves HTTP on ln and runs the background workers (scheduled key rotation, garbage collection,
// the listener of cache invalidation messages, the outbox and webhook dispatchers) until ctx ends. Then it
// stops accepting connections, lets requests in flight finish within server.shutdown_timeout, stops the
// workers and returns. It does not close the store (Close does).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed || s.serving {
		s.mu.Unlock()
		ln.Close()
		return errClosed
	}
	s.serving = true
	s.mu.Unlock()

	c := s.cfg.Server
	hs := s.httpServer()
	hs.RegisterOnShutdown(s.api.EndStreams) // Shutdown waits for handlers, and a stream never ends by itself
	mhs, mln, err := s.listenMetrics()
	if err != nil {
		ln.Close()
		return err
	}

	workers, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	var wg sync.WaitGroup
	if mhs != nil {
		wg.Go(func() {
			if err := serveMetrics(workers, mhs, mln); err != nil {
				s.log.Error("metrics listener", "err", err)
			}
		})
	}
	wg.Go(func() { s.Keys.Run(workers) })
	wg.Go(func() { s.collectGarbage(workers) })
	wg.Go(func() { s.syncDirectories(workers) })
	wg.Go(func() { s.DB.Listen(workers, s.log, s.invalidate) })
	wg.Go(func() { s.deliverOutbox(workers) })
	wg.Go(func() { s.deliverWebhooks(workers) })

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err = <-served: // the listener failed
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		s.log.Info("shutting down: finishing requests in flight", "timeout", c.ShutdownTimeout.String())
		sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout.D())
		if serr := hs.Shutdown(sctx); serr != nil {
			s.log.Warn("requests still in flight at the shutdown timeout were cut", "err", serr)
			hs.Close()
		}
		cancel()
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = fmt.Errorf("serve: %w", serr)
		}
	}
	stopWorkers()
	wg.Wait()
	s.log.Info("stopped")
	return err
}

// invalidate hands a cache invalidation message (store.Listen: a change committed by any node, this one
// included) to every per-node cache: signing keys, and the provider's tenants, clients, discovery
// documents and revocation answers.
func (s *Server) invalidate(topic, payload string) {
	if topic == store.TopicWebhook || topic == store.TopicAll {
		s.webhooks.Wake()
		if topic == store.TopicWebhook {
			return
		}
	}
	if topic == store.TopicOutbox || topic == store.TopicAll {
		s.outbox.Wake()
		if topic == store.TopicOutbox {
			return
		}
	}
	s.Keys.Invalidate(topic, payload)
	s.provider.Invalidate(topic, payload)
}

// httpServer is the HTTP server Serve runs: the handler with the limits of the server section (header,
// read, write and idle timeouts, header size; MaxBody in the chain bounds bodies).
func (s *Server) httpServer() *http.Server {
	c := s.cfg.Server
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: c.ReadHeaderTimeout.D(),
		ReadTimeout:       c.ReadTimeout.D(),
		WriteTimeout:      c.WriteTimeout.D(),
		IdleTimeout:       c.IdleTimeout.D(),
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Close closes the store. Call it after Serve returned (Run does).
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.Services.Close()
}
