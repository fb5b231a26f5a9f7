// Package stdwebhook signs and verifies webhooks as the Standard Webhooks specification says
// (https://www.standardwebhooks.com): headers webhook-id, webhook-timestamp and webhook-signature, the
// last "v1," and the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>". It is apart from notify so that
// notify's senders and notifytest's receiver, which notify's own tests import, share one implementation.
package stdwebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
)

// The headers of a signed webhook.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a webhook's timestamp may be from the receiver's clock: enough for clock
// skew and a slow network, short enough that a recorded request cannot be replayed much later.
const DefaultTolerance = 5 * time.Minute

// ErrSignature is wrapped by every refusal of Verify.
var ErrSignature = errors.New("webhook signature not verified")

// Sign returns the webhook-signature header of body sent with id at ts (unix seconds) under key.
func Sign(key []byte, id string, ts int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(ts, 10), body))
}

// SignAll returns the webhook-signature header under several keys: their signatures, space-separated, as
// during a secret rotation, when receivers may still hold the previous secret or already the new one.
func SignAll(keys [][]byte, id string, ts int64, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, ts, body)
	}
	return strings.Join(sigs, " ")
}

func mac(key []byte, id, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a signed request: the webhook-id and webhook-timestamp headers present, the timestamp
// within tolerance of now (DefaultTolerance when tolerance is not positive), and one of the
// space-separated "v1,<base64>" signatures in webhook-signature equal, compared in constant time, to the
// HMAC-SHA256 under secret's key (config.WebhookKey) of "<id>.<timestamp>.<body>". Its errors wrap
// ErrSignature and never contain the secret or the expected signature.
func Verify(secret string, headers http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := config.WebhookKey(secret)
	if err != nil {
		return fmt.Errorf("%w: the secret: %v", ErrSignature, err)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, ts, sigs := headers.Get(HeaderID), headers.Get(HeaderTimestamp), headers.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("%w: the %s, %s and %s headers are required", ErrSignature, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not a number of seconds", ErrSignature, HeaderTimestamp)
	}
	// Compared in seconds, so that no timestamp, however far off, overflows a time.Duration.
	tol := int64(tolerance / time.Second)
	if d := now.Unix() - sec; d > tol || d < -tol {
		return fmt.Errorf("%w: %s is more than %s from now", ErrSignature, HeaderTimestamp, tolerance)
	}
	want := mac(key, id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrSignature)
}
