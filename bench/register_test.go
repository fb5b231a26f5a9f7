package bench

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/notifytest"
	"github.com/umm-project/umm/internal/server/servertest"
)

// BenchmarkRegistration is one self-registration end to end: GET the form, POST it (address, password,
// name), the account, its password hash, the verification flow and the sealed verify_email committed,
// answered with the redirect to "check your email". The server's outbox hands every email to an SMTP
// sink on loopback (go-smtp, in process) meanwhile; the benchmark ends when the sink has all of them.
// Compare its ns/op with BenchmarkArgon2id: a registration hashes the password once.
func BenchmarkRegistration(b *testing.B) {
	relay := notifytest.New(b, notifytest.Options{})
	def := config.Default().Security
	srv := servertest.New(b, servertest.WithConfig(func(c *config.Config) {
		c.Security.Argon2MemoryKiB, c.Security.Argon2Iterations, c.Security.Argon2Parallelism = def.Argon2MemoryKiB, def.Argon2Iterations, def.Argon2Parallelism
		c.Email = relay.Config
	}), servertest.WithSeed(func(ts *config.TenantSeed) {
		ts.Registration = &config.Registration{Enabled: true,
			Limits: config.RegistrationLimits{PerIPPerHour: 1 << 30, EmailsPerAddressPerHour: 1 << 30}}
	}))
	run := time.Now().UnixNano()
	n := 0
	for b.Loop() {
		n++
		br := srv.NewBrowser(b)
		f, _, _ := br.GetForm(srv.TenantURL("/register"), "/register")
		resp, body := br.Submit(f, url.Values{"email": {fmt.Sprintf("reg-%d-%d@example.com", run, n)},
			"password": {"hazel-kettle-orbit-9871"}, "given_name": {"Bench"}})
		if resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("register: %d %s", resp.StatusCode, body)
		}
	}
	relay.AwaitWithin(b, n, time.Minute)
}
