package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// verifies reports whether one of the signatures in webhook-signature is the Standard Webhooks HMAC of the
// request under secret (whsec_ and base64), computed here apart from the signer.
func verifies(secret string, h http.Header, body []byte) bool {
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

type hook struct {
	header http.Header
	body   []byte
}

// A running server delivers a tenant's events to a subscription made through the management service,
// signed with the secret it returned, and with both secrets after a rotation.
func TestWebhookDeliveryByARunningServer(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []hook
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, hook{r.Header.Clone(), b})
				mu.Unlock()
			}))
			t.Cleanup(rcv.Close)
			received := func() []hook { mu.Lock(); defer mu.Unlock(); return append([]hook(nil), got...) }
			srv := servertest.New(t, servertest.WithBackend(backend),
				servertest.WithConfig(func(c *config.Config) { c.Webhooks.AllowPrivateTargets = true }))
			ctx := context.Background()

			w, secret, err := srv.Admin.CreateWebhook(ctx, srv.Tenant, admin.WebhookInput{URL: rcv.URL,
				EventTypes: []string{"user.created"}}, "cli")
			if err != nil {
				t.Fatal(err)
			}
			u, err := srv.Admin.CreateUser(ctx, srv.Tenant, admin.UserInput{Email: "bob@example.com"}, "cli")
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the user.created webhook", func() bool { return len(received()) == 1 })
			h := received()[0]
			if !verifies(secret, h.header, h.body) {
				t.Errorf("the signature %q does not verify under the secret CreateWebhook returned", h.header.Get("webhook-signature"))
			}
			var p struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(h.body, &p); err != nil || p.Type != "user.created" || p.Data["subject"] != u.ID {
				t.Errorf("payload = %s (%v)", h.body, err)
			}

			rotated, err := srv.Admin.RotateWebhookSecret(ctx, srv.Tenant, w.ID, "cli")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Admin.CreateUser(ctx, srv.Tenant, admin.UserInput{Email: "carol@example.com"}, "cli"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the webhook after the rotation", func() bool { return len(received()) == 2 })
			h = received()[1]
			if len(strings.Fields(h.header.Get("webhook-signature"))) != 2 || !verifies(secret, h.header, h.body) || !verifies(rotated, h.header, h.body) {
				t.Errorf("after a rotation, webhook-signature %q must verify under the old and the new secret", h.header.Get("webhook-signature"))
			}
		})
	}
}

// waitFor polls cond for a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
