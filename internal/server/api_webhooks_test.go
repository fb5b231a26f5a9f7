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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/sdk/go/management"
	sdkwebhook "github.com/umm-project/umm/sdk/go/webhook"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

type webhookResp struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	EventTypes     []string `json:"event_types"`
	Enabled        bool     `json:"enabled"`
	Description    string   `json:"description"`
	DisabledReason string   `json:"disabled_reason"`
	Secret         string   `json:"secret"`
}

type deliveryResp struct {
	ID             string `json:"id"`
	WebhookID      string `json:"webhook_id"`
	MessageID      string `json:"message_id"`
	EventID        string `json:"event_id"`
	EventType      string `json:"event_type"`
	Status         string `json:"status"`
	Attempts       int    `json:"attempts"`
	ResponseStatus int    `json:"response_status"`
	Error          string `json:"error"`
	NextAttemptAt  string `json:"next_attempt_at"`
	DeliveredAt    string `json:"delivered_at"`
}

type deliveriesPage struct {
	Data       []deliveryResp `json:"data"`
	NextCursor string         `json:"next_cursor"`
}

// standardSignatures checks a webhook request as the Standard Webhooks specification describes it, apart
// from UMM's signer and from the SDK: the secret's key is the base64 after whsec_, the signed content is
// "<webhook-id>.<webhook-timestamp>.<body>", and webhook-signature holds space-separated "v1,<base64
// HMAC-SHA256>" values. It returns the index in that list of the signature secret makes, or -1 when none
// matches or the timestamp is more than 5 minutes from now.
func standardSignatures(secret string, h http.Header, body []byte, now time.Time) int {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return -1
	}
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return -1
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id")))
	mac.Write([]byte("."))
	mac.Write([]byte(h.Get("webhook-timestamp")))
	mac.Write([]byte("."))
	mac.Write(body)
	want := mac.Sum(nil)
	for i, sig := range strings.Split(h.Get("webhook-signature"), " ") {
		v, b64, ok := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if ok && v == "v1" && err == nil && hmac.Equal(got, want) {
			return i
		}
	}
	return -1
}

