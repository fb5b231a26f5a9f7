package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

type userJSON struct {
	ID            string         `json:"id"`
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified"`
	GivenName     string         `json:"given_name"`
	FamilyName    string         `json:"family_name"`
	Status        string         `json:"status"`
	Attributes    map[string]any `json:"attributes"`
	Roles         []string       `json:"roles"`
}

type userList struct {
	Data       []userJSON `json:"data"`
	NextCursor string     `json:"next_cursor"`
}

// TestManagementAPIUsers drives the users resource over HTTP with the operator's token.
func TestManagementAPIUsers(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			m := operator(t, srv)
			base := "/tenants/" + srv.Tenant + "/users"

			r := m.ok(http.StatusCreated, "POST", base, map[string]any{
				"email": "Bob@Example.com", "given_name": "Bob", "family_name": "Builder", "password": "quartz-lantern-mosaic-77",
				"attributes": map[string]any{"nickname": "bobby"}, "roles": []string{"editor"},
			})
			var bob userJSON
			r.json(t, &bob)
			if loc := r.Header.Get("Location"); loc != admin.APIPrefix+base+"/"+bob.ID {
				t.Errorf("Location = %q", loc)
			}
			if bob.Status != "active" || bob.Attributes["nickname"] != "bobby" || !slices.Equal(bob.Roles, []string{"editor"}) {
				t.Errorf("created user = %+v", bob)
			}
			etag := r.Header.Get("ETag")
			if !strings.HasPrefix(etag, `"`) {
				t.Fatalf("ETag = %q, want a strong tag", etag)
			}
			if got := m.ok(http.StatusOK, "GET", base+"/"+bob.ID, nil).Header.Get("ETag"); got != etag {
				t.Errorf("GET ETag = %q, want the creation's %q", got, etag)
			}

			t.Run("patch with the current ETag, then a stale one", func(t *testing.T) {
				r := m.ok(http.StatusOK, "PATCH", base+"/"+bob.ID, map[string]any{"given_name": "Robert", "attributes": map[string]any{"nickname": nil}}, "If-Match", etag)
				var u userJSON
				r.json(t, &u)
				if u.GivenName != "Robert" || u.FamilyName != "Builder" || u.Attributes["nickname"] != nil {
					t.Errorf("patched user = %+v", u)
				}
				if r.Header.Get("ETag") == etag {
					t.Error("the ETag did not change with the user")
				}
				p := m.do("PATCH", base+"/"+bob.ID, map[string]any{"family_name": "Stale"}, "If-Match", etag).problem(t, http.StatusPreconditionFailed)
				if !strings.Contains(p.Detail, "changed") {
					t.Errorf("412 detail = %q", p.Detail)
				}
				got := srvUser(t, srv, bob.ID)
				if got.FamilyName != "Builder" {
					t.Errorf("a stale write was applied: family name %q", got.FamilyName)
				}
				// Without If-Match the write applies.
				m.ok(http.StatusOK, "PATCH", base+"/"+bob.ID, map[string]any{"family_name": "Fixer"})
				if got := srvUser(t, srv, bob.ID); got.FamilyName != "Fixer" {
					t.Errorf("family name = %q after an unguarded PATCH", got.FamilyName)
				}
			})

			t.Run("field errors", func(t *testing.T) {
				p := m.do("POST", base, map[string]any{"email": "not-an-address"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "email" || p.Errors[0].Message == "" {
					t.Errorf("errors = %+v", p.Errors)
				}
				p = m.do("POST", base, map[string]any{"email": "x@example.com", "colour": "red"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "colour" {
					t.Errorf("unknown field errors = %+v", p.Errors)
				}
				p = m.do("PATCH", base+"/"+bob.ID, map[string]any{"id": "other"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 1 || p.Errors[0].Field != "id" {
					t.Errorf("read-only field errors = %+v", p.Errors)
				}
				m.do("POST", base, map[string]any{"email": "bob@example.com"}).problem(t, http.StatusConflict)
				m.do("GET", base+"/no-such-user", nil).problem(t, http.StatusNotFound)
				m.do("POST", base, "{", "Content-Type", "application/json").problem(t, http.StatusBadRequest)
				m.do("POST", base, `{"email":"a@example.com"}`, "Content-Type", "text/plain").problem(t, http.StatusUnsupportedMediaType)
			})

			t.Run("roles, password, block", func(t *testing.T) {
				r := m.ok(http.StatusOK, "PUT", base+"/"+bob.ID+"/roles", map[string]any{"roles": []string{"viewer", "admin"}})
				var rb struct{ Roles []string }
				r.json(t, &rb)
				if !slices.Equal(rb.Roles, []string{"admin", "viewer"}) {
					t.Errorf("roles = %v", rb.Roles)
				}
				m.ok(http.StatusNoContent, "PUT", base+"/"+bob.ID+"/password", map[string]any{"password": "another-long-passphrase-88"})
				if _, err := srv.Identity.Authenticate(context.Background(), srv.Tenant, "bob@example.com", "another-long-passphrase-88", ""); err != nil {
					t.Errorf("the new password does not sign in: %v", err)
				}
				p := m.do("PUT", base+"/"+bob.ID+"/password", map[string]any{"password": "short"}).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "password" {
					t.Errorf("password errors = %+v", p.Errors)
				}
				var u userJSON
				m.ok(http.StatusOK, "POST", base+"/"+bob.ID+"/block", nil).json(t, &u)
				if u.Status != "blocked" || !srvUser(t, srv, bob.ID).Disabled {
					t.Errorf("blocked user status %q", u.Status)
				}
				m.ok(http.StatusOK, "POST", base+"/"+bob.ID+"/unblock", nil).json(t, &u)
				if u.Status != "active" {
					t.Errorf("unblocked user status %q", u.Status)
				}
			})

			t.Run("search", func(t *testing.T) {
				find := func(q string) []string {
					var l userList
					m.ok(http.StatusOK, "GET", base+"?"+q, nil).json(t, &l)
					var out []string
					for _, u := range l.Data {
						out = append(out, strings.ToLower(u.Email))
					}
					return out
				}
				if got := find("email=bob@example.com"); !slices.Equal(got, []string{"bob@example.com"}) {
					t.Errorf("by email: %v", got)
				}
				if got := find("email=bo"); !slices.Equal(got, []string{"bob@example.com"}) {
					t.Errorf("by email prefix: %v", got)
				}
				if got := find("name=rob"); !slices.Equal(got, []string{"bob@example.com"}) {
					t.Errorf("by name: %v", got)
				}
				if got := find("role=viewer"); !slices.Equal(got, []string{"bob@example.com"}) {
					t.Errorf("by role: %v", got)
				}
				if got := find("status=active&sort=email"); !slices.Equal(got, []string{srv.User.Email, "bob@example.com"}) && !slices.Equal(got, []string{"bob@example.com", srv.User.Email}) {
					t.Errorf("active: %v", got)
				}
				m.ok(http.StatusOK, "PATCH", base+"/"+bob.ID, map[string]any{"attributes": map[string]any{"nickname": "builder"}})
				if got := find("attribute=" + url.QueryEscape("nickname:builder")); !slices.Equal(got, []string{"bob@example.com"}) {
					t.Errorf("by attribute: %v", got)
				}
				p := m.do("GET", base+"?status=gone&sort=age", nil).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 2 {
					t.Errorf("search errors = %+v", p.Errors)
				}
			})

			t.Run("sessions, factors and identities are listed", func(t *testing.T) {
				for _, sub := range []string{"sessions", "factors", "identities"} {
					var l struct{ Data []map[string]any }
					m.ok(http.StatusOK, "GET", base+"/"+bob.ID+"/"+sub, nil).json(t, &l)
					if l.Data == nil {
						t.Errorf("%s: data is not a list", sub)
					}
				}
				m.ok(http.StatusNoContent, "DELETE", base+"/"+bob.ID+"/sessions", nil)
				m.do("DELETE", base+"/"+bob.ID+"/factors/nope", nil).problem(t, http.StatusNotFound)
			})

			t.Run("writes are events of the calling client", func(t *testing.T) {
				evs, err := srv.DB.ListEvents(context.Background(), srv.Tenant, 0, "user.created", 100)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := srv.Bootstrap()
				want := "client:" + b.Tenant + "/" + b.ClientID
				var found bool
				for _, e := range evs {
					if e.Subject == bob.ID {
						found = e.Actor == want
						if !found {
							t.Errorf("user.created actor = %q, want %q", e.Actor, want)
						}
					}
				}
				if !found {
					t.Error("no user.created event for the new user")
				}
			})

			t.Run("delete", func(t *testing.T) {
				m.ok(http.StatusNoContent, "DELETE", base+"/"+bob.ID, nil)
				m.do("GET", base+"/"+bob.ID, nil).problem(t, http.StatusNotFound)
			})
		})
	}
}

func srvUser(t *testing.T, srv *servertest.Server, id string) store.User {
	t.Helper()
	u, err := srv.Identity.GetUser(context.Background(), srv.Tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestManagementAPIUserPages pages through 1,000 users: each comes exactly once, in order, and the last
// page has no cursor.
func TestManagementAPIUserPages(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			m := operator(t, srv)
			const n = 1000
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make(chan error, n)
			sem := make(chan struct{}, 8)
			for i := range n - 1 { // the seeded user is the thousandth
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					_, err := srv.Admin.CreateUser(ctx, srv.Tenant, admin.UserInput{Email: fmt.Sprintf("user%04d@example.com", i)}, "test")
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, sort := range []string{"id", "email", "created_at"} {
				seen := map[string]bool{}
				var prev string
				cursor, pages := "", 0
				for {
					q := "?limit=200&sort=" + sort
					if cursor != "" {
						q += "&cursor=" + url.QueryEscape(cursor)
					}
					var l userList
					m.ok(http.StatusOK, "GET", "/tenants/"+srv.Tenant+"/users"+q, nil).json(t, &l)
					pages++
					for _, u := range l.Data {
						if seen[u.ID] {
							t.Fatalf("sort %s: user %s on two pages", sort, u.ID)
						}
						seen[u.ID] = true
						if sort == "email" && u.Email < prev {
							t.Fatalf("sort email: %s after %s", u.Email, prev)
						}
						prev = u.Email
					}
					if l.NextCursor == "" {
						break
					}
					cursor = l.NextCursor
				}
				if len(seen) != n || pages != 5 {
					t.Errorf("sort %s: %d users on %d pages, want %d on 5", sort, len(seen), pages, n)
				}
			}
			m.do("GET", "/tenants/"+srv.Tenant+"/users?limit=201", nil).problem(t, http.StatusBadRequest)
			m.do("GET", "/tenants/"+srv.Tenant+"/users?cursor=forged", nil).problem(t, http.StatusBadRequest)
		})
	}
}

// TestManagementAPIAccess checks who may call what: tokens, scopes, tenants.
func TestManagementAPIAccess(t *testing.T) {
	t.Parallel()
	readOnly := config.ClientSeed{ClientID: "reader", ClientSecret: "reader-secret-0123456789abcdef", GrantTypes: []string{"client_credentials"},
		TokenEndpointAuthMethod: "client_secret_basic", Scopes: []string{"umm:users:read"}}
	tenantAdmin := config.ClientSeed{ClientID: "ops", ClientSecret: "ops-secret-0123456789abcdefgh", GrantTypes: []string{"client_credentials"},
		TokenEndpointAuthMethod: "client_secret_basic", Scopes: []string{admin.ScopeAdmin}}
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithClient(readOnly), servertest.WithClient(tenantAdmin),
				servertest.WithConfig(func(c *config.Config) {
					c.Tenants = append(c.Tenants, config.TenantSeed{ID: "other", Name: "Other"})
				}))
			op := operator(t, srv)
			users := "/tenants/" + srv.Tenant + "/users"

			t.Run("no token", func(t *testing.T) {
				r := op.as("").do("GET", users, nil)
				r.problem(t, http.StatusUnauthorized)
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
				}
				op.as("not.a.token").do("GET", users, nil).problem(t, http.StatusUnauthorized)
			})
			t.Run("a token without management scopes is not for this API", func(t *testing.T) {
				tok := clientToken(t, srv, srv.Tenant, srv.Confidential.ID, srv.Confidential.Secret, "")
				p := op.as(tok).do("GET", users, nil).problem(t, http.StatusUnauthorized)
				if !strings.Contains(p.Detail, "management") {
					t.Errorf("detail = %q", p.Detail)
				}
			})
			t.Run("scopes are checked per route", func(t *testing.T) {
				rd := op.as(clientToken(t, srv, srv.Tenant, readOnly.ClientID, readOnly.ClientSecret, "umm:users:read"))
				rd.ok(http.StatusOK, "GET", users, nil)
				p := rd.do("POST", users, map[string]any{"email": "nope@example.com"}).problem(t, http.StatusForbidden)
				if !strings.Contains(p.Detail, "umm:users:write") {
					t.Errorf("detail = %q", p.Detail)
				}
			})
			t.Run("a tenant's client manages that tenant only", func(t *testing.T) {
				ta := op.as(clientToken(t, srv, srv.Tenant, tenantAdmin.ClientID, tenantAdmin.ClientSecret, admin.ScopeAdmin))
				ta.ok(http.StatusOK, "GET", users, nil)
				ta.do("GET", "/tenants/other/users", nil).problem(t, http.StatusForbidden)
				ta.do("POST", "/tenants/other/users", map[string]any{"email": "x@example.com"}).problem(t, http.StatusForbidden)
				if _, err := srv.Admin.FindUser(context.Background(), "other", "x@example.com"); err == nil {
					t.Error("a cross-tenant write went through")
				}
				// The operator's clients reach every tenant.
				op.ok(http.StatusCreated, "POST", "/tenants/other/users", map[string]any{"email": "y@example.com"})
				op.do("GET", "/tenants/nowhere/users", nil).problem(t, http.StatusNotFound)
			})
			t.Run("a revoked token is refused", func(t *testing.T) {
				tok := clientToken(t, srv, srv.Tenant, tenantAdmin.ClientID, tenantAdmin.ClientSecret, admin.ScopeAdmin)
				revokeToken(t, srv, tenantAdmin, tok)
				op.as(tok).do("GET", users, nil).problem(t, http.StatusUnauthorized)
			})
			t.Run("unknown routes and methods", func(t *testing.T) {
				op.do("GET", "/tenants/"+srv.Tenant+"/nothing", nil).problem(t, http.StatusNotFound)
				r := op.do("PUT", users, nil)
				r.problem(t, http.StatusMethodNotAllowed)
				if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
					t.Errorf("Allow = %q", allow)
				}
			})
		})
	}
}

