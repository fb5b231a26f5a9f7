package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server"
)

// cliProcessArgs names the environment variable that turns the test binary into the umm command (its value:
// the arguments, separated by newlines), so a test can run umm as a separate process.
const cliProcessArgs = "UMMTEST_CLI_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(cliProcessArgs); args != "" {
		os.Exit(run(context.Background(), strings.Split(args, "\n"),
			&env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: nil}))
	}
	os.Exit(m.Run())
}

// ummProcess runs umm with args in a separate process and returns its output.
func ummProcess(t *testing.T, args ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), cliProcessArgs+"="+strings.Join(args, "\n"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("umm %s (separate process): %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// propagationBound is how soon a running SQLite server must act on a change another process committed. The
// server caches for an hour, so only the change notice can explain it.
const propagationBound = time.Second

// TestCLIChangesReachARunningSQLiteServer runs a server on a SQLite file and changes clients and keys with
// umm commands run as separate processes: the server acts on each change at once.
func TestCLIChangesReachARunningSQLiteServer(t *testing.T) {
	cfgPath := writeConfig(t, "")
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg.Server.PublicURL = base
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, nil, server.WithCacheTTL(time.Hour))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})

	ummProcess(t, "tenants", "create", "--id", "acme", "--config", cfgPath)
	secretRe := regexp.MustCompile(`client_secret: (\S+)`)
	create := func(id string) string {
		out := ummProcess(t, "clients", "create", "--tenant", "acme", "--id", id, "--grant-type", "client_credentials", "--config", cfgPath)
		m := secretRe.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no secret in:\n%s", out)
		}
		return m[1]
	}
	rsSecret := create("rs")
	svcSecret := create("svc")
	post := func(path, id, secret string, form url.Values) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, base+"/t/acme"+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	within := func(what string, cond func() bool) {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > propagationBound {
				t.Fatalf("%s: not seen by the server within %s", what, propagationBound)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s: seen by the server after %s", what, time.Since(start).Round(time.Millisecond))
	}

	status, tr := post("/token", "svc", svcSecret, cc)
	if status != http.StatusOK {
		t.Fatalf("token = %d %v", status, tr)
	}
	at, _ := tr["access_token"].(string)
	// Only the client a token was issued to may see it active (RFC 7662 §4).
	if _, m := post("/introspect", "svc", svcSecret, url.Values{"token": {at}}); m["active"] != true {
		t.Fatalf("a fresh token introspects %v", m) // the server now caches the client and "not revoked"
	}

	ummProcess(t, "clients", "delete", "--tenant", "acme", "--id", "svc", "--config", cfgPath)
	within("a client deleted by the CLI", func() bool {
		introspect, _ := post("/introspect", "svc", svcSecret, url.Values{"token": {at}})
		status, _ := post("/token", "svc", svcSecret, cc)
		return introspect == http.StatusUnauthorized && status == http.StatusUnauthorized
	})

	out := ummProcess(t, "clients", "rotate-secret", "--tenant", "acme", "--id", "rs", "--config", cfgPath)
	newSecret := secretRe.FindStringSubmatch(out)[1]
	within("a client secret rotated by the CLI", func() bool {
		s1, _ := post("/token", "rs", newSecret, cc)
		s2, _ := post("/token", "rs", rsSecret, cc)
		return s1 == http.StatusOK && s2 == http.StatusUnauthorized
	})

	jwks := func() string {
		resp, err := http.Get(base + "/t/acme/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	kid := regexp.MustCompile(`(?m)^(\S+)\s+ES256\s+current`).FindStringSubmatch(ummProcess(t, "keys", "list", "--tenant", "acme", "--config", cfgPath))[1]
	if !strings.Contains(jwks(), kid) {
		t.Fatalf("the JWKS does not list the current key %s", kid)
	}
	ummProcess(t, "keys", "revoke", "--tenant", "acme", "--kid", kid, "--config", cfgPath)
	within("a key revoked by the CLI", func() bool { return !strings.Contains(jwks(), kid) })
}
