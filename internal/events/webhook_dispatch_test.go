package events_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// receiver is a webhook endpoint on httptest that checks every request with the Standard Webhooks
// algorithm, written here apart from the signer: HMAC-SHA256 of "id.timestamp.body" under each key.
type receiver struct {
	*httptest.Server
	keys   [][]byte
	answer func(n int) int // the status of the n-th request (1-based)

	mu   sync.Mutex
	got  []received
	hold chan struct{} // when set, requests wait on it
}

type received struct {
	id, ts, sigs string
	body         []byte
	verified     []bool // per key of receiver.keys: one of the signatures is its HMAC
}

func newReceiver(t *testing.T, answer func(n int) int, keys ...[]byte) *receiver {
	r := &receiver{keys: keys, answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rc := received{id: req.Header.Get("webhook-id"), ts: req.Header.Get("webhook-timestamp"),
			sigs: req.Header.Get("webhook-signature"), body: body}
		for _, k := range r.keys {
			mac := hmac.New(sha256.New, k)
			mac.Write([]byte(rc.id + "." + rc.ts + "."))
			mac.Write(body)
			want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
			ok := false
			for _, s := range strings.Split(rc.sigs, " ") {
				ok = ok || hmac.Equal([]byte(s), []byte(want))
			}
			rc.verified = append(rc.verified, ok)
		}
		r.mu.Lock()
		r.got = append(r.got, rc)
		n := len(r.got)
		r.mu.Unlock()
		w.WriteHeader(r.answer(n))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func always(status int) func(int) int { return func(int) int { return status } }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// plainSecrets stands for the keyring in these tests: the "sealed" secret is the key itself.
func plainSecrets(_, _ string, sealed []byte) ([]byte, error) { return sealed, nil }

// runDispatcher runs a dispatcher on db until the test ends, polling often and retrying at once.
func runDispatcher(t *testing.T, db *store.DB, allowPrivate bool, edit func(*events.WebhookDispatcher)) *events.WebhookDispatcher {
	t.Helper()
	poster := notify.NewWebhookPoster(config.Webhooks{AllowPrivateTargets: allowPrivate, Timeout: config.Duration(2 * time.Second)})
	d := events.NewWebhookDispatcher(db, nil, poster, plainSecrets)
	d.Poll, d.Retries, d.Lease = 50*time.Millisecond, []time.Duration{20 * time.Millisecond}, 10*time.Second
	if edit != nil {
		edit(d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

func subscribe(t *testing.T, db *store.DB, tid, url string, key []byte, types ...string) store.Webhook {
	t.Helper()
	w := store.Webhook{TenantID: tid, ID: "wh-" + strconv.FormatInt(time.Now().UnixNano(), 36), URL: url, EventTypes: types,
		Enabled: true, Secret: key, CreatedAt: time.Now()}
	must(t, db.InsertWebhook(context.Background(), w))
	return w
}

func deliveries(t *testing.T, db *store.DB, w store.Webhook) []store.WebhookDelivery {
	t.Helper()
	ds, err := db.ListWebhookDeliveries(context.Background(), w.TenantID, w.ID, 0, 100)
	must(t, err)
	return ds
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestWebhookDeliversSignedEventsSoonAfterTheirCommit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		rcv := newReceiver(t, always(http.StatusNoContent), testKey)
		w := subscribe(t, db, tid, rcv.URL, testKey, events.TypeUserCreated)
		runDispatcher(t, db, true, nil)

		must(t, db.AppendEvent(ctx, events.UserDeleted(tid, "u0", "cli"))) // not subscribed
		ev := events.UserCreated(tid, "u1", "cli")
		ev.ClientID, ev.IP = "web", "203.0.113.9"
		must(t, db.AppendEvent(ctx, ev))
		took := eventually(t, "the first attempt", 2*time.Second, func() bool { return len(rcv.requests()) > 0 })
		t.Logf("delivered %s after the commit", took)

		r := rcv.requests()[0]
		if !r.verified[0] {
			t.Errorf("the signature %q does not verify", r.sigs)
		}
		if ts, _ := strconv.ParseInt(r.ts, 10, 64); time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("webhook-timestamp = %s", r.ts)
		}
		var p struct {
			Type      string         `json:"type"`
			Timestamp string         `json:"timestamp"`
			Data      map[string]any `json:"data"`
		}
		must(t, json.Unmarshal(r.body, &p))
		if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil || p.Type != "user.created" {
			t.Errorf("payload = %s", r.body)
		}
		if p.Data["subject"] != "u1" || p.Data["actor"] != "cli" || p.Data["client_id"] != "web" || p.Data["tenant_id"] != tid || p.Data["id"] == nil {
			t.Errorf("payload data = %v", p.Data)
		}
		if strings.Contains(string(r.body), "203.0.113.9") {
			t.Errorf("the payload carries the IP address: %s", r.body)
		}
		eventually(t, "the delivery recorded as succeeded", 2*time.Second, func() bool {
			ds := deliveries(t, db, w)
			return len(ds) == 1 && ds[0].Status == store.DeliverySucceeded && ds[0].LastStatusCode == http.StatusNoContent
		})
		if ds := deliveries(t, db, w); r.id != events.WebhookMessageID(ds[0].ID) {
			t.Errorf("webhook-id = %q, want %q", r.id, events.WebhookMessageID(ds[0].ID))
		}
	})
}

func TestWebhookRetriesAFailedDeliveryWithTheSameID(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		rcv := newReceiver(t, func(n int) int {
			if n == 1 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}, testKey)
		w := subscribe(t, db, tid, rcv.URL, testKey)
		runDispatcher(t, db, true, nil)
		must(t, db.AppendEvent(ctx, events.UserCreated(tid, "u1", "cli")))
		eventually(t, "the retry", 5*time.Second, func() bool { return len(rcv.requests()) >= 2 })
		got := rcv.requests()
		if got[0].id != got[1].id || !got[1].verified[0] {
			t.Errorf("retry: ids %q and %q, verified %v", got[0].id, got[1].id, got[1].verified)
		}
		eventually(t, "the delivery recorded as succeeded at its second attempt", 2*time.Second, func() bool {
			ds := deliveries(t, db, w)
			return len(ds) == 1 && ds[0].Status == store.DeliverySucceeded && ds[0].Attempts == 2
		})
	})
}

