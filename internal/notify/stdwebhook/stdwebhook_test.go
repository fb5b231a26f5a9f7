package stdwebhook

import (
	"errors"
	"net/http"
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
