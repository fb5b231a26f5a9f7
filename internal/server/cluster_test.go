package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// propagation is how soon a change committed on one node must be acted on by another. The nodes of these
// tests cache for cacheTTL, far longer, so only the invalidation message can explain it.
const (
	propagation = 1500 * time.Millisecond
	cacheTTL    = time.Hour
)

// TestChangesReachTheOtherNode runs two nodes on one database and checks that what node a changes is acted
// on by node b at once, although node b had cached the previous state.
func TestChangesReachTheOtherNode(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			m2m := config.ClientSeed{ClientID: "m2m", ClientSecret: "m2m-client-secret-0123456789", Name: "M2M",
				GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_basic"}
			a := servertest.New(t, servertest.WithBackend(backend), servertest.WithClient(m2m), servertest.WithCacheTTL(cacheTTL))
			b := servertest.New(t, servertest.WithPeer(a), servertest.WithClient(m2m), servertest.WithCacheTTL(cacheTTL))
			m2mClient := servertest.Client{ID: m2m.ClientID, Secret: m2m.ClientSecret}

			t.Run("a grant revoked on node a makes its access token inactive at node b", func(t *testing.T) {
				code, verifier := codeFlow(t, a, a.NewBrowser(t), a.Confidential, "openid offline_access")
				tr := token(t, a, a.Confidential, url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {a.Confidential.RedirectURI}, "code_verifier": {verifier}})
				if !active(t, b, tr.AccessToken) { // node b now believes "not revoked" for a while
					t.Fatal("node b finds a fresh access token inactive")
				}
				if resp, body := postClient(t, a, "/revoke", a.Confidential, url.Values{"token": {tr.RefreshToken}}); resp.StatusCode != http.StatusOK {
					t.Fatalf("revoke on node a = %d:\n%s", resp.StatusCode, body)
				}
				took := within(t, func() bool { return !active(t, b, tr.AccessToken) })
				t.Logf("node b saw the grant revocation after %s", took)
				if active(t, b, tr.RefreshToken) {
					t.Error("node b finds the revoked refresh token active")
				}
			})
			t.Run("an access token revoked on node a is inactive at node b", func(t *testing.T) {
				at := token(t, a, m2mClient, url.Values{"grant_type": {"client_credentials"}}).AccessToken
				if !activeAs(t, b, m2mClient, at) {
					t.Fatal("node b finds a fresh access token inactive")
				}
				if resp, body := postClient(t, a, "/revoke", m2mClient, url.Values{"token": {at}}); resp.StatusCode != http.StatusOK {
					t.Fatalf("revoke on node a = %d:\n%s", resp.StatusCode, body)
				}
				took := within(t, func() bool { return !activeAs(t, b, m2mClient, at) })
				t.Logf("node b saw the access token revocation after %s", took)
			})
			t.Run("keys rotated through node a sign at node b", func(t *testing.T) {
				before := kid(t, token(t, b, m2mClient, url.Values{"grant_type": {"client_credentials"}}).AccessToken)
				if err := a.Keys.Rotate(context.Background(), a.Tenant); err != nil {
					t.Fatal(err)
				}
				want := currentKid(t, a.DB, a.Tenant, "ES256")
				if want == before {
					t.Fatal("the rotation did not change the current key")
				}
				took := within(t, func() bool {
					return kid(t, token(t, b, m2mClient, url.Values{"grant_type": {"client_credentials"}}).AccessToken) == want
				})
				t.Logf("node b signed with the new key after %s", took)
			})
			t.Run("a client deleted on node a is refused at node b", func(t *testing.T) {
				token(t, b, m2mClient, url.Values{"grant_type": {"client_credentials"}}) // node b caches the client
				if err := a.Admin.DeleteClient(context.Background(), a.Tenant, m2m.ClientID, "test"); err != nil {
					t.Fatal(err)
				}
				took := within(t, func() bool {
					resp, _ := postClient(t, b, "/token", m2mClient, url.Values{"grant_type": {"client_credentials"}})
					return resp.StatusCode == http.StatusUnauthorized
				})
				t.Logf("node b refused the deleted client after %s", took)
			})
		})
	}
}

// within polls done until it holds and returns how long that took, failing the test when it took more
// than propagation.
func within(t *testing.T, done func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !done() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("not done after %s", time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	if took > propagation {
		t.Errorf("took %s, want under %s", took.Round(time.Millisecond), propagation)
	}
	return took.Round(time.Millisecond)
}

// active introspects tok at srv with the confidential client.
func active(t *testing.T, srv *servertest.Server, tok string) bool {
	t.Helper()
	return activeAs(t, srv, srv.Confidential, tok)
}

// activeAs introspects tok at srv as client c: only the client a token was issued to (or its audience)
// learns that it is active.
func activeAs(t *testing.T, srv *servertest.Server, c servertest.Client, tok string) bool {
	t.Helper()
	resp, body := postClient(t, srv, "/introspect", c, url.Values{"token": {tok}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect = %d:\n%s", resp.StatusCode, body)
	}
	var m struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("introspect %s: %v", body, err)
	}
	return m.Active
}

// kid returns the key id in a JWS's protected header.
func kid(t *testing.T, jws string) string {
	t.Helper()
	h, _, _ := strings.Cut(jws, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	var v struct {
		Kid string `json:"kid"`
	}
	if err != nil || json.Unmarshal(raw, &v) != nil || v.Kid == "" {
		t.Fatalf("no kid in the header of %.20s...", jws)
	}
	return v.Kid
}

func currentKid(t *testing.T, db *store.DB, tenantID, alg string) string {
	t.Helper()
	rows, err := db.ListSigningKeys(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Alg == alg && r.Status == store.KeyStatusCurrent {
			return r.KeyID
		}
	}
	t.Fatalf("tenant %s has no current %s key", tenantID, alg)
	return ""
}
