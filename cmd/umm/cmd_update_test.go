package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestUpdateAndDeleteCommands(t *testing.T) {
	cfg := writeConfig(t, "")
	ok := func(t *testing.T, stdin string, args ...string) result {
		t.Helper()
		r := umm(t, stdin, nil, append(args, "--config", cfg)...)
		if r.code != exitOK {
			t.Fatalf("umm %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	fails := func(t *testing.T, code int, want string, args ...string) {
		t.Helper()
		r := umm(t, "", nil, append(args, "--config", cfg)...)
		if r.code != code || !strings.Contains(r.stderr, want) {
			t.Fatalf("umm %s: exit %d, want %d with %q; stderr:\n%s", strings.Join(args, " "), r.code, code, want, r.stderr)
		}
	}
	secretOf := func(t *testing.T, stdout string) string {
		t.Helper()
		m := regexp.MustCompile(`client_secret: ([A-Za-z0-9_-]{43})\n`).FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("no 256-bit secret in:\n%s", stdout)
		}
		return m[1]
	}
	ok(t, "", "tenants", "create", "--id", "acme")
	first := secretOf(t, ok(t, "", "clients", "create", "--tenant", "acme", "--id", "web", "--redirect-uri", "https://app.example.com/cb").stdout)

	t.Run("clients update changes only the fields given", func(t *testing.T) {
		ok(t, "", "clients", "update", "--tenant", "acme", "--id", "web", "--name", "Web Shop",
			"--redirect-uri", "https://app.example.com/cb,https://app.example.com/cb2")
		list := ok(t, "", "clients", "list", "--tenant", "acme").stdout
		if !strings.Contains(list, "Web Shop") || !strings.Contains(list, "https://app.example.com/cb2") ||
			!strings.Contains(list, "client_secret_basic") {
			t.Fatalf("clients list after the update:\n%s", list)
		}
		fails(t, exitRuntime, "redirect_uris", "clients", "update", "--tenant", "acme", "--id", "web", "--redirect-uri", "")
		fails(t, exitUsage, "nothing to update", "clients", "update", "--tenant", "acme", "--id", "web")
		fails(t, exitRuntime, "no client", "clients", "update", "--tenant", "acme", "--id", "nope", "--name", "x")
	})
	t.Run("clients rotate-secret prints a new secret once", func(t *testing.T) {
		r := ok(t, "", "clients", "rotate-secret", "--tenant", "acme", "--id", "web", "--grace", "1h")
		second := secretOf(t, r.stdout)
		if second == first || !strings.Contains(r.stdout, "keeps working for 1h0m0s") {
			t.Fatalf("rotate-secret output:\n%s", r.stdout)
		}
		r = ok(t, "", "clients", "rotate-secret", "--tenant", "acme", "--id", "web")
		if secretOf(t, r.stdout) == second || !strings.Contains(r.stdout, "no longer works") {
			t.Fatalf("rotate-secret without grace:\n%s", r.stdout)
		}
		ok(t, "", "clients", "create", "--tenant", "acme", "--id", "spa", "--public", "--redirect-uri", "http://localhost:3000/cb")
		fails(t, exitRuntime, "no secret to rotate", "clients", "rotate-secret", "--tenant", "acme", "--id", "spa")
	})
	t.Run("users update changes the profile and roles", func(t *testing.T) {
		ok(t, "a-strong-password-1\n", "users", "create", "--tenant", "acme", "--email", "ada@example.com", "--email-verified")
		ok(t, "", "users", "update", "--tenant", "acme", "--email", "ada@example.com", "--new-email", "ada@lovelace.example",
			"--given-name", "Ada", "--role", "admin")
		list := ok(t, "", "users", "list", "--tenant", "acme").stdout
		if !strings.Contains(list, "ada@lovelace.example") || !strings.Contains(list, "admin") || strings.Contains(list, "ada@example.com") {
			t.Fatalf("users list after the update:\n%s", list)
		}
		fails(t, exitRuntime, "email", "users", "update", "--tenant", "acme", "--email", "ada@lovelace.example", "--new-email", "not-an-address")
		fails(t, exitUsage, "nothing to update", "users", "update", "--tenant", "acme", "--email", "ada@lovelace.example")
	})
	t.Run("tenants update changes the name and lifetimes", func(t *testing.T) {
		ok(t, "", "tenants", "update", "--id", "acme", "--name", "Acme Inc", "--access-token-ttl", "15m")
		if list := ok(t, "", "tenants", "list").stdout; !strings.Contains(list, "Acme Inc") {
			t.Fatalf("tenants list:\n%s", list)
		}
		fails(t, exitUsage, "at least 1s", "tenants", "update", "--id", "acme", "--code-ttl", "10ms")
		fails(t, exitRuntime, "does not exist", "tenants", "update", "--id", "nope", "--name", "x")
	})
	t.Run("keys revoke removes a listed key and a new current key takes over", func(t *testing.T) {
		list := ok(t, "", "keys", "list", "--tenant", "acme").stdout
		m := regexp.MustCompile(`(?m)^(\S+)\s+ES256\s+current`).FindStringSubmatch(list)
		if m == nil {
			t.Fatalf("no current ES256 key in:\n%s", list)
		}
		ok(t, "", "keys", "revoke", "--tenant", "acme", "--kid", m[1])
		after := ok(t, "", "keys", "list", "--tenant", "acme").stdout
		if strings.Contains(after, m[1]) || !regexp.MustCompile(`(?m)ES256\s+current`).MatchString(after) {
			t.Fatalf("keys after revoking %s:\n%s", m[1], after)
		}
		fails(t, exitRuntime, "no signing key", "keys", "revoke", "--tenant", "acme", "--kid", m[1])
		fails(t, exitUsage, "--kid is required", "keys", "revoke", "--tenant", "acme")
	})
	t.Run("tenants delete needs --yes and removes everything", func(t *testing.T) {
		fails(t, exitUsage, "--yes", "tenants", "delete", "--id", "acme")
		ok(t, "", "tenants", "delete", "--id", "acme", "--yes")
		if list := ok(t, "", "tenants", "list").stdout; strings.Contains(list, "acme") {
			t.Fatalf("tenants list after the deletion:\n%s", list)
		}
		fails(t, exitRuntime, "does not exist", "tenants", "delete", "--id", "acme", "--yes")
		ok(t, "", "tenants", "create", "--id", "acme")
		if list := ok(t, "", "clients", "list", "--tenant", "acme").stdout; strings.Contains(list, "web") {
			t.Fatalf("the tenant created again has the old clients:\n%s", list)
		}
	})
}

// TestRotateMasterCommand changes the master key of a database through the README's steps.
func TestRotateMasterCommand(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := filepath.Join(dir, "old.key"), filepath.Join(dir, "new.key")
	for path, b := range map[string]byte{oldKey: 1, newKey: 2} {
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := func(master string, previous ...string) string {
		path := filepath.Join(dir, "umm-"+filepath.Base(master)+strconv.Itoa(len(previous))+".yaml")
		yaml := "database:\n  url: sqlite:" + filepath.Join(dir, "umm.db") + "\n" +
			"secrets:\n  master_key_file: " + master + "\n"
		if len(previous) > 0 {
			yaml += "  previous_master_key_files: [" + strings.Join(previous, ", ") + "]\n"
		}
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	run := func(t *testing.T, cfg string, args ...string) result {
		t.Helper()
		return umm(t, "", nil, append(args, "--config", cfg)...)
	}
	before := config(oldKey)
	if r := run(t, before, "tenants", "create", "--id", "acme"); r.code != exitOK {
		t.Fatalf("tenants create: %s", r.stderr)
	}
	r := run(t, before, "clients", "create", "--tenant", "acme", "--id", "svc")
	if r.code != exitOK {
		t.Fatal(r.stderr)
	}
	run(t, before, "keys", "list", "--tenant", "acme") // creates the tenant's signing keys under the old key

	if r := run(t, config(newKey), "keys", "list", "--tenant", "acme"); r.code != exitRuntime ||
		!strings.Contains(r.stderr, "previous_master_key_files") {
		t.Fatalf("the new key alone before the rotation: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, config(newKey, oldKey), "keys", "rotate-master")
	if r.code != exitOK || !strings.Contains(r.stdout, "re-sealed 5 secrets") {
		t.Fatalf("rotate-master: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	after := config(newKey)
	if r := run(t, after, "keys", "rotate", "--tenant", "acme"); r.code != exitOK {
		t.Fatalf("the new key alone after the rotation: %s", r.stderr)
	}
	if r := run(t, before, "keys", "list", "--tenant", "acme"); r.code != exitRuntime {
		t.Fatalf("the old key alone still opens the database after the rotation (exit %d)", r.code)
	}
}
