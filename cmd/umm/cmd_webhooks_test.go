package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	sdkwebhook "github.com/umm-project/umm/sdk/go/webhook"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/server"
)

var (
	webhookIDRE     = regexp.MustCompile(`created webhook (wh_\S+) `)
	webhookSecretRE = regexp.MustCompile(`(?m)^secret: (whsec_\S+)$`)
	deliveryRowRE   = regexp.MustCompile(`(?m)^(\d+)\s`)
)

// TestWebhooksCommands manages a subscription from the command line: create prints its secret once,
// list shows it without the secret, a delivery made by a dispatcher on the same database shows in
// deliveries, redeliver makes it due again, rotate-secret prints a new secret, update changes fields,
// and mistakes are explained with the field or the command that shows what exists.
func TestWebhooksCommands(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	status := http.StatusInternalServerError
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		code := status
		mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(rcv.Close)

	t.Run("a private target is refused unless allowed", func(t *testing.T) {
		cfgPath := writeConfig(t, "")
		if r := umm(t, "", nil, "tenants", "create", "--id", "acme", "--config", cfgPath); r.code != exitOK {
			t.Fatal(r.stderr)
		}
		r := umm(t, "", nil, "webhooks", "create", "--tenant", "acme", "--url", rcv.URL, "--config", cfgPath)
		if r.code != exitRuntime || !strings.Contains(r.stderr, "url: ") || strings.Contains(r.stdout, "whsec_") {
			t.Fatalf("create to %s: %d %s %s", rcv.URL, r.code, r.stdout, r.stderr)
		}
	})

	cfgPath := writeConfig(t, "webhooks:\n  allow_private_targets: true\n")
	run := func(t *testing.T, args ...string) result {
		t.Helper()
		return umm(t, "", nil, append(args, "--config", cfgPath)...)
	}
	if r := run(t, "tenants", "create", "--id", "acme"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	if r := run(t, "webhooks", "create", "--tenant", "acme", "--url", rcv.URL, "--event-type", "user.created,user.nonsense"); r.code != exitRuntime ||
		!strings.Contains(r.stderr, "event_types[1]") {
		t.Fatalf("an unknown event type: %d %s", r.code, r.stderr)
	}
	r := run(t, "webhooks", "create", "--tenant", "acme", "--url", rcv.URL, "--event-type", "user.created", "--description", "CRM sync")
	idm, sm := webhookIDRE.FindStringSubmatch(r.stdout), webhookSecretRE.FindStringSubmatch(r.stdout)
	if r.code != exitOK || idm == nil || sm == nil || !strings.Contains(r.stderr, "not shown again") {
		t.Fatalf("create: %d %s %s", r.code, r.stdout, r.stderr)
	}
	id, secret := idm[1], sm[1]

	r = run(t, "webhooks", "list", "--tenant", "acme")
	if r.code != exitOK || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, rcv.URL) || !strings.Contains(r.stdout, "user.created") ||
		!strings.Contains(r.stdout, "CRM sync") || strings.Contains(r.stdout, secret) {
		t.Fatalf("list: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "webhooks", "list", "--tenant", "nope"); r.code != exitRuntime || !strings.Contains(r.stderr, "tenant nope does not exist") {
		t.Errorf("list of an unknown tenant: %d %s", r.code, r.stderr)
	}

	if r := run(t, "users", "create", "--tenant", "acme", "--email", "bob@example.com", "--no-password"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	// The server's dispatcher delivers; here one runs on the same database, a step at a time.
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
	d := events.NewWebhookDispatcher(svc.DB, nil, notify.NewWebhookPoster(cfg.Webhooks), func(tenantID, webhookID string, sealed []byte) ([]byte, error) {
		return svc.Keyring.Open(sealed, keys.WebhookSecretAAD(tenantID, webhookID))
	})
	if n, err := d.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("dispatcher: %d deliveries, %v", n, err)
	}
	r = run(t, "webhooks", "deliveries", "--tenant", "acme", "--id", id)
	row := deliveryRowRE.FindStringSubmatch(r.stdout)
	if r.code != exitOK || row == nil || !strings.Contains(r.stdout, "user.created") || !strings.Contains(r.stdout, "failed") ||
		!strings.Contains(r.stdout, " 500 ") {
		t.Fatalf("deliveries: %d %s %s", r.code, r.stdout, r.stderr)
	}

	mu.Lock()
	status = http.StatusNoContent
	mu.Unlock()
	if r := run(t, "webhooks", "redeliver", "--tenant", "acme", "--id", id, "--delivery", row[1]); r.code != exitOK || !strings.Contains(r.stdout, "due again now") {
		t.Fatalf("redeliver: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if n, err := d.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("dispatcher after redeliver: %d deliveries, %v", n, err)
	}
	if r := run(t, "webhooks", "deliveries", "--tenant", "acme", "--id", id); !strings.Contains(r.stdout, "succeeded") || !strings.Contains(r.stdout, " 204 ") {
		t.Fatalf("deliveries after redeliver: %d %s", r.code, r.stdout)
	}
	mu.Lock()
	if len(got) != 2 || got[0].Header.Get("webhook-id") != got[1].Header.Get("webhook-id") {
		t.Errorf("%d requests received, want the delivery and its redelivery with one webhook-id", len(got))
	}
	v, err := sdkwebhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if err := v.Verify(got[i].Header, bodies[i]); err != nil {
			t.Errorf("request %d does not verify under the printed secret: %v", i+1, err)
		}
	}
	mu.Unlock()
	if r := run(t, "webhooks", "redeliver", "--tenant", "acme", "--id", id, "--delivery", "999999"); r.code != exitRuntime ||
		!strings.Contains(r.stderr, "has no delivery 999999") {
		t.Errorf("redeliver an unknown delivery: %d %s", r.code, r.stderr)
	}

	r = run(t, "webhooks", "rotate-secret", "--tenant", "acme", "--id", id)
	if nm := webhookSecretRE.FindStringSubmatch(r.stdout); r.code != exitOK || nm == nil || nm[1] == secret || !strings.Contains(r.stdout, "24h") {
		t.Fatalf("rotate-secret: %d %s %s", r.code, r.stdout, r.stderr)
	}

	if r := run(t, "webhooks", "update", "--tenant", "acme", "--id", id); r.code != exitUsage {
		t.Errorf("update without a field: %d %s", r.code, r.stderr)
	}
	if r := run(t, "webhooks", "update", "--tenant", "acme", "--id", id, "--enabled=false", "--event-type", ""); r.code != exitOK ||
		!strings.Contains(r.stdout, "every event") || !strings.Contains(r.stdout, "disabled") {
		t.Fatalf("update: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "webhooks", "update", "--tenant", "acme", "--id", id, "--url", "ftp://x.example"); r.code != exitRuntime || !strings.Contains(r.stderr, "url: ") {
		t.Errorf("update to a bad URL: %d %s", r.code, r.stderr)
	}

	if r := run(t, "webhooks", "delete", "--tenant", "acme", "--id", id); r.code != exitOK {
		t.Fatalf("delete: %d %s", r.code, r.stderr)
	}
	if r := run(t, "webhooks", "delete", "--tenant", "acme", "--id", id); r.code != exitRuntime ||
		!strings.Contains(r.stderr, "tenant acme has no webhook "+id) {
		t.Errorf("delete again: %d %s", r.code, r.stderr)
	}
}
