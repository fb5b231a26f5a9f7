package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestAttackNoticeIsEmailed: failed sign-ins on the wired server reach the attack threshold, and the
// account's owner gets one email through the configured relay, sent by the server's own outbox worker.
func TestAttackNoticeIsEmailed(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			relay := notifytest.New(t, notifytest.Options{TLS: config.SMTPNone})
			a := servertest.New(t, servertest.WithBackend(backend), servertest.WithConfig(func(c *config.Config) {
				c.SMTP = relay.Config
				c.Security.AccountAttackThreshold = 3
			}))
			if banner := a.Banner("umm", ""); !strings.Contains(banner, "email:           via 127.0.0.1:") {
				t.Errorf("the banner does not say where email goes:\n%s", banner)
			}
			for range 3 {
				if _, err := a.Identity.Authenticate(context.Background(), a.Tenant, a.User.Email, "not the password", "203.0.113.7"); err == nil {
					t.Fatal("a wrong password signed in")
				}
			}
			got := relay.Await(t, 1)
			if len(got) != 1 || got[0].To != a.User.Email || !strings.Contains(got[0].Subject, "Test Tenant") ||
				!strings.Contains(got[0].Body, a.User.Email) {
				t.Fatalf("relay received %+v, want one notice to %s", got, a.User.Email)
			}
		})
	}
}
