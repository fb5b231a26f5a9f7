package main

import (
	"context"
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/server"
)

func TestUsersMFAListAndReset(t *testing.T) {
	cfgPath := writeConfig(t, "")
	run := func(t *testing.T, args ...string) result {
		t.Helper()
		return umm(t, "", nil, append(args, "--config", cfgPath)...)
	}
	if r := run(t, "tenants", "create", "--id", "acme"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	if r := run(t, "users", "create", "--tenant", "acme", "--email", "ada@example.com", "--no-password"); r.code != exitOK {
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
	tn, err := svc.Admin.GetTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.Admin.FindUser(ctx, "acme", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	en, err := svc.Identity.BeginTOTP(ctx, tn, u)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Identity.ConfirmTOTP(ctx, "acme", u.ID, en.FactorID, identity.TOTPCode(seed, time.Now()), "Pixel"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Identity.GenerateRecoveryCodes(ctx, "acme", u.ID); err != nil {
		t.Fatal(err)
	}

	r := run(t, "users", "mfa", "list", "--tenant", "acme", "--email", "ada@example.com")
	if r.code != exitOK {
		t.Fatalf("users mfa list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"ID", "KIND", "LAST USED", en.FactorID, "totp", "Pixel", "recovery codes left: 10 of 10"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("users mfa list lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, en.Secret) {
		t.Error("users mfa list shows the seed")
	}

	r = run(t, "users", "mfa", "reset", "--tenant", "acme", "--id", u.ID)
	if r.code != exitOK || !strings.Contains(r.stdout, "factors removed: 1") {
		t.Fatalf("users mfa reset: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "users", "mfa", "list", "--tenant", "acme", "--email", "ada@example.com")
	if r.code != exitOK || strings.Contains(r.stdout, en.FactorID) || !strings.Contains(r.stdout, "recovery codes left: 0 of 0") {
		t.Errorf("after the reset: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	evs, err := svc.DB.ListEvents(ctx, "acme", 0, events.TypeMFAReset, 10)
	if err != nil || len(evs) != 1 || evs[0].Actor != actorCLI {
		t.Errorf("mfa.reset events %+v, %v", evs, err)
	}

	if r := run(t, "users", "mfa", "reset", "--tenant", "acme", "--email", "nobody@example.com"); r.code != exitRuntime {
		t.Errorf("resetting an unknown user: exit %d", r.code)
	}
	if r := run(t, "users", "mfa", "list", "--tenant", "acme"); r.code != exitUsage {
		t.Errorf("without --email or --id: exit %d", r.code)
	}
	if r := umm(t, "", nil, "help", "users", "mfa", "reset"); r.code != exitOK || !strings.Contains(r.stdout, "Usage: umm users mfa reset") {
		t.Errorf("help users mfa reset: exit %d\n%s", r.code, r.stdout)
	}
}
