package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
)

// serverWithDefaults runs a full server with the default (production) password-hashing parameters.
func serverWithDefaults(b *testing.B) *servertest.Server {
	def := config.Default().Security
	return servertest.New(b, servertest.WithBackend(benchBackend()), servertest.WithConfig(func(c *config.Config) {
		c.Security.Argon2MemoryKiB, c.Security.Argon2Iterations, c.Security.Argon2Parallelism = def.Argon2MemoryKiB, def.Argon2Iterations, def.Argon2Parallelism
		c.Security.IPLimitPerMinute = 1 << 30
		c.Security.AccountLockoutThreshold = 1 << 30
		c.Security.DeviceLockoutThreshold, c.Security.AccountHardLockThreshold = 1<<30, 1<<31
	}))
}

func client() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(c *http.Client, u string, form url.Values, id, secret string) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %d %s", u, resp.StatusCode, body)
	}
	return string(body), nil
}

func postToken(b *testing.B, c *http.Client, u string, form url.Values, id, secret string) string {
	body, err := post(c, u, form, id, secret)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkArgon2id is the pure cost of one password hash with the default parameters: the ceiling for
// password logins per core.
func BenchmarkArgon2id(b *testing.B) {
	s := config.Default().Security
	salt := make([]byte, 16)
	for b.Loop() {
		argon2.IDKey([]byte("Correct-Horse-9"), salt, s.Argon2Iterations, s.Argon2MemoryKiB, s.Argon2Parallelism, 32)
	}
}

// BenchmarkPasswordLogin is one full hosted sign-in (GET the form, POST the credentials, session
// created) with the default hashing parameters; compare its ns/op with BenchmarkArgon2id.
func BenchmarkPasswordLogin(b *testing.B) {
	srv := serverWithDefaults(b)
	for b.Loop() {
		br := srv.NewBrowser(b)
		f, _, _ := br.GetForm(srv.TenantURL("/login"))
		resp, body := br.Submit(f, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}})
		if resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("login: %d %s", resp.StatusCode, body)
		}
	}
}

// BenchmarkClientCredentials issues client_credentials access tokens over HTTP from parallel clients.
func BenchmarkClientCredentials(b *testing.B) {
	srv := serverWithDefaults(b)
	c := client()
	form := url.Values{"grant_type": {"client_credentials"}}
	u := srv.TenantURL("/token")
	postToken(b, c, u, form, srv.Confidential.ID, srv.Confidential.Secret) // warm caches and keys
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			postToken(b, c, u, form, srv.Confidential.ID, srv.Confidential.Secret)
		}
	})
}

func mintAccessToken(srv *servertest.Server, c *http.Client) (string, error) {
	body, err := post(c, srv.TenantURL("/token"), url.Values{"grant_type": {"client_credentials"}}, srv.Confidential.ID, srv.Confidential.Secret)
	if err != nil {
		return "", err
	}
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.AccessToken == "" {
		return "", fmt.Errorf("token response without access_token: %s", body)
	}
	return v.AccessToken, nil
}

func accessToken(b *testing.B, srv *servertest.Server, c *http.Client) string {
	tok, err := mintAccessToken(srv, c)
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

func introspect(b *testing.B, srv *servertest.Server, c *http.Client, tok string) {
	body := postToken(b, c, srv.TenantURL("/introspect"), url.Values{"token": {tok}}, srv.Confidential.ID, srv.Confidential.Secret)
	if !strings.Contains(body, `"active":true`) {
		b.Fatalf("inactive: %s", body)
	}
}

// BenchmarkIntrospection introspects access tokens over HTTP from parallel clients, each token once: the
// tokens are minted before the timer starts, so no answer comes from the node's cache of verified tokens
// and revocation answers. This is the figure to compare with a server that reads its database.
func BenchmarkIntrospection(b *testing.B) {
	srv := serverWithDefaults(b)
	c := client()
	introspect(b, srv, c, accessToken(b, srv, c)) // warm keys and client caches, not the token's
	tokens := make([]string, b.N)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(tokens) && errs[w] == nil; i += len(errs) {
				tokens[i], errs[w] = mintAccessToken(srv, c)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			introspect(b, srv, c, tokens[next.Add(1)-1])
		}
	})
}

// BenchmarkIntrospectionCached introspects one token again and again: the node answers from its cache
// of verified tokens and revocation answers. It is reported apart from BenchmarkIntrospection, never
// as the introspection figure.
func BenchmarkIntrospectionCached(b *testing.B) {
	srv := serverWithDefaults(b)
	c := client()
	tok := accessToken(b, srv, c)
	introspect(b, srv, c, tok)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			introspect(b, srv, c, tok)
		}
	})
}

// BenchmarkJWKS fetches the tenant's JWKS over HTTP from parallel clients.
func BenchmarkJWKS(b *testing.B) {
	srv := serverWithDefaults(b)
	c := client()
	u := srv.TenantURL("/jwks.json")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("jwks: %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkCodeFlowSSO is one authorization code flow for a browser that already has an SSO session with
// a first-party client: GET /authorize, the resume redirect with the code, and the token exchange with
// PKCE. It is the in-process counterpart of the load harness's code-flow phase.
func BenchmarkCodeFlowSSO(b *testing.B) {
	srv := serverWithDefaults(b)
	br := srv.NewBrowser(b)
	f, _, _ := br.GetForm(srv.TenantURL("/login"))
	if resp, body := br.Submit(f, url.Values{"email": {srv.User.Email}, "password": {srv.User.Password}}); resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	c := client()
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	q := url.Values{"response_type": {"code"}, "client_id": {srv.FirstParty.ID}, "redirect_uri": {srv.FirstParty.RedirectURI},
		"scope": {"openid"}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for b.Loop() {
		resp, body := br.Get(srv.TenantURL("/authorize?" + q.Encode()))
		for resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther {
			loc, err := resp.Location()
			if err != nil {
				b.Fatal(err)
			}
			if code := loc.Query().Get("code"); code != "" {
				postToken(b, c, srv.TenantURL("/token"), url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {srv.FirstParty.RedirectURI}, "code_verifier": {verifier}}, srv.FirstParty.ID, srv.FirstParty.Secret)
				break
			}
			resp, body = br.Get(loc.String())
		}
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("authorize: %d %s", resp.StatusCode, body)
		}
	}
}

// benchBackend is the database of the HTTP benchmarks: UMM_BENCH_BACKEND (sqlite or postgres, which needs
// UMM_TEST_POSTGRES_URL), SQLite by default.
func benchBackend() string {
	if v := os.Getenv("UMM_BENCH_BACKEND"); v != "" {
		return v
	}
	return "sqlite"
}
