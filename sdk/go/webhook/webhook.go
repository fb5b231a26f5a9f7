// Package webhook verifies the webhooks UMM delivers, signed as the Standard Webhooks specification says
// (https://www.standardwebhooks.com): headers webhook-id, webhook-timestamp and webhook-signature, the
// last holding "v1," and the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>", several of them separated
// by spaces while two secrets overlap after a rotation.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a signed webhook.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a webhook's timestamp may be from the receiver's clock.
const DefaultTolerance = 5 * time.Minute

// ErrSignature is wrapped by every refusal of Verify.
var ErrSignature = errors.New("webhook signature not verified")

// Verifier checks webhook signatures with one or more secrets. Give it both the old and the new secret
// while a rotation is under way, so that deliveries signed with either are accepted.
type Verifier struct {
	keys      [][]byte
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier returns a Verifier for the endpoint's secrets ("whsec_" and base64, as UMM shows them once
// on creation and rotation).
func NewVerifier(secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("webhook: a secret is required")
	}
	v := &Verifier{tolerance: DefaultTolerance, now: time.Now}
	for i, s := range secrets {
		k, err := decodeSecret(s)
		if err != nil {
			return nil, fmt.Errorf("webhook: secret %d: %w", i+1, err)
		}
		v.keys = append(v.keys, k)
	}
	return v, nil
}

// WithTolerance returns a copy of v accepting timestamps up to d from now.
func (v *Verifier) WithTolerance(d time.Duration) *Verifier {
	c := *v
	c.tolerance = d
	return &c
}

// WithClock returns a copy of v reading the time from now.
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	c := *v
	c.now = now
	return &c
}

func decodeSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New(`the secret must start with "whsec_"`)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(rest); err == nil && len(k) > 0 {
			return k, nil
		}
	}
	return nil, errors.New(`the secret must continue in base64 after "whsec_"`)
}

// Verify checks that body, received with headers, was signed with one of v's secrets within the
// tolerance of now. Its errors wrap ErrSignature and never contain a secret or an expected signature.
func (v *Verifier) Verify(headers http.Header, body []byte) error {
	id, ts, sigs := headers.Get(HeaderID), headers.Get(HeaderTimestamp), headers.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("%w: the %s, %s and %s headers are required", ErrSignature, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not a number of seconds", ErrSignature, HeaderTimestamp)
	}
	// Compared in seconds, so that no timestamp, however far off, overflows a time.Duration.
	tol := int64(v.tolerance / time.Second)
	if d := v.now().Unix() - sec; d > tol || d < -tol {
		return fmt.Errorf("%w: %s is more than %s from now", ErrSignature, HeaderTimestamp, v.tolerance)
	}
	want := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		want[i] = mac(k, id, ts, body)
	}
	for _, sig := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue // other schemes (v1a, ...) are for other receivers
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		for _, w := range want {
			if hmac.Equal(got, w) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrSignature)
}

// Sign returns the webhook-signature value of body sent with id at ts under secret: what UMM sends, for
// tests of receivers.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	k, err := decodeSecret(secret)
	if err != nil {
		return "", fmt.Errorf("webhook: %w", err)
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(k, id, strconv.FormatInt(ts.Unix(), 10), body)), nil
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

// Event is a webhook's payload.
type Event struct {
	ID        string          `json:"-"` // the webhook-id header: stable across retries, for deduplication
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// maxBody bounds the body Handler reads.
const maxBody = 1 << 20

// Handler returns an http.Handler that verifies each delivery and hands its decoded event to fn. A
// delivery that does not verify is answered 401 and fn is not called; fn's error is answered 500, which
// makes UMM retry the delivery, and nil 204. Deduplicate on Event.ID: a retried delivery keeps its id.
func (v *Verifier) Handler(fn func(r *http.Request, e Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "the body is too large or could not be read", http.StatusRequestEntityTooLarge)
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var e Event
		if err := json.Unmarshal(body, &e); err != nil || e.Type == "" {
			http.Error(w, "the body is not a webhook event", http.StatusBadRequest)
			return
		}
		e.ID = r.Header.Get(HeaderID)
		if err := fn(r, e); err != nil {
			http.Error(w, "the event was not processed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