// receiver is a webhook endpoint on httptest: it records every request and answers each with the status
// that answer gives (200 when nil); hold, when set, keeps the request open until it is closed.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []hook
	answer func(n int) int // n: the request's number, from 1
	hold   chan struct{}
	inside chan struct{} // receives when a held request arrived
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	rc := &receiver{answer: answer, inside: make(chan struct{}, 4)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, hook{r.Header.Clone(), b})
		n, answer, hold := len(rc.got), rc.answer, rc.hold
		rc.mu.Unlock()
		if hold != nil {
			rc.inside <- struct{}{}
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
		status := http.StatusOK
		if answer != nil {
			status = answer(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hook(nil), rc.got...)
}

// await polls until the receiver has n requests and returns the n-th.
func (rc *receiver) await(t *testing.T, n int, what string) hook {
	t.Helper()
	waitFor(t, what, func() bool { return len(rc.received()) >= n })
	return rc.received()[n-1]
}

// TestAPIWebhooks subscribes an in-process receiver through the management API, causes an event through
// the API, and checks what arrives with the Go SDK's verifier and with the Standard Webhooks algorithm
// written here: a 500 is retried with the same webhook-id once its retry is due, a redelivery is refused
// while an attempt is in flight, a rotated secret makes deliveries carry both signatures, and the
// delivery log shows every attempt.
func TestAPIWebhooks(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			clock := &settableClock{}
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithClock(clock.Now),
				servertest.WithConfig(func(c *config.Config) { c.Webhooks.AllowPrivateTargets = true }))
			m := operator(t, srv)
			base := "/tenants/" + srv.Tenant + "/webhooks"
			rcv := newReceiver(t, func(n int) int {
				if n == 1 {
					return http.StatusInternalServerError
				}
				return http.StatusNoContent
			})

			created := m.ok(http.StatusCreated, "POST", base, map[string]any{"url": rcv.URL, "event_types": []string{"user.created"},
				"description": "CRM sync"})
			var wh webhookResp
			created.json(t, &wh)
			key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(wh.Secret, "whsec_"))
			if !strings.HasPrefix(wh.Secret, "whsec_") || err != nil || len(key) != 32 {
				t.Fatalf("created webhook's secret %q: want whsec_ and the base64 of 32 bytes", wh.Secret)
			}
			if !strings.HasPrefix(wh.ID, "wh_") || wh.URL != rcv.URL || !wh.Enabled || wh.Description != "CRM sync" ||
				len(wh.EventTypes) != 1 || wh.EventTypes[0] != "user.created" {
				t.Fatalf("created webhook %s", created.body)
			}
			if loc := created.Header.Get("Location"); !strings.HasSuffix(loc, base+"/"+wh.ID) {
				t.Errorf("Location %q", loc)
			}
			one := base + "/" + wh.ID
			got := m.ok(http.StatusOK, "GET", one, nil)
			if etag := got.Header.Get("ETag"); etag == "" || etag != created.Header.Get("ETag") {
				t.Errorf("GET ETag %q, create ETag %q", etag, created.Header.Get("ETag"))
			}
			t.Run("no answer but the creation carries the secret", func(t *testing.T) {
				for _, r := range []apiResp{got, m.ok(http.StatusOK, "GET", base, nil)} {
					if s := string(r.body); strings.Contains(s, `"secret"`) || strings.Contains(s, wh.Secret) {
						t.Errorf("%s %s shows the secret: %s", r.Request.Method, r.Request.URL.Path, s)
					}
				}
			})

			var user struct {
				ID string `json:"id"`
			}
			m.ok(http.StatusCreated, "POST", "/tenants/"+srv.Tenant+"/users", map[string]any{"email": "bob@example.com"}).json(t, &user)

			first := rcv.await(t, 1, "the user.created webhook")
			verifier, err := sdkwebhook.NewVerifier(wh.Secret)
			if err != nil {
				t.Fatal(err)
			}
			verifier = verifier.WithClock(clock.Now)
			t.Run("the delivery verifies with the SDK and with the Standard Webhooks algorithm", func(t *testing.T) {
				if err := verifier.Verify(first.header, first.body); err != nil {
					t.Errorf("SDK verifier: %v", err)
				}
				if standardSignatures(wh.Secret, first.header, first.body, clock.Now()) != 0 {
					t.Errorf("webhook-signature %q does not verify under the secret", first.header.Get("webhook-signature"))
				}
				tampered := append([]byte(nil), first.body...)
				tampered[len(tampered)-2] ^= 1
				if verifier.Verify(first.header, tampered) == nil || standardSignatures(wh.Secret, first.header, tampered, clock.Now()) >= 0 {
					t.Error("a changed body still verifies")
				}
				other, _ := sdkwebhook.NewVerifier("whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
				if other.Verify(first.header, first.body) == nil {
					t.Error("another secret verifies the delivery")
				}
			})
			t.Run("the payload is type, timestamp and the event's data", func(t *testing.T) {
				var p map[string]json.RawMessage
				if err := json.Unmarshal(first.body, &p); err != nil || len(p) != 3 {
					t.Fatalf("payload %s (%v): want type, timestamp and data", first.body, err)
				}
				var typ, ts string
				var data map[string]any
				_ = json.Unmarshal(p["type"], &typ)
				_ = json.Unmarshal(p["timestamp"], &ts)
				_ = json.Unmarshal(p["data"], &data)
				when, err := time.Parse(time.RFC3339, ts)
				if typ != "user.created" || err != nil || when.Location() != time.UTC || clock.Now().Sub(when).Abs() > time.Minute {
					t.Errorf("type %q, timestamp %q (%v)", typ, ts, err)
				}
				actor, _ := data["actor"].(string)
				if data["subject"] != user.ID || data["tenant_id"] != srv.Tenant || !strings.HasPrefix(actor, "client:") {
					t.Errorf("data %v: want the new user as subject, the tenant and the calling client as actor", data)
				}
				if ct := first.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
				}
			})

			deliveries := func(query string) deliveriesPage {
				t.Helper()
				var p deliveriesPage
				m.ok(http.StatusOK, "GET", one+"/deliveries"+query, nil).json(t, &p)
				return p
			}
			var failed deliveryResp
			waitFor(t, "the failed attempt in the delivery log", func() bool {
				p := deliveries("")
				if len(p.Data) == 1 && p.Data[0].Status == "failed" {
					failed = p.Data[0]
					return true
				}
				return false
			})
			if failed.Attempts != 1 || failed.ResponseStatus != 500 || failed.Error == "" || failed.NextAttemptAt == "" ||
				failed.EventType != "user.created" || failed.WebhookID != wh.ID || failed.MessageID != first.header.Get("webhook-id") ||
				failed.DeliveredAt != "" {
				t.Errorf("failed delivery %+v", failed)
			}

			// The first retry is due 5 s after a failure (events.DefaultWebhookRetries): move the server's
			// clock past it rather than wait.
			clock.Advance(6 * time.Second)
			second := rcv.await(t, 2, "the retry")
			if second.header.Get("webhook-id") != first.header.Get("webhook-id") || string(second.body) != string(first.body) {
				t.Errorf("the retry is not the same message: webhook-id %q then %q", first.header.Get("webhook-id"), second.header.Get("webhook-id"))
			}
			if err := verifier.Verify(second.header, second.body); err != nil || standardSignatures(wh.Secret, second.header, second.body, clock.Now()) != 0 {
				t.Errorf("the retry does not verify: %v", err)
			}
			var done deliveryResp
			waitFor(t, "the succeeded retry in the delivery log", func() bool {
				done = deliveries("").Data[0]
				return done.Status == "succeeded"
			})
			if done.ID != failed.ID || done.Attempts != 2 || done.ResponseStatus != http.StatusNoContent || done.Error != "" ||
				done.DeliveredAt == "" || done.NextAttemptAt != "" {
				t.Errorf("succeeded delivery %+v", done)
			}

			t.Run("a redelivery sends the message again, and is refused while it is in flight", func(t *testing.T) {
				release := make(chan struct{})
				rcv.mu.Lock()
				rcv.hold = release
				rcv.mu.Unlock()
				var d deliveryResp
				m.ok(http.StatusAccepted, "POST", one+"/deliveries/"+done.ID+"/redeliver", nil).json(t, &d)
				if d.ID != done.ID || d.WebhookID != wh.ID {
					t.Errorf("redeliver answered %+v", d)
				}
				select {
				case <-rcv.inside:
				case <-time.After(5 * time.Second):
					t.Fatal("the redelivery did not arrive within 5s")
				}
				m.do("POST", one+"/deliveries/"+done.ID+"/redeliver", nil).problem(t, http.StatusConflict)
				rcv.mu.Lock()
				rcv.hold = nil
				rcv.mu.Unlock()
				close(release)
				third := rcv.await(t, 3, "the redelivery")
				if third.header.Get("webhook-id") != first.header.Get("webhook-id") || verifier.Verify(third.header, third.body) != nil {
					t.Errorf("the redelivery is not the same signed message")
				}
				waitFor(t, "the redelivery in the log", func() bool {
					d := deliveries("").Data[0]
					return d.Status == "succeeded" && d.Attempts == done.Attempts+1
				})
				m.do("POST", one+"/deliveries/999999999/redeliver", nil).problem(t, http.StatusNotFound)
				m.do("POST", one+"/deliveries/nope/redeliver", nil).problem(t, http.StatusNotFound)
			})

			t.Run("after a rotation a delivery carries two signatures, one per secret", func(t *testing.T) {
				r := m.ok(http.StatusOK, "POST", one+"/rotate-secret", nil)
				var rotated struct {
					Secret string `json:"secret"`
				}
				r.json(t, &rotated)
				if !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == wh.Secret {
					t.Fatalf("rotate-secret answered %s", r.body)
				}
				if s := string(m.ok(http.StatusOK, "GET", one, nil).body); strings.Contains(s, rotated.Secret) || strings.Contains(s, `"secret"`) {
					t.Errorf("GET after a rotation shows a secret: %s", s)
				}
				n := len(rcv.received())
				m.ok(http.StatusCreated, "POST", "/tenants/"+srv.Tenant+"/users", map[string]any{"email": "carol@example.com"})
				h := rcv.await(t, n+1, "the delivery after the rotation")
				if sigs := strings.Fields(h.header.Get("webhook-signature")); len(sigs) != 2 || sigs[0] == sigs[1] {
					t.Fatalf("webhook-signature %q: want two signatures", h.header.Get("webhook-signature"))
				}
				oldAt, newAt := standardSignatures(wh.Secret, h.header, h.body, clock.Now()), standardSignatures(rotated.Secret, h.header, h.body, clock.Now())
				if oldAt < 0 || newAt < 0 || oldAt == newAt {
					t.Errorf("signatures under the old secret at %d, the new at %d: want one each", oldAt, newAt)
				}
				for _, s := range []string{wh.Secret, rotated.Secret} {
					v, err := sdkwebhook.NewVerifier(s)
					if err != nil {
						t.Fatal(err)
					}
					if err := v.WithClock(clock.Now).Verify(h.header, h.body); err != nil {
						t.Errorf("SDK verifier with one of the secrets: %v", err)
					}
				}
			})

			t.Run("the delivery log pages newest first", func(t *testing.T) {
				var all deliveriesPage
				waitFor(t, "two succeeded deliveries", func() bool {
					all = deliveries("")
					return len(all.Data) == 2 && all.Data[0].Status == "succeeded" && all.Data[1].Status == "succeeded"
				})
				p1 := deliveries("?limit=1")
				if len(p1.Data) != 1 || p1.NextCursor == "" || p1.Data[0].ID != all.Data[0].ID {
					t.Fatalf("first page %+v", p1)
				}
				p2 := deliveries("?limit=1&cursor=" + p1.NextCursor)
				if len(p2.Data) != 1 || p2.Data[0].ID != all.Data[1].ID || p2.NextCursor != "" {
					t.Errorf("second page %+v, want the older delivery and no cursor", p2)
				}
				a, _ := strconv.ParseInt(all.Data[0].ID, 10, 64)
				b, _ := strconv.ParseInt(all.Data[1].ID, 10, 64)
				if a <= b {
					t.Errorf("deliveries %d then %d: want newest first", a, b)
				}
			})

			t.Run("PATCH honours If-Match, refuses read-only fields and names bad fields", func(t *testing.T) {
				cur := m.ok(http.StatusOK, "GET", one, nil)
				m.do("PATCH", one, map[string]any{"enabled": false}, "If-Match", `"stale"`).problem(t, http.StatusPreconditionFailed)
				p := m.do("PATCH", one, map[string]any{"id": "wh_other"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "id" {
					t.Errorf("read-only id: %+v", p)
				}
				p = m.do("PATCH", one, map[string]any{"event_types": []string{"user.created", "user.nonsense"}}).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "event_types[1]" || p.Errors[0].Message == "" {
					t.Errorf("unknown event type: %+v", p)
				}
				var off webhookResp
				r := m.ok(http.StatusOK, "PATCH", one, map[string]any{"enabled": false, "description": "paused"}, "If-Match", cur.Header.Get("ETag"))
				r.json(t, &off)
				if off.Enabled || off.Description != "paused" || off.URL != rcv.URL || r.Header.Get("ETag") == cur.Header.Get("ETag") {
					t.Errorf("patched webhook %s", r.body)
				}
			})

			t.Run("the Go SDK's management client reads the subscription and its delivery log", func(t *testing.T) {
				b, _ := srv.Bootstrap()
				mc, err := management.New(management.Config{PublicURL: srv.URL, Tenant: srv.Tenant, ClientID: b.ClientID,
					ClientSecret: string(b.Secret), TokenURL: srv.URL + "/t/" + b.Tenant + "/token"})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				got, err := mc.GetWebhook(ctx, wh.ID)
				if err != nil || got.ID != wh.ID || got.URL != rcv.URL || got.Secret != "" || got.ETag == "" {
					t.Fatalf("GetWebhook = %+v, %v", got, err)
				}
				page, err := mc.ListWebhookDeliveries(ctx, wh.ID, management.ListOptions{})
				if err != nil || len(page.Data) != 2 || page.Data[0].Status != "succeeded" || page.Data[0].DeliveredAt.IsZero() ||
					page.Data[0].WebhookID != wh.ID {
					t.Fatalf("ListWebhookDeliveries = %+v, %v", page, err)
				}
			})

			t.Run("DELETE removes it", func(t *testing.T) {
				cur := m.ok(http.StatusOK, "GET", one, nil)
				m.do("DELETE", one, nil, "If-Match", `"stale"`).problem(t, http.StatusPreconditionFailed)
				m.ok(http.StatusNoContent, "DELETE", one, nil, "If-Match", cur.Header.Get("ETag"))
				m.do("GET", one, nil).problem(t, http.StatusNotFound)
				m.do("GET", one+"/deliveries", nil).problem(t, http.StatusNotFound)
				m.do("POST", one+"/rotate-secret", nil).problem(t, http.StatusNotFound)
			})
		})
	}
}

