package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/stdwebhook"
)

// WebhookSender POSTs each message as JSON to the operator's endpoint, signed as the Standard Webhooks
// specification says (https://www.standardwebhooks.com): headers webhook-id, webhook-timestamp and
// webhook-signature, "v1," and the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>". Libraries for that
// specification verify it in most languages; VerifyWebhookSignature does in Go.
type WebhookSender struct {
	endpoint string
	shown    string // endpoint for errors, without its query
	key      []byte
	timeout  time.Duration

	// Client sends the requests; tests may replace it.
	Client *http.Client
	// Now is the clock of webhook-timestamp (time.Now by default).
	Now func() time.Time
}

// WebhookSMS is the JSON body of a webhook.
type WebhookSMS struct {
	Type    string `json:"type"` // always WebhookTypeSMS
	To      string `json:"to"`
	Body    string `json:"body"`
	Tenant  string `json:"tenant"`
	Purpose string `json:"purpose"`
}

// WebhookTypeSMS is the type of an SMS webhook, so that one endpoint can tell it from later kinds.
const WebhookTypeSMS = "sms.send"

// Standard Webhooks headers.
const (
	HeaderWebhookID        = stdwebhook.HeaderID
	HeaderWebhookTimestamp = stdwebhook.HeaderTimestamp
	HeaderWebhookSignature = stdwebhook.HeaderSignature
)

// DefaultWebhookTolerance is how far a webhook's timestamp may be from the receiver's clock: enough for
// clock skew and a slow network, short enough that a recorded request cannot be replayed much later.
const DefaultWebhookTolerance = stdwebhook.DefaultTolerance

// NewWebhookSender returns a WebhookSender for cfg, which needs the endpoint and the signing secret
// (config.Validate checks both).
func NewWebhookSender(cfg config.SMS) (*WebhookSender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("sms.url: not an http(s) URL")
	}
	key, err := config.WebhookKey(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("sms.secret: %w", err)
	}
	if cfg.Timeout <= 0 {
		return nil, errors.New("sms.timeout: not a positive duration")
	}
	return &WebhookSender{
		endpoint: u.String(),
		shown:    "webhook " + (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(),
		key:      key,
		timeout:  cfg.Timeout.D(),
		Client:   httpClient(),
		Now:      time.Now,
	}, nil
}

// SendSMS posts m within sms.timeout or ctx's deadline, whichever comes first. The receiver answers 2xx
// when it took the message; 4xx (but 401, 408, 429) when it never will; anything else is tried again.
func (s *WebhookSender) SendSMS(ctx context.Context, m SMS) error {
	if err := checkSMS(m); err != nil {
		return err
	}
	body, err := json.Marshal(WebhookSMS{Type: WebhookTypeSMS, To: m.To, Body: m.Body, Tenant: m.TenantID, Purpose: m.Purpose})
	if err != nil {
		return fmt.Errorf("sms webhook: %w", err)
	}
	id := m.ID
	if id == "" {
		if id, err = newWebhookID(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms webhook: %w", err)
	}
	ts := s.Now().Unix()
	req.Header.Set(HeaderWebhookID, id)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderWebhookSignature, stdwebhook.Sign(s.key, id, ts, body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "UMM")
	return post(ctx, s.Client, req, s.shown, m, func(status int, _ []byte) *PermanentError {
		// A receiver's answer is its own; it may echo the message, so none of it is kept.
		return &PermanentError{Provider: config.SMSWebhook, Status: status}
	})
}

// newWebhookID is a random message id, "msg_" and 128 bits, as the specification's examples write them.
func newWebhookID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "msg_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// ErrWebhookSignature is wrapped by every refusal of VerifyWebhookSignature.
var ErrWebhookSignature = stdwebhook.ErrSignature

// VerifyWebhookSignature checks a request WebhookSender sent, for receivers written in Go and for tests:
// the webhook-id and webhook-timestamp headers present, the timestamp within tolerance of now
// (DefaultWebhookTolerance when tolerance is not positive), and one of the space-separated "v1,<base64>"
// signatures in webhook-signature equal, compared in constant time, to the HMAC-SHA256 under secret's key
// (config.WebhookKey: whsec_ and base64, or the raw bytes) of "<id>.<timestamp>.<body>". Its errors wrap
// ErrWebhookSignature and never contain the secret or the expected signature.
func VerifyWebhookSignature(secret string, headers http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	return stdwebhook.Verify(secret, headers, body, now, tolerance)
}
