package notifytest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/stdwebhook"
)

// SMS is one text message the SMS server accepted.
type SMS struct {
	Via      string // config.SMSTwilio or config.SMSWebhook: which endpoint took it
	To, Body string
	// From is what a Twilio request sent as From, or as MessagingServiceSid; empty from a webhook.
	From string
	// TenantID and Purpose come with a webhook; empty from Twilio requests.
	TenantID, Purpose string
	// ID is the webhook-id, or the SID the server answered a Twilio request with.
	ID string
}

// Code is the first 6-digit code in the message's text (see Code).
func (m SMS) Code() string { return Code(m.Body) }

var sixDigits = regexp.MustCompile(`(?:^|[^0-9])([0-9]{6})(?:[^0-9]|$)`)

// Code returns the first run of exactly six digits in body, the sign-in code, or "" when there is none.
// Longer runs of digits (a phone number) are not codes.
func Code(body string) string {
	if m := sixDigits.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// SMSServer is a loopback HTTP server that receives text messages as a provider would: at Twilio's
// Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded, HTTP Basic auth of the
// account and Secret) and as a signed webhook (POST /webhook, verified with Secret). It keeps what it
// accepted, per recipient, for tests to wait on; requests that fail authentication are answered 401 and
// only counted.
type SMSServer struct {
	// URL is the server's base, http://127.0.0.1:port.
	URL string
	// Secret is both the Twilio auth token and the webhook signing secret.
	Secret string
	// AccountSID and From are the Twilio account and sender of TwilioConfig.
	AccountSID, From string

	mu       sync.Mutex
	received []SMS
	taken    map[string]int // per recipient, how many messages Wait has returned
	arrived  chan struct{}  // closed and replaced whenever a message arrives
	refuse   int
	rejected []string
}

// WebhookPath is where SMSServer takes webhooks.
const WebhookPath = "/webhook"

// NewSMSServer starts a server that stops when the test ends. An empty secret gets a random one in the
// whsec_ form; a webhook secret must decode to at least config.MinWebhookKeyBytes to pass config.Validate.
func NewSMSServer(t testing.TB, secret string) *SMSServer {
	t.Helper()
	if secret == "" {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			t.Fatal(err)
		}
		secret = "whsec_" + base64.StdEncoding.EncodeToString(k)
	}
	sid := make([]byte, 16)
	if _, err := rand.Read(sid); err != nil {
		t.Fatal(err)
	}
	s := &SMSServer{Secret: secret, AccountSID: "AC" + hex.EncodeToString(sid), From: "+15005550006",
		taken: map[string]int{}, arrived: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.twilio)
	mux.HandleFunc("POST "+WebhookPath, s.webhook)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// TwilioConfig is an sms section that sends to this server's Twilio endpoint.
func (s *SMSServer) TwilioConfig() config.SMS {
	return config.SMS{Provider: config.SMSTwilio, URL: s.URL, Secret: s.Secret, AccountSID: s.AccountSID, From: s.From,
		Timeout: config.Duration(10 * time.Second)}
}

// WebhookConfig is an sms section that sends to this server's webhook endpoint.
func (s *SMSServer) WebhookConfig() config.SMS {
	return config.SMS{Provider: config.SMSWebhook, URL: s.URL + WebhookPath, Secret: s.Secret,
		Timeout: config.Duration(10 * time.Second)}
}

// Refuse makes both endpoints answer status to every further message without keeping it (Twilio's with
// its JSON error, which names the number as Twilio's does); 0 accepts again.
func (s *SMSServer) Refuse(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = status
}

// Messages returns what the server accepted so far, oldest first.
func (s *SMSServer) Messages() []SMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMS(nil), s.received...)
}

// Rejected returns why each request refused for its credentials or signature was refused.
func (s *SMSServer) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

// number is to as it is compared: only + and digits, so that a test may name the recipient as it typed
// it ("+44 20 7946 0958") and find what was sent to +442079460958.
func number(to string) string {
	return strings.Map(func(r rune) rune {
		if r == '+' || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, to)
}

// Last returns the latest message to to, and whether there is one.
func (s *SMSServer) Last(to string) (SMS, bool) {
	to = number(to)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.received) - 1; i >= 0; i-- {
		if number(s.received[i].To) == to {
			return s.received[i], true
		}
	}
	return SMS{}, false
}

