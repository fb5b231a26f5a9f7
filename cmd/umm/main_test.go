package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// syncBuffer is a bytes.Buffer safe for a server goroutine writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

// umm runs a command line in-process with stdin and the given environment.
func umm(t *testing.T, stdin string, environ []string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	code := run(context.Background(), args, &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, environ: environ})
	return result{code, out.String(), errb.String()}
}

// writeConfig writes a configuration using SQLite and a master key file in a temporary directory.
func writeConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "umm.yaml")
	yaml := "database:\n  url: sqlite:" + filepath.Join(dir, "umm.db") + "\n" +
		"secrets:\n  master_key_file: " + filepath.Join(dir, "master.key") + "\n" +
		"security:\n  argon2_memory_kib: 8192\n  argon2_iterations: 1\n" + extra
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command prints the usage", nil, "Usage: umm <command>"},
		{"an unknown command is named", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"a group without a subcommand says so", []string{"users"}, "missing or unknown subcommand"},
		{"an unknown subcommand says so", []string{"users", "frob"}, "missing or unknown subcommand"},
		{"an unknown flag is refused", []string{"tenants", "list", "--nope"}, "flag provided but not defined: -nope"},
		{"a password on the command line is refused", []string{"users", "create", "--tenant", "t", "--email", "a@b.c", "--password", "x"},
			"flag provided but not defined: -password"},
		{"a missing required flag is named", []string{"users", "create", "--tenant", "t"}, "--email is required"},
		{"a stray argument is refused", []string{"tenants", "list", "extra"}, `unexpected argument "extra"`},
		{"--id and --email together are refused", []string{"users", "disable", "--tenant", "t", "--id", "x", "--email", "a@b.c",
			"--config", "@CONFIG@"}, "not both"},
		{"--public conflicts with another auth method", []string{"clients", "create", "--tenant", "t", "--id", "x", "--public",
			"--auth-method", "client_secret_post"}, "--public conflicts"},
	}
	cfg := writeConfig(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, a := range tt.args {
				if a == "@CONFIG@" {
					tt.args[i] = cfg
				}
			}
			r := umm(t, "", nil, tt.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("stderr does not contain %q:\n%s", tt.want, r.stderr)
			}
		})
	}
}

func TestHelpAndVersionExit0(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "users", "create"}, {"users", "create", "-h"}, {"version"}} {
		t.Run(strings.Join(args, " ")+" exits 0", func(t *testing.T) {
			r := umm(t, "", nil, args...)
			if r.code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
			}
			if r.stdout+r.stderr == "" {
				t.Fatal("printed nothing")
			}
		})
	}
	if r := umm(t, "", nil, "version"); !strings.HasPrefix(r.stdout, "umm ") {
		t.Fatalf("version printed %q", r.stdout)
	}
}

