package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/notifytest"
)

const testPhone = "+447700900123"

var testSMS = SMS{To: testPhone, Body: "Your Acme sign-in code is 493817. It expires in 10 minutes.", TenantID: "acme", Purpose: "sign_in"}

func newSender(t *testing.T, cfg config.SMS) SMSSender {
	t.Helper()
	s, err := NewSMSSender(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSMSDelivers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  func(*notifytest.SMSServer) config.SMS
		want notifytest.SMS
	}{
		{"to Twilio from a number", (*notifytest.SMSServer).TwilioConfig,
			notifytest.SMS{Via: config.SMSTwilio, To: testPhone, Body: testSMS.Body, From: "+15005550006"}},
		{"to Twilio from a messaging service", func(s *notifytest.SMSServer) config.SMS {
			c := s.TwilioConfig()
			c.From = "MG0123456789abcdef0123456789abcdef"
			return c
		}, notifytest.SMS{Via: config.SMSTwilio, To: testPhone, Body: testSMS.Body, From: "MG0123456789abcdef0123456789abcdef"}},
		{"to a signed webhook", (*notifytest.SMSServer).WebhookConfig,
			notifytest.SMS{Via: config.SMSWebhook, To: testPhone, Body: testSMS.Body, TenantID: "acme", Purpose: "sign_in"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := notifytest.NewSMSServer(t, "")
			cfg := tt.cfg(srv)
			c := config.Default()
			c.SMS = cfg
			if err := c.Validate(); err != nil {
				t.Fatalf("the server's configuration is refused: %v", err)
			}
			if err := newSender(t, cfg).SendSMS(t.Context(), testSMS); err != nil {
				t.Fatalf("SendSMS: %v", err)
			}
			got, err := srv.Wait(t.Context(), testPhone)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID == "" {
				t.Error("the message has no id")
			}
			got.ID = ""
			if got != tt.want {
				t.Errorf("received %+v, want %+v", got, tt.want)
			}
			if got.Code() != "493817" {
				t.Errorf("Code = %q", got.Code())
			}
			if r := srv.Rejected(); len(r) != 0 {
				t.Errorf("requests rejected: %q", r)
			}
		})
	}
}

