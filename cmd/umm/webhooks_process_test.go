package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestWebhookSurvivesAKilledNode starts umm serve as a child process with a subscription to a receiver
// that hangs, kills the process with SIGKILL while the delivery is in flight, starts it again, and sees
// the delivery arrive, with the same webhook-id and a valid signature: the lease of the dead node runs
// out and the new one delivers it (at least once).
func TestWebhookSurvivesAKilledNode(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			port := freePort(t)
			cfgPath := filepath.Join(dir, "umm.yaml")
			yaml := fmt.Sprintf("server:\n  addr: 127.0.0.1:%d\n  public_url: http://127.0.0.1:%d\n"+
				"database:\n  url: %s\nsecrets:\n  master_key_file: %s\n"+
				"security:\n  argon2_memory_kib: 8192\n  argon2_iterations: 1\n"+
				"webhooks:\n  allow_private_targets: true\n  timeout: 1s\n",
				port, port, storetest.URL(t, backend), filepath.Join(dir, "master.key"))
			if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}

			var mu sync.Mutex
			var got []http.Header
			var bodies [][]byte
			inFlight := make(chan struct{}, 1)
			release := make(chan struct{})
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, r.Header.Clone())
				bodies = append(bodies, b)
				first := len(got) == 1
				mu.Unlock()
				if first {
					inFlight <- struct{}{}
					select { // hang: the node is killed meanwhile
					case <-release:
					case <-r.Context().Done():
					}
				}
			}))
			t.Cleanup(func() { close(release); rcv.Close() })

			first := startServe(t, cfgPath, port)

			cfg, err := config.Load(cfgPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			svc, err := server.OpenServices(ctx, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = svc.Close() })
			_, secret, err := svc.Admin.CreateWebhook(ctx, "default", admin.WebhookInput{URL: rcv.URL,
				EventTypes: []string{"user.created"}}, "cli")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Admin.CreateUser(ctx, "default", admin.UserInput{Email: "bob@example.com"}, "cli"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-inFlight:
			case <-time.After(10 * time.Second):
				t.Fatalf("no delivery within 10s; umm serve said:\n%s", first.out.String())
			}
			if err := first.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no bookkeeping
				t.Fatal(err)
			}
			_ = first.cmd.Wait()

			second := startServe(t, cfgPath, port)
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n >= 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the delivery did not arrive after the restart; umm serve said:\n%s", second.out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if got[0].Get("webhook-id") != got[1].Get("webhook-id") {
				t.Errorf("webhook-id changed across the restart: %q, %q", got[0].Get("webhook-id"), got[1].Get("webhook-id"))
			}
			if !signedBy(secret, got[1], bodies[1]) {
				t.Errorf("the redelivery's signature does not verify")
			}
		})
	}
}

type serveProcess struct {
	cmd *exec.Cmd
	out *syncBuffer
}

// startServe runs umm serve --config cfgPath in a child process and waits until it answers /healthz.
func startServe(t *testing.T, cfgPath string, port int) serveProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), cliProcessArgs+"="+strings.Join([]string{"serve", "--config", cfgPath}, "\n"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return serveProcess{cmd: cmd, out: out}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("umm serve did not answer within 30s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// signedBy checks a request with the Standard Webhooks algorithm under secret (whsec_ and base64).
func signedBy(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}
