package bench

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store"
)

// benchUsers is the number of users of the user-search benchmark: UMM_BENCH_USERS, 100,000 by default.
func benchUsers(b *testing.B) int {
	if v := os.Getenv("UMM_BENCH_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("UMM_BENCH_USERS=%q: want a number of at least 1000", v)
		}
		return n
	}
	return 100_000
}

// fillUsers inserts n users into the tenant with one statement per 10,000 (every fifth in the role
// "editor", names from a small set so that a name prefix matches a few percent of them).
func fillUsers(b *testing.B, db *sql.DB, postgres bool, tenant string, n int) {
	b.Helper()
	ph := func(i int) string {
		if postgres {
			return "$" + strconv.Itoa(i)
		}
		return "?" + strconv.Itoa(i) // numbered: the tenant comes first in the text but is the third argument
	}
	series := `WITH RECURSIVE s(i) AS (SELECT ` + ph(1) + ` UNION ALL SELECT i + 1 FROM s WHERE i < ` + ph(2) + `) SELECT i FROM s`
	if postgres {
		series = `SELECT generate_series(` + ph(1) + `::bigint, ` + ph(2) + `::bigint) AS i`
	}
	names := `CASE (i % 7) WHEN 0 THEN 'Anna' WHEN 1 THEN 'Ben' WHEN 2 THEN 'Chloe' WHEN 3 THEN 'Dev' WHEN 4 THEN 'Emma' WHEN 5 THEN 'Femi' ELSE 'Gus' END`
	t0 := time.Now()
	for from := 1; from <= n; from += 10_000 {
		to := min(from+9_999, n)
		q := `INSERT INTO users (tenant_id, id, email, email_norm, email_verified, given_name, family_name, disabled, created_at, updated_at, attributes)
			SELECT ` + ph(3) + `, 'u' || lpad(CAST(i AS TEXT), 8, '0'), 'user' || i || '@example.com', 'user' || i || '@example.com', TRUE,
			` + names + `, 'Family' || (i % 1000), (i % 50 = 0), 1700000000 + i, 1700000000 + i,
			'{"department":"d' || (i % 100) || '"}' FROM (` + series + `) AS s`
		if !postgres {
			q = strings.ReplaceAll(q, "lpad(CAST(i AS TEXT), 8, '0')", "substr('00000000' || i, -8, 8)")
		}
		if _, err := db.Exec(q, from, to, tenant); err != nil {
			b.Fatalf("fill users: %v", err)
		}
		rq := `INSERT INTO user_roles (tenant_id, user_id, role) SELECT ` + ph(3) + `, 'u' || lpad(CAST(i AS TEXT), 8, '0'), 'editor' FROM (` + series + `) AS s WHERE i % 5 = 0`
		if !postgres {
			rq = strings.ReplaceAll(rq, "lpad(CAST(i AS TEXT), 8, '0')", "substr('00000000' || i, -8, 8)")
		}
		if _, err := db.Exec(rq, from, to, tenant); err != nil {
			b.Fatalf("fill roles: %v", err)
		}
	}
	if _, err := db.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("inserted %d users in %s", n, time.Since(t0).Round(time.Millisecond))
}

