package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestInvalidationMessages changes the database behind a node's back, as another node would, and hands
// the node the message that change publishes: the node must stop serving what it had cached at once.
func TestInvalidationMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newTokenEnv(t, db)
		n := newTokenEnvOn(t, e) // the node under test; e and db play the other node
		active := func(tok string) bool { return n.introspect(e.tenant.ID, tok)["active"] == true }
		fresh := func(t *testing.T) (token, jti, gid string) {
			t.Helper()
			tok := e.login()["access_token"].(string)
			if !active(tok) { // now cached as not revoked on n
				t.Fatal("a fresh access token is inactive")
			}
			c := jwtClaims(t, tok)
			return tok, c["jti"].(string), c["gid"].(string)
		}
		exp := func() time.Time { return e.now().Add(time.Hour) }

		t.Run("an access token revoked elsewhere is inactive once its message arrives", func(t *testing.T) {
			tok, jti, _ := fresh(t)
			if err := db.RevokeAccessToken(ctx, e.tenant.ID, jti, exp()); err != nil {
				t.Fatal(err)
			}
			n.p.Invalidate(store.TopicRevoke, e.tenant.ID+":"+store.RevokedToken+":"+jti)
			if active(tok) {
				t.Fatal("still active")
			}
		})
		t.Run("a grant revoked elsewhere makes its access tokens inactive once its message arrives", func(t *testing.T) {
			tok, _, gid := fresh(t)
			if _, err := db.RevokeGrant(ctx, e.tenant.ID, gid, e.now()); err != nil {
				t.Fatal(err)
			}
			n.p.Invalidate(store.TopicRevoke, e.tenant.ID+":"+store.RevokedGrant+":"+gid)
			if active(tok) {
				t.Fatal("still active")
			}
		})
		t.Run("a tenant-wide revocation message forgets every answer of the tenant", func(t *testing.T) {
			tok, jti, _ := fresh(t)
			if err := db.RevokeAccessToken(ctx, e.tenant.ID, jti, exp()); err != nil {
				t.Fatal(err)
			}
			n.p.Invalidate(store.TopicRevoke, e.tenant.ID)
			if active(tok) {
				t.Fatal("still active")
			}
		})
		t.Run("a revocation message naming another tenant's grant revokes nothing here", func(t *testing.T) {
			tok, _, gid := fresh(t)
			n.p.Invalidate(store.TopicRevoke, e.other.ID+":"+store.RevokedGrant+":"+gid)
			n.p.Invalidate(store.TopicRevoke, e.other.ID+":"+store.RevokedToken+":"+gid)
			if !active(tok) {
				t.Fatal("a message about another tenant made the token inactive")
			}
		})
		t.Run("a malformed revocation message revokes nothing", func(t *testing.T) {
			tok, _, _ := fresh(t)
			for _, payload := range []string{"", ":", e.tenant.ID + ":grant:", e.tenant.ID + ":bogus:x"} {
				n.p.Invalidate(store.TopicRevoke, payload)
			}
			if !active(tok) {
				t.Fatal("the token became inactive")
			}
		})
		t.Run("a client secret changed elsewhere takes effect once its message arrives", func(t *testing.T) {
			m2m := basicAuth("m2m", secretM2M)
			cc := url.Values{"grant_type": {grantClientCredentials}}
			if w := n.token(m2m, cc); w.Code != http.StatusOK { // caches the client
				t.Fatalf("client credentials: %d %s", w.Code, w.Body)
			}
			c, err := db.GetClient(ctx, e.tenant.ID, "m2m")
			if err != nil {
				t.Fatal(err)
			}
			c.SecretHash = e.kr.HashSecret("new-secret")
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				c.SecretHash = e.kr.HashSecret(secretM2M)
				_ = db.UpsertClient(ctx, c)
				n.p.Invalidate(store.TopicClient, e.tenant.ID+":m2m")
			})
			n.p.Invalidate(store.TopicClient, e.tenant.ID+":m2m")
			wantOAuthError(t, n.token(m2m, cc), http.StatusUnauthorized, "invalid_client")
			if w := n.token(basicAuth("m2m", "new-secret"), cc); w.Code != http.StatusOK {
				t.Fatalf("the new secret: %d %s", w.Code, w.Body)
			}
		})
		t.Run("a client's new scope is in the discovery document once its message arrives", func(t *testing.T) {
			path := "/t/" + e.tenant.ID + "/.well-known/openid-configuration"
			scopes := func() []string {
				w := n.serve(httptest.NewRequest(http.MethodGet, testPublicURL+path, nil))
				var m struct {
					Scopes []string `json:"scopes_supported"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
					t.Fatalf("discovery %d %s: %v", w.Code, w.Body, err)
				}
				return m.Scopes
			}
			scopes() // cached
			c := store.Client{TenantID: e.tenant.ID, ClientID: "reports", TokenEndpointAuthMethod: authSecretBasic,
				SecretHash: e.kr.HashSecret("x"), GrantTypes: []string{grantClientCredentials}, Scopes: []string{"reports:read"}}
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			n.p.Invalidate(store.TopicClient, e.tenant.ID+":reports")
			if got := scopes(); !slices.Contains(got, "reports:read") {
				t.Fatalf("scopes_supported = %v", got)
			}
		})
		t.Run("a tenant changed elsewhere is reloaded once its message arrives", func(t *testing.T) {
			if _, err := n.p.loadTenant(ctx, e.tenant.ID); err != nil { // cached
				t.Fatal(err)
			}
			tn := e.tenant
			tn.Name = "Renamed"
			if err := db.UpdateTenant(ctx, tn); err != nil {
				t.Fatal(err)
			}
			n.p.Invalidate(store.TopicTenant, e.tenant.ID)
			if got, err := n.p.loadTenant(ctx, e.tenant.ID); err != nil || got.Name != "Renamed" {
				t.Fatalf("tenant %+v, %v", got, err)
			}
		})
		t.Run("a tenant created elsewhere is found once its message arrives", func(t *testing.T) {
			const id = "created-later"
			if _, err := n.p.loadTenant(ctx, id); err == nil { // remembered as unknown
				t.Fatal("found before it was created")
			}
			if err := db.CreateTenant(ctx, store.Tenant{ID: id, Name: "Later"}); err != nil {
				t.Fatal(err)
			}
			n.p.Invalidate(store.TopicTenant, id)
			if _, err := n.p.loadTenant(ctx, id); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("the message to drop everything forgets every cached answer", func(t *testing.T) {
			tok, jti, _ := fresh(t)
			if err := db.RevokeAccessToken(ctx, e.tenant.ID, jti, exp()); err != nil {
				t.Fatal(err)
			}
			n.p.Invalidate(store.TopicAll, "")
			if active(tok) {
				t.Fatal("still active")
			}
		})
		t.Run("a cache fill that read the database before a message does not keep its answer", func(t *testing.T) {
			key := e.tenant.ID + "\x00late"
			gen := n.p.invalidations.Load()
			n.p.revoked.put(key, false, time.Minute) // what a fill that read before the revocation stores
			n.p.Invalidate(store.TopicKeys, e.tenant.ID)
			n.p.dropIfInvalidated(gen, func() { n.p.revoked.del(key) })
			if _, ok := n.p.revoked.get(key); ok {
				t.Fatal("the stale answer was kept")
			}
		})
	})
}