func TestInvalidConfigurationListsEveryProblem(t *testing.T) {
	cfg := writeConfig(t, "server:\n  bogus: 1\nlog:\n  level: loud\n")
	r := umm(t, "", []string{"UMM_SERVER_MAX_BODY_BYTES=abc", "UMM_NOPE=1"}, "serve", "--config", cfg)
	if r.code != exitRuntime {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	// One run names them all: keys and values that cannot be read, and checks of the values themselves; an
	// unknown variable is listed as a warning beside them.
	for _, want := range []string{"server.bogus: unknown key", "UMM_NOPE is not a UMM setting", "server.max_body_bytes", `log.level: "loud" must be one of`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not name %q:\n%s", want, r.stderr)
		}
	}
	t.Run("a bad value found after decoding is named too", func(t *testing.T) {
		cfg := writeConfig(t, "log:\n  level: loud\n")
		r := umm(t, "", nil, "serve", "--config", cfg)
		if r.code != exitRuntime || !strings.Contains(r.stderr, "log.level") {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("a missing config file is a runtime error naming the file", func(t *testing.T) {
		r := umm(t, "", nil, "tenants", "list", "--config", "/nonexistent/umm.yaml")
		if r.code != exitRuntime || !strings.Contains(r.stderr, "/nonexistent/umm.yaml") {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
	})
}

func TestFirstStartWithoutConfiguration(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			environ: []string{"UMM_SERVER_ADDR=127.0.0.1:0", "UMM_LOG_LEVEL=warn"}})
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(errb.String(), "No users yet") {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before starting:\n%s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no start banner within 60s:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("serve exited with %d after the signal:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of the signal")
	}
	banner := errb.String()

	t.Run("the banner says where everything is, in plain text", func(t *testing.T) {
		for _, want := range []string{
			"issuer:        http://localhost:8080/t/default",
			"http://localhost:8080/t/default/.well-known/openid-configuration",
			"account page:  http://localhost:8080/t/default/account",
			"database:        SQLite (WAL) at " + filepath.Join(dir, "data", "umm.db"),
			"master key file: " + filepath.Join(dir, "data", "master.key"),
			"go run ./cmd/umm users create --tenant default --email you@example.com",
		} {
			if !strings.Contains(banner, want) {
				t.Errorf("banner lacks %q:\n%s", want, banner)
			}
		}
		if strings.Contains(banner, "password:") || regexp.MustCompile(`(?i)default password`).MatchString(banner) {
			t.Errorf("the banner mentions a password:\n%s", banner)
		}
	})
	t.Run("the first start prints the management API's bootstrap credential once", func(t *testing.T) {
		for _, want := range []string{"token endpoint: http://localhost:8080/t/admin/token", "client_id:      bootstrap", "scope:          umm:admin"} {
			if !strings.Contains(banner, want) {
				t.Errorf("banner lacks %q:\n%s", want, banner)
			}
		}
		if !regexp.MustCompile(`client_secret:  [A-Za-z0-9_-]{43}\n`).MatchString(banner) {
			t.Errorf("banner lacks the bootstrap secret:\n%s", banner)
		}
	})
	t.Run("data holds the database and a master key readable by its owner only", func(t *testing.T) {
		fi, err := os.Stat(filepath.Join(dir, "data"))
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("data dir: %v %v, want mode 0700", fi.Mode(), err)
		}
		fi, err = os.Stat(filepath.Join(dir, "data", "master.key"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("master key: %v %v, want mode 0600", fi.Mode(), err)
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "umm.db")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the SQLite database is in WAL mode", func(t *testing.T) {
		// The journal mode is stored in the file: a plain connection, without UMM's pragmas, reports it.
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "data", "umm.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var mode string
		if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
		}
	})
	t.Run("the database has tenant default and no user", func(t *testing.T) {
		db, err := store.Open(context.Background(), "sqlite:data/umm.db")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ts, err := db.ListTenants(context.Background())
		// The operator tenant of the management API is created beside it.
		if err != nil || len(ts) != 2 || ts[0].ID != "admin" || ts[1].ID != "default" {
			t.Fatalf("tenants = %+v, %v", ts, err)
		}
		us, err := db.ListUsers(context.Background(), "default", "", 10)
		if err != nil || len(us) != 0 {
			t.Fatalf("users = %+v, %v", us, err)
		}
	})
	t.Run("a second start finds everything and creates nothing", func(t *testing.T) {
		var errb2 syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"serve"}, &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb2,
				environ: []string{"UMM_SERVER_ADDR=127.0.0.1:0", "UMM_LOG_LEVEL=warn"}})
		}()
		for !strings.Contains(errb2.String(), "master key file:") {
			select {
			case code := <-done:
				t.Fatalf("second serve exited with %d:\n%s", code, errb2.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		cancel()
		if code := <-done; code != exitOK {
			t.Fatalf("exit %d:\n%s", code, errb2.String())
		}
		if strings.Contains(errb2.String(), "just created") {
			t.Fatalf("the second start created a new master key:\n%s", errb2.String())
		}
		if strings.Contains(errb2.String(), "client_secret:") {
			t.Fatalf("the second start printed a bootstrap secret again:\n%s", errb2.String())
		}
	})
}