// BenchmarkUserSearch measures the management API's user search over HTTP on a tenant of UMM_BENCH_USERS
// users (UMM_BENCH_BACKEND picks the database), one kind of search per sub-benchmark, with p50 and p99
// latencies. Its peer, measured in the same run, is the same search
// through UMM's store (the query alone), so the ratio is what the API adds on top of the database.
func BenchmarkUserSearch(b *testing.B) {
	srv := servertest.New(b, servertest.WithBackend(benchBackend()), servertest.WithSeed(func(s *config.TenantSeed) {
		s.Roles = append(s.Roles, config.RoleSeed{Name: "editor"})
	}), servertest.WithConfig(func(c *config.Config) { c.Admin.RateLimit = config.RateLimit{PerSecond: 1_000_000, Burst: 1_000_000} }))
	n := benchUsers(b)
	raw, err := sql.Open(map[bool]string{true: "pgx", false: "sqlite"}[srv.Backend == "postgres"], rawDSN(b, srv))
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	fillUsers(b, raw, srv.Backend == "postgres", srv.Tenant, n)

	bt, _ := srv.Bootstrap()
	c := client()
	tok := jsonString(b, postToken(b, c, srv.URL+"/t/"+bt.Tenant+"/token", url.Values{"grant_type": {"client_credentials"}, "scope": {admin.ScopeAdmin}}, bt.ClientID, string(bt.Secret)), "access_token")
	base := srv.URL + admin.APIPrefix + "/tenants/" + srv.Tenant + "/users?limit=50&"
	for _, s := range []struct {
		name, query string
		search      store.UserSearch
	}{
		{"email_exact", "email=user" + strconv.Itoa(n/2) + "@example.com", store.UserSearch{Email: "user" + strconv.Itoa(n/2) + "@example.com"}},
		{"email_prefix", "email=user1234", store.UserSearch{Email: "user1234"}},
		{"name_prefix", "name=chl", store.UserSearch{Name: "chl"}},
		{"role", "role=editor", store.UserSearch{Role: "editor"}},
		{"status_blocked", "status=blocked", store.UserSearch{Status: "blocked"}},
		{"sort_created", "sort=created_at", store.UserSearch{Sort: "created_at"}},
		{"attribute", "attribute=department:d42", store.UserSearch{AttrKey: "department", AttrValue: "d42"}},
	} {
		b.Run(s.name+"/api", func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				req, _ := http.NewRequest(http.MethodGet, base+s.query, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"data":[{`) {
					b.Fatalf("%s: %d %.200s", s.query, resp.StatusCode, body)
				}
				lat = append(lat, time.Since(t0))
			}
			reportPercentiles(b, lat)
		})
		// The peer: the same search through the store alone (the query, no HTTP, token or JSON).
		b.Run(s.name+"/store", func(b *testing.B) {
			q := s.search
			q.Limit = 51
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				us, err := srv.DB.SearchUsers(context.Background(), srv.Tenant, q)
				if err != nil || len(us) == 0 {
					b.Fatalf("%+v: %d users, %v", q, len(us), err)
				}
				lat = append(lat, time.Since(t0))
			}
			reportPercentiles(b, lat)
		})
	}
}

// reportPercentiles adds p50 and p99 (ms) to a benchmark's figures.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// rawDSN opens the test server's database outside UMM (the SQL peer and the bulk insert).
func rawDSN(b *testing.B, srv *servertest.Server) string {
	u := srv.Config.Database.URL
	if srv.Backend == "postgres" {
		return u
	}
	return strings.TrimPrefix(u, "sqlite:") + "?_pragma=busy_timeout(10000)"
}

func jsonString(b *testing.B, body, field string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		b.Fatal(err)
	}
	s, _ := m[field].(string)
	if s == "" {
		b.Fatalf("no %s in %s", field, body)
	}
	return s
}

// BenchmarkTokenIssuanceRoles compares, in one run, the code flow of a signed-in user (authorize, resume,
// token exchange) without an API and with one: resource=<API>, whose tokens carry the permissions the
// user's roles grant (a direct role and one through a group) and the roles and groups claims.
func BenchmarkTokenIssuanceRoles(b *testing.B) {
	const api = "https://api.bench.example"
	srv := servertest.New(b, servertest.WithBackend(benchBackend()), servertest.WithSeed(func(s *config.TenantSeed) {
		s.APIs = append(s.APIs, config.APISeed{Identifier: api, Name: "Bench", Claims: []string{"permissions", "roles", "groups"},
			Permissions: []config.PermissionDef{{Name: "orders:read"}, {Name: "orders:write"}, {Name: "reports:read"}}})
		s.Roles = append(s.Roles,
			config.RoleSeed{Name: "clerk", Permissions: []config.PermissionRef{{API: api, Permission: "orders:read"}, {API: api, Permission: "orders:write"}}},
			config.RoleSeed{Name: "analyst", Permissions: []config.PermissionRef{{API: api, Permission: "reports:read"}}})
		s.Users[0].Roles = []string{"clerk"}
		s.Groups = append(s.Groups, config.GroupSeed{Name: "finance", Roles: []string{"analyst"}, Members: []string{s.Users[0].Email}})
		for i := range s.Clients {
			if s.Clients[i].ClientID == servertest.FirstPartyClientID {
				s.Clients[i].Scopes = []string{"openid", "orders:read", "orders:write", "reports:read"}
			}
		}
	}))
	br := srv.NewBrowser(b)
	f, _, _ := br.GetForm(srv.TenantURL("/login"))
	if resp, body := br.Submit(f, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}}); resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	c := client()
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	for _, v := range []struct{ name, scope, resource string }{
		{"plain", "openid", ""},
		{"roles_permissions", "openid orders:read orders:write reports:read", api},
	} {
		b.Run(v.name, func(b *testing.B) {
			q := url.Values{"response_type": {"code"}, "client_id": {srv.FirstParty.ID}, "redirect_uri": {srv.FirstParty.RedirectURI},
				"scope": {v.scope}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
			form := url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {srv.FirstParty.RedirectURI}, "code_verifier": {verifier}}
			if v.resource != "" {
				q.Set("resource", v.resource)
				form.Set("resource", v.resource)
			}
			var last string
			for b.Loop() {
				resp, body := br.Get(srv.TenantURL("/authorize?" + q.Encode()))
				for resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther {
					loc, err := resp.Location()
					if err != nil {
						b.Fatal(err)
					}
					if code := loc.Query().Get("code"); code != "" {
						form.Set("code", code)
						last = postToken(b, c, srv.TenantURL("/token"), form, srv.FirstParty.ID, srv.FirstParty.Secret)
						break
					}
					resp, body = br.Get(loc.String())
				}
				if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
					b.Fatalf("authorize: %d %s", resp.StatusCode, body)
				}
			}
			if v.resource != "" {
				claims := jwtClaims(b, jsonString(b, last, "access_token"))
				if fmt.Sprint(claims["permissions"]) != "[orders:read orders:write reports:read]" {
					b.Fatalf("permissions = %v", claims["permissions"])
				}
			}
		})
	}
}

// jwtClaims decodes a JWT's payload (already verified by the server that issued it).
func jwtClaims(b *testing.B, tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		b.Fatalf("not a JWT: %s", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	return m
}
