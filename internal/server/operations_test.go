package server_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/server/servertest"
)

// TestMetricsCountRoutesLoginsAndTokens: after sign-ins and token requests through the real server,
// /metrics has the HTTP requests by route and status, the logins by result and the tokens by grant.
func TestMetricsCountRoutesLoginsAndTokens(t *testing.T) {
	srv := servertest.New(t)
	fullFlow(t, srv) // one failed and one successful sign-in; one token of each grant
	body := srv.Metrics(t)
	tests := []struct {
		name, series string
		want         float64
	}{
		{"a successful sign-in is counted", `umm_logins_total{result="success"}`, 1},
		{"a failed sign-in is counted", `umm_logins_total{result="failure"}`, 1},
		{"tokens of the code grant are counted", `umm_tokens_issued_total{grant="authorization_code"}`, 1},
		{"tokens of the refresh grant are counted", `umm_tokens_issued_total{grant="refresh_token"}`, 1},
		{"tokens of the client credentials grant are counted", `umm_tokens_issued_total{grant="client_credentials"}`, 1},
		{"tokens of the device grant are counted", `umm_tokens_issued_total{grant="urn:ietf:params:oauth:grant-type:device_code"}`, 1},
		{"token requests are counted by route pattern and status", `umm_http_requests_total{method="POST",route="POST /t/{tenant}/token",status="200"}`, 4},
		{"refused token requests are counted by their status", `umm_http_requests_total{method="POST",route="POST /t/{tenant}/token",status="401"}`, 1},
		{"the sign-in page is counted by route pattern", `umm_http_requests_total{method="POST",route="POST /t/{tenant}/login",status="422"}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := metricValue(body, tt.series)
			if !ok {
				t.Fatalf("no series %s in /metrics:\n%s", tt.series, ummLines(body))
			}
			if got != tt.want {
				t.Fatalf("%s = %v, want %v", tt.series, got, tt.want)
			}
		})
	}
}

// metricValue finds series (name and labels exactly as the text format writes them, labels sorted) in
// a /metrics body.
func metricValue(body, series string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

func ummLines(body string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "umm_") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestThrottlingAnswers429WithRetryAfter: each entry point that takes a guessable secret (sign-in, the
// token endpoint's client authentication, device user codes) counts failures per client IP in the
// database and, past security.ip_limit_per_minute, refuses even a right answer: the token endpoint and
// device code entry with 429 and Retry-After, sign-in with the very answer a wrong password gets.
func TestThrottlingAnswers429WithRetryAfter(t *testing.T) {
	const limit = 3
	srv := servertest.New(t, servertest.WithConfig(func(c *config.Config) { c.Security.IPLimitPerMinute = limit }))
	wantThrottled := func(t *testing.T, resp *http.Response, body string) {
		t.Helper()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429:\n%s", resp.StatusCode, body)
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
			t.Fatalf("Retry-After = %q, want whole seconds within the one-minute window", resp.Header.Get("Retry-After"))
		}
	}
	t.Run("sign-in is refused like a wrong password, so the answer tells nothing of the limit", func(t *testing.T) {
		b := srv.NewBrowser(t)
		form, _, _ := b.GetForm(srv.TenantURL("/login"))
		var wrong string
		for i := range limit {
			resp, body := b.Submit(form, url.Values{"email": {"nobody-" + strconv.Itoa(i) + "@example.com"}, "password": {"wrong-password-1"}})
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("failure %d answered %d:\n%s", i+1, resp.StatusCode, body)
			}
			wrong = body
		}
		resp, body := b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
		if resp.StatusCode != http.StatusUnprocessableEntity || resp.Header.Get("Retry-After") != "" {
			t.Fatalf("the right password over the limit answered %d (Retry-After %q), want 422 without Retry-After",
				resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if alert(body) != alert(wrong) || alert(body) == "" {
			t.Fatalf("the refusal reads %q, a wrong password %q", alert(body), alert(wrong))
		}
	})
	t.Run("token endpoint", func(t *testing.T) {
		wrong := srv.Confidential
		wrong.Secret = "not-the-secret-123"
		cc := url.Values{"grant_type": {"client_credentials"}}
		for i := range limit {
			if resp, body := postClient(t, srv, "/token", wrong, url.Values{"grant_type": {"client_credentials"}}); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d answered %d:\n%s", i+1, resp.StatusCode, body)
			}
		}
		resp, body := postClient(t, srv, "/token", srv.Confidential, cc)
		wantThrottled(t, resp, body)
		if !strings.Contains(body, `"error"`) || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the 429 is not an OAuth error answer: %v\n%s", resp.Header, body)
		}
	})
	t.Run("device code entry", func(t *testing.T) {
		b := srv.NewBrowser(t)
		form, _, _ := b.GetForm(srv.TenantURL("/device"), "/device")
		var resp *http.Response
		var body string
		for i := range limit {
			resp, body = b.Submit(form, url.Values{"user_code": {"ZZZZ-ZZZ" + string(rune('B'+i))}})
			if i < limit-1 && resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("wrong code %d answered %d:\n%s", i+1, resp.StatusCode, body)
			}
		}
		wantThrottled(t, resp, body) // the failure that uses up the window is answered 429 at once
		resp, body = b.Submit(form, url.Values{"user_code": {"BCDF-GHJK"}})
		wantThrottled(t, resp, body)
	})
}

// TestAccountBackoffThroughTheServer: failures on one account from one address make that address wait
// (refused like a wrong password, even with the right one), while a browser that signed in to the
// account before keeps signing in.
func TestAccountBackoffThroughTheServer(t *testing.T) {
	// A clock that stands still: the one-second wait after the fifth failure cannot pass while a slow
	// machine runs the test.
	now := time.Now()
	srv := servertest.New(t, servertest.WithClock(func() time.Time { return now }))
	owner := srv.NewBrowser(t)
	form, _, _ := owner.GetForm(srv.TenantURL("/login"))
	if resp, _ := owner.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner's first sign-in answered %d", resp.StatusCode)
	}
	b := srv.NewBrowser(t)
	form, _, _ = b.GetForm(srv.TenantURL("/login"))
	for i := range 5 {
		// The address in another case is the same account: the count is kept on the user, not the string.
		email := srv.User.Email
		if i%2 == 1 {
			email = strings.ToUpper(email)
		}
		resp, body := b.Submit(form, url.Values{"email": {email}, "password": {"wrong-password-" + strconv.Itoa(i)}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("failure %d answered %d:\n%s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := b.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
	if resp.StatusCode != http.StatusUnprocessableEntity || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("after 5 failures the right password answered %d (Retry-After %q), want the wrong-password page:\n%s",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// The owner's browser, signed out but still carrying its device cookie, is not held back.
	returning := srv.NewBrowser(t)
	u, _ := url.Parse(srv.Issuer + "/")
	for _, c := range owner.Client.Jar.Cookies(u) {
		if c.Name == "umm_device" {
			returning.Client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/t/" + srv.Tenant + "/"}})
		}
	}
	form, _, _ = returning.GetForm(srv.TenantURL("/login"))
	if resp, body := returning.Submit(form, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner's known browser answered %d:\n%s", resp.StatusCode, body)
	}
}

// alert is the text of a page's form-level error.
func alert(body string) string {
	_, rest, ok := strings.Cut(body, `id="form-error">`)
	if !ok {
		return ""
	}
	text, _, _ := strings.Cut(rest, "<")
	return text
}

// TestHTTPLimitsComeFromTheConfiguration: the HTTP server's timeouts and size limits are the server
// section's, and they hold against real clients.
func TestHTTPLimitsComeFromTheConfiguration(t *testing.T) {
	c := config.Default().Server
	c.ReadHeaderTimeout = config.Duration(300 * time.Millisecond)
	c.ReadTimeout = config.Duration(7 * time.Second)
	c.WriteTimeout = config.Duration(11 * time.Second)
	c.IdleTimeout = config.Duration(13 * time.Second)
	c.MaxHeaderBytes = 4096
	c.MaxBodyBytes = 2048
	srv := servertest.New(t, servertest.WithConfig(func(cfg *config.Config) {
		addr, public := cfg.Server.Addr, cfg.Server.PublicURL
		cfg.Server = c
		cfg.Server.Addr, cfg.Server.PublicURL = addr, public
	}))
	t.Run("the http.Server has the configured timeouts and header limit", func(t *testing.T) {
		hs := server.HTTPServer(srv.Server)
		if hs.ReadHeaderTimeout != c.ReadHeaderTimeout.D() || hs.ReadTimeout != c.ReadTimeout.D() ||
			hs.WriteTimeout != c.WriteTimeout.D() || hs.IdleTimeout != c.IdleTimeout.D() || hs.MaxHeaderBytes != c.MaxHeaderBytes {
			t.Fatalf("http.Server{ReadHeaderTimeout: %v, ReadTimeout: %v, WriteTimeout: %v, IdleTimeout: %v, MaxHeaderBytes: %d}, want %+v",
				hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout, hs.MaxHeaderBytes, c)
		}
	})
	t.Run("a body within server.max_body_bytes is served", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "pad": {strings.Repeat("a", 1500)}}
		if resp, body := postClient(t, srv, "/token", srv.Confidential, form); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d:\n%s", resp.StatusCode, body)
		}
	})
	t.Run("a body over server.max_body_bytes is refused with a 4xx", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "pad": {strings.Repeat("a", 4000)}}
		if resp, body := postClient(t, srv, "/token", srv.Confidential, form); resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Fatalf("token with a 4 kB body: status %d, want 4xx:\n%s", resp.StatusCode, body)
		}
		b := srv.NewBrowser(t)
		login, _, _ := b.GetForm(srv.TenantURL("/login"))
		resp, body := b.Submit(login, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}, "pad": {strings.Repeat("a", 4000)}})
		if resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Fatalf("sign-in with a 4 kB body: status %d, want 4xx:\n%s", resp.StatusCode, body)
		}
	})
	t.Run("headers over server.max_header_bytes are refused with 431", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
		if resp, _ := srv.NewBrowser(t).Do(req); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})
	t.Run("a client that does not finish its headers within server.read_header_timeout is cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(conn) // the server closes the connection (after a 408, or without an answer)
		if elapsed := time.Since(start); err != nil || elapsed > 3*time.Second {
			t.Fatalf("the connection stayed open %v (err %v); want it closed after about 300ms", elapsed, err)
		}
	})
}
