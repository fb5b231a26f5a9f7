package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/stdwebhook"
	"github.com/umm-project/umm/internal/server/servertest"
)

// BenchmarkWebhookDeliveries measures signed webhook deliveries per second to a local receiver: events
// are appended (b.N users created), and the clock runs until the receiver has every delivery. The peer,
// in the same run, is the same number of signed POSTs of the same size sent in a loop by one sender
// (no events table, no delivery rows, no leases): what delivering through the outbox costs on top.
func BenchmarkWebhookDeliveries(b *testing.B) {
	var got atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	b.Run("outbox", func(b *testing.B) {
		srv := servertest.New(b, servertest.WithBackend(benchBackend()), servertest.WithConfig(func(c *config.Config) {
			c.Webhooks.AllowPrivateTargets = true
		}))
		ctx := context.Background()
		if _, _, err := srv.Admin.CreateWebhook(ctx, srv.Tenant, admin.WebhookInput{URL: recv.URL, EventTypes: []string{"user.created"}}, "bench"); err != nil {
			b.Fatal(err)
		}
		got.Store(0)
		n := b.N
		b.ResetTimer()
		for i := range n {
			if _, err := srv.Admin.CreateUser(ctx, srv.Tenant, admin.UserInput{Email: fmt.Sprintf("wh%d-%d@example.com", n, i)}, "bench"); err != nil {
				b.Fatal(err)
			}
		}
		deadline := time.Now().Add(5 * time.Minute)
		for got.Load() < int64(n) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d deliveries after 5 minutes", got.Load(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "deliveries/s")
	})

	b.Run("direct", func(b *testing.B) {
		key := []byte("0123456789abcdef0123456789abcdef")
		body := bytes.Repeat([]byte("x"), 300) // about the size of a user.created payload
		c := &http.Client{Timeout: 5 * time.Second}
		got.Store(0)
		for i := range b.N {
			id := "msg_" + strconv.Itoa(i)
			ts := time.Now().Unix()
			req, _ := http.NewRequest(http.MethodPost, recv.URL, bytes.NewReader(body))
			req.Header.Set("webhook-id", id)
			req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
			req.Header.Set("webhook-signature", stdwebhook.Sign(key, id, ts, body))
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	})
}
