package main

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestInvitationCommands(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "umm.yaml")
			yaml := "database:\n  url: " + storetest.URL(t, backend) + "\n" +
				"secrets:\n  master_key_file: " + filepath.Join(dir, "master.key") + "\n" +
				"security:\n  argon2_memory_kib: 8192\n  argon2_iterations: 1\n" +
				"server:\n  public_url: https://id.example.com\n"
			if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			ok := func(t *testing.T, args ...string) string {
				t.Helper()
				r := umm(t, "", nil, append(args, "--config", cfgPath)...)
				if r.code != exitOK {
					t.Fatalf("umm %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
				}
				return r.stdout
			}
			fails := func(t *testing.T, want string, args ...string) {
				t.Helper()
				r := umm(t, "", nil, append(args, "--config", cfgPath)...)
				if r.code != exitRuntime || !strings.Contains(r.stderr, want) {
					t.Fatalf("umm %s: exit %d, want 1 with %q; stderr:\n%s", strings.Join(args, " "), r.code, want, r.stderr)
				}
			}
			ok(t, "tenants", "create", "--id", "acme", "--name", "Acme")
			ok(t, "users", "create", "--tenant", "acme", "--email", "ada@example.com", "--role", "editor", "--no-password")
			ok(t, "clients", "create", "--tenant", "acme", "--id", "web", "--redirect-uri", "https://app.example.com/cb")

			out := ok(t, "invitations", "create", "--tenant", "acme", "--email", "bob@example.com", "--roles", "editor",
				"--client", "web", "--expires", "48h")
			m := regexp.MustCompile(`invited bob@example\.com to tenant acme \(invitation ([A-Za-z0-9]+),`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("create printed:\n%s", out)
			}
			id := m[1]

			t.Run("bad invitations are refused in words", func(t *testing.T) {
				fails(t, "pending invitation already", "invitations", "create", "--tenant", "acme", "--email", "Bob@example.com")
				fails(t, `roles: unknown role "admin"`, "invitations", "create", "--tenant", "acme", "--email", "c@example.com", "--roles", "admin")
				fails(t, "exists already", "invitations", "create", "--tenant", "acme", "--email", "ada@example.com")
				fails(t, `client: unknown client "nope"`, "invitations", "create", "--tenant", "acme", "--email", "c@example.com", "--client", "nope")
				fails(t, "expires: ", "invitations", "create", "--tenant", "acme", "--email", "c@example.com", "--expires", "1000h")
				fails(t, "tenant nope does not exist", "invitations", "create", "--tenant", "nope", "--email", "c@example.com")
				fails(t, "status: ", "invitations", "list", "--tenant", "acme", "--status", "bogus")
				fails(t, "has no invitation nope", "invitations", "revoke", "--tenant", "acme", "--id", "nope")
				if r := umm(t, "", nil, "invitations", "resend", "--tenant", "acme", "--config", cfgPath); r.code != exitUsage {
					t.Fatalf("resend without --id: exit %d", r.code)
				}
			})

			list := ok(t, "invitations", "list", "--tenant", "acme")
			if !regexp.MustCompile(`(?m)^ID\s+EMAIL\s+STATUS\s+EXPIRES`).MatchString(list) ||
				!regexp.MustCompile(`(?m)^`+id+`\s+bob@example\.com\s+pending\s+\d{4}-`).MatchString(list) {
				t.Fatalf("list:\n%s", list)
			}

			ok(t, "invitations", "resend", "--tenant", "acme", "--id", id)
			t.Run("the resent link works and the first one no longer does", func(t *testing.T) {
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
				ms, err := svc.DB.ListOutbox(ctx, "acme")
				if err != nil || len(ms) != 2 {
					t.Fatalf("outbox: %d messages, %v; want 2 invitation emails", len(ms), err)
				}
				var tokens []string
				for _, msg := range ms {
					e, err := events.OpenEmail(svc.Keyring.Open, msg)
					if err != nil || e.To != "bob@example.com" || e.Type != "invitation" {
						t.Fatalf("email %+v, %v", e, err)
					}
					u, _ := url.Parse(e.Vars["link"])
					if u == nil || u.Host != "id.example.com" || u.Path != "/t/acme/invitation" {
						t.Fatalf("link %q", e.Vars["link"])
					}
					tokens = append(tokens, u.Query().Get("token"))
				}
				var le *identity.InvitationLinkError
				if _, err := svc.Identity.OpenInvitation(ctx, "acme", tokens[0]); !errors.As(err, &le) || le.Reason != identity.LinkUnknown {
					t.Fatalf("first link: %v, want unknown", err)
				}
				if inv, err := svc.Identity.OpenInvitation(ctx, "acme", tokens[1]); err != nil || inv.ID != id {
					t.Fatalf("resent link: %+v, %v", inv, err)
				}
			})

			out = ok(t, "invitations", "revoke", "--tenant", "acme", "--id", id)
			if !strings.Contains(out, "revoked invitation "+id) {
				t.Fatalf("revoke printed:\n%s", out)
			}
			if list := ok(t, "invitations", "list", "--tenant", "acme", "--status", "revoked"); !strings.Contains(list, id) {
				t.Fatalf("list --status revoked:\n%s", list)
			}
			if list := ok(t, "invitations", "list", "--tenant", "acme", "--status", "pending"); strings.Contains(list, id) {
				t.Fatalf("list --status pending shows the revoked one:\n%s", list)
			}
			fails(t, "no longer pending", "invitations", "revoke", "--tenant", "acme", "--id", id)
			fails(t, "no longer pending", "invitations", "resend", "--tenant", "acme", "--id", id)
		})
	}
}
