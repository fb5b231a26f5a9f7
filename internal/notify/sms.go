package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/umm-project/umm/internal/config"
)

// SMS is one text message to one phone number.
type SMS struct {
	To   string // the recipient in E.164: + and 7 to 15 digits
	Body string // the text, sign-in code included
	// TenantID and Purpose (such as "sign_in") travel with a webhook for the receiver's routing and
	// accounting; Twilio gets neither.
	TenantID, Purpose string
	// ID names the message across retries (the webhook-id a receiver deduplicates on); empty: a random one
	// for each attempt.
	ID string
}

// SMSSender delivers text messages. A failure that retrying cannot cure wraps ErrPermanent (and is a
// *PermanentError when the provider refused the message).
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) error
}

// NewSMSSender returns the sender sms.provider names: TwilioSender, WebhookSender, or, without a provider
// (development mode), DevSMSSender after one warning in log (nil: no log).
func NewSMSSender(cfg config.SMS, log *slog.Logger) (SMSSender, error) {
	switch cfg.Provider {
	case config.SMSTwilio:
		return NewTwilioSender(cfg)
	case config.SMSWebhook:
		return NewWebhookSender(cfg)
	case config.SMSDev:
		d, err := NewDevSMSSender(cfg.DevDir)
		if err != nil {
			return nil, err
		}
		if log != nil {
			log.Warn("sms.provider is not set: SMS is not sent but written as text files (development mode)", "dir", cfg.DevDir)
		}
		return d, nil
	}
	return nil, fmt.Errorf("sms.provider: %q must be empty, twilio or webhook", cfg.Provider)
}

// PermanentError is a message the provider refused for good (a 4xx answer other than 401, 408 and 429:
// the number does not exist, cannot receive SMS, is blocked; the request is malformed), or one that was
// never sent because its recipient is no phone number. It matches ErrPermanent with errors.Is, so a
// retrying outbox gives it up at once.
type PermanentError struct {
	Provider string // config.SMSTwilio, config.SMSWebhook, or "" when nothing was sent
	Status   int    // the HTTP status; 0 when nothing was sent
	Code     int    // the provider's error code (Twilio's "code"); 0 when it gave none
	Message  string // the provider's message, the recipient's number taken out; may be empty
}

func (e *PermanentError) Error() string {
	var b strings.Builder
	b.WriteString("sms")
	if e.Provider != "" {
		b.WriteString(" " + e.Provider)
	}
	if e.Status == 0 {
		b.WriteString(": not sent")
	} else {
		b.WriteString(": refused with status " + strconv.Itoa(e.Status))
	}
	b.WriteString(providerDetail(e.Code, e.Message))
	return b.String()
}

// providerDetail is " (error <code>: <message>)", or as much of it as there is.
func providerDetail(code int, msg string) string {
	switch {
	case code != 0 && msg != "":
		return fmt.Sprintf(" (error %d: %s)", code, msg)
	case code != 0:
		return fmt.Sprintf(" (error %d)", code)
	case msg != "":
		return " (" + msg + ")"
	}
	return ""
}

// Is makes errors.Is(err, ErrPermanent) true, the test every sender's caller already makes.
func (e *PermanentError) Is(target error) bool { return target == ErrPermanent }

// smsE164 is what a recipient must look like; identity.NormalizePhone writes numbers so.
var smsE164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// checkSMS refuses, as permanent, a message no provider can deliver. The number stays out of the error:
// errors are logged and kept with the outbox message.
func checkSMS(m SMS) error {
	if !smsE164.MatchString(m.To) {
		return &PermanentError{Message: "the recipient is not a phone number in E.164 (+ and 7 to 15 digits)"}
	}
	if strings.TrimSpace(m.Body) == "" {
		return &PermanentError{Message: "the message is empty"}
	}
	return nil
}

// maxErrorBody bounds how much of an error answer is read: enough for any provider's JSON error.
const maxErrorBody = 64 << 10

// maxErrorMessage bounds the provider's message kept in an error.
const maxErrorMessage = 300

// httpClient is a client for one provider: its own transport, so that one provider's slow connections
// do not hold another's, and no redirects, which a POST with credentials must not follow.
func httpClient() *http.Client {
	return &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// post sends req, whose context ctx bounds the whole exchange, and classifies the answer: nil for 2xx;
// a *PermanentError (from refused, given the status and up to maxErrorBody of the answer) for a 4xx but
// 401, 408 and 429, which may pass later (credentials being fixed, a slow or busy provider); a temporary
// error for anything else. shown is how errors name the endpoint (without query or credentials).
func post(ctx context.Context, c *http.Client, req *http.Request, shown string, m SMS,
	refused func(status int, body []byte) *PermanentError) error {
	resp, err := c.Do(req)
	if err != nil {
		// url.Error repeats the full URL, a webhook's query included: name the endpoint as shown instead.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("sms %s: no answer in time: %w", shown, err)
		}
		return fmt.Errorf("sms %s: %w", shown, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Read to the end, so that the connection is reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return nil
	case s >= 400 && s < 500 && s != http.StatusUnauthorized && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests:
		pe := refused(s, body)
		pe.Message = cleanMessage(pe.Message, m)
		return pe
	default:
		pe := refused(s, body)
		return fmt.Errorf("sms %s answered status %d%s", shown, s, providerDetail(pe.Code, cleanMessage(pe.Message, m)))
	}
}

// cleanMessage is a provider's message fit for logs: one line, short, without the recipient's number
// (with or without its +) or the message's text, which holds the code.
func cleanMessage(msg string, m SMS) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if body := strings.Join(strings.Fields(m.Body), " "); len(body) >= 4 {
		msg = strings.ReplaceAll(msg, body, "(the message)")
	}
	for _, s := range []string{m.To, strings.TrimPrefix(m.To, "+")} {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "recipient")
		}
	}
	if len(msg) > maxErrorMessage {
		cut := maxErrorMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}