func revokeToken(t *testing.T, srv *servertest.Server, c config.ClientSeed, tok string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.Issuer+"/revoke", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
}

// TestManagementAPIIdempotencyAndRateLimit: a repeated POST with one Idempotency-Key creates once and
// replays; the per-client rate limit answers 429 with Retry-After and RateLimit fields.
func TestManagementAPIIdempotencyAndRateLimit(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithConfig(func(c *config.Config) {
				c.Admin.RateLimit = config.RateLimit{PerSecond: 1, Burst: 6}
			}))
			m := operator(t, srv)
			users := "/tenants/" + srv.Tenant + "/users"
			body := map[string]any{"email": "once@example.com"}
			first := m.ok(http.StatusCreated, "POST", users, body, "Idempotency-Key", "k-1")
			again := m.ok(http.StatusCreated, "POST", users, body, "Idempotency-Key", "k-1")
			if string(first.body) != string(again.body) || again.Header.Get("Idempotency-Replayed") != "true" ||
				again.Header.Get("Location") != first.Header.Get("Location") {
				t.Errorf("replay differs:\n%s\n%s", first.body, again.body)
			}
			m.do("POST", users, map[string]any{"email": "other@example.com"}, "Idempotency-Key", "k-1").problem(t, http.StatusUnprocessableEntity)
			var l userList
			m.ok(http.StatusOK, "GET", users+"?email=once@example.com", nil).json(t, &l)
			if len(l.Data) != 1 {
				t.Errorf("%d users once@example.com", len(l.Data))
			}
			// Four requests so far (the token and the document are not counted): the burst of 6, refilled at one a second, ends soon after.
			var limited apiResp
			for range 20 {
				if r := m.do("GET", users, nil); r.StatusCode == http.StatusTooManyRequests {
					limited = r
					break
				} else if rl := r.Header.Get("RateLimit"); !strings.Contains(rl, "r=") {
					t.Errorf("RateLimit = %q", rl)
				}
			}
			if limited.Response == nil {
				t.Fatal("no 429 after the burst")
			}
			limited.problem(t, http.StatusTooManyRequests)
			if limited.Header.Get("Retry-After") == "" || limited.Header.Get("RateLimit-Policy") == "" {
				t.Errorf("429 headers: %v", limited.Header)
			}
		})
	}
}
