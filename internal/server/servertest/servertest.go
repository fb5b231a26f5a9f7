// Package servertest runs the full UMM server for tests: server.New on a real loopback listener, with a
// seeded tenant (a confidential client, a public client, a first-party client and a user whose password
// the test knows), on SQLite in t.TempDir() or on PostgreSQL (a fresh schema), and a browser-like client
// with a cookie jar that does not follow redirects, so a test sees every step of a flow.
//
//	srv := servertest.New(t)
//	b := srv.NewBrowser(t)
//	resp, body := b.Get(srv.Issuer + "/authorize?...")
package servertest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// Defaults of the seeded tenant.
const (
	TenantID = "test"

	ConfidentialClientID     = "web"
	ConfidentialClientSecret = "web-client-secret-0123456789"
	PublicClientID           = "spa"
	FirstPartyClientID       = "first"
	FirstPartyClientSecret   = "first-party-secret-0123456789"
	RedirectURI              = "https://rp.example.test/callback"
	PostLogoutRedirectURI    = "https://rp.example.test/signed-out"

	UserEmail    = "alice@example.com"
	UserPassword = "hazel-kettle-orbit-1234" // not containing the address: the password policy refuses that
)

// Client is a seeded client as a test uses it. Secret is empty for the public client.
type Client struct {
	ID          string
	Secret      string
	RedirectURI string
}

// User is the seeded user.
type User struct {
	ID       string
	Email    string
	Password string
}

// Server is a running UMM. Its fields are what tests need; the embedded *server.Server gives the rest
// (DB, Admin, Identity, Keys, Keyring, Sessions(), Registry(), Handler()).
type Server struct {
	*server.Server
	URL          string // the public URL: http://127.0.0.1:PORT (for a WithPeer node: its own listener)
	Tenant       string // the seeded tenant's id
	Issuer       string // URL + "/t/" + Tenant
	Backend      string // "sqlite" or "postgres"
	Config       config.Config
	DB           *store.DB
	Confidential Client // client_secret_basic, authorization_code + refresh_token + client_credentials, asks consent
	Public       Client // token_endpoint_auth_method none (PKCE required), authorization_code + refresh_token + device_code
	FirstParty   Client // client_secret_basic, first_party: no consent page
	User         User
}

type options struct {
	backend  string
	clock    func() time.Time
	logLevel slog.Level
	logTo    io.Writer
	user     config.UserSeed
	seed     []func(*config.TenantSeed)
	config   []func(*config.Config)
	peer     *Server
	cacheTTL time.Duration
}

// Option configures New.
type Option func(*options)

// WithBackend runs on "sqlite" (the default) or "postgres" (UMM_TEST_POSTGRES_URL; skipped when unset
// outside CI). Use storetest.Backends(t) to run a test on each.
func WithBackend(name string) Option { return func(o *options) { o.backend = name } }

// WithPostgres is WithBackend("postgres").
func WithPostgres() Option { return WithBackend("postgres") }

// WithPeer runs the server as another node of peer's deployment: on peer's database with peer's master
// key (and peer's backend), and with peer's public URL, as nodes behind one load balancer. It applies the
// seed again at start, as every node of a cluster does. The new Server's URL, Issuer and TenantURL
// address its own listener, so that a test talks to this node; the tokens it issues name peer's issuer.
func WithPeer(peer *Server) Option { return func(o *options) { o.peer = peer } }

// WithUser replaces the seeded user's email and password.
func WithUser(email, password string) Option {
	return func(o *options) { o.user.Email, o.user.Password = email, password }
}

// WithSeed changes the seeded tenant before start (add clients or users, change settings).
func WithSeed(fn func(t *config.TenantSeed)) Option {
	return func(o *options) { o.seed = append(o.seed, fn) }
}

// WithClient adds a client to the seeded tenant.
func WithClient(c config.ClientSeed) Option {
	return WithSeed(func(t *config.TenantSeed) { t.Clients = append(t.Clients, c) })
}

// WithConfig changes the configuration before start (after the listener's URL and the database are set).
func WithConfig(fn func(c *config.Config)) Option {
	return func(o *options) { o.config = append(o.config, fn) }
}

// WithClock makes the server read time from now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithCacheTTL sets how long the server's caches of clients, revocations and signing keys believe an entry:
// a cluster test sets it far beyond its waits, so only invalidation messages can explain what it sees.
func WithCacheTTL(d time.Duration) Option { return func(o *options) { o.cacheTTL = d } }

// WithLogLevel sets the level of the server log written to t.Log (default slog.LevelWarn).
func WithLogLevel(l slog.Level) Option { return func(o *options) { o.logLevel = l } }

// WithLogWriter sends the server log to w as JSON lines (the format umm serve writes by default) instead
// of t.Log, at the level set by WithLogLevel; tests use it to inspect what the server logs.
func WithLogWriter(w io.Writer) Option { return func(o *options) { o.logTo = w } }

