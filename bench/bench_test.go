package bench

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/server/servertest"
)

// serverWithDefaults runs a full server with the default (production) password-hashing parameters.
func serverWithDefaults(b *testing.B) *servertest.Server {
	def := config.Default().Security
	return servertest.New(b, servertest.WithConfig(func(c *config.Config) {
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

func postToken(b *testing.B, c *http.Client, u string, form url.Values, id, secret string) string {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d %s", u, resp.StatusCode, body)
	}
	return string(body)
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

// BenchmarkIntrospection introspects access tokens over HTTP from parallel clients.
func BenchmarkIntrospection(b *testing.B) {
	srv := serverWithDefaults(b)
	c := client()
	var tokens []string
	for range 50 {
		body := postToken(b, c, srv.TenantURL("/token"), url.Values{"grant_type": {"client_credentials"}}, srv.Confidential.ID, srv.Confidential.Secret)
		tok := body[strings.Index(body, `"access_token":"`)+len(`"access_token":"`):]
		tokens = append(tokens, tok[:strings.IndexByte(tok, '"')])
	}
	var mu sync.Mutex
	n := 0
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			tok := tokens[n%len(tokens)]
			n++
			mu.Unlock()
			body := postToken(b, c, srv.TenantURL("/introspect"), url.Values{"token": {tok}}, srv.Confidential.ID, srv.Confidential.Secret)
			if !strings.Contains(body, `"active":true`) {
				b.Fatalf("inactive: %s", body)
			}
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