func TestManagementCommands(t *testing.T) {
	cfg := writeConfig(t, "")
	ok := func(t *testing.T, stdin string, args ...string) result {
		t.Helper()
		r := umm(t, stdin, nil, append(args, "--config", cfg)...)
		if r.code != exitOK {
			t.Fatalf("umm %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	fails := func(t *testing.T, stdin, want string, args ...string) {
		t.Helper()
		r := umm(t, stdin, nil, append(args, "--config", cfg)...)
		if r.code != exitRuntime || !strings.Contains(r.stderr, want) {
			t.Fatalf("umm %s: exit %d, want 1 with %q; stderr:\n%s", strings.Join(args, " "), r.code, want, r.stderr)
		}
	}

	t.Run("tenants are created and listed with their issuers", func(t *testing.T) {
		r := ok(t, "", "tenants", "create", "--id", "acme", "--name", "Acme Inc")
		if !strings.Contains(r.stdout, "issuer: http://localhost:8080/t/acme") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
		fails(t, "", "already exists", "tenants", "create", "--id", "acme")
		fails(t, "", "id: ", "tenants", "create", "--id", "Bad ID")
		r = ok(t, "", "tenants", "list")
		if !strings.Contains(r.stdout, "Acme Inc") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
	})
	t.Run("a confidential client's generated secret is printed once", func(t *testing.T) {
		r := ok(t, "", "clients", "create", "--tenant", "acme", "--id", "web", "--redirect-uri", "https://app.example.com/cb")
		m := regexp.MustCompile(`client_secret: ([A-Za-z0-9_-]{43})\n`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no 256-bit secret in:\n%s", r.stdout)
		}
		list := ok(t, "", "clients", "list", "--tenant", "acme")
		if !strings.Contains(list.stdout, "web") || strings.Contains(list.stdout, m[1]) {
			t.Fatalf("clients list:\n%s", list.stdout)
		}
	})
	t.Run("a public client has no secret", func(t *testing.T) {
		r := ok(t, "", "clients", "create", "--tenant", "acme", "--id", "spa", "--public", "--redirect-uri", "http://localhost:3000/cb")
		if strings.Contains(r.stdout, "client_secret") || !strings.Contains(r.stdout, "none") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
	})
	t.Run("an invalid client says what to fix", func(t *testing.T) {
		fails(t, "", "redirect_uris[0]", "clients", "create", "--tenant", "acme", "--id", "bad", "--redirect-uri", "https://a/cb#x")
		fails(t, "", "does not exist", "clients", "create", "--tenant", "nope", "--id", "x", "--redirect-uri", "https://a/cb")
	})
	t.Run("a client registers its logout URIs", func(t *testing.T) {
		ok(t, "", "clients", "create", "--tenant", "acme", "--id", "slo", "--redirect-uri", "https://app.example.com/cb",
			"--backchannel-logout-uri", "https://app.example.com/bc", "--backchannel-logout-session-required",
			"--frontchannel-logout-uri", "https://app.example.com/fc", "--frontchannel-logout-session-required")
		fails(t, "", "backchannel_logout_uri", "clients", "create", "--tenant", "acme", "--id", "slo2",
			"--redirect-uri", "https://app.example.com/cb", "--backchannel-logout-uri", "http://app.example.com/bc")
		fails(t, "", "frontchannel_logout_uri", "clients", "create", "--tenant", "acme", "--id", "slo3",
			"--redirect-uri", "https://app.example.com/cb", "--frontchannel-logout-uri", "https://app.example.com/fc#x")
	})
	t.Run("a client is deleted", func(t *testing.T) {
		ok(t, "", "clients", "delete", "--tenant", "acme", "--id", "spa")
		fails(t, "", "tenant acme has no client spa", "clients", "delete", "--tenant", "acme", "--id", "spa")
	})
	t.Run("a user is created with the password from standard input", func(t *testing.T) {
		r := ok(t, "a-strong-password-1\n", "users", "create", "--tenant", "acme", "--email", "ada@example.com", "--role", "admin,support")
		if !strings.Contains(r.stdout, "created user ada@example.com") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, "a-strong-password-1") {
			t.Fatal("the password was echoed")
		}
		list := ok(t, "", "users", "list", "--tenant", "acme")
		if !strings.Contains(list.stdout, "ada@example.com") || !strings.Contains(list.stdout, "admin,support") {
			t.Fatalf("users list:\n%s", list.stdout)
		}
		fails(t, "", "no password on standard input", "users", "create", "--tenant", "acme", "--email", "bob@example.com")
		fails(t, "short\n", "password", "users", "create", "--tenant", "acme", "--email", "bob@example.com")
		fails(t, "Password123!\n", "password: This password is too common", "users", "create", "--tenant", "acme", "--email", "bob@example.com")
		fails(t, "another-password-2\n", "already exists", "users", "create", "--tenant", "acme", "--email", "ADA@example.com")
	})
	t.Run("set-password, disable, enable and delete find the user by email", func(t *testing.T) {
		if r := ok(t, "a-new-password-22\n", "users", "set-password", "--tenant", "acme", "--email", "ada@example.com"); !strings.Contains(r.stdout, "sessions and grants have ended") {
			t.Fatalf("set-password does not say the user's sessions ended:\n%s", r.stdout)
		}
		ok(t, "", "users", "disable", "--tenant", "acme", "--email", "ada@example.com")
		list := ok(t, "", "users", "list", "--tenant", "acme")
		if !regexp.MustCompile(`ada@example.com.*true\s+\d{4}-`).MatchString(list.stdout) {
			t.Fatalf("the user is not shown disabled:\n%s", list.stdout)
		}
		ok(t, "", "users", "enable", "--tenant", "acme", "--email", "ada@example.com")
		ok(t, "", "users", "delete", "--tenant", "acme", "--email", "ada@example.com")
		fails(t, "", "no user", "users", "delete", "--tenant", "acme", "--email", "ada@example.com")
	})
	t.Run("keys rotate rotates a tenant's keys", func(t *testing.T) {
		ok(t, "", "keys", "rotate", "--tenant", "acme")
		fails(t, "", "does not exist", "keys", "rotate", "--tenant", "nope")
	})
	t.Run("migrate reports the schema version", func(t *testing.T) {
		r := ok(t, "", "migrate")
		if !strings.Contains(r.stdout, "up to date") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
	})
}

func TestSelfCommand(t *testing.T) {
	tests := []struct{ name, arg0, want string }{
		{"go run's temporary binary is shown as go run", "/tmp/go-build2744/b001/exe/umm", "go run ./cmd/umm"},
		{"a built binary is shown as it was run", "bin/umm", "bin/umm"},
		{"a binary on PATH is shown by its name", "umm", "umm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{self: selfCommand(tt.arg0)}
			if got := e.invocation(); got != tt.want {
				t.Fatalf("invocation for %q = %q, want %q", tt.arg0, got, tt.want)
			}
		})
	}
}
