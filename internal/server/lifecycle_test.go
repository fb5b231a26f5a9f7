package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// introspect introspects tok at srv as client and returns the status and whether the token is active.
func introspect(t *testing.T, srv *servertest.Server, client servertest.Client, tok string) (int, bool) {
	t.Helper()
	resp, body := postClient(t, srv, "/introspect", client, url.Values{"token": {tok}})
	var m struct {
		Active bool `json:"active"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("introspect %s: %v", body, err)
		}
	}
	return resp.StatusCode, m.Active
}

// userinfoStatus calls UserInfo at srv with tok.
func userinfoStatus(t *testing.T, srv *servertest.Server, tok string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.TenantURL("/userinfo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ := servertest.NewBrowser(t).Do(req)
	return resp.StatusCode
}

// eventually polls done until it holds, failing the test after 10s: for waits that measure no propagation.
func eventually(t *testing.T, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not done after 10s")
		}
	}
}

// TestDeletionEndsTokensOnEveryNode deletes a client, a user and a tenant on node a and checks that node
// b, which had verified their tokens a moment before, refuses them at once, and that what is registered
// again under the same id starts empty.
func TestDeletionEndsTokensOnEveryNode(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			m2m := config.ClientSeed{ClientID: "m2m", ClientSecret: "m2m-client-secret-0123456789", Name: "M2M",
				GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_basic"}
			a := servertest.New(t, servertest.WithBackend(backend), servertest.WithClient(m2m), servertest.WithCacheTTL(cacheTTL))
			b := servertest.New(t, servertest.WithPeer(a), servertest.WithClient(m2m), servertest.WithCacheTTL(cacheTTL))
			m2mClient := servertest.Client{ID: m2m.ClientID, Secret: m2m.ClientSecret}
			cc := url.Values{"grant_type": {"client_credentials"}}

			t.Run("a deleted client's tokens die on the other node and stay dead when the id is registered again", func(t *testing.T) {
				old := token(t, a, m2mClient, cc).AccessToken
				// Only the client a token was issued to sees it active (RFC 7662 §4).
				if !activeAs(t, b, m2mClient, old) { // node b now caches the client and "not revoked"
					t.Fatal("node b finds a fresh access token inactive")
				}
				if err := a.Admin.DeleteClient(ctx, a.Tenant, m2m.ClientID, "test"); err != nil {
					t.Fatal(err)
				}
				took := within(t, func() bool {
					status, _ := introspect(t, b, m2mClient, old)
					return status == http.StatusUnauthorized
				})
				t.Logf("node b refused the deleted client after %s", took)

				_, _, err := a.Admin.CreateClient(ctx, a.Tenant, admin.ClientInput{ClientID: m2m.ClientID,
					Secret: "m2m-client-secret-0123456789", GrantTypes: []string{"client_credentials"}}, "test")
				if err != nil {
					t.Fatal(err)
				}
				var fresh string
				within(t, func() bool {
					resp, body := postClient(t, b, "/token", m2mClient, cc)
					var tr tokenResponse
					_ = json.Unmarshal([]byte(body), &tr)
					fresh = tr.AccessToken
					return resp.StatusCode == http.StatusOK
				})
				if activeAs(t, b, m2mClient, old) {
					t.Error("the deleted client's token works again now that a client has its id")
				}
				if !activeAs(t, b, m2mClient, fresh) {
					t.Error("a token of the client registered again is inactive")
				}
			})

			t.Run("a deleted client's user tokens die on the other node, at introspection and at userinfo", func(t *testing.T) {
				code, verifier := codeFlow(t, a, a.NewBrowser(t), a.FirstParty, "openid offline_access")
				tr := token(t, a, a.FirstParty, url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {a.FirstParty.RedirectURI}, "code_verifier": {verifier}})
				if !activeAs(t, b, a.FirstParty, tr.AccessToken) || userinfoStatus(t, b, tr.AccessToken) != http.StatusOK {
					t.Fatal("node b refuses a fresh access token")
				}
				if err := a.Admin.DeleteClient(ctx, a.Tenant, a.FirstParty.ID, "test"); err != nil {
					t.Fatal(err)
				}
				took := within(t, func() bool {
					status, _ := introspect(t, b, a.FirstParty, tr.AccessToken)
					return status == http.StatusUnauthorized && userinfoStatus(t, b, tr.AccessToken) == http.StatusUnauthorized
				})
				t.Logf("node b refused the deleted client's user token after %s", took)

				// Registered again under the same id and secret, the client starts empty: neither the old
				// access token nor the old refresh token works for it.
				_, _, err := a.Admin.CreateClient(ctx, a.Tenant, admin.ClientInput{ClientID: a.FirstParty.ID,
					Secret: keys.Secret(a.FirstParty.Secret), RedirectURIs: []string{a.FirstParty.RedirectURI},
					GrantTypes: []string{"authorization_code", "refresh_token"}, FirstParty: true}, "test")
				if err != nil {
					t.Fatal(err)
				}
				within(t, func() bool {
					status, _ := introspect(t, b, a.FirstParty, tr.AccessToken)
					return status == http.StatusOK
				})
				if activeAs(t, b, a.FirstParty, tr.AccessToken) || activeAs(t, b, a.FirstParty, tr.RefreshToken) {
					t.Error("the deleted client's tokens are active for the client registered again")
				}
				if resp, body := postClient(t, b, "/token", a.FirstParty, url.Values{"grant_type": {"refresh_token"},
					"refresh_token": {tr.RefreshToken}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_grant") {
					t.Errorf("the deleted client's refresh token = %d %s, want invalid_grant", resp.StatusCode, body)
				}
			})

			t.Run("a deleted user's tokens die on the other node, at introspection and at userinfo", func(t *testing.T) {
				code, verifier := codeFlow(t, a, a.NewBrowser(t), a.Confidential, "openid offline_access")
				tr := token(t, a, a.Confidential, url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {a.Confidential.RedirectURI}, "code_verifier": {verifier}})
				if !active(t, b, tr.AccessToken) || userinfoStatus(t, b, tr.AccessToken) != http.StatusOK {
					t.Fatal("node b refuses a fresh access token")
				}
				if err := a.Admin.DeleteUser(ctx, a.Tenant, a.User.ID, "test"); err != nil {
					t.Fatal(err)
				}
				took := within(t, func() bool {
					return !active(t, b, tr.AccessToken) && userinfoStatus(t, b, tr.AccessToken) == http.StatusUnauthorized
				})
				t.Logf("node b refused the deleted user's token after %s", took)
				if active(t, b, tr.RefreshToken) {
					t.Error("the deleted user's refresh token is active")
				}
				if resp, _ := postClient(t, b, "/token", a.Confidential, url.Values{"grant_type": {"refresh_token"},
					"refresh_token": {tr.RefreshToken}}); resp.StatusCode != http.StatusBadRequest {
					t.Errorf("refreshing with the deleted user's refresh token = %d, want 400", resp.StatusCode)
				}
			})

			t.Run("a deleted tenant's tokens die on the other node and stay dead when the tenant is created again", func(t *testing.T) {
				old := token(t, a, a.Confidential, cc).AccessToken
				if !active(t, b, old) {
					t.Fatal("node b finds a fresh access token inactive")
				}
				if err := a.Admin.DeleteTenant(ctx, a.Tenant, "test"); err != nil {
					t.Fatal(err)
				}
				took := within(t, func() bool {
					status, _ := introspect(t, b, a.Confidential, old)
					return status == http.StatusNotFound
				})
				t.Logf("node b forgot the deleted tenant after %s", took)

				if _, err := a.Admin.CreateTenant(ctx, admin.TenantInput{ID: a.Tenant}, "test"); err != nil {
					t.Fatal(err)
				}
				c, secret, err := a.Admin.CreateClient(ctx, a.Tenant, admin.ClientInput{ClientID: a.Confidential.ID,
					GrantTypes: []string{"client_credentials"}}, "test")
				if err != nil {
					t.Fatal(err)
				}
				again := servertest.Client{ID: c.ClientID, Secret: string(secret)}
				var status int
				var isActive bool
				eventually(t, func() bool { // the tenant's new signing keys are generated first
					status, isActive = introspect(t, b, again, old)
					return status == http.StatusOK
				})
				if isActive {
					t.Error("a token of the deleted tenant is active in the tenant created again")
				}
				if users, _ := a.Admin.ListUsers(ctx, a.Tenant, "", 10); len(users) != 0 {
					t.Errorf("the tenant created again has %d users", len(users))
				}
			})
		})
	}
}

// TestRotatedSecretWorksOnlyDuringTheGrace rotates a client secret with and without a grace period.
func TestRotatedSecretWorksOnlyDuringTheGrace(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var offset atomic.Int64
			srv := servertest.New(t, servertest.WithBackend(backend),
				servertest.WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
			cc := url.Values{"grant_type": {"client_credentials"}}
			status := func(c servertest.Client) int {
				resp, _ := postClient(t, srv, "/token", c, cc)
				return resp.StatusCode
			}
			old := srv.Confidential

			secret, err := srv.Admin.RotateClientSecret(ctx, srv.Tenant, old.ID, time.Hour, "test")
			if err != nil {
				t.Fatal(err)
			}
			rotated := servertest.Client{ID: old.ID, Secret: string(secret)}
			eventually(t, func() bool { return status(rotated) == http.StatusOK })
			if got := status(old); got != http.StatusOK {
				t.Errorf("the previous secret within the grace period = %d, want 200", got)
			}
			offset.Store(int64(2 * time.Hour))
			if got := status(old); got != http.StatusUnauthorized {
				t.Errorf("the previous secret after the grace period = %d, want 401", got)
			}
			if got := status(rotated); got != http.StatusOK {
				t.Errorf("the new secret after the grace period = %d, want 200", got)
			}

			newest, err := srv.Admin.RotateClientSecret(ctx, srv.Tenant, old.ID, 0, "test")
			if err != nil {
				t.Fatal(err)
			}
			latest := servertest.Client{ID: old.ID, Secret: string(newest)}
			eventually(t, func() bool { return status(latest) == http.StatusOK })
			if got := status(rotated); got != http.StatusUnauthorized {
				t.Errorf("the previous secret after a rotation without grace = %d, want 401", got)
			}

			if _, err := srv.Admin.RotateClientSecret(ctx, srv.Tenant, srv.Public.ID, 0, "test"); !admin.IsInvalid(err) {
				t.Errorf("rotating the secret of a public client = %v, want an invalid-input error", err)
			}
			if _, err := srv.Admin.RotateClientSecret(ctx, srv.Tenant, old.ID, -time.Second, "test"); !admin.IsInvalid(err) {
				t.Errorf("a negative grace = %v, want an invalid-input error", err)
			}
		})
	}
}

// TestRevokedKeyFailsOnEveryNode revokes the key that signed an access token on node a and checks that
// node b, which had verified (and cached) the token, refuses it at once and signs with the replacement.
func TestRevokedKeyFailsOnEveryNode(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := servertest.New(t, servertest.WithBackend(backend), servertest.WithCacheTTL(cacheTTL))
			b := servertest.New(t, servertest.WithPeer(a), servertest.WithCacheTTL(cacheTTL))
			cc := url.Values{"grant_type": {"client_credentials"}}
			old := token(t, a, a.Confidential, cc).AccessToken
			if !active(t, b, old) {
				t.Fatal("node b finds a fresh access token inactive")
			}
			revoked := kid(t, old)
			if _, err := a.Keys.Revoke(context.Background(), a.Tenant, revoked, "test"); err != nil {
				t.Fatal(err)
			}
			took := within(t, func() bool { return !active(t, b, old) })
			t.Logf("node b refused the revoked key's token after %s", took)
			resp, body := servertest.NewBrowser(t).Get(b.TenantURL("/jwks.json"))
			if resp.StatusCode != http.StatusOK || strings.Contains(body, revoked) {
				t.Errorf("node b's JWKS (%d) still lists the revoked key:\n%s", resp.StatusCode, body)
			}
			fresh := token(t, b, b.Confidential, cc).AccessToken
			if kid(t, fresh) == revoked || !active(t, a, fresh) {
				t.Error("signing did not move to a new key")
			}
		})
	}
}

// TestMasterKeyRotationWithoutDowntime runs the README's master key rotation across nodes of one
// deployment: a node on the new key (the old one only opening) serves while the secrets are re-sealed,
// and a node that knows only the new key serves afterwards, with the same signing keys and client secrets.
func TestMasterKeyRotationWithoutDowntime(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			a := servertest.New(t, servertest.WithBackend(backend))
			cc := url.Values{"grant_type": {"client_credentials"}}
			before := token(t, a, a.Confidential, cc).AccessToken

			newKey := filepath.Join(t.TempDir(), "new.key")
			if err := os.WriteFile(newKey, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))), 0o600); err != nil {
				t.Fatal(err)
			}
			oldKey := a.Config.Secrets.MasterKeyFile
			step2 := servertest.New(t, servertest.WithPeer(a), servertest.WithConfig(func(c *config.Config) {
				c.Secrets.MasterKeyFile, c.Secrets.PreviousMasterKeyFiles = newKey, []string{oldKey}
			}))
			if !active(t, step2, before) || !active(t, step2, token(t, step2, step2.Confidential, cc).AccessToken) {
				t.Fatal("a node on the new master key does not serve the deployment's tokens and clients")
			}
			rep, err := keys.Reseal(ctx, step2.DB, step2.Keyring)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Resealed == 0 {
				t.Fatalf("Reseal = %+v: nothing was sealed under the old key", rep)
			}
			after := servertest.New(t, servertest.WithPeer(a), servertest.WithConfig(func(c *config.Config) {
				c.Secrets.MasterKeyFile, c.Secrets.PreviousMasterKeyFiles = newKey, nil
			}))
			if !active(t, after, before) {
				t.Error("a token signed before the rotation is inactive at a node that knows only the new key")
			}
			if !active(t, a, token(t, after, after.Confidential, cc).AccessToken) {
				t.Error("a token signed after the rotation is inactive")
			}
		})
	}
}
