package stdwebhook

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
)

// The example the Standard Webhooks specification publishes: a signature receivers' libraries accept is
// one UMM writes, and the other way round.
func TestTheSpecificationsExample(t *testing.T) {
	t.Parallel()
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = 1614265330
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	key, err := config.WebhookKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := Sign(key, id, ts, []byte(body)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, "1614265330")
	h.Set(HeaderSignature, want)
	if err := Verify(secret, h, []byte(body), time.Unix(ts, 0).Add(time.Minute), 0); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := Verify(secret, h, []byte(`{"test":2432232314}`), time.Unix(ts, 0), 0); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify of the body written otherwise: %v", err)
	}
}

// During a rotation a request carries a signature under each secret, and a receiver holding either accepts it.
func TestWebhookSignAllVerifiesUnderEitherSecret(t *testing.T) {
	t.Parallel()
	const oldSecret, newSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_QjY3ZWNkZTk5ZjM0NGRmYmFhOTJlMWU2MDFkZWIyMTQ="
	oldKey, _ := config.WebhookKey(oldSecret)
	newKey, _ := config.WebhookKey(newSecret)
	body := []byte(`{"type":"user.created"}`)
	now := time.Now()
	h := http.Header{}
	h.Set(HeaderID, "msg_1")
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, SignAll([][]byte{newKey, oldKey}, "msg_1", now.Unix(), body))
	for _, s := range []string{oldSecret, newSecret} {
		if err := Verify(s, h, body, now, 0); err != nil {
			t.Errorf("Verify with one of the two secrets: %v", err)
		}
	}
	if err := Verify("whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==", h, body, now, 0); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify with a third secret = %v", err)
	}
}
