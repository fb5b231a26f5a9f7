package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/umm-project/umm/internal/store/storetest"
)

// TestCluster runs two umm nodes on one PostgreSQL database, as the cluster deployment does: every flow
// state lives in the database, so either node must carry on what the other started.
func TestCluster(t *testing.T) {
	storetest.PostgresURL(t) // skips without PostgreSQL, fails in CI
	t.Run("two nodes started together on one PostgreSQL share codes, tokens, sessions, keys and revocations", func(t *testing.T) {
		a := newServer(t, "postgres")
		b := a.peer()
		errs := make(chan error, 2)
		for _, n := range []*server{a, b} {
			go func() { errs <- n.start() }() // both migrate and seed the fresh schema at once
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}

		ag := newAgent(a)
		verifier := oauth2.GenerateVerifier()
		code := ag.mustCode(t, verifier) // signed in on node a
		tr := b.redeem(t, code, verifier)
		if tr.Status != http.StatusOK {
			t.Fatalf("node b cannot redeem node a's code: %d %s", tr.Status, snippet(tr.Raw))
		}

		ctx := oidc.ClientContext(testCtx(t, time.Minute), httpClient())
		for _, n := range []*server{a, b} {
			v := oidc.NewVerifier(a.Issuer("acme"), oidc.NewRemoteKeySet(ctx, n.URL+"/t/acme/jwks.json"), &oidc.Config{ClientID: "web"})
			if _, err := v.Verify(ctx, tr.IDToken); err != nil {
				t.Errorf("the ID token does not verify with the JWKS of node %s: %v", n.URL, err)
			}
		}

		next := a.refresh(t, tr.RefreshToken)
		if next.Status != http.StatusOK {
			t.Fatalf("node a cannot refresh node b's refresh token: %d %s", next.Status, snippet(next.Raw))
		}
		if r := b.refresh(t, tr.RefreshToken); r.Status != http.StatusBadRequest {
			t.Errorf("node b accepted a refresh token that node a had rotated: %d", r.Status)
		}
		if b.active(t, next.AccessToken) {
			t.Error("node b still finds the access token of a family revoked by reuse active")
		}

		// The SSO session started on node a serves node b (cookies are per host, so the agent sends them).
		q := codeParams("web", a.RP.URL+"/cb")
		q.Set("prompt", "none")
		loc, err := ag.authorize(authorizeURL(b, "acme", q), flowOpts{})
		if err != nil || loc.Query().Get("code") == "" {
			t.Fatalf("prompt=none on node b with node a's session: %v %v, want a code", loc, err)
		}

		// Revocation on node a is seen by node b.
		verifier = oauth2.GenerateVerifier()
		fresh := a.redeem(t, ag.mustCode(t, verifier), verifier)
		if fresh.Status != http.StatusOK {
			t.Fatalf("redeem on node a: %d %s", fresh.Status, snippet(fresh.Raw))
		}
		if !b.active(t, fresh.AccessToken) {
			t.Fatal("node b does not find node a's fresh access token active")
		}
		resp, body, err := a.postForm("/t/acme/revoke", "web", webSecret, url.Values{"token": {fresh.RefreshToken}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke on node a: %v %s", errOrStatus(resp, err), snippet(string(body)))
		}
		if r := b.refresh(t, fresh.RefreshToken); r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
			t.Errorf("node b refreshed a token revoked on node a: %d %q", r.Status, r.Error)
		}
		// Node b cached "not revoked" just now; the revocation's NOTIFY must reach it well before that
		// answer's TTL (2s) runs out.
		revoked := time.Now()
		for b.active(t, fresh.AccessToken) {
			if time.Since(revoked) > 1500*time.Millisecond {
				t.Error("node b still finds an access token of a grant revoked on node a active after 1.5s")
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("node b saw node a's revocation after %s", time.Since(revoked).Round(10*time.Millisecond))

		// A code redeemed on node b is a replay on node a.
		verifier = oauth2.GenerateVerifier()
		code = ag.mustCode(t, verifier)
		won := b.redeem(t, code, verifier)
		if won.Status != http.StatusOK {
			t.Fatalf("redeem on node b: %d %s", won.Status, snippet(won.Raw))
		}
		if r := a.redeem(t, code, verifier); r.Status != http.StatusBadRequest || r.Error != "invalid_grant" {
			t.Errorf("node a answered %d %q to a code that node b had redeemed, want 400 invalid_grant", r.Status, r.Error)
		}
		if b.active(t, won.AccessToken) {
			t.Error("node b finds the access token of a replayed code active")
		}
	})
}
