package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestAnonymousFlood hammers /authorize and /device_authorization anonymously (no cookies, so every
// request is a new browser) from a few client IPs for a while, and reports how many rows each table
// gained. The growth must stay within the caps on anonymous rows, however long the flood lasts. It runs
// only when UMM_BENCH_FLOOD is set to a duration (e.g. 60s); UMM_BENCH_FLOOD_IPS sets the number of
// client IPs (default 4, sent as X-Forwarded-For through a trusted proxy).
//
//	UMM_BENCH_FLOOD=60s go test ./bench -run TestAnonymousFlood -v
func TestAnonymousFlood(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("UMM_BENCH_FLOOD"))
	if err != nil || d <= 0 {
		t.Skip("set UMM_BENCH_FLOOD to a duration (e.g. 60s) to run the anonymous flood")
	}
	ips := 4
	if v := os.Getenv("UMM_BENCH_FLOOD_IPS"); v != "" {
		if _, err := fmt.Sscan(v, &ips); err != nil || ips < 1 {
			t.Fatalf("UMM_BENCH_FLOOD_IPS=%q: want a positive number", v)
		}
	}
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) { flood(t, backend, d, ips) })
	}
}

// workers is the number of concurrent requests of the flood.
const workers = 16

func flood(t *testing.T, backend string, d time.Duration, ips int) {
	srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithConfig(func(c *config.Config) {
		c.Security.TrustedProxies = []string{"127.0.0.1/32"}
	}))
	caps := srv.Config.Security
	ctx := context.Background()
	before, err := srv.DB.RowCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	authorize := srv.TenantURL("/authorize?" + url.Values{
		"client_id": {srv.Public.ID}, "redirect_uri": {srv.Public.RedirectURI}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"},
	}.Encode())
	device := srv.TenantURL("/device_authorization")
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	var sent, errs atomic.Int64
	var mu sync.Mutex
	status := map[string]int{}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				ip := fmt.Sprintf("198.51.100.%d", 1+(w+i)%ips)
				var req *http.Request
				what := "authorize"
				if i%2 == 0 {
					req, _ = http.NewRequest(http.MethodGet, authorize, nil)
				} else {
					what = "device_authorization"
					req, _ = http.NewRequest(http.MethodPost, device,
						strings.NewReader(url.Values{"client_id": {srv.Public.ID}, "scope": {"openid"}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				req.Header.Set("X-Forwarded-For", ip)
				resp, err := c.Do(req)
				sent.Add(1)
				if err != nil {
					errs.Add(1)
					continue
				}
				resp.Body.Close()
				mu.Lock()
				status[fmt.Sprintf("%s %d", what, resp.StatusCode)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	after, err := srv.DB.RowCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for k, v := range status {
		lines = append(lines, fmt.Sprintf("  %-28s %d", k, v))
	}
	sort.Strings(lines)
	t.Logf("%s: %d requests in %s from %d IPs (%.0f/s), %d transport errors; answers:\n%s",
		backend, sent.Load(), d, ips, float64(sent.Load())/d.Seconds(), errs.Load(), strings.Join(lines, "\n"))
	var growth []string
	for table, n := range after {
		if g := n - before[table]; g != 0 {
			growth = append(growth, fmt.Sprintf("  %-22s +%d", table, g))
		}
	}
	sort.Strings(growth)
	t.Logf("rows gained:\n%s", strings.Join(growth, "\n"))

	// The bounds: pending rows per IP are capped, give or take the requests in flight (a cap is counted,
	// then the row inserted); events are written once per device code (device_code.issued), so they follow
	// the device code cap.
	loginBound := int64(ips*caps.PendingLoginRequestsPerIP + workers)
	deviceBound := int64(min(ips*caps.PendingDeviceCodesPerIP, caps.PendingDeviceCodesPerClient) + workers)
	if g := after["login_requests"] - before["login_requests"]; g > loginBound {
		t.Errorf("login_requests grew by %d, over the bound %d", g, loginBound)
	}
	if g := after["device_codes"] - before["device_codes"]; g > deviceBound {
		t.Errorf("device_codes grew by %d, over the bound %d", g, deviceBound)
	}
	if g := after["events"] - before["events"]; g > deviceBound {
		t.Errorf("events grew by %d, over the bound %d", g, deviceBound)
	}
}
