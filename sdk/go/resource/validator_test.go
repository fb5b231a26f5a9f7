package resource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	tenant = "acme"
	api    = "https://api.acme.example"
)

// issuer is a fake UMM tenant: discovery, a JWKS whose keys the test rotates, and introspection.
type issuer struct {
	t      *testing.T
	srv    *httptest.Server
	url    string // the issuer identifier
	mu     sync.Mutex
	public []jose.JSONWebKey // published
	keys   map[string]jose.JSONWebKey

	jwksFetches       atomic.Int32
	jwksDown          atomic.Bool // the JWKS answers 500
	introspections    atomic.Int32
	revoked           sync.Map // token -> true
	discoveryIssuer   string   // when set, discovery names this issuer instead of the right one
	introspectClients map[string]string
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{t: t, keys: map[string]jose.JSONWebKey{}, introspectClients: map[string]string{"api-client": "s3cr3t"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{tenant}/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := is.url
		if is.discoveryIssuer != "" {
			iss = is.discoveryIssuer
		}
		writeTestJSON(w, map[string]string{"issuer": iss, "jwks_uri": is.url + "/jwks.json",
			"introspection_endpoint": is.url + "/introspect"})
	})
	mux.HandleFunc("GET /t/{tenant}/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		is.jwksFetches.Add(1)
		if is.jwksDown.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		is.mu.Lock()
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), is.public...)}
		is.mu.Unlock()
		w.Header().Set("Cache-Control", "public, max-age=60")
		writeTestJSON(w, set)
	})
	mux.HandleFunc("POST /t/{tenant}/introspect", func(w http.ResponseWriter, r *http.Request) {
		is.introspections.Add(1)
		id, secret, ok := r.BasicAuth()
		if !ok || is.introspectClients[id] != secret {
			w.WriteHeader(http.StatusUnauthorized)
			writeTestJSON(w, map[string]string{"error": "invalid_client"})
			return
		}
		_, revoked := is.revoked.Load(r.PostFormValue("token"))
		writeTestJSON(w, map[string]bool{"active": !revoked})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	is.url = is.srv.URL + "/t/" + tenant
	return is
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// addKey makes a signing key; published says whether the JWKS lists it.
func (is *issuer) addKey(kid string, alg jose.SignatureAlgorithm, published bool) {
	is.t.Helper()
	var priv any
	var err error
	if alg == jose.RS256 {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		is.t.Fatal(err)
	}
	k := jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(alg), Use: "sig"}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys[kid] = k
	if published {
		is.public = append(is.public, k.Public())
	}
}

func (is *issuer) publish(kid string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	k := is.keys[kid]
	is.public = append(is.public, k.Public())
}

// sign returns a token signed with kid, of type typ, carrying claims.
func (is *issuer) sign(kid, typ string, claims map[string]any) string {
	is.t.Helper()
	is.mu.Lock()
	k := is.keys[kid]
	is.mu.Unlock()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: k}, opts)
	if err != nil {
		is.t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		is.t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		is.t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		is.t.Fatal(err)
	}
	return s
}