// TestAPIWebhookTargetsAndScopes: without webhooks.allow_private_targets a subscription to a loopback or
// private address, or over plain http, is refused with a field error on url; umm:webhooks:read reads but
// cannot write, and other scopes do not reach webhooks.
func TestAPIWebhookTargetsAndScopes(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			m := operator(t, srv)
			base := "/tenants/" + srv.Tenant + "/webhooks"
			for _, url := range []string{"http://127.0.0.1:8080/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://[::1]/hook", "https://localhost/hook"} {
				p := m.do("POST", base, map[string]any{"url": url}).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "url" || p.Errors[0].Message == "" {
					t.Errorf("POST url %s: %+v, want one error on url", url, p)
				}
			}
			p := m.do("POST", base, map[string]any{"event_types": []string{"user.created"}}).problem(t, http.StatusBadRequest)
			if len(p.Errors) != 1 || p.Errors[0].Field != "url" {
				t.Errorf("POST without url: %+v", p)
			}
			var list struct {
				Data []webhookResp `json:"data"`
			}
			m.ok(http.StatusOK, "GET", base, nil).json(t, &list)
			if len(list.Data) != 0 {
				t.Errorf("refused subscriptions were stored: %+v", list.Data)
			}

			reader := scopedCaller(t, m, srv.Tenant, "umm:webhooks:read")
			reader.ok(http.StatusOK, "GET", base, nil)
			if p := reader.do("POST", base, map[string]any{"url": "https://hooks.example.com/umm"}).problem(t, http.StatusForbidden); !strings.Contains(p.Detail, "umm:webhooks:write") {
				t.Errorf("umm:webhooks:read POSTing: %+v", p)
			}
			reader.do("POST", base+"/wh_x/rotate-secret", nil).problem(t, http.StatusForbidden)
			reader.do("POST", base+"/wh_x/deliveries/1/redeliver", nil).problem(t, http.StatusForbidden)
			users := scopedCaller(t, m, srv.Tenant, "umm:users:write")
			users.do("GET", base, nil).problem(t, http.StatusForbidden)
			reader.do("GET", base+"/wh_missing", nil).problem(t, http.StatusNotFound)
		})
	}
}