func TestSMSServerWaitReturnsEachMessageOnce(t *testing.T) {
	t.Parallel()
	srv := notifytest.NewSMSServer(t, "")
	s := newSender(t, srv.WebhookConfig())
	send := func(to, code string) {
		t.Helper()
		if err := s.SendSMS(t.Context(), SMS{To: to, Body: "Code " + code + " for +4930123456"}); err != nil {
			t.Fatal(err)
		}
	}
	send(testPhone, "111111")
	send("+4915112345678", "999999")
	send(testPhone, "222222")
	for i, want := range []string{"111111", "222222"} {
		to := testPhone
		if i == 1 {
			to = "+44 7700 900-123" // as a test might type it
		}
		if got, err := srv.WaitCode(t.Context(), to); err != nil || got != want {
			t.Fatalf("WaitCode = %q, %v; want %s", got, err, want)
		}
	}
	if m, ok := srv.Last(testPhone); !ok || m.Code() != "222222" {
		t.Errorf("Last = %+v, %v", m, ok)
	}
	// A message that arrives while Wait waits.
	done := make(chan string, 1)
	go func() {
		c, err := srv.WaitCode(t.Context(), testPhone)
		if err != nil {
			c = err.Error()
		}
		done <- c
	}()
	time.Sleep(20 * time.Millisecond)
	send(testPhone, "333333")
	if got := <-done; got != "333333" {
		t.Errorf("WaitCode = %q", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := srv.Wait(ctx, testPhone); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait without a new message: %v", err)
	}
	if _, ok := srv.Last("+15550000000"); ok {
		t.Error("Last found a message to nobody")
	}
}

func TestSMSServerConcurrentSenders(t *testing.T) {
	t.Parallel()
	srv := notifytest.NewSMSServer(t, "")
	tw, wh := newSender(t, srv.TwilioConfig()), newSender(t, srv.WebhookConfig())
	var wg sync.WaitGroup
	for i := range 20 {
		s := tw
		if i%2 == 1 {
			s = wh
		}
		wg.Go(func() {
			to := "+44770090" + strconv.Itoa(1000+i)
			if err := s.SendSMS(t.Context(), SMS{To: to, Body: "code " + strconv.Itoa(100000+i)}); err != nil {
				t.Error(err)
			}
			if c, err := srv.WaitCode(t.Context(), to); err != nil || c != strconv.Itoa(100000+i) {
				t.Errorf("WaitCode(%s) = %q, %v", to, c, err)
			}
		})
	}
	wg.Wait()
	if n := len(srv.Messages()); n != 20 {
		t.Errorf("%d messages, want 20", n)
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		"493817":                            "493817",
		"Your code is 493817.":              "493817",
		"Call +4930123456, code 012345":     "012345",
		"1234567 is no code, 12345 neither": "",
		"code:654321\nexpires":              "654321",
		"":                                  "",
	} {
		if got := notifytest.Code(body); got != want {
			t.Errorf("Code(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestSMSRefusals(t *testing.T) {
	t.Parallel()
	const token = "tw-auth-token-7c1d2e3f4a5b"
	twilioJSON := `{"code": 21211, "message": "The 'To' number ` + testPhone + ` is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`
	tests := []struct {
		name          string
		status        int
		body          string
		wantPermanent bool
		wantIn        []string
	}{
		{"400 with Twilio's error is permanent", 400, twilioJSON, true, []string{"status 400", "error 21211", "The 'To' number recipient is not a valid phone number."}},
		{"404 without a body is permanent", 404, "", true, []string{"status 404"}},
		{"401 is tried again: credentials may be fixed", 401, `{"code": 20003, "message": "Authenticate", "status": 401}`, false, []string{"status 401", "error 20003"}},
		{"429 is tried again", 429, `{"code": 20429, "message": "Too Many Requests", "status": 429}`, false, []string{"status 429"}},
		{"500 is tried again", 500, "oops", false, []string{"status 500"}},
		{"503 is tried again", 503, `{"code": 20500, "message": "Service unavailable", "status": 503}`, false, []string{"status 503", "Service unavailable"}},
		{"a redirect is not followed", 302, "", false, []string{"status 302"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls int
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				mu.Unlock()
				if tt.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			cfg := config.SMS{Provider: config.SMSTwilio, URL: srv.URL, Secret: token, AccountSID: "AC1", From: "+15005550006",
				Timeout: config.Duration(5 * time.Second)}
			err := newSender(t, cfg).SendSMS(t.Context(), testSMS)
			if err == nil {
				t.Fatal("SendSMS succeeded")
			}
			t.Log(err)
			if errors.Is(err, ErrPermanent) != tt.wantPermanent {
				t.Errorf("SendSMS: %v; permanent = %v, want %v", err, !tt.wantPermanent, tt.wantPermanent)
			}
			var pe *PermanentError
			if errors.As(err, &pe) != tt.wantPermanent {
				t.Errorf("SendSMS: %v is a PermanentError: %v", err, !tt.wantPermanent)
			}
			if pe != nil && (pe.Status != tt.status || pe.Provider != config.SMSTwilio) {
				t.Errorf("PermanentError = %+v", pe)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("SendSMS: %v, want it to mention %q", err, w)
				}
			}
			checkNoSecrets(t, err, token)
			mu.Lock()
			defer mu.Unlock()
			if calls != 1 {
				t.Errorf("%d requests, want 1", calls)
			}
		})
	}
}

// checkNoSecrets fails t when err's text holds the secret (raw or in a Basic credential), the recipient
// or the code.
func checkNoSecrets(t *testing.T, err error, secret string) {
	t.Helper()
	msg := err.Error()
	for _, s := range []string{secret, base64.StdEncoding.EncodeToString([]byte("AC1:" + secret)), testPhone,
		strings.TrimPrefix(testPhone, "+"), "493817"} {
		if strings.Contains(msg, s) {
			t.Errorf("the error %q contains %q", msg, s)
		}
	}
}

func TestSMSWrongCredentials(t *testing.T) {
	t.Parallel()
	srv := notifytest.NewSMSServer(t, "")
	for _, cfg := range []config.SMS{srv.TwilioConfig(), srv.WebhookConfig()} {
		cfg.Secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key of 32 bytes, wrong!!"))
		err := newSender(t, cfg).SendSMS(t.Context(), testSMS)
		if err == nil || errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "status 401") {
			t.Errorf("%s with a wrong secret: %v", cfg.Provider, err)
		}
		checkNoSecrets(t, err, cfg.Secret)
		checkNoSecrets(t, err, srv.Secret)
	}
	if n := len(srv.Rejected()); n != 2 {
		t.Errorf("the server rejected %d requests, want 2: %q", n, srv.Rejected())
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("the server kept %d messages", n)
	}
}

func TestSMSServerRefuses(t *testing.T) {
	t.Parallel()
	srv := notifytest.NewSMSServer(t, "")
	for _, st := range []int{400, 503} {
		srv.Refuse(st)
		for _, cfg := range []config.SMS{srv.TwilioConfig(), srv.WebhookConfig()} {
			err := newSender(t, cfg).SendSMS(t.Context(), testSMS)
			if err == nil || errors.Is(err, ErrPermanent) != (st == 400) {
				t.Errorf("%s answered %d: %v", cfg.Provider, st, err)
			}
			checkNoSecrets(t, err, srv.Secret)
		}
	}
	srv.Refuse(0)
	if err := newSender(t, srv.WebhookConfig()).SendSMS(t.Context(), testSMS); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestSMSUnreachableAndSlow(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()
	const secret = "whsec_c2VjcmV0LWtleS1vZi1zaXh0ZWVuLWJ5dGVz"
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block); slow.Close() })
	for _, tt := range []struct {
		name string
		cfg  config.SMS
	}{
		{"nothing listens", config.SMS{Provider: config.SMSWebhook, URL: closedURL + "/hook?token=q-" + secret, Secret: secret, Timeout: config.Duration(5 * time.Second)}},
		{"no answer within the timeout", config.SMS{Provider: config.SMSTwilio, URL: slow.URL, Secret: secret, AccountSID: "AC1", From: "+15005550006", Timeout: config.Duration(100 * time.Millisecond)}},
		{"a webhook gives no answer within the timeout", config.SMS{Provider: config.SMSWebhook, URL: slow.URL + "/hook?token=q-" + secret, Secret: secret, Timeout: config.Duration(100 * time.Millisecond)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			err := newSender(t, tt.cfg).SendSMS(t.Context(), testSMS)
			if err == nil || errors.Is(err, ErrPermanent) {
				t.Fatalf("SendSMS: %v, want a temporary error", err)
			}
			t.Log(err)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("SendSMS took %v", d)
			}
			checkNoSecrets(t, err, secret)
			checkNoSecrets(t, err, strings.TrimPrefix(secret, "whsec_"))
			if strings.Contains(err.Error(), "token=") {
				t.Errorf("the error shows the webhook URL's query: %v", err)
			}
		})
	}
}