// Seed returns the tenant seed New applies (before options change it).
func Seed() config.TenantSeed {
	return config.TenantSeed{
		ID:   TenantID,
		Name: "Test Tenant",
		Clients: []config.ClientSeed{
			{
				ClientID: ConfidentialClientID, ClientSecret: ConfidentialClientSecret, Name: "Web App",
				RedirectURIs: []string{RedirectURI}, PostLogoutRedirectURIs: []string{PostLogoutRedirectURI},
				GrantTypes:              []string{"authorization_code", "refresh_token", "client_credentials"},
				TokenEndpointAuthMethod: "client_secret_basic",
			},
			{
				ClientID: PublicClientID, Name: "Single-Page App",
				RedirectURIs: []string{RedirectURI}, PostLogoutRedirectURIs: []string{PostLogoutRedirectURI},
				GrantTypes:              []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"},
				TokenEndpointAuthMethod: "none",
			},
			{
				ClientID: FirstPartyClientID, ClientSecret: FirstPartyClientSecret, Name: "First-Party App",
				RedirectURIs: []string{RedirectURI}, PostLogoutRedirectURIs: []string{PostLogoutRedirectURI},
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true,
			},
		},
		Users: []config.UserSeed{{
			Email: UserEmail, Password: UserPassword, GivenName: "Alice", FamilyName: "Example", EmailVerified: true,
		}},
		// Tests sign in from many fresh browsers: without this every one after the first would email a
		// "New sign-in" notice, and tests count the email they cause. The notice's own test turns it on.
		Login: &config.Login{NewDeviceEmail: new(false)},
	}
}

// Config returns the configuration New starts with for a listener at publicURL and a database URL:
// defaults, a master key file in dir, cheap password hashing and the seed.
func Config(publicURL, databaseURL, dir string) config.Config {
	cfg := config.Default()
	cfg.Server.Addr = strings.TrimPrefix(publicURL, "http://")
	cfg.Server.PublicURL = publicURL
	cfg.Server.ShutdownTimeout = config.Duration(5 * time.Second)
	cfg.Database.URL = databaseURL
	cfg.Secrets.MasterKeyFile = filepath.Join(dir, "master.key")
	cfg.Email.DevDir = filepath.Join(dir, "mail")
	cfg.SMS.DevDir = filepath.Join(dir, "sms")
	// Fast hashes: tests sign in many times; the parameters themselves are tested in identity.
	cfg.Security.Argon2MemoryKiB, cfg.Security.Argon2Iterations = 8*1024, 1
	cfg.Tenants = []config.TenantSeed{Seed()}
	cfg.Server.MetricsToken = MetricsToken
	return cfg
}

// New starts a server for t and stops it when t ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := options{backend: "sqlite", logLevel: slog.LevelWarn, user: config.UserSeed{Email: UserEmail, Password: UserPassword}}
	for _, opt := range opts {
		opt(&o)
	}
	var dbURL string
	if o.peer != nil {
		o.backend, dbURL = o.peer.Backend, o.peer.Config.Database.URL
	} else {
		dbURL = storetest.URL(t, o.backend)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("servertest: listen: %v", err)
	}
	publicURL := "http://" + ln.Addr().String()
	cfg := Config(publicURL, dbURL, t.TempDir())
	if o.peer != nil {
		cfg.Server.PublicURL = o.peer.Config.Server.PublicURL
		cfg.Secrets.MasterKeyFile = o.peer.Config.Secrets.MasterKeyFile
	}
	seed := &cfg.Tenants[0]
	seed.Users[0].Email, seed.Users[0].Password = o.user.Email, o.user.Password
	for _, fn := range o.seed {
		fn(seed)
	}
	for _, fn := range o.config {
		fn(&cfg)
	}

	tw := &testWriter{t: t}
	t.Cleanup(tw.stop) // runs after the server has stopped (cleanups run last-registered first)
	log := slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: o.logLevel}))
	if o.logTo != nil {
		log = slog.New(slog.NewJSONHandler(o.logTo, &slog.HandlerOptions{Level: o.logLevel}))
	}
	var sopts []server.Option
	if o.clock != nil {
		sopts = append(sopts, server.WithClock(o.clock))
	}
	if o.cacheTTL > 0 {
		sopts = append(sopts, server.WithCacheTTL(o.cacheTTL))
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, log, sopts...)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("servertest: server.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("servertest: serve: %v", err)
		}
		srv.Close()
	})

	s := &Server{
		Server: srv, URL: publicURL, Tenant: cfg.Tenants[0].ID, Backend: o.backend, Config: cfg, DB: srv.DB,
		Confidential: Client{ID: ConfidentialClientID, Secret: ConfidentialClientSecret, RedirectURI: RedirectURI},
		Public:       Client{ID: PublicClientID, RedirectURI: RedirectURI},
		FirstParty:   Client{ID: FirstPartyClientID, Secret: FirstPartyClientSecret, RedirectURI: RedirectURI},
	}
	s.Issuer = publicURL + "/t/" + s.Tenant
	if len(seed.Users) > 0 {
		u, err := srv.Admin.FindUser(ctx, s.Tenant, seed.Users[0].Email)
		if err != nil {
			t.Fatalf("servertest: seeded user: %v", err)
		}
		s.User = User{ID: u.ID, Email: seed.Users[0].Email, Password: seed.Users[0].Password}
	}
	return s
}

// MetricsToken is the server.metrics_token of every test server: /metrics answers only requests bearing it.
const MetricsToken = "servertest-metrics-token"

// Metrics returns the body of GET /metrics (with the metrics token), failing t unless it answers 200.
func (s *Server) Metrics(t testing.TB) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+MetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d:\n%s", resp.StatusCode, body)
	}
	return string(body)
}

// TenantURL returns the absolute URL of a path under the seeded tenant ("/authorize" -> Issuer+"/authorize").
func (s *Server) TenantURL(path string) string { return s.Issuer + path }

// RandomString returns n random bytes in base64url (a state, nonce or PKCE verifier).
func RandomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// testWriter sends the server log to t.Log, one record per call, and drops it once the test is over.
type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

var _ io.Writer = (*testWriter)(nil)
