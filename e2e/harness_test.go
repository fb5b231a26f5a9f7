package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store/storetest"
)

// Seed values shared by every test. The YAML written by writeConfig uses them.
const (
	aliceEmail    = "alice@example.com"
	alicePassword = "Correct-Horse-9"
	bobEmail      = "bob@example.com"
	bobPassword   = "Battery-Staple-4"
	webSecret     = "web-secret-0123456789abcdef"
	thirdSecret   = "thirdparty-secret-0123456789"
	otherSecret   = "other-secret-0123456789abcdef"
)

var (
	ummBin   string // the server binary built by TestMain
	buildErr error  // why it could not be built; every test that needs a server fails with it
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "umm-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	ummBin = filepath.Join(dir, "umm")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	out, err := exec.CommandContext(ctx, "go", "build", "-o", ummBin, "github.com/umm-project/umm/cmd/umm").CombinedOutput()
	cancel()
	if err != nil {
		buildErr = fmt.Errorf("go build ./cmd/umm: %v\n%s", err, out)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one umm process on loopback, with the relying party (rp) whose redirect URIs it trusts.
type server struct {
	t       *testing.T
	URL     string // http://127.0.0.1:port, also the public URL
	Backend string
	RP      *rp
	dbURL   string
	cfgPath string
	// masterKeyFile is shared by the nodes of one deployment; publicURL is set for a peer node only.
	masterKeyFile, publicURL string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when the current process has exited
	exit   error         // its exit status
	logs   *logBuffer
}

// startServer starts umm on backend ("sqlite" or "postgres") with the standard seed and waits for /readyz.
// The process gets SIGTERM when the test ends, and the test fails if it did not exit cleanly or logged a panic.
func startServer(t *testing.T, backend string) *server {
	t.Helper()
	s := newServer(t, backend)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// newServer writes the configuration of a server on backend without starting it.
func newServer(t *testing.T, backend string) *server {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	s := &server{t: t, Backend: backend, RP: newRP(t), logs: &logBuffer{}}
	port := freePort(t)
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.dbURL = storetest.URL(t, backend)
	s.masterKeyFile = filepath.Join(t.TempDir(), "secrets", "master.key")
	s.writeConfig(port)
	return s
}

// peer returns a second node of the same deployment: same database, master key, seed and public URL
// (so the same issuer), listening on its own port. It is not started.
func (s *server) peer() *server {
	t := s.t
	t.Helper()
	p := &server{t: t, Backend: s.Backend, RP: s.RP, logs: &logBuffer{}, dbURL: s.dbURL, masterKeyFile: s.masterKeyFile, publicURL: s.URL}
	port := freePort(t)
	p.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	p.writeConfig(port)
	return p
}

func (s *server) writeConfig(port int) {
	t := s.t
	t.Helper()
	s.cfgPath = filepath.Join(t.TempDir(), "umm.yaml")
	public := s.publicURL
	if public == "" {
		public = s.URL
	}
	if err := os.WriteFile(s.cfgPath, []byte(s.config(port, public)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.stop()
		logs := s.logs.String()
		if strings.Contains(logs, "panic:") || strings.Contains(logs, "DATA RACE") {
			t.Errorf("the server on %s logged a panic or race:\n%s", s.URL, tail(logs, 16<<10))
		} else if t.Failed() {
			t.Logf("log of the server on %s (tail):\n%s", s.URL, tail(logs, 8<<10))
		}
	})
}

// config is the YAML configuration: low argon2 cost, high per-IP limits, and the seed tenants acme (web,
// native, thirdparty; alice), other (otherweb; bob) and short (web with a one-second code lifetime; alice).
func (s *server) config(port int, publicURL string) string {
	return fmt.Sprintf(`server:
  addr: 127.0.0.1:%[1]d
  public_url: %[12]s
  shutdown_timeout: 10s
database:
  url: %[2]q
secrets:
  master_key_file: %[3]q
log:
  level: warn
  format: text
security:
  argon2_memory_kib: 8192
  argon2_iterations: 1
  ip_limit_per_minute: 100000
  account_lockout_threshold: 1000
  device_lockout_threshold: 1000
  account_hard_lock_threshold: 100000
  pending_login_requests_per_ip: 100000
  pending_device_codes_per_ip: 100000
  pending_device_codes_per_client: 100000
tenants:
  - id: acme
    name: Acme
    clients:
      - client_id: web
        client_secret: %[5]q
        name: Acme Web
        redirect_uris: [%[4]s/cb]
        post_logout_redirect_uris: [%[4]s/bye]
        grant_types: [authorization_code, refresh_token, client_credentials, "urn:ietf:params:oauth:grant-type:device_code"]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email, offline_access, "api:read"]
        first_party: true
      - client_id: native
        name: Acme Native
        redirect_uris: ["http://127.0.0.1/cb"]
        grant_types: [authorization_code, refresh_token]
        token_endpoint_auth_method: none
        scopes: [openid, profile, email, offline_access]
        first_party: true
      - client_id: thirdparty
        client_secret: %[6]q
        name: Third Party App
        redirect_uris: [%[4]s/cb]
        grant_types: [authorization_code, refresh_token]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email, offline_access]
        first_party: false
    users:
      - email: %[8]s
        password: %[9]q
        given_name: Alice
        family_name: Example
        email_verified: true
        roles: [admin]
  - id: other
    name: Other
    clients:
      - client_id: otherweb
        client_secret: %[7]q
        name: Other Web
        redirect_uris: [%[4]s/cb]
        post_logout_redirect_uris: [%[4]s/bye]
        grant_types: [authorization_code, refresh_token, client_credentials]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email, offline_access]
        first_party: true
    users:
      - email: %[10]s
        password: %[11]q
        email_verified: true
  - id: short
    name: Short Codes
    settings:
      code_ttl: 1s
    clients:
      - client_id: web
        client_secret: %[5]q
        name: Short Web
        redirect_uris: [%[4]s/cb]
        grant_types: [authorization_code, refresh_token]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile, email, offline_access]
        first_party: true
    users:
      - email: %[8]s
        password: %[9]q
        email_verified: true
`, port, s.dbURL, s.masterKeyFile, s.RP.URL, webSecret, thirdSecret, otherSecret, aliceEmail, alicePassword, bobEmail, bobPassword, publicURL)
}

// Issuer is the OIDC issuer of tenant.
func (s *server) Issuer(tenant string) string { return s.URL + "/t/" + tenant }

// start runs the binary on the config file and waits until /readyz answers 200.
func (s *server) start() error {
	cmd := exec.Command(ummBin, "serve", "--config", s.cfgPath)
	// A server without a relay writes email and texts beside its master key, not into the working directory.
	keyDir := filepath.Dir(s.masterKeyFile)
	cmd.Env = append(serverEnv(), "UMM_EMAIL_DEV_DIR="+filepath.Join(keyDir, "mail"), "UMM_SMS_DEV_DIR="+filepath.Join(keyDir, "sms"))
	cmd.Stdout = s.logs
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start umm: %w", err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.exit = err
		s.mu.Unlock()
		close(exited)
	}()

	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("umm on %s exited before it was ready (%v):\n%s", s.URL, s.exitErr(), tail(s.logs.String(), 8<<10))
		default:
		}
		resp, err := c.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("umm on %s was not ready within 90s (last: %v):\n%s", s.URL, errOrStatus(resp, err), tail(s.logs.String(), 8<<10))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serverEnv is the test's environment without UMM_* variables (they would override the config file),
// except those that belong to the test suite itself.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "UMM_") && !strings.HasPrefix(kv, "UMM_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (s *server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exit
}

// stop sends SIGTERM and waits for a clean exit (the test fails if the exit status is not 0 or the
// process needs SIGKILL). It does nothing when the process has already exited.
func (s *server) stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if err := s.exitErr(); err != nil {
			s.t.Errorf("umm did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		s.t.Errorf("umm did not exit within 30s of SIGTERM")
	}
}

// kill ends the process with SIGKILL, as a crash would, and waits for it to go.
func (s *server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		s.t.Fatalf("umm did not die within 30s of SIGKILL")
	}
}