func TestSMSRefusesWhatCannotBeSent(t *testing.T) {
	t.Parallel()
	srv := notifytest.NewSMSServer(t, "")
	senders := []SMSSender{newSender(t, srv.TwilioConfig()), newSender(t, srv.WebhookConfig()),
		newSender(t, config.SMS{DevDir: t.TempDir(), Timeout: config.Duration(time.Second)})}
	for _, m := range []SMS{
		{To: "07700 900123", Body: "code 493817"},
		{To: "+44 7700 900123", Body: "code 493817"},
		{To: testPhone + "\nX: y", Body: "code 493817"},
		{To: "+0123456789", Body: "code 493817"},
		{To: testPhone, Body: " \n"},
	} {
		for _, s := range senders {
			err := s.SendSMS(t.Context(), m)
			var pe *PermanentError
			if !errors.As(err, &pe) || pe.Status != 0 || !errors.Is(err, ErrPermanent) {
				t.Errorf("%T.SendSMS(%q): %v", s, m.To, err)
				continue
			}
			if strings.Contains(err.Error(), "7700") || strings.Contains(err.Error(), "493817") {
				t.Errorf("the error names the recipient or the code: %v", err)
			}
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("the server received %d messages", n)
	}
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1765119600, 0)
	var got struct {
		h    http.Header
		body []byte
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.h = r.Header.Clone()
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	ws, err := NewWebhookSender(config.SMS{Provider: config.SMSWebhook, URL: srv.URL, Secret: secret, Timeout: config.Duration(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	ws.Now = func() time.Time { return now }
	m := testSMS
	m.ID = "msg_stable-across-retries"
	if err := ws.SendSMS(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"sms.send","to":"+447700900123","body":"Your Acme sign-in code is 493817. It expires in 10 minutes.","tenant":"acme","purpose":"sign_in"}`; string(got.body) != want {
		t.Errorf("body = %s\nwant %s", got.body, want)
	}
	if got.h.Get("webhook-id") != m.ID || got.h.Get("webhook-timestamp") != "1765119600" || got.h.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", got.h)
	}
	if sig := got.h.Get("webhook-signature"); !strings.HasPrefix(sig, "v1,") {
		t.Errorf("webhook-signature = %q", sig)
	}
	if err := VerifyWebhookSignature(secret, got.h, got.body, now.Add(4*time.Minute), 0); err != nil {
		t.Fatalf("VerifyWebhookSignature: %v", err)
	}
	// The same key given raw verifies the same signature: whsec_ only spells the key in base64.
	key, _ := config.WebhookKey(secret)
	if err := VerifyWebhookSignature(string(key), got.h, got.body, now, time.Minute); err != nil {
		t.Errorf("the raw key: %v", err)
	}
	// Every receiver keeps several signatures while it rotates its secret: one must match.
	multi := got.h.Clone()
	multi.Set("webhook-signature", "v1,bm90IGl0 v2,whatever "+got.h.Get("webhook-signature"))
	if err := VerifyWebhookSignature(secret, multi, got.body, now, time.Minute); err != nil {
		t.Errorf("a matching signature among others: %v", err)
	}

	edit := func(f func(h http.Header)) http.Header {
		h := got.h.Clone()
		f(h)
		return h
	}
	for _, tt := range []struct {
		name   string
		secret string
		h      http.Header
		body   []byte
		now    time.Time
		tol    time.Duration
		wantIn string
	}{
		{"a changed body", secret, got.h, bytes.Replace(got.body, []byte("493817"), []byte("000000"), 1), now, 0, "no v1 signature matches"},
		{"another secret", "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key, thirty-two bytes!!!")), got.h, got.body, now, 0, "no v1 signature matches"},
		{"a changed id", secret, edit(func(h http.Header) { h.Set("webhook-id", "msg_other") }), got.body, now, 0, "no v1 signature matches"},
		{"a changed timestamp", secret, edit(func(h http.Header) { h.Set("webhook-timestamp", "1765119601") }), got.body, now, 0, "no v1 signature matches"},
		{"an old timestamp", secret, got.h, got.body, now.Add(6 * time.Minute), 0, "more than 5m0s from now"},
		{"a timestamp from the future", secret, got.h, got.body, now.Add(-2 * time.Minute), time.Minute, "more than 1m0s from now"},
		{"a timestamp far off", secret, edit(func(h http.Header) { h.Set("webhook-timestamp", "-9223372036854775808") }), got.body, now, 0, "from now"},
		{"a timestamp that is no number", secret, edit(func(h http.Header) { h.Set("webhook-timestamp", "soon") }), got.body, now, 0, "not a number"},
		{"no signature", secret, edit(func(h http.Header) { h.Del("webhook-signature") }), got.body, now, 0, "headers are required"},
		{"no id", secret, edit(func(h http.Header) { h.Del("webhook-id") }), got.body, now, 0, "headers are required"},
		{"another version", secret, edit(func(h http.Header) {
			h.Set("webhook-signature", "v1a,"+strings.TrimPrefix(h.Get("webhook-signature"), "v1,"))
		}), got.body, now, 0, "no v1 signature matches"},
		{"a signature that is no base64", secret, edit(func(h http.Header) { h.Set("webhook-signature", "v1,%%%") }), got.body, now, 0, "no v1 signature matches"},
		{"an empty secret", "", got.h, got.body, now, 0, "the secret"},
	} {
		err := VerifyWebhookSignature(tt.secret, tt.h, tt.body, tt.now, tt.tol)
		if !errors.Is(err, ErrWebhookSignature) || !strings.Contains(err.Error(), tt.wantIn) {
			t.Errorf("%s: %v, want it to mention %q", tt.name, err, tt.wantIn)
			continue
		}
		for _, s := range []string{strings.TrimPrefix(secret, "whsec_"), strings.TrimPrefix(got.h.Get("webhook-signature"), "v1,")} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: the error %v shows a secret", tt.name, err)
			}
		}
	}
}

func TestWebhookIDsAreRandom(t *testing.T) {
	t.Parallel()
	srv := notifytest.NewSMSServer(t, "")
	s := newSender(t, srv.WebhookConfig())
	for range 2 {
		if err := s.SendSMS(t.Context(), testSMS); err != nil {
			t.Fatal(err)
		}
	}
	ms := srv.Messages()
	if len(ms) != 2 || ms[0].ID == ms[1].ID || !strings.HasPrefix(ms[0].ID, "msg_") || len(ms[0].ID) < 20 {
		t.Errorf("ids %q", []string{ms[0].ID, ms[1].ID})
	}
}

func TestDevSMSSenderWritesFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "sms")
	var logged bytes.Buffer
	s, err := NewSMSSender(config.SMS{DevDir: dir, Timeout: config.Duration(time.Second)}, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	d := s.(*DevSMSSender)
	d.Now = func() time.Time { return time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC) }
	if !strings.Contains(logged.String(), "development mode") || strings.Contains(logged.String(), "493817") {
		t.Errorf("log = %s", logged.String())
	}
	m := testSMS
	m.TenantID = "acme\nTo: +15550000000"
	for range 2 {
		if err := d.SendSMS(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "20261207T150000.000000000Z-*.txt"))
	if len(files) != 2 {
		t.Fatalf("files = %v, want two .txt files", files)
	}
	if all, _ := os.ReadDir(dir); len(all) != 2 {
		t.Errorf("the directory holds %d entries, want only the two messages", len(all))
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("the directory has mode %v, want 0700", fi.Mode().Perm())
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	want := "To: +447700900123\nTenant: acme To: +15550000000\nPurpose: sign_in\nDate: Mon, 07 Dec 2026 15:00:00 +0000\n\n" + testSMS.Body + "\n"
	if string(raw) != want {
		t.Errorf("file =\n%s\nwant\n%s", raw, want)
	}
	if notifytest.Code(string(raw)) != "493817" {
		t.Errorf("no code in %s", raw)
	}
}

func TestNewSMSSender(t *testing.T) {
	t.Parallel()
	srv := notifytest.NewSMSServer(t, "")
	for cfg, want := range map[*config.SMS]string{
		new(srv.TwilioConfig()):  "*notify.TwilioSender",
		new(srv.WebhookConfig()): "*notify.WebhookSender",
		{DevDir: t.TempDir()}:    "*notify.DevSMSSender",
	} {
		s, err := NewSMSSender(*cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := typeName(s); got != want {
			t.Errorf("NewSMSSender(%s) = %s, want %s", cfg.Provider, got, want)
		}
	}
	const token = "tw-token-0f9e8d7c"
	for _, cfg := range []config.SMS{
		{Provider: "sns"},
		{Provider: config.SMSTwilio, Secret: token, From: "+15005550006", Timeout: config.Duration(time.Second)},
		{Provider: config.SMSTwilio, AccountSID: "AC1", Secret: token, From: "+15005550006", URL: "::" + token, Timeout: config.Duration(time.Second)},
		{Provider: config.SMSWebhook, URL: "https://sms.example.com", Timeout: config.Duration(time.Second)},
		{Provider: config.SMSWebhook, URL: "https://sms.example.com", Secret: "whsec_!" + token, Timeout: config.Duration(time.Second)},
		{Provider: config.SMSDev},
	} {
		_, err := NewSMSSender(cfg, nil)
		if err == nil {
			t.Errorf("NewSMSSender(%v) succeeded", cfg)
			continue
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("the error %v shows the secret", err)
		}
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *TwilioSender:
		return "*notify.TwilioSender"
	case *WebhookSender:
		return "*notify.WebhookSender"
	case *DevSMSSender:
		return "*notify.DevSMSSender"
	}
	return "?"
}
