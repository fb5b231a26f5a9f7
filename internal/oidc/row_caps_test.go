package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// Anonymous requests may create only a bounded number of rows: these are the fast checks that the caps
// hold (bench/ hammers both endpoints for a minute and reports how the database grows).
func TestPendingLoginRequestsAreCapped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		f.p.caps.loginPerIP, f.p.caps.loginPerBrowser = 5, 3
		authorize := func(b *browser, ip string) (status int, retryAfter, lrID string) {
			r := b.request(http.MethodGet, f.authorizeURL(codeParams()), nil)
			r.RemoteAddr = ip + ":4711"
			w := b.serve(r)
			if w.Code == http.StatusFound {
				return w.Code, "", f.loginRequestID(t, w)
			}
			return w.Code, w.Header().Get("Retry-After"), ""
		}
		pending := func(ip string) int {
			n, err := db.CountPendingLoginRequests(ctx, f.tenant.ID, ip, f.now())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		t.Run("one IP gets its cap of pending requests, then 429 with Retry-After", func(t *testing.T) {
			for i := range 5 {
				if st, _, _ := authorize(f.browser(), "192.0.2.80"); st != http.StatusFound {
					t.Fatalf("request %d: status %d", i+1, st)
				}
			}
			st, ra, _ := authorize(f.browser(), "192.0.2.80")
			if s, err := strconv.Atoi(ra); st != http.StatusTooManyRequests || err != nil || s < 1 {
				t.Fatalf("over the cap: status %d Retry-After %q, want 429 with seconds", st, ra)
			}
			if n := pending("192.0.2.80"); n != 5 {
				t.Fatalf("%d pending requests stored for the IP, want the cap of 5", n)
			}
			if st, _, _ := authorize(f.browser(), "192.0.2.81"); st != http.StatusFound {
				t.Fatalf("another IP: status %d", st)
			}
		})
		t.Run("IPv6 clients are capped per /64", func(t *testing.T) {
			for i := range 5 {
				if st, _, _ := authorize(f.browser(), fmt.Sprintf("[2001:db8:5:5::%x]", i+1)); st != http.StatusFound {
					t.Fatalf("request %d: status %d", i+1, st)
				}
			}
			if st, _, _ := authorize(f.browser(), "[2001:db8:5:5:ffff::9]"); st != http.StatusTooManyRequests {
				t.Fatalf("another address of the /64: status %d, want 429", st)
			}
			if n := pending("2001:db8:5:5::/64"); n != 5 {
				t.Fatalf("%d pending requests for the /64, want 5", n)
			}
		})
		t.Run("one browser keeps its newest requests within its cap", func(t *testing.T) {
			b := f.browser()
			var ids []string
			for i := range 4 {
				st, _, id := authorize(b, "192.0.2.90")
				if st != http.StatusFound {
					t.Fatalf("request %d: status %d", i+1, st)
				}
				ids = append(ids, id)
				f.skew.Add(int64(time.Second)) // created_at is in whole seconds: keep the order plain
			}
			if _, err := db.GetLoginRequest(ctx, f.tenant.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the oldest request of the browser: %v, want it gone", err)
			}
			for _, id := range ids[1:] {
				if _, err := db.GetLoginRequest(ctx, f.tenant.ID, id); err != nil {
					t.Fatalf("a newer request %s: %v", id, err)
				}
			}
			if n := pending("192.0.2.90"); n != 3 {
				t.Fatalf("%d pending requests, want the browser cap of 3", n)
			}
		})
	})
}

func TestPendingDeviceCodesAreCapped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newTokenEnv(t, db, func(s *config.Security) { s.PendingDeviceCodesPerIP, s.PendingDeviceCodesPerClient = 3, 5 })
		tv := basicAuth("tv", secretBasic)
		start := func(ip string) (int, string) {
			e.ip = ip
			w := e.call(e.tenant.ID, "device_authorization", tv, url.Values{"scope": {"openid"}})
			return w.Code, w.Body.String()
		}
		count := func(ip string) (byClient, byIP int) {
			c, i, err := db.CountPendingDeviceCodes(ctx, e.tenant.ID, "tv", ip, e.now())
			if err != nil {
				t.Fatal(err)
			}
			return c, i
		}
		t.Run("one IP gets its cap, then slow_down", func(t *testing.T) {
			for i := range 3 {
				if st, body := start("203.0.113.70"); st != http.StatusOK {
					t.Fatalf("request %d: %d %s", i+1, st, body)
				}
			}
			e.ip = "203.0.113.70"
			w := e.call(e.tenant.ID, "device_authorization", tv, url.Values{"scope": {"openid"}})
			wantOAuthError(t, w, http.StatusTooManyRequests, "slow_down")
			if w.Header().Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			if _, n := count("203.0.113.70"); n != 3 {
				t.Fatalf("%d pending codes for the IP, want 3", n)
			}
		})
		t.Run("one client gets its cap across IPs", func(t *testing.T) {
			_, _ = start("203.0.113.71")
			_, _ = start("203.0.113.72")
			if st, _ := start("203.0.113.73"); st != http.StatusTooManyRequests {
				t.Fatalf("over the client's cap: %d, want 429", st)
			}
			if n, _ := count(""); n != 5 {
				t.Fatalf("%d pending codes for the client, want 5", n)
			}
		})
	})
}