// clock is a settable clock shared by the validator and the tokens.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func (is *issuer) claims(clk *clock, extra map[string]any) map[string]any {
	now := clk.now().Unix()
	c := map[string]any{"iss": is.url, "sub": "user-1", "aud": api, "client_id": "web-app",
		"scope": "openid orders:read", "iat": now, "exp": now + 300, "jti": "jti-1"}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func newValidator(t *testing.T, is *issuer, clk *clock, edit func(*Config)) *Validator {
	t.Helper()
	cfg := Config{Issuer: is.url, Audience: api, Now: clk.now, HTTPClient: is.srv.Client()}
	if edit != nil {
		edit(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantStatus(t *testing.T, err error, status int, descPart string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an *Error with status %d", err, status)
	}
	if e.Status != status || !strings.Contains(e.Description, descPart) {
		t.Fatalf("error = %d %q, want %d containing %q", e.Status, e.Description, status, descPart)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("es-1", jose.ES256, true)
	is.addKey("rs-1", jose.RS256, true)
	is.addKey("rogue", jose.ES256, false)
	clk := newClock()
	v := newValidator(t, is, clk, nil)
	now := clk.now().Unix()

	tests := []struct {
		name   string
		token  string
		status int    // 0: valid
		desc   string // part of the refusal's description
	}{
		{"an ES256 token for this API passes", is.sign("es-1", "at+jwt", is.claims(clk, nil)), 0, ""},
		{"an RS256 token passes", is.sign("rs-1", "at+jwt", is.claims(clk, nil)), 0, ""},
		{"typ application/at+jwt passes", is.sign("es-1", "application/at+jwt", is.claims(clk, nil)), 0, ""},
		{"aud as an array containing the API passes",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"aud": []string{"other", api}})), 0, ""},
		{"a token expired within the leeway passes",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"exp": now - 10})), 0, ""},
		{"an expired token is refused",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"exp": now - 120})), 401, "expired"},
		{"a token without exp is refused",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"exp": nil})), 401, "no exp"},
		{"a token not valid yet is refused",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"nbf": now + 600})), 401, "nbf"},
		{"a token issued in the future is refused",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"iat": now + 600})), 401, "iat"},
		{"a token for another API is refused",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"aud": "https://other.example"})), 401, "aud"},
		{"a token from another issuer is refused",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"iss": is.srv.URL + "/t/other"})), 401, "issuer"},
		{"an issuer with a trailing slash is another issuer",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"iss": is.url + "/"})), 401, "issuer"},
		{"an ID token (typ JWT) is refused", is.sign("es-1", "JWT", is.claims(clk, nil)), 401, "typ"},
		{"a token signed by an unpublished key is refused",
			is.sign("rogue", "at+jwt", is.claims(clk, nil)), 401, "does not publish"},
		{"a token without sub is refused",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"sub": nil})), 401, "sub"},
		{"a DPoP-bound token is refused unless allowed",
			is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{"cnf": map[string]string{"jkt": "abc"}})), 401, "DPoP"},
		{"a tampered payload is refused", tamper(is.sign("es-1", "at+jwt", is.claims(clk, nil))), 401, "signature"},
		{"something that is not a JWT is refused", "opaque-token", 401, "not a JWT"},
		{"an unsigned token is refused", unsigned(is.claims(clk, nil)), 401, "algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := v.Validate(context.Background(), tt.token)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if c.Subject != "user-1" || c.ClientID != "web-app" || !c.HasScope("orders:read") {
					t.Fatalf("claims = %+v", c)
				}
				return
			}
			wantStatus(t, err, tt.status, tt.desc)
		})
	}
}

// tamper changes the payload of a compact JWS, keeping its signature.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), "user-1", "admin", 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func unsigned(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"es-1"}`)) + "." + base64.RawURLEncoding.EncodeToString(b) + "."
}