// restart starts a new process on the same configuration and database.
func (s *server) restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// logBuffer collects the server's output; safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func errOrStatus(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	if resp == nil {
		return "no response"
	}
	return resp.Status
}

// rp is the relying party's callback server: it records what arrives at /cb (query or form_post) and /bye
// and lets a test wait for the callback carrying a given state.
type rp struct {
	URL string
	srv *httptest.Server

	mu      sync.Mutex
	waiters map[string]chan url.Values // key: path + "?" + state
}

func newRP(t *testing.T) *rp {
	r := &rp{waiters: map[string]chan url.Values{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := req.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		vals := url.Values{}
		for k, v := range req.Form {
			vals[k] = v
		}
		vals.Set("method", req.Method)
		select {
		case r.ch(req.URL.Path, vals.Get("state")) <- vals:
		default: // nobody waits for this many: drop it rather than block the RP
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>RP</title><p id=rp-done>RP got %s</p>", req.URL.Path)
	}))
	t.Cleanup(r.srv.Close)
	r.URL = r.srv.URL
	return r
}

func (r *rp) ch(path, state string) chan url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := path + "?" + state
	c, ok := r.waiters[k]
	if !ok {
		c = make(chan url.Values, 4)
		r.waiters[k] = c
	}
	return c
}

// wait returns the parameters of the request that reached path with state, or fails after timeout.
func (r *rp) wait(t *testing.T, path, state string, timeout time.Duration) url.Values {
	t.Helper()
	v, err := r.waitErr(path, state, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (r *rp) waitErr(path, state string, timeout time.Duration) (url.Values, error) {
	select {
	case v := <-r.ch(path, state):
		return v, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("the RP got no request at %s with state %q within %s", path, state, timeout)
	}
}

// httpClient is a plain client with a bounded timeout, for protocol calls.
func httpClient() *http.Client { return &http.Client{Timeout: 20 * time.Second} }

// testCtx returns a context bounded by d, cancelled when the test ends.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// inCI reports whether we run under CI, where tests that cannot run must fail instead of skipping.
func inCI() bool { return os.Getenv("CI") != "" }
