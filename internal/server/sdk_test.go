package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
	"github.com/umm-project/umm/sdk/go/management"
	"github.com/umm-project/umm/sdk/go/resource"
)

// apiToken gets a client-credentials token for a resource.
func apiToken(t *testing.T, srv *servertest.Server, c config.ClientSeed, resourceID, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {resourceID}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(raw, &tr)
	tok := tr.AccessToken
	if resp.StatusCode != http.StatusOK || tok == "" {
		t.Fatalf("token for %s = %d\n%s", resourceID, resp.StatusCode, raw)
	}
	return tok
}

// TestSDKAgainstTheServer runs the Go SDK (its own module) against a running UMM: the resource-server
// middleware on tokens UMM issues for an API, introspection after a revocation, and the management client.
func TestSDKAgainstTheServer(t *testing.T) {
	t.Parallel()
	worker := config.ClientSeed{ClientID: "worker", ClientSecret: "worker-secret-0123456789abcdef", GrantTypes: []string{"client_credentials"},
		TokenEndpointAuthMethod: "client_secret_basic", Scopes: []string{"orders:read"}}
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithClient(worker), servertest.WithSeed(func(s *config.TenantSeed) {
				s.APIs = append(s.APIs, config.APISeed{Identifier: ordersAPI, Name: "Orders",
					Permissions: []config.PermissionDef{{Name: "orders:read"}, {Name: "orders:write"}}, Claims: []string{"permissions"}})
			}))
			ctx := context.Background()

			v, err := resource.New(resource.Config{Issuer: srv.Issuer, Audience: ordersAPI,
				Introspection: &resource.Introspection{ClientID: worker.ClientID, ClientSecret: worker.ClientSecret, CacheTTL: time.Nanosecond}})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle("GET /orders", v.Require("orders:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _ := resource.ClaimsFrom(r.Context())
				_, _ = io.WriteString(w, c.Subject)
			})))
			mux.Handle("POST /orders", v.Require("orders:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
			rs := httptest.NewServer(mux)
			defer rs.Close()
			call := func(method, tok string) (int, string) {
				req, _ := http.NewRequest(method, rs.URL+"/orders", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}

			tok := apiToken(t, srv, worker, ordersAPI, "")
			if code, body := call("GET", tok); code != http.StatusOK || body != worker.ClientID {
				t.Errorf("GET /orders with orders:read = %d %q", code, body)
			}
			if code, _ := call("POST", tok); code != http.StatusForbidden {
				t.Errorf("POST /orders without orders:write = %d, want 403", code)
			}
			plain := clientToken(t, srv, srv.Tenant, srv.Confidential.ID, srv.Confidential.Secret, "")
			if code, _ := call("GET", plain); code != http.StatusUnauthorized {
				t.Errorf("a token for another audience = %d, want 401", code)
			}
			revokeToken(t, srv, worker, tok)
			if code, _ := call("GET", tok); code != http.StatusUnauthorized {
				t.Errorf("a revoked token (introspection) = %d, want 401", code)
			}

			b, _ := srv.Bootstrap()
			mc, err := management.New(management.Config{PublicURL: srv.URL, Tenant: srv.Tenant, ClientID: b.ClientID,
				ClientSecret: string(b.Secret), TokenURL: srv.URL + "/t/" + b.Tenant + "/token"})
			if err != nil {
				t.Fatal(err)
			}
			u, err := mc.CreateUser(ctx, management.NewUser{Email: "sdk@example.com", GivenName: "Sam"})
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			got, err := mc.GetUser(ctx, u.ID)
			if err != nil || got.Email != "sdk@example.com" || got.ETag == "" {
				t.Fatalf("GetUser = %+v, %v", got, err)
			}
			name := "Samuel"
			if _, err := mc.UpdateUser(ctx, u.ID, management.UserPatch{GivenName: &name}, management.IfMatch(got.ETag)); err != nil {
				t.Fatalf("UpdateUser: %v", err)
			}
			stale := "Stale"
			_, err = mc.UpdateUser(ctx, u.ID, management.UserPatch{GivenName: &stale}, management.IfMatch(got.ETag))
			var ae *management.APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusPreconditionFailed {
				t.Errorf("a stale update = %v, want a 412 APIError", err)
			}
			n := 0
			for _, err := range mc.AllUsers(ctx, management.UserListOptions{}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 2 {
				t.Errorf("AllUsers found %d users, want 2", n)
			}
		})
	}
}
