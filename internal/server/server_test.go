package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestHealthReadinessAndMetrics(t *testing.T) {
	srv := servertest.New(t)
	b := srv.NewBrowser(t)
	tests := []struct {
		name, path string
		status     int
		contains   []string
	}{
		{"healthz answers while the process is up", "/healthz", 200, []string{`"ok"`}},
		{"readyz answers when the database is migrated", "/readyz", 200, []string{`"ready"`}},
		{"metrics without the token is not found", "/metrics", 404, nil},
		{"static assets are served", "/static/umm.css", 200, nil},
		{"an unknown path is not found", "/nope", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.Get(srv.URL + tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("GET %s = %d, want %d:\n%s", tt.path, resp.StatusCode, tt.status, body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s does not contain %q", tt.path, s)
				}
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("GET %s lacks the security headers: %v", tt.path, resp.Header)
			}
		})
	}
	t.Run("metrics with the token has UMM's, Go's and the process's collectors", func(t *testing.T) {
		body := srv.Metrics(t)
		for _, s := range []string{"umm_http_requests_total", "go_goroutines", "process_cpu_seconds_total"} {
			if !strings.Contains(body, s) {
				t.Errorf("/metrics does not contain %q", s)
			}
		}
	})
	t.Run("metrics count requests by route pattern", func(t *testing.T) {
		if body := srv.Metrics(t); !strings.Contains(body, `route="GET /healthz"`) {
			t.Fatalf("no healthz series in:\n%s", body)
		}
	})
}

func TestReadyzFailsWithoutTheDatabase(t *testing.T) {
	cfg := servertest.Config("http://127.0.0.1:1", storetest.URL(t, "sqlite"), t.TempDir())
	srv, err := server.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz = %d, want 503", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "sql") {
		t.Errorf("readyz shows the internal error: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("healthz = %d, want 200 (the process is up)", rec.Code)
	}
}

func TestSeedAcrossStarts(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			srv := servertest.New(t, servertest.WithBackend(backend))
			restart := func(t *testing.T, cfg config.Config) *server.Server {
				t.Helper()
				again, err := server.New(ctx, cfg, nil)
				if err != nil {
					t.Fatalf("second start: %v", err)
				}
				t.Cleanup(func() { again.Close() })
				return again
			}
			signIn := func(t *testing.T, s *server.Server, password string) bool {
				t.Helper()
				_, err := s.Identity.Authenticate(ctx, srv.Tenant, srv.User.Email, password, "192.0.2.10")
				return err == nil
			}
			count := func(t *testing.T, db *store.DB, typ string) int {
				t.Helper()
				evs, err := db.ListEvents(ctx, srv.Tenant, 0, typ, 1000)
				if err != nil {
					t.Fatal(err)
				}
				return len(evs)
			}

			if err := srv.Admin.SetPassword(ctx, srv.Tenant, srv.User.ID, "changed-by-the-user-1", "test"); err != nil {
				t.Fatal(err)
			}
			t.Run("a second start creates no duplicates and keeps a password changed since", func(t *testing.T) {
				again := restart(t, srv.Config)
				if applied := again.Seed().Applied; len(applied) != 0 {
					t.Fatalf("the unchanged seed applied %v", applied)
				}
				users, _ := again.Admin.ListUsers(ctx, srv.Tenant, "", 100)
				clients, _ := again.Admin.ListClients(ctx, srv.Tenant)
				tenants, _ := again.Admin.ListTenants(ctx)
				// The tenants are the seeded one and the operator tenant of the management API.
				if len(users) != 1 || len(clients) != 3 || len(tenants) != 2 {
					t.Fatalf("%d users, %d clients, %d tenants; want 1, 3, 2", len(users), len(clients), len(tenants))
				}
				if n := count(t, again.DB, "user.created"); n != 1 {
					t.Fatalf("%d user.created events, want 1", n)
				}
				if !signIn(t, again, "changed-by-the-user-1") || signIn(t, again, srv.User.Password) {
					t.Fatal("the seed reset the password changed since")
				}
			})
			t.Run("a start with a changed seed password applies it", func(t *testing.T) {
				cfg := srv.Config
				cfg.Tenants = []config.TenantSeed{servertest.Seed()}
				cfg.Tenants[0].Users[0].Password = "new-seed-password-2"
				again := restart(t, cfg)
				if applied := again.Seed().Applied; len(applied) != 1 || !strings.HasPrefix(applied[0], "user ") {
					t.Fatalf("applied %v, want only the user", applied)
				}
				if !signIn(t, again, "new-seed-password-2") {
					t.Fatal("the changed seed password was not applied")
				}
				if n := count(t, again.DB, "password.changed"); n != 2 {
					t.Fatalf("%d password.changed events, want 2 (the admin change and the seed change)", n)
				}
			})
		})
	}
}

