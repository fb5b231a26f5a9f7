package events

import (
	"testing"
	"time"
)

func TestWebhookRetrySchedule(t *testing.T) {
	t.Parallel()
	d := NewWebhookDispatcher(nil, nil, nil, nil)
	for attempt, want := range map[int]time.Duration{
		1: 5 * time.Second, 2: 30 * time.Second, 3: 2 * time.Minute, 4: 10 * time.Minute, 5: time.Hour,
		6: 4 * time.Hour, 7: 4 * time.Hour, 40: 4 * time.Hour,
	} {
		if got := d.retryDelay(attempt); got != want {
			t.Errorf("delay after failed attempt %d = %s, want %s", attempt, got, want)
		}
	}
	if d.RetryFor != 72*time.Hour {
		t.Errorf("RetryFor = %s, want 72h", d.RetryFor)
	}
}
