package main

import (
	"context"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store"
)

func TestEventsList(t *testing.T) {
	cfgPath := writeConfig(t, "")
	run := func(t *testing.T, args ...string) result {
		t.Helper()
		return umm(t, "", nil, append(args, "--config", cfgPath)...)
	}
	if r := run(t, "tenants", "create", "--id", "acme"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		if r := run(t, "users", "create", "--tenant", "acme", "--email", email, "--no-password"); r.code != exitOK {
			t.Fatal(r.stderr)
		}
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
	user := func(email string) string {
		u, err := svc.Admin.FindUser(ctx, "acme", email)
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	ada, bob := user("ada@example.com"), user("bob@example.com")
	for _, e := range []store.Event{
		events.RiskAssessed("acme", ada, "203.0.113.7", 55, "medium", events.RiskChallenged, []string{"new_device", "new_country"},
			"new device; new country: DE"),
		events.RiskAssessed("acme", bob, "198.51.100.9", 100, "high", events.RiskDenied, []string{"deny_list"},
			"address on the deny list: 198.51.100.0/24"),
		events.LoginBlocked("acme", bob, "198.51.100.9", 100, "address on the deny list: 198.51.100.0/24"),
		events.LoginFailed("acme", "", "192.0.2.1", events.ReasonUnknownUser),
		events.RiskAssessed("acme", ada, "203.0.113.7", 0, "low", events.RiskAllowed, nil, ""),
	} {
		if err := svc.DB.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	lines := func(t *testing.T, r result) []string {
		t.Helper()
		if r.code != exitOK {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		return strings.Split(strings.TrimSpace(r.stdout), "\n")
	}
	wantLine := func(t *testing.T, line string, parts ...string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(line, p) {
				t.Errorf("line %q lacks %q", line, p)
			}
		}
	}

	t.Run("risk decisions are shown in words", func(t *testing.T) {
		ls := lines(t, run(t, "events", "list", "--tenant", "acme", "--type", "risk.assessed"))
		if len(ls) != 4 {
			t.Fatalf("%d lines, want a header and 3 events:\n%s", len(ls), strings.Join(ls, "\n"))
		}
		wantLine(t, ls[0], "TIME", "TYPE", "USER", "IP", "SCORE", "DECISION", "DETAILS")
		wantLine(t, ls[1], "risk.assessed", "ada@example.com", "203.0.113.7", "55", "challenged", "new device; new country: DE")
		wantLine(t, ls[2], "bob@example.com", "198.51.100.9", "100", "denied", "address on the deny list: 198.51.100.0/24")
		wantLine(t, ls[3], "ada@example.com", " 0 ", "allowed", "nothing unusual")
	})
	t.Run("one user's events, the newest two", func(t *testing.T) {
		ls := lines(t, run(t, "events", "list", "--tenant", "acme", "--user", "bob@example.com", "--limit", "2"))
		if len(ls) != 3 {
			t.Fatalf("%d lines, want a header and 2 events:\n%s", len(ls), strings.Join(ls, "\n"))
		}
		wantLine(t, ls[1], "risk.assessed", "denied")
		wantLine(t, ls[2], "login.blocked", "bob@example.com", "100", "blocked", "deny list")
	})
	t.Run("other events show their data", func(t *testing.T) {
		ls := lines(t, run(t, "events", "list", "--tenant", "acme", "--type", "login.failed"))
		if len(ls) != 2 {
			t.Fatalf("%d lines:\n%s", len(ls), strings.Join(ls, "\n"))
		}
		wantLine(t, ls[1], "login.failed", "192.0.2.1", "reason="+events.ReasonUnknownUser)
	})
	t.Run("nothing matches", func(t *testing.T) {
		if ls := lines(t, run(t, "events", "list", "--tenant", "acme", "--type", "user.deleted")); len(ls) != 1 || ls[0] != "no events" {
			t.Errorf("got %q", ls)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, args := range [][]string{
			{"events", "list"},
			{"events", "list", "--tenant", "acme", "--limit", "0"},
			{"events", "list", "--tenant", "acme", "--limit", "1001"},
			{"events", "list", "--tenant", "acme", "--user", ada},
		} {
			if r := run(t, args...); r.code != exitUsage {
				t.Errorf("%q: exit %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
			}
		}
		for _, args := range [][]string{
			{"events", "list", "--tenant", "nope"},
			{"events", "list", "--tenant", "acme", "--user", "nobody@example.com"},
		} {
			if r := run(t, args...); r.code != exitRuntime {
				t.Errorf("%q: exit %d, want %d\n%s", args, r.code, exitRuntime, r.stderr)
			}
		}
	})
	if r := umm(t, "", nil, "help", "events", "list"); r.code != exitOK || !strings.Contains(r.stdout, "Usage: umm events list") {
		t.Errorf("help events list: exit %d\n%s", r.code, r.stdout)
	}
}
