package bench

import (
	"context"
	"encoding/base32"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/server/servertest"
)

// signInWorkers is how many browsers sign in at once in BenchmarkSignInSecondFactor: enough to keep both
// cores of a small machine busy with password hashing, as a real login rush would.
const signInWorkers = 4

// signInsPerWorker is how many sign-ins each browser of BenchmarkSignInSecondFactor makes one after the
// other in a round (each as another account): a round waits for its slowest browser, so with one
// sign-in each it would measure the slowest of four sign-ins rather than the rate.
const signInsPerWorker = 5

// BenchmarkSignInSecondFactor measures full hosted sign-ins per second, in the same run and in
// alternating rounds: password only (GET the form, POST the credentials, the session created) for users
// without a second factor, and password plus authenticator app (the same, then the second-factor page
// and its code) for users with one, signInWorkers browsers at a time, with the default password-hashing
// parameters and MFA policy optional; each browser signs in signInsPerWorker accounts in a row per round.
// It reports both rates and how much slower the second one is: the
// second factor must cost well under 10 % of the password. The server's clock moves 30 s before every
// round, so each code is of a new time step (a step is accepted once).
func BenchmarkSignInSecondFactor(b *testing.B) {
	def := config.Default().Security
	clk := &benchClock{t: time.Now()}
	srv := servertest.New(b, servertest.WithClock(clk.Now), servertest.WithConfig(func(c *config.Config) {
		c.Security.Argon2MemoryKiB, c.Security.Argon2Iterations, c.Security.Argon2Parallelism = def.Argon2MemoryKiB, def.Argon2Iterations, def.Argon2Parallelism
		c.Security.IPLimitPerMinute = 1 << 30
		c.Security.AccountLockoutThreshold = 1 << 30
		c.Security.DeviceLockoutThreshold, c.Security.AccountHardLockThreshold = 1<<30, 1<<31
	}), servertest.WithSeed(func(ts *config.TenantSeed) { ts.MFA = &config.MFA{Policy: config.MFAOptional} }))
	ctx := context.Background()
	t, err := srv.DB.GetTenant(ctx, srv.Tenant)
	if err != nil {
		b.Fatal(err)
	}
	const password = "quartz-lantern-meadow-57"
	type account struct {
		email string
		seed  []byte // nil: password only
	}
	plain, second := make([][]account, signInWorkers), make([][]account, signInWorkers)
	for i := range signInWorkers * signInsPerWorker {
		w := i % signInWorkers
		for _, withApp := range []bool{false, true} {
			email := fmt.Sprintf("user%d-%v@example.com", i, withApp)
			u, err := srv.Identity.CreateUser(ctx, srv.Tenant, identity.NewUser{Email: email, Password: password, EmailVerified: true}, "bench")
			if err != nil {
				b.Fatal(err)
			}
			if !withApp {
				plain[w] = append(plain[w], account{email: email})
				continue
			}
			e, err := srv.Identity.BeginTOTP(ctx, t, u)
			if err != nil {
				b.Fatal(err)
			}
			seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.Identity.ConfirmTOTP(ctx, srv.Tenant, u.ID, e.FactorID, identity.TOTPCode(seed, clk.Now()), ""); err != nil {
				b.Fatal(err)
			}
			second[w] = append(second[w], account{email: email, seed: seed})
		}
	}

	signIn := func(a account) error {
		br := servertest.NewBrowser(b)
		f, _, _ := br.GetForm(srv.TenantURL("/login"))
		resp, body := br.Submit(f, url.Values{"email": {a.email}, "password": {password}})
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("login: %d %s", resp.StatusCode, body)
		}
		loc := resp.Header.Get("Location")
		if a.seed == nil {
			if !strings.HasSuffix(loc, "/account") {
				return fmt.Errorf("a user without a factor went to %s", loc)
			}
			return nil
		}
		f, _, _ = br.GetForm(srv.URL+loc, "/login/mfa?")
		resp, body = br.Submit(f, url.Values{"code": {identity.TOTPCode(a.seed, clk.Now())}})
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/account") {
			return fmt.Errorf("second factor: %d %s", resp.StatusCode, body)
		}
		return nil
	}
	round := func(workers [][]account) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, signInWorkers*signInsPerWorker)
		for _, accounts := range workers {
			wg.Go(func() {
				for _, a := range accounts {
					errs <- signIn(a)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	var pwd, both time.Duration
	for b.Loop() {
		clk.Advance(30 * time.Second)
		pwd += round(plain)
		both += round(second)
	}
	n := float64(b.N * signInWorkers * signInsPerWorker)
	pwdRate, bothRate := n/pwd.Seconds(), n/both.Seconds()
	b.ReportMetric(pwdRate, "password-signins/s")
	b.ReportMetric(bothRate, "password+totp-signins/s")
	b.ReportMetric(100*(pwdRate/bothRate-1), "second-factor-cost-%")
	b.ReportMetric(0, "ns/op") // the rates are the result
}

// BenchmarkNewDeviceEmail is a full hosted password sign-in from a new browser by a returning user,
// with the tenant's "New sign-in" email off and on (default hashing parameters): with it on the sign-in
// also writes the "This wasn't me" flow and the sealed email into the outbox in its transaction. The
// email is rendered and delivered later by the outbox (into files here), outside the measured request.
func BenchmarkNewDeviceEmail(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("new_device_email=%v", on), func(b *testing.B) {
			def := config.Default().Security
			srv := servertest.New(b, servertest.WithConfig(func(c *config.Config) {
				c.Security.Argon2MemoryKiB, c.Security.Argon2Iterations, c.Security.Argon2Parallelism = def.Argon2MemoryKiB, def.Argon2Iterations, def.Argon2Parallelism
				c.Security.IPLimitPerMinute = 1 << 30
				c.Security.AccountLockoutThreshold = 1 << 30
				c.Security.DeviceLockoutThreshold, c.Security.AccountHardLockThreshold = 1<<30, 1<<31
			}), servertest.WithSeed(func(ts *config.TenantSeed) { ts.Login = &config.Login{NewDeviceEmail: &on} }))
			login := func() {
				br := srv.NewBrowser(b)
				f, _, _ := br.GetForm(srv.TenantURL("/login"))
				if resp, body := br.Submit(f, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}}); resp.StatusCode != http.StatusSeeOther {
					b.Fatalf("login: %d %s", resp.StatusCode, body)
				}
			}
			login() // the first sign-in of the account tells nobody
			for b.Loop() {
				login()
			}
		})
	}
}
