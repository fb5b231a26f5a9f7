package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
)

// serveUntilBanner runs umm serve in-process in dir until the start banner is printed, then stops it and
// returns everything written to stderr.
func serveUntilBanner(t *testing.T, dir string, environ []string, args ...string) string {
	t.Helper()
	t.Chdir(dir)
	var errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb, environ: environ})
	}()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(errb.String(), "master key file:") {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before starting:\n%s", code, errb.String())
		case <-deadline:
			t.Fatalf("no start banner within 60s:\n%s", errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited with %d after the signal:\n%s", code, errb.String())
	}
	return errb.String()
}

func TestServeStartsBesideTheKubernetesServiceVariables(t *testing.T) {
	stderr := serveUntilBanner(t, t.TempDir(), []string{
		"UMM_PORT=tcp://10.0.0.1:8080", "UMM_PORT_8080_TCP=tcp://10.0.0.1:8080", "UMM_PORT_8080_TCP_ADDR=10.0.0.1",
		"UMM_SERVICE_HOST=10.0.0.1", "UMM_SERVICE_PORT=8080", "UMM_SERVICE_PORT_HTTP=8080",
		"UMM_SERVER_ADDR=127.0.0.1:0", "UMM_LOG_LEVEL=warn", "UMM_LOG_FORMAT=json",
		"UMM_SERVR_PUBLIC_URL=http://typo.example",
	})
	if strings.Contains(stderr, "UMM_PORT") || strings.Contains(stderr, "UMM_SERVICE") {
		t.Errorf("the Kubernetes service variables were mentioned:\n%s", stderr)
	}
	var warned bool
	for _, line := range strings.Split(stderr, "\n") {
		var rec struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Level == "WARN" &&
			strings.HasPrefix(rec.Msg, "UMM_SERVR_PUBLIC_URL is not a UMM setting") && strings.Contains(rec.Msg, "UMM_SERVER_PUBLIC_URL") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning naming UMM_SERVR_PUBLIC_URL and the closest key UMM_SERVER_PUBLIC_URL:\n%s", stderr)
	}
}

func TestBusyPortIsReportedBeforeAnythingIsCreated(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	dir := t.TempDir()
	t.Chdir(dir)
	r := umm(t, "", []string{"UMM_SERVER_ADDR=" + held.Addr().String()}, "serve")
	if r.code != exitRuntime {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "cannot listen on "+held.Addr().String()+": the port is already in use") ||
		!strings.Contains(r.stderr, "server.addr (UMM_SERVER_ADDR)") {
		t.Errorf("stderr does not explain the busy port:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "UMM is starting") {
		t.Errorf("the banner was printed before the port was found busy:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("data/ exists after a start that could not listen (stat: %v)", err)
	}
}

func TestCommandErrorsAreSentences(t *testing.T) {
	cfg := writeConfig(t, "")
	exec := func(stdin string, args ...string) result {
		return umm(t, stdin, nil, append(args, "--config", cfg)...)
	}
	if r := exec("", "tenants", "create", "--id", "acme"); r.code != exitOK {
		t.Fatalf("tenants create: %s", r.stderr)
	}
	if r := exec("a-strong-password-1\n", "users", "create", "--tenant", "acme", "--email", "ada@example.com"); r.code != exitOK {
		t.Fatalf("users create: %s", r.stderr)
	}
	if r := exec("", "clients", "create", "--tenant", "acme", "--id", "web", "--redirect-uri", "https://app.example.com/cb"); r.code != exitOK {
		t.Fatalf("clients create: %s", r.stderr)
	}
	tests := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"a second user with the same email", "another-password-2\n", []string{"users", "create", "--tenant", "acme", "--email", "ada@example.com"},
			"umm users create: a user with the email ada@example.com already exists in tenant acme\n"},
		{"a second tenant with the same id", "", []string{"tenants", "create", "--id", "acme"},
			"umm tenants create: a tenant with the id acme already exists (umm tenants list shows the tenants)\n"},
		{"a second client with the same id", "", []string{"clients", "create", "--tenant", "acme", "--id", "web", "--redirect-uri", "https://app.example.com/cb"},
			"umm clients create: a client with the id web already exists in tenant acme\n"},
		{"deleting a client that does not exist", "", []string{"clients", "delete", "--tenant", "acme", "--id", "nope"},
			"umm clients delete: tenant acme has no client nope (umm clients list --tenant acme shows them)\n"},
		{"deleting a user that does not exist", "", []string{"users", "delete", "--tenant", "acme", "--email", "nobody@example.com"},
			"umm users delete: tenant acme has no user nobody@example.com (umm users list --tenant acme shows them)\n"},
		{"a tenant that does not exist", "", []string{"clients", "list", "--tenant", "nope"},
			"umm clients list: tenant nope does not exist (umm tenants list shows the tenants)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is told in one sentence", func(t *testing.T) {
			r := exec(tt.stdin, tt.args...)
			if r.code != exitRuntime {
				t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
			}
			if !strings.HasSuffix(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to end with %q", r.stderr, tt.want)
			}
			for _, internal := range []string{"constraint", "UNIQUE", "conflict", "not found", "(2067)", "(1555)"} {
				if strings.Contains(r.stderr, internal) {
					t.Errorf("stderr shows internal text %q:\n%s", internal, r.stderr)
				}
			}
		})
	}
}

func TestConfigurationMistakesAreExplained(t *testing.T) {
	t.Run("a tab in the file is named with its line", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "umm.yaml")
		if err := os.WriteFile(path, []byte("server:\n\taddr: localhost:9000\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := umm(t, "", nil, "migrate", "--config", path)
		if r.code != exitRuntime || !strings.Contains(r.stderr, "line 2 is indented with a tab") {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("a bad value from the environment names the variable", func(t *testing.T) {
		r := umm(t, "", []string{"UMM_LOG_FORMAT=pretty"}, "migrate", "--config", writeConfig(t, ""))
		if r.code != exitRuntime || !strings.Contains(r.stderr, `log.format (UMM_LOG_FORMAT): "pretty" must be auto, json or text`) {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
	})
}

func TestLogFormat(t *testing.T) {
	terminal := false
	orig := isTerminal
	isTerminal = func(io.Writer) bool { return terminal }
	t.Cleanup(func() { isTerminal = orig })
	if got := config.Default().Log.Format; got != "auto" {
		t.Fatalf("default log.format = %q, want auto", got)
	}
	tests := []struct {
		name     string
		format   string
		terminal bool
		json     bool
	}{
		{"auto writes JSON when stderr is not a terminal", "auto", false, true},
		{"auto writes text on a terminal", "auto", true, false},
		{"json is JSON on a terminal too", "json", true, true},
		{"text is text when piped too", "text", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			terminal = tt.terminal
			var buf bytes.Buffer
			newLogger(config.Log{Level: "info", Format: tt.format}, &buf, slog.LevelDebug).Info("hello", "tenant", "acme")
			line := strings.TrimSpace(buf.String())
			var rec map[string]any
			isJSON := json.Unmarshal([]byte(line), &rec) == nil
			if isJSON != tt.json {
				t.Fatalf("line %q: JSON = %v, want %v", line, isJSON, tt.json)
			}
			if !tt.json && (!strings.Contains(line, "msg=hello") || !strings.Contains(line, "tenant=acme")) {
				t.Errorf("text line %q lacks msg=hello tenant=acme", line)
			}
		})
	}
}