func TestWebhookSignsWithBothSecretsDuringARotation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		newKey := []byte("fedcba9876543210fedcba9876543210")
		rcv := newReceiver(t, always(http.StatusOK), testKey, newKey)
		w := subscribe(t, db, tid, rcv.URL, testKey)
		must(t, db.RotateWebhookSecret(ctx, tid, w.ID, newKey, time.Now().Add(24*time.Hour), time.Now()))
		runDispatcher(t, db, true, nil)
		must(t, db.AppendEvent(ctx, events.UserCreated(tid, "u1", "cli")))
		eventually(t, "the delivery", 2*time.Second, func() bool { return len(rcv.requests()) > 0 })
		r := rcv.requests()[0]
		if len(strings.Fields(r.sigs)) != 2 || !r.verified[0] || !r.verified[1] {
			t.Errorf("webhook-signature %q: verified under the old and the new secret: %v", r.sigs, r.verified)
		}
	})
}

func TestWebhookRefusesPrivateTargetsWithoutTheFlag(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		rcv := newReceiver(t, always(http.StatusOK), testKey)
		// http is allowed only with the flag: the receiver is served over TLS to reach the address check.
		tls := httptest.NewTLSServer(rcv.Config.Handler)
		t.Cleanup(tls.Close)
		w := subscribe(t, db, tid, tls.URL, testKey)
		runDispatcher(t, db, false, nil)
		must(t, db.AppendEvent(ctx, events.UserCreated(tid, "u1", "cli")))
		eventually(t, "the refused attempt recorded", 2*time.Second, func() bool {
			ds := deliveries(t, db, w)
			return len(ds) == 1 && ds[0].Attempts >= 1 && strings.Contains(ds[0].LastError, "non-public")
		})
		if n := len(rcv.requests()); n != 0 {
			t.Errorf("the private receiver got %d requests", n)
		}
	})
}

func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		target := newReceiver(t, always(http.StatusOK), testKey)
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusFound)
		}))
		t.Cleanup(redirect.Close)
		w := subscribe(t, db, tid, redirect.URL, testKey)
		runDispatcher(t, db, true, func(d *events.WebhookDispatcher) { d.Retries = []time.Duration{time.Hour} })
		must(t, db.AppendEvent(ctx, events.UserCreated(tid, "u1", "cli")))
		eventually(t, "the failed attempt recorded", 2*time.Second, func() bool {
			ds := deliveries(t, db, w)
			return len(ds) == 1 && ds[0].Status == store.DeliveryFailed && ds[0].LastStatusCode == http.StatusFound
		})
		if n := len(target.requests()); n != 0 {
			t.Errorf("the redirect was followed: %d requests", n)
		}
	})
}

func TestWebhookDisablesASubscriptionWhoseDeliveriesKeepFailing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		rcv := newReceiver(t, always(http.StatusInternalServerError), testKey)
		w := subscribe(t, db, tid, rcv.URL, testKey)
		// A retry period of zero gives up at the first failure, as three days of failures would.
		runDispatcher(t, db, true, func(d *events.WebhookDispatcher) { d.RetryFor = 0 })
		must(t, db.AppendEvent(ctx, events.UserCreated(tid, "u1", "cli")))
		eventually(t, "the subscription disabled", 3*time.Second, func() bool {
			got, err := db.GetWebhook(ctx, tid, w.ID)
			return err == nil && !got.Enabled
		})
		got, _ := db.GetWebhook(ctx, tid, w.ID)
		if !strings.Contains(got.DisabledReason, "status 500") {
			t.Errorf("disabled_reason = %q", got.DisabledReason)
		}
		es := outcomes(t, db, tid, events.TypeWebhookDisabled)
		if len(es) != 1 || es[0].Subject != w.ID || es[0].Actor != events.ActorSystem {
			t.Errorf("webhook.disabled events = %+v", es)
		}
		if ds := deliveries(t, db, w); len(ds) != 1 || ds[0].Status != store.DeliveryGaveUp {
			t.Errorf("deliveries = %+v", ds)
		}
	})
}

func TestWebhookRedeliversOnRequest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		rcv := newReceiver(t, always(http.StatusOK), testKey)
		w := subscribe(t, db, tid, rcv.URL, testKey)
		d := runDispatcher(t, db, true, nil)
		must(t, db.AppendEvent(ctx, events.UserCreated(tid, "u1", "cli")))
		eventually(t, "the delivery", 2*time.Second, func() bool {
			ds := deliveries(t, db, w)
			return len(ds) == 1 && ds[0].Status == store.DeliverySucceeded
		})
		ds := deliveries(t, db, w)
		must(t, db.RedeliverWebhookDelivery(ctx, tid, w.ID, ds[0].ID, time.Now()))
		d.Wake()
		eventually(t, "the redelivery", 2*time.Second, func() bool { return len(rcv.requests()) == 2 })
		got := rcv.requests()
		if got[0].id != got[1].id || !got[1].verified[0] {
			t.Errorf("redelivery: ids %q, %q; verified %v", got[0].id, got[1].id, got[1].verified)
		}
	})
}
