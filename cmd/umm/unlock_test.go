package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server"
)

func TestUsersUnlockLiftsTheHardLock(t *testing.T) {
	cfgPath := writeConfig(t, "  account_lockout_threshold: 2\n  device_lockout_threshold: 2\n"+
		"  account_hard_lock_threshold: 4\n  account_attack_threshold: 3\n")
	run := func(t *testing.T, stdin string, args ...string) result {
		t.Helper()
		return umm(t, stdin, nil, append(args, "--config", cfgPath)...)
	}
	if r := run(t, "", "tenants", "create", "--id", "acme"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	if r := run(t, "a-strong-password-1\n", "users", "create", "--tenant", "acme", "--email", "ada@example.com"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	ctx := context.Background()
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := server.OpenServices(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	u, err := svc.Admin.FindUser(ctx, "acme", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 { // four IPs, one failure each: the account-wide lock
		_, _ = svc.Identity.Authenticate(ctx, "acme", "ada@example.com", "wrong", fmt.Sprintf("192.0.2.%d", i+1))
	}
	if locked, err := svc.Identity.HardLocked(ctx, "acme", u.ID); err != nil || !locked {
		t.Fatalf("not hard-locked (%v), so the test proves nothing", err)
	}
	r := run(t, "", "users", "unlock", "--tenant", "acme", "--email", "ada@example.com")
	if r.code != exitOK || !strings.Contains(r.stdout, "unlocked user ada@example.com") {
		t.Fatalf("users unlock: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if locked, err := svc.Identity.HardLocked(ctx, "acme", u.ID); err != nil || locked {
		t.Fatalf("still locked after users unlock (%v)", err)
	}
	if _, err := svc.Identity.Authenticate(ctx, "acme", "ada@example.com", "a-strong-password-1", "192.0.2.9"); err != nil {
		t.Fatalf("sign-in after unlock: %v", err)
	}
	if r := run(t, "", "users", "unlock", "--tenant", "acme", "--email", "nobody@example.com"); r.code != exitRuntime {
		t.Fatalf("unlocking an unknown user: exit %d", r.code)
	}
	t.Run("set-password lifts it too", func(t *testing.T) {
		for i := range 4 {
			_, _ = svc.Identity.Authenticate(ctx, "acme", "ada@example.com", "wrong", fmt.Sprintf("198.51.100.%d", i+1))
		}
		if locked, _ := svc.Identity.HardLocked(ctx, "acme", u.ID); !locked {
			t.Fatal("not hard-locked, so the test proves nothing")
		}
		if r := run(t, "another-password-22\n", "users", "set-password", "--tenant", "acme", "--id", u.ID); r.code != exitOK {
			t.Fatal(r.stderr)
		}
		if locked, _ := svc.Identity.HardLocked(ctx, "acme", u.ID); locked {
			t.Fatal("still locked after set-password")
		}
	})
}
