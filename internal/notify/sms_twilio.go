package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
)

// TwilioSender sends through Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json), or a
// service that speaks it, at sms.url.
type TwilioSender struct {
	endpoint string // the Messages resource of the account
	shown    string // endpoint for errors
	sid      string
	token    string
	from     string
	timeout  time.Duration

	// Client sends the requests; tests may replace it.
	Client *http.Client
}

// NewTwilioSender returns a TwilioSender for cfg, which needs the account, the auth token and the sender
// (config.Validate checks them).
func NewTwilioSender(cfg config.SMS) (*TwilioSender, error) {
	switch {
	case cfg.AccountSID == "":
		return nil, errors.New("sms.account_sid: not set")
	case cfg.Secret == "":
		return nil, errors.New("sms.secret: not set")
	case cfg.From == "":
		return nil, errors.New("sms.from: not set")
	case cfg.Timeout <= 0:
		return nil, errors.New("sms.timeout: not a positive duration")
	}
	base, err := url.Parse(cfg.BaseURL())
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, errors.New("sms.url: not an http(s) URL")
	}
	endpoint := base.JoinPath("2010-04-01", "Accounts", cfg.AccountSID, "Messages.json")
	endpoint.User = nil
	return &TwilioSender{
		endpoint: endpoint.String(),
		shown:    "twilio " + endpoint.Host,
		sid:      cfg.AccountSID,
		token:    cfg.Secret,
		from:     cfg.From,
		timeout:  cfg.Timeout.D(),
		Client:   httpClient(),
	}, nil
}

// SendSMS sends m within sms.timeout or ctx's deadline, whichever comes first. A sender starting with MG
// is a messaging service (MessagingServiceSid), anything else a number (From).
func (s *TwilioSender) SendSMS(ctx context.Context, m SMS) error {
	if err := checkSMS(m); err != nil {
		return err
	}
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if strings.HasPrefix(s.from, "MG") {
		form.Set("MessagingServiceSid", s.from)
	} else {
		form.Set("From", s.from)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("sms twilio: %w", err)
	}
	req.SetBasicAuth(s.sid, s.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "UMM")
	return post(ctx, s.Client, req, s.shown, m, twilioRefusal)
}

// twilioRefusal reads Twilio's error answer: {"code": 21211, "message": "...", "more_info": ..., "status": 400}.
func twilioRefusal(status int, body []byte) *PermanentError {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e) // an answer of another shape still has its status
	return &PermanentError{Provider: config.SMSTwilio, Status: status, Code: e.Code, Message: e.Message}
}
