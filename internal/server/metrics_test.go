package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
)

func getStatus(t *testing.T, url, bearer string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String()
}

func TestMetricsAreNotPublicByDefault(t *testing.T) {
	t.Run("the default configuration serves no /metrics", func(t *testing.T) {
		if c := config.Default(); c.Server.MetricsAddr != "" || c.Server.MetricsToken != "" {
			t.Fatalf("default metrics_addr %q, metrics_token set: %v", c.Server.MetricsAddr, c.Server.MetricsToken != "")
		}
		srv := servertest.New(t, servertest.WithConfig(func(c *config.Config) { c.Server.MetricsToken = "" }))
		if st, _ := getStatus(t, srv.URL+"/metrics", ""); st != http.StatusNotFound {
			t.Fatalf("GET /metrics = %d, want 404", st)
		}
		if st, _ := getStatus(t, srv.URL+"/metrics", servertest.MetricsToken); st != http.StatusNotFound {
			t.Fatalf("GET /metrics with a token nobody configured = %d, want 404", st)
		}
	})
	t.Run("with a token only its bearer gets the metrics", func(t *testing.T) {
		srv := servertest.New(t)
		for _, tok := range []string{"", "wrong-token-wrong-token", servertest.MetricsToken + "x", strings.ToUpper(servertest.MetricsToken)} {
			if st, _ := getStatus(t, srv.URL+"/metrics", tok); st != http.StatusNotFound {
				t.Errorf("token %q: GET /metrics = %d, want 404", tok, st)
			}
		}
		if st, body := getStatus(t, srv.URL+"/metrics", servertest.MetricsToken); st != http.StatusOK || !strings.Contains(body, "go_goroutines") {
			t.Fatalf("with the token: %d", st)
		}
	})
	t.Run("server.metrics_addr serves /metrics on its own listener and not on the public one", func(t *testing.T) {
		srv := servertest.New(t, servertest.WithConfig(func(c *config.Config) {
			c.Server.MetricsToken, c.Server.MetricsAddr = "", "127.0.0.1:0"
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		addr := srv.MetricsAddr(ctx) // bound by Serve, which runs in its own goroutine
		if addr == "" {
			t.Fatal("the metrics listener never bound")
		}
		if st, body := getStatus(t, "http://"+addr+"/metrics", ""); st != http.StatusOK || !strings.Contains(body, "go_goroutines") {
			t.Fatalf("GET metrics_addr/metrics = %d", st)
		}
		if st, _ := getStatus(t, "http://"+addr+"/t/"+srv.Tenant+"/jwks.json", ""); st != http.StatusNotFound {
			t.Fatalf("the metrics listener serves other routes: %d", st)
		}
		if st, _ := getStatus(t, srv.URL+"/metrics", ""); st != http.StatusNotFound {
			t.Fatalf("GET public /metrics = %d, want 404", st)
		}
	})
}