func TestClaimsCarryTheAuthorizationClaims(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("es-1", jose.ES256, true)
	clk := newClock()
	v := newValidator(t, is, clk, nil)
	token := is.sign("es-1", "at+jwt", is.claims(clk, map[string]any{
		"permissions": []string{"orders:write"}, "roles": []string{"clerk"}, "groups": []string{"ops"},
		"org_id": "org_1", "org_roles": []string{"owner"}, "custom": 7,
	}))
	c, err := v.Validate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasPermission("orders:write") || !c.HasPermission("orders:read") || c.HasPermission("orders:delete") {
		t.Errorf("permissions = %v, scopes = %v", c.Permissions, c.Scopes)
	}
	if !c.HasRole("clerk") || c.Groups[0] != "ops" || c.OrgID != "org_1" || c.OrgRoles[0] != "owner" {
		t.Errorf("claims = %+v", c)
	}
	if c.Raw["custom"] != json.Number("7") || !c.ExpiresAt.Equal(clk.now().Add(300*time.Second)) {
		t.Errorf("raw = %v, exp = %v", c.Raw, c.ExpiresAt)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("k1", jose.ES256, true)
	is.addKey("k2", jose.ES256, false)
	clk := newClock()
	v := newValidator(t, is, clk, func(c *Config) { c.KeyRefetchInterval = 30 * time.Second })
	ctx := context.Background()

	if _, err := v.Validate(ctx, is.sign("k1", "at+jwt", is.claims(clk, nil))); err != nil {
		t.Fatalf("token of the first key: %v", err)
	}
	// The issuer starts signing with a key it has just published: the validator refetches once.
	clk.advance(40 * time.Second) // past the refetch interval, within the JWKS's max-age
	is.publish("k2")
	before := is.jwksFetches.Load()
	if _, err := v.Validate(ctx, is.sign("k2", "at+jwt", is.claims(clk, nil))); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if got := is.jwksFetches.Load() - before; got != 1 {
		t.Fatalf("fetches for the new key = %d, want 1", got)
	}

	// Tokens naming a kid nobody publishes cause at most one fetch per interval.
	is.addKey("k3", jose.ES256, false)
	clk.advance(time.Second) // keys fresh again, last fetch one second ago
	before = is.jwksFetches.Load()
	for range 5 {
		_, err := v.Validate(ctx, is.sign("k3", "at+jwt", is.claims(clk, nil)))
		wantStatus(t, err, 401, "does not publish")
	}
	if got := is.jwksFetches.Load() - before; got != 0 {
		t.Fatalf("fetches within the interval = %d, want 0", got)
	}
	clk.advance(31 * time.Second)
	for range 5 {
		_, err := v.Validate(ctx, is.sign("k3", "at+jwt", is.claims(clk, nil)))
		wantStatus(t, err, 401, "does not publish")
	}
	if got := is.jwksFetches.Load() - before; got != 1 {
		t.Fatalf("fetches after the interval = %d, want 1", got)
	}
	// Once published, the key is found at the next allowed fetch.
	is.publish("k3")
	clk.advance(31 * time.Second)
	if _, err := v.Validate(ctx, is.sign("k3", "at+jwt", is.claims(clk, nil))); err != nil {
		t.Fatalf("token of the key published later: %v", err)
	}
}

func TestKeysAreFetchedOnceByConcurrentRequests(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("k1", jose.ES256, true)
	clk := newClock()
	v := newValidator(t, is, clk, nil)
	token := is.sign("k1", "at+jwt", is.claims(clk, nil))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := v.Validate(context.Background(), token)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := is.jwksFetches.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1", got)
	}
}

func TestStaleKeysAreRefetchedAfterMaxAge(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("k1", jose.ES256, true)
	clk := newClock()
	v := newValidator(t, is, clk, nil)
	for range 3 {
		if _, err := v.Validate(context.Background(), is.sign("k1", "at+jwt", is.claims(clk, nil))); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(61 * time.Second)
	if _, err := v.Validate(context.Background(), is.sign("k1", "at+jwt", is.claims(clk, nil))); err != nil {
		t.Fatal(err)
	}
	if got := is.jwksFetches.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2 (one at first use, one after max-age)", got)
	}
}

