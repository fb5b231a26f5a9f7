package oidc

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestCORSOrigins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		tenant := f.tenant.ID
		const (
			spa     = "https://spa.example.com"   // public client spa's redirect URI origin
			native  = "http://localhost:9000"     // public client native's loopback redirect URI origin
			web     = "https://app.example.com"   // confidential client web's redirect URI origin
			console = "https://admin.example.com" // allowed_origins of a confidential client
			extra   = "https://extra.example.com" // allowed_origins of a public client
			evil    = "https://evil.example.com"
		)
		for _, c := range []store.Client{
			{TenantID: tenant, ClientID: "console", Name: "Console", SecretHash: []byte("x"),
				GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_basic",
				AllowedOrigins: []string{console}},
			{TenantID: tenant, ClientID: "spa2", Name: "SPA 2", GrantTypes: []string{"authorization_code"},
				TokenEndpointAuthMethod: "none", RedirectURIs: []string{"com.example.spa2:/cb"}, AllowedOrigins: []string{extra}},
		} {
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		other := storetest.Tenant(t, db) // a tenant without clients

		// preflight asks whether a browser app on origin may POST (or GET) to path.
		preflight := func(path, method, origin string) string {
			b := f.browser()
			r := b.request(http.MethodOptions, path, nil)
			r.Header.Set("Origin", origin)
			r.Header.Set("Access-Control-Request-Method", method)
			r.Header.Set("Access-Control-Request-Headers", "content-type")
			w := b.serve(r)
			if w.Code != http.StatusNoContent {
				t.Errorf("OPTIONS %s: status %d", path, w.Code)
			}
			if w.Header().Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("OPTIONS %s: Access-Control-Allow-Credentials is set", path)
			}
			return w.Header().Get("Access-Control-Allow-Origin")
		}
		p := func(name string) string { return "/t/" + tenant + "/" + name }
		for _, tt := range []struct {
			name, path, method, origin string
			allowed                    bool
		}{
			{"a public client's redirect URI origin may call the token endpoint", p("token"), "POST", spa, true},
			{"a public client's loopback redirect URI origin may call the token endpoint", p("token"), "POST", native, true},
			{"a public client's allowed origin may call the token endpoint", p("token"), "POST", extra, true},
			{"a confidential client's allowed origin may call the token endpoint", p("token"), "POST", console, true},
			{"a confidential client's redirect URI origin is not allowed by default", p("token"), "POST", web, false},
			{"an origin no client allows may not call the token endpoint", p("token"), "POST", evil, false},
			{"the same origin on another port is another origin", p("token"), "POST", "http://localhost:9001", false},
			{"the same host over http is another origin", p("token"), "POST", "http://spa.example.com", false},
			{"a public client's origin may call the revocation endpoint", p("revoke"), "POST", spa, true},
			{"an unknown origin may not call the revocation endpoint", p("revoke"), "POST", evil, false},
			{"a public client's origin may call userinfo", p("userinfo"), "GET", spa, true},
			{"a public client's origin may read discovery", p(".well-known/openid-configuration"), "GET", spa, true},
			{"a public client's origin may read the RFC 8414 document", "/.well-known/oauth-authorization-server/t/" + tenant, "GET", spa, true},
			{"a public client's origin may read the JWKS", p("jwks.json"), "GET", spa, true},
			{"an unknown origin may not read the JWKS", p("jwks.json"), "GET", evil, false},
			{"a confidential client's allowed origin may call introspection", p("introspect"), "POST", console, true},
			{"a public client's origin may not call introspection, which refuses public clients", p("introspect"), "POST", spa, false},
			{"a public client's allowed origin may not call introspection either", p("introspect"), "POST", extra, false},
			{"one tenant's origins mean nothing to another tenant", "/t/" + other + "/token", "POST", spa, false},
			{"an unknown tenant allows no origin", "/t/no-such-tenant/token", "POST", spa, false},
			{"a preflight for a method the endpoint does not serve is refused", p("token"), "PUT", spa, false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got := preflight(tt.path, tt.method, tt.origin)
				if want := map[bool]string{true: tt.origin, false: ""}[tt.allowed]; got != want {
					t.Errorf("Access-Control-Allow-Origin %q, want %q", got, want)
				}
			})
		}

		t.Run("a token error answered to an allowed origin is readable by the app", func(t *testing.T) {
			b := f.browser()
			r := b.request(http.MethodPost, p("token"), url.Values{"grant_type": {"authorization_code"}, "client_id": {"spa"},
				"code": {"nope"}, "redirect_uri": {"https://spa.example.com/cb"}, "code_verifier": {testVerifier}})
			r.Header.Set("Origin", spa)
			w := b.serve(r)
			if w.Code != http.StatusBadRequest || w.Header().Get("Access-Control-Allow-Origin") != spa ||
				w.Header().Get("Access-Control-Allow-Credentials") != "" || w.Header().Get("Vary") != "Origin" {
				t.Errorf("status %d headers %v", w.Code, w.Header())
			}
		})
		t.Run("an answer to an origin no client allows has no CORS headers", func(t *testing.T) {
			b := f.browser()
			r := b.request(http.MethodPost, p("token"), url.Values{"grant_type": {"authorization_code"}, "client_id": {"spa"}})
			r.Header.Set("Origin", evil)
			w := b.serve(r)
			if w.Header().Get("Access-Control-Allow-Origin") != "" || w.Header().Get("Access-Control-Expose-Headers") != "" {
				t.Errorf("headers %v", w.Header())
			}
		})

		t.Run("an origin added to a client is allowed once the change's message arrives", func(t *testing.T) {
			const added = "https://added.example.com"
			if preflight(p("token"), "POST", added) != "" { // the tenant's set is now cached on this node
				t.Fatal("allowed before it was added")
			}
			c, err := db.GetClient(ctx, tenant, "console")
			if err != nil {
				t.Fatal(err)
			}
			c.AllowedOrigins = append(c.AllowedOrigins, added)
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			f.p.Invalidate(store.TopicClient, tenant+":console")
			if preflight(p("token"), "POST", added) != added {
				t.Fatal("not allowed after the client's change")
			}
		})
		t.Run("a deleted client's origins are refused once the change's message arrives", func(t *testing.T) {
			if preflight(p("token"), "POST", extra) != extra {
				t.Fatal("not allowed before the deletion")
			}
			if _, err := db.DeleteClient(ctx, tenant, "spa2"); err != nil {
				t.Fatal(err)
			}
			f.p.Invalidate(store.TopicClient, tenant+":spa2")
			if got := preflight(p("token"), "POST", extra); got != "" {
				t.Fatalf("Access-Control-Allow-Origin %q after the client was deleted", got)
			}
		})
		t.Run("a message naming another tenant keeps this tenant's set", func(t *testing.T) {
			f.p.Invalidate(store.TopicClient, other+":x")
			if _, ok := f.p.corsOrigins.get(tenant); !ok {
				t.Fatal("the tenant's origin set was dropped")
			}
			f.p.Invalidate(store.TopicAll, "")
			if _, ok := f.p.corsOrigins.get(tenant); ok {
				t.Fatal("a reconnect message kept the tenant's origin set")
			}
		})
	})
}
