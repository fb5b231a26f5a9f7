package e2e

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/store/storetest"
)

// TestCrashSafety kills the server with SIGKILL in the middle of a burst of writes and checks that
// everything it acknowledged survives a restart on the same database.
func TestCrashSafety(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Run("every refresh token acknowledged before SIGKILL still works after a restart", func(t *testing.T) {
				testCrash(t, backend)
			})
		})
	}
}

func testCrash(t *testing.T, backend string) {
	s := startServer(t, backend)
	a := newAgent(s)
	verifier := oauth2.GenerateVerifier()
	before := s.redeem(t, a.mustCode(t, verifier), verifier) // alice signs in; the burst rides on her SSO session
	if before.Status != http.StatusOK || before.IDToken == "" {
		t.Fatalf("redeem: %d %s", before.Status, snippet(before.Raw))
	}

	// Each worker loops: authorize (SSO, no form) -> code -> token, and records the refresh token of every
	// redemption the server answered 200. A recorded token is never used before the restart, so no
	// unacknowledged request can consume it.
	var (
		mu        sync.Mutex
		acked     []string
		failures  atomic.Int64
		stop      atomic.Bool
		wg        sync.WaitGroup
		killAfter = 40 + rand.IntN(40)
		enough    = make(chan struct{})
		once      sync.Once
	)
	redirect := s.RP.URL + "/cb"
	for range 6 {
		wg.Go(func() {
			for !stop.Load() {
				verifier := oauth2.GenerateVerifier()
				q := codeParams("web", redirect)
				q.Set("scope", "openid offline_access")
				q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
				q.Set("state", random())
				loc, err := a.authorize(authorizeURL(s, "acme", q), flowOpts{})
				if err != nil || loc.Query().Get("code") == "" {
					failures.Add(1)
					continue
				}
				resp, body, err := s.postForm("/t/acme/token", "web", webSecret, url.Values{"grant_type": {"authorization_code"},
					"code": {loc.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
				if err != nil || resp.StatusCode != http.StatusOK {
					failures.Add(1)
					continue
				}
				var tr tokenResponse
				if json.Unmarshal(body, &tr) != nil || tr.RefreshToken == "" {
					failures.Add(1)
					continue
				}
				mu.Lock()
				acked = append(acked, tr.RefreshToken)
				if len(acked) >= killAfter {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
	}
	s.kill() // the workers are still sending
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	tokens := append([]string(nil), acked...)
	mu.Unlock()
	if len(tokens) < 10 {
		t.Fatalf("only %d redemptions were acknowledged in 60s (%d failed) before the kill; the burst did not run", len(tokens), failures.Load())
	}
	t.Logf("%s: %d refresh tokens acknowledged before SIGKILL", backend, len(tokens))

	s.restart()
	var lost atomic.Int64
	sem := make(chan struct{}, 4)
	var check sync.WaitGroup
	for _, rt := range tokens {
		check.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			resp, body, err := s.postForm("/t/acme/token", "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			if err != nil || resp.StatusCode != http.StatusOK {
				if lost.Add(1) <= 3 {
					t.Errorf("an acknowledged refresh token fails after the restart: %v %s", errOrStatus(resp, err), snippet(string(body)))
				}
			}
		})
	}
	check.Wait()
	if n := lost.Load(); n > 0 {
		t.Errorf("%d of %d acknowledged refresh tokens were lost in the crash", n, len(tokens))
	}

	ctx := oidc.ClientContext(testCtx(t, time.Minute), httpClient())
	v := oidc.NewVerifier(s.Issuer("acme"), oidc.NewRemoteKeySet(ctx, s.Issuer("acme")+"/jwks.json"), &oidc.Config{ClientID: "web"})
	if _, err := v.Verify(ctx, before.IDToken); err != nil {
		t.Errorf("an ID token signed before the crash does not verify against the JWKS after it: %v", err)
	}

	q := codeParams("web", redirect)
	q.Set("prompt", "none")
	if loc, err := a.authorize(authorizeURL(s, "acme", q), flowOpts{}); err != nil || loc.Query().Get("code") == "" {
		t.Errorf("the SSO session started before the crash does not survive it: %v %v", loc, err)
	}
}