func TestKnownKeysOutliveAnUnreachableJWKS(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("k1", jose.ES256, true)
	is.addKey("k2", jose.ES256, false)
	clk := newClock()
	v := newValidator(t, is, clk, nil)
	ctx := context.Background()
	if _, err := v.Validate(ctx, is.sign("k1", "at+jwt", is.claims(clk, nil))); err != nil {
		t.Fatal(err)
	}
	is.jwksDown.Store(true)
	clk.advance(10 * time.Minute)
	if _, err := v.Validate(ctx, is.sign("k1", "at+jwt", is.claims(clk, nil))); err != nil {
		t.Fatalf("a known key while the JWKS is down: %v", err)
	}
	_, err := v.Validate(ctx, is.sign("k2", "at+jwt", is.claims(clk, nil)))
	wantStatus(t, err, 503, "could not be fetched")
	// The failed fetch is not retried by every request.
	before := is.jwksFetches.Load()
	for range 3 {
		if _, err := v.Validate(ctx, is.sign("k1", "at+jwt", is.claims(clk, nil))); err != nil {
			t.Fatal(err)
		}
	}
	if got := is.jwksFetches.Load() - before; got != 0 {
		t.Fatalf("fetches right after a failure = %d, want 0", got)
	}
	is.jwksDown.Store(false)
	is.publish("k2")
	clk.advance(31 * time.Second)
	if _, err := v.Validate(ctx, is.sign("k2", "at+jwt", is.claims(clk, nil))); err != nil {
		t.Fatalf("once the JWKS is back: %v", err)
	}
}

func TestDiscoveryOfAnotherIssuerIsRefused(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("k1", jose.ES256, true)
	is.discoveryIssuer = "https://evil.example/t/acme"
	clk := newClock()
	v := newValidator(t, is, clk, nil)
	_, err := v.Validate(context.Background(), is.sign("k1", "at+jwt", is.claims(clk, nil)))
	wantStatus(t, err, 503, "could not be fetched")
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	is.addKey("k1", jose.ES256, true)
	clk := newClock()
	v := newValidator(t, is, clk, func(c *Config) {
		c.Introspection = &Introspection{ClientID: "api-client", ClientSecret: "s3cr3t", CacheTTL: 10 * time.Second}
	})
	ctx := context.Background()
	active := is.sign("k1", "at+jwt", is.claims(clk, map[string]any{"jti": "a"}))
	revoked := is.sign("k1", "at+jwt", is.claims(clk, map[string]any{"jti": "r"}))
	is.revoked.Store(revoked, true)

	t.Run("an active token passes, and the answer is reused", func(t *testing.T) {
		for range 3 {
			if _, err := v.Validate(ctx, active); err != nil {
				t.Fatal(err)
			}
		}
		if got := is.introspections.Load(); got != 1 {
			t.Fatalf("introspection calls = %d, want 1", got)
		}
	})
	t.Run("a revoked token is refused", func(t *testing.T) {
		_, err := v.Validate(ctx, revoked)
		wantStatus(t, err, 401, "revoked")
	})
	t.Run("a token revoked later is refused once the cached answer expires", func(t *testing.T) {
		is.revoked.Store(active, true)
		if _, err := v.Validate(ctx, active); err != nil {
			t.Fatalf("within the cache time: %v", err)
		}
		clk.advance(11 * time.Second)
		_, err := v.Validate(ctx, active)
		wantStatus(t, err, 401, "revoked")
	})
	t.Run("wrong client credentials make the check unavailable, not a pass", func(t *testing.T) {
		bad := newValidator(t, is, clk, func(c *Config) {
			c.Introspection = &Introspection{ClientID: "api-client", ClientSecret: "wrong"}
		})
		_, err := bad.Validate(ctx, is.sign("k1", "at+jwt", is.claims(clk, map[string]any{"jti": "b"})))
		wantStatus(t, err, 503, "could not be asked")
	})
}

func TestCacheTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cc   string
		want time.Duration
	}{
		{"public, max-age=60", time.Minute},
		{"", defaultKeysTTL},
		{"max-age=1", minKeysTTL},
		{"max-age=99999999999", maxKeysTTL},
		{"no-store", minKeysTTL},
		{"max-age=junk", defaultKeysTTL},
	}
	for _, tt := range tests {
		if got := cacheTTL(tt.cc); got != tt.want {
			t.Errorf("cacheTTL(%q) = %v, want %v", tt.cc, got, tt.want)
		}
	}
}

func TestNewNamesMissingFields(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Introspection: &Introspection{}})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, field := range []string{"Issuer", "Audience", "ClientSecret"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}