// DefaultWait bounds Wait when ctx has no deadline.
const DefaultWait = 20 * time.Second

// Wait returns the oldest message to to (compared as + and digits) that no earlier Wait returned, waiting for it to arrive until
// ctx ends (or DefaultWait when ctx has no deadline). Each message is returned once, so a test that
// makes UMM send a code and then waits gets that code, whether it arrived before the call or after, and
// the next Wait gets the next one.
func (s *SMSServer) Wait(ctx context.Context, to string) (SMS, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultWait)
		defer cancel()
	}
	shown, to := to, number(to)
	for {
		s.mu.Lock()
		seen := 0
		for _, m := range s.received {
			if number(m.To) != to {
				continue
			}
			if seen == s.taken[to] {
				s.taken[to]++
				s.mu.Unlock()
				return m, nil
			}
			seen++
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return SMS{}, fmt.Errorf("notifytest: no new SMS to %s: %w", shown, ctx.Err())
		}
	}
}

// WaitCode is Wait's message's 6-digit code; an error when the message has none.
func (s *SMSServer) WaitCode(ctx context.Context, to string) (string, error) {
	m, err := s.Wait(ctx, to)
	if err != nil {
		return "", err
	}
	if c := m.Code(); c != "" {
		return c, nil
	}
	return "", fmt.Errorf("notifytest: the SMS to %s has no 6-digit code: %q", to, m.Body)
}

func (s *SMSServer) keep(m SMS) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

func (s *SMSServer) reject(w http.ResponseWriter, why string) {
	s.mu.Lock()
	s.rejected = append(s.rejected, why)
	s.mu.Unlock()
	twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
}

func (s *SMSServer) refusing() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refuse
}

// twilioError answers as Twilio does when it refuses a request.
func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
}

func (s *SMSServer) twilio(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.AccountSID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.Secret)) != 1 {
		s.reject(w, "twilio: wrong or missing basic auth")
		return
	}
	if r.PathValue("sid") != user {
		s.reject(w, "twilio: the account in the path is not the one authenticated")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		twilioError(w, http.StatusBadRequest, 20001, "the request is not a form")
		return
	}
	m := SMS{Via: config.SMSTwilio, To: r.PostForm.Get("To"), Body: r.PostForm.Get("Body"), From: r.PostForm.Get("From")}
	if svc := r.PostForm.Get("MessagingServiceSid"); svc != "" {
		if m.From != "" {
			twilioError(w, http.StatusBadRequest, 21601, "From and MessagingServiceSid are exclusive")
			return
		}
		m.From = svc
	}
	switch {
	case m.To == "":
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case m.From == "":
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case m.Body == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	if st := s.refusing(); st != 0 {
		twilioError(w, st, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", m.To))
		return
	}
	sid := make([]byte, 16)
	_, _ = rand.Read(sid)
	m.ID = "SM" + hex.EncodeToString(sid)
	s.keep(m)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": m.ID, "status": "queued", "to": m.To, "from": m.From,
		"body": m.Body, "account_sid": s.AccountSID})
}

func (s *SMSServer) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := stdwebhook.Verify(s.Secret, r.Header, body, time.Now(), 0); err != nil {
		s.mu.Lock()
		s.rejected = append(s.rejected, "webhook: "+err.Error())
		s.mu.Unlock()
		http.Error(w, "signature not verified", http.StatusUnauthorized)
		return
	}
	var p struct {
		Type    string `json:"type"`
		To      string `json:"to"`
		Body    string `json:"body"`
		Tenant  string `json:"tenant"`
		Purpose string `json:"purpose"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Type != "sms.send" || p.To == "" || p.Body == "" {
		http.Error(w, "not an sms.send message with to and body", http.StatusBadRequest)
		return
	}
	if st := s.refusing(); st != 0 {
		http.Error(w, "refused by the test", st)
		return
	}
	s.keep(SMS{Via: config.SMSWebhook, To: p.To, Body: p.Body, TenantID: p.Tenant, Purpose: p.Purpose, ID: r.Header.Get(stdwebhook.HeaderID)})
	w.WriteHeader(http.StatusNoContent)
}