func TestInvalidConfigStopsTheStart(t *testing.T) {
	cfg := servertest.Config("http://127.0.0.1:1", storetest.URL(t, "sqlite"), t.TempDir())
	cfg.Server.PublicURL = "ftp://id.example.com"
	cfg.Tenants[0].Clients[0].RedirectURIs = []string{"https://a/cb#frag"}
	_, err := server.New(context.Background(), cfg, nil)
	if err == nil {
		t.Fatal("server.New accepted an invalid configuration")
	}
	for _, key := range []string{"server.public_url", "tenants[0].clients[0].redirect_uris[0]"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}

func TestDirectSignInThroughTheHostedPages(t *testing.T) {
	srv := servertest.New(t)
	b := srv.NewBrowser(t)
	form, _, body := b.GetForm(srv.TenantURL("/login"))
	if servertest.ParseCSRF(body) == "" || form.Values.Get("csrf_token") == "" {
		t.Fatalf("the login form has no CSRF token:\n%s", body)
	}
	t.Run("a wrong password shows the form again", func(t *testing.T) {
		resp, body := b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {"wrong-password-123"}})
		if resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusFound {
			t.Fatalf("a wrong password redirected to %s", resp.Header.Get("Location"))
		}
		if servertest.ParseCSRF(body) == "" {
			t.Fatalf("status %d without the form:\n%s", resp.StatusCode, body)
		}
	})
	t.Run("the right password leads to the account page", func(t *testing.T) {
		resp, _ := b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
		loc := servertest.Location(t, resp)
		if !strings.HasSuffix(loc.Path, "/account") {
			t.Fatalf("redirected to %s, want the account page", loc)
		}
		resp, _ = b.Follow(resp)
		if loc := servertest.Location(t, resp); !strings.HasSuffix(loc.Path, "/account/profile") {
			t.Fatalf("the account page sent the browser to %s, want its profile section", loc)
		}
		resp, body := b.Follow(resp)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, srv.User.Email) {
			t.Fatalf("account page = %d:\n%s", resp.StatusCode, body)
		}
	})
}

func TestGarbageCollectionDeletesExpiredFlowState(t *testing.T) {
	ctx := context.Background()
	cfg := servertest.Config("http://127.0.0.1:1", storetest.URL(t, "sqlite"), t.TempDir())
	srv, err := server.New(ctx, cfg, nil, server.WithGCInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	now := time.Now()
	for id, expires := range map[string]time.Time{"old": now.Add(-time.Minute), "live": now.Add(time.Hour)} {
		err := srv.DB.CreateLoginRequest(ctx, store.LoginRequest{TenantID: servertest.TenantID, ID: id, Kind: store.LoginKindAuthorize,
			ClientID: servertest.ConfidentialClientID, ExpiresAt: expires})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.DB.UseClientAssertion(ctx, servertest.TenantID, servertest.ConfidentialClientID, "jti-1", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(runCtx, ln) }()
	// Wait for the first and the last table of a pass: cancelling in between would cut the pass short.
	deadline := time.Now().Add(10 * time.Second)
	loginRequestGone := false
	for {
		if !loginRequestGone {
			_, err := srv.DB.GetLoginRequest(ctx, servertest.TenantID, "old")
			loginRequestGone = errors.Is(err, store.ErrNotFound)
		}
		// The assertion id is forgotten once the same jti can be recorded again (its exp protects it).
		assertionErr := errors.New("not tried")
		if loginRequestGone {
			assertionErr = srv.DB.UseClientAssertion(ctx, servertest.TenantID, servertest.ConfidentialClientID, "jti-1", now.Add(time.Minute))
			if assertionErr == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired flow state is still there: login request gone %v, assertion id: %v", loginRequestGone, assertionErr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := srv.DB.GetLoginRequest(ctx, servertest.TenantID, "live"); err != nil {
		t.Fatalf("the live login request was deleted: %v", err)
	}
}

func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	ctx := context.Background()
	cfg := servertest.Config("http://127.0.0.1:1", storetest.URL(t, "sqlite"), t.TempDir())
	srv, err := server.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(runCtx, ln) }()

	// A token request whose body arrives slowly: the handler is running, reading it, when shutdown starts.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "grant_type=client_credentials&client_id=nobody&client_secret=wrong-secret"
	head := "POST /t/" + servertest.TenantID + "/token HTTP/1.1\r\nHost: " + ln.Addr().String() +
		"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := io.WriteString(conn, head+body[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want the token endpoint's answer (401 or 400)", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the last request finished")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("the listener still accepts connections after shutdown")
	}
}
