package keys

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// clock is the fake clock injected into Managers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var testKeysConfig = config.Keys{
	RotationInterval: config.Duration(24 * time.Hour),
	RetainRetired:    config.Duration(48 * time.Hour),
}

func newTestManager(db *store.DB, clk *clock) *Manager {
	m := NewManager(db, NewKeyring(testMaster(1)), testKeysConfig, nil)
	m.now = clk.Now
	return m
}

type claims struct {
	Sub string `json:"sub"`
	Iss string `json:"iss"`
}

// segments splits a compact JWS.
func segments(t *testing.T, token string) (header map[string]any, parts []string) {
	t.Helper()
	parts = strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &header); err != nil {
		t.Fatal(err)
	}
	return header, parts
}

func b64JSON(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func currentKids(t *testing.T, db *store.DB, tenantID string) map[string]string {
	t.Helper()
	rows, err := db.ListSigningKeys(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		if r.Status == store.KeyStatusCurrent {
			if out[r.Alg] != "" {
				t.Fatalf("two current %s keys", r.Alg)
			}
			out[r.Alg] = r.KeyID
		}
	}
	return out
}

func countStatus(t *testing.T, db *store.DB, tenantID string) map[string]int {
	t.Helper()
	rows, err := db.ListSigningKeys(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Alg+" "+r.Status]++
	}
	return out
}

func jwksKids(t *testing.T, doc []byte) map[string]jose.JSONWebKey {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS %s: %v", doc, err)
	}
	out := map[string]jose.JSONWebKey{}
	for _, k := range set.Keys {
		out[k.KeyID] = k
	}
	return out
}

func TestSignAndVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newTestManager(db, newClock())
		tenant, other := storetest.Tenant(t, db), storetest.Tenant(t, db)
		want := claims{Sub: "user-1", Iss: "https://id.example.com/t/" + tenant}

		tokens := map[string]string{}
		for _, tc := range []struct{ alg, typ string }{{RS256, "JWT"}, {ES256, "at+jwt"}} {
			t.Run(tc.alg+" signs with kid and typ and verifies", func(t *testing.T) {
				token, err := m.Sign(ctx, tenant, tc.alg, tc.typ, want)
				if err != nil {
					t.Fatal(err)
				}
				tokens[tc.alg] = token
				payload, h, err := m.Verify(ctx, tenant, token)
				if err != nil {
					t.Fatal(err)
				}
				var got claims
				if err := json.Unmarshal(payload, &got); err != nil || got != want {
					t.Fatalf("payload %s, err %v", payload, err)
				}
				if h.Algorithm != tc.alg || h.KeyID != currentKids(t, db, tenant)[tc.alg] || h.ExtraHeaders[jose.HeaderType] != tc.typ {
					t.Fatalf("header alg %s kid %s typ %v", h.Algorithm, h.KeyID, h.ExtraHeaders[jose.HeaderType])
				}
				if _, _, err := m.Verify(ctx, tenant, token, tc.alg); err != nil {
					t.Fatalf("verify with only %s allowed: %v", tc.alg, err)
				}
			})
		}
		if t.Failed() {
			return
		}
		t.Run("raw JSON claims are signed as they are", func(t *testing.T) {
			token, err := m.Sign(ctx, tenant, ES256, "JWT", json.RawMessage(`{"a":1}`))
			if err != nil {
				t.Fatal(err)
			}
			payload, _, err := m.Verify(ctx, tenant, token)
			if err != nil || string(payload) != `{"a":1}` {
				t.Fatalf("payload %s, err %v", payload, err)
			}
		})
		t.Run("an unsupported algorithm cannot sign", func(t *testing.T) {
			for _, alg := range []string{"HS256", "none", "PS256", ""} {
				if _, err := m.Sign(ctx, tenant, alg, "JWT", want); err == nil {
					t.Errorf("Sign with %q succeeded", alg)
				}
			}
		})
		t.Run("none and HMAC cannot be allowed by the caller", func(t *testing.T) {
			for _, alg := range []string{"none", "HS256"} {
				if _, _, err := m.Verify(ctx, tenant, tokens[ES256], ES256, alg); err == nil {
					t.Errorf("Verify allowing %q succeeded", alg)
				}
			}
		})

		esHeader, esParts := segments(t, tokens[ES256])
		kid := esHeader["kid"].(string)
		jwks, err := m.JWKS(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		hsSigned := func(alg string) string {
			in := b64JSON(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"}) + "." + esParts[1]
			mac := hmac.New(sha256.New, jwks) // the classic confusion attack: the public key as HMAC secret
			mac.Write([]byte(in))
			return in + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		}
		tamperSig := func(token string) string {
			p := strings.Split(token, ".")
			sig, _ := base64.RawURLEncoding.DecodeString(p[2])
			sig[len(sig)/2] ^= 0x01
			return p[0] + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
		}
		otherToken, err := m.Sign(ctx, other, ES256, "JWT", want)
		if err != nil {
			t.Fatal(err)
		}
		_, rsParts := segments(t, tokens[RS256])
		rejected := []struct {
			name, token string
			algs        []string
		}{
			{"alg none is rejected", b64JSON(map[string]string{"alg": "none", "kid": kid}) + "." + esParts[1] + ".", nil},
			{"alg none with a signature is rejected", b64JSON(map[string]string{"alg": "none", "kid": kid}) + "." + esParts[1] + "." + esParts[2], nil},
			{"HS256 keyed with the public keys is rejected", hsSigned("HS256"), nil},
			{"HS512 is rejected", hsSigned("HS512"), nil},
			{"an unknown kid is rejected", b64JSON(map[string]string{"alg": "ES256", "kid": "nope"}) + "." + esParts[1] + "." + esParts[2], nil},
			{"a missing kid is rejected", b64JSON(map[string]string{"alg": "ES256"}) + "." + esParts[1] + "." + esParts[2], nil},
			{"a tampered ES256 signature is rejected", tamperSig(tokens[ES256]), nil},
			{"a tampered RS256 signature is rejected", tamperSig(tokens[RS256]), nil},
			{"a tampered payload is rejected", esParts[0] + "." + b64JSON(claims{Sub: "admin", Iss: want.Iss}) + "." + esParts[2], nil},
			{"a header naming the wrong algorithm for the key is rejected",
				b64JSON(map[string]string{"alg": "RS256", "kid": kid}) + "." + rsParts[1] + "." + rsParts[2], nil},
			{"a token of another tenant is rejected", otherToken, nil},
			{"an ES256 token is rejected when only RS256 is allowed", tokens[ES256], []string{RS256}},
			{"a JWS in JSON serialization is rejected", `{"payload":"` + esParts[1] + `","protected":"` + esParts[0] + `","signature":"` + esParts[2] + `"}`, nil},
			{"garbage is rejected", "not.a.token", nil},
			{"an empty token is rejected", "", nil},
		}
		for _, tt := range rejected {
			t.Run(tt.name, func(t *testing.T) {
				payload, _, err := m.Verify(ctx, tenant, tt.token, tt.algs...)
				if !errors.Is(err, ErrInvalidToken) || payload != nil {
					t.Fatalf("Verify = %s, %v; want ErrInvalidToken", payload, err)
				}
			})
		}
		t.Run("the other tenant accepts its own token", func(t *testing.T) {
			if _, _, err := m.Verify(ctx, other, otherToken); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("first use created one current and one next key per algorithm, with events", func(t *testing.T) {
			want := map[string]int{"RS256 current": 1, "RS256 next": 1, "ES256 current": 1, "ES256 next": 1}
			got := countStatus(t, db, tenant)
			for k, n := range want {
				if got[k] != n {
					t.Fatalf("keys %v, want %v", got, want)
				}
			}
			evs, err := db.ListEvents(ctx, tenant, 0, "key.created", 100)
			if err != nil || len(evs) != 4 {
				t.Fatalf("%d key.created events, err %v", len(evs), err)
			}
		})
		t.Run("the private key is stored sealed, not in the clear", func(t *testing.T) {
			rows, _ := db.ListSigningKeys(ctx, tenant)
			for _, r := range rows {
				if _, err := NewKeyring(testMaster(1)).Open(r.PrivateEnc, []byte(tenant+"|"+r.KeyID)); err != nil {
					t.Fatalf("key %s does not open with aad tenant|kid: %v", r.KeyID, err)
				}
				if strings.Contains(r.PublicJWK, `"d"`) {
					t.Fatalf("public JWK has a private part: %s", r.PublicJWK)
				}
			}
		})
		t.Run("a node with another master key cannot use the keys", func(t *testing.T) {
			wrong := NewManager(db, NewKeyring(testMaster(9)), testKeysConfig, nil)
			_, err := wrong.Sign(ctx, tenant, ES256, "JWT", want)
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("err = %v, want ErrOpen", err)
			}
		})
		t.Run("a tenant that does not exist gets no keys", func(t *testing.T) {
			if _, err := m.Sign(ctx, "no-such-tenant", ES256, "JWT", want); err == nil {
				t.Fatal("signed for a missing tenant")
			}
		})
	})
}

func TestJWKS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := newTestManager(db, newClock())
		tenant := storetest.Tenant(t, db)
		doc, err := m.JWKS(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		keys := jwksKids(t, doc)
		rows, _ := db.ListSigningKeys(ctx, tenant)
		if len(keys) != 4 || len(rows) != 4 {
			t.Fatalf("JWKS has %d keys, database %d; want 4", len(keys), len(rows))
		}
		for _, r := range rows {
			t.Run("the "+r.Status+" "+r.Alg+" key is published with kid, use and alg", func(t *testing.T) {
				k, ok := keys[r.KeyID]
				if !ok || k.Use != "sig" || k.Algorithm != r.Alg || !k.IsPublic() || !k.Valid() {
					t.Fatalf("key %s: %+v", r.KeyID, k)
				}
			})
		}
		t.Run("the document has no private parameters", func(t *testing.T) {
			for _, p := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`} {
				if strings.Contains(string(doc), p) {
					t.Fatalf("JWKS contains %s: %s", p, doc)
				}
			}
		})
		t.Run("the cached document is served again", func(t *testing.T) {
			again, err := m.JWKS(ctx, tenant)
			if err != nil || &again[0] != &doc[0] {
				t.Fatal("JWKS was rebuilt instead of served from the cache")
			}
		})
	})
}

func TestCacheServesWithoutTheDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		m := newTestManager(db, clk)
		tenant := storetest.Tenant(t, db)
		token, err := m.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "u"})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		t.Run("sign, verify and JWKS work from the cache while it is fresh", func(t *testing.T) {
			if _, err := m.Sign(ctx, tenant, RS256, "JWT", claims{Sub: "u"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := m.Verify(ctx, tenant, token); err != nil {
				t.Fatal(err)
			}
			if _, err := m.JWKS(ctx, tenant); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("an expired cache keeps serving when the reload fails", func(t *testing.T) {
			clk.Add(time.Minute)
			if _, _, err := m.Verify(ctx, tenant, token); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a tenant never loaded fails", func(t *testing.T) {
			if _, err := m.JWKS(ctx, "t-never-loaded"); err == nil {
				t.Fatal("no error without a database")
			}
		})
	})
}

func TestRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		m := newTestManager(db, clk)
		tenant := storetest.Tenant(t, db)
		oldTokens := map[string]string{}
		for _, alg := range algorithms {
			tok, err := m.Sign(ctx, tenant, alg, "JWT", claims{Sub: "before"})
			if err != nil {
				t.Fatal(err)
			}
			oldTokens[alg] = tok
		}
		before := currentKids(t, db, tenant)
		rows, _ := db.ListSigningKeys(ctx, tenant)
		nextKids := map[string]string{}
		for _, r := range rows {
			if r.Status == store.KeyStatusNext {
				nextKids[r.Alg] = r.KeyID
			}
		}
		clk.Add(time.Hour)
		if err := m.Rotate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		after := currentKids(t, db, tenant)

		for _, alg := range algorithms {
			t.Run("the next "+alg+" key becomes current and signs at once on this node", func(t *testing.T) {
				if after[alg] != nextKids[alg] {
					t.Fatalf("current %s, want former next %s", after[alg], nextKids[alg])
				}
				tok, err := m.Sign(ctx, tenant, alg, "JWT", claims{Sub: "after"})
				if err != nil {
					t.Fatal(err)
				}
				if h, _ := segments(t, tok); h["kid"] != after[alg] {
					t.Fatalf("signed with %v, want %s", h["kid"], after[alg])
				}
			})
			t.Run("a token signed by the retired "+alg+" key still verifies", func(t *testing.T) {
				if _, _, err := m.Verify(ctx, tenant, oldTokens[alg]); err != nil {
					t.Fatal(err)
				}
			})
		}
		t.Run("the JWKS lists retired, current and new next keys", func(t *testing.T) {
			doc, err := m.JWKS(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			kids := jwksKids(t, doc)
			if len(kids) != 6 {
				t.Fatalf("JWKS has %d keys, want 6", len(kids))
			}
			for _, alg := range algorithms {
				if _, ok := kids[before[alg]]; !ok {
					t.Fatalf("retired %s key %s not published", alg, before[alg])
				}
			}
			got := countStatus(t, db, tenant)
			for _, alg := range algorithms {
				if got[alg+" retired"] != 1 || got[alg+" current"] != 1 || got[alg+" next"] != 1 {
					t.Fatalf("keys %v", got)
				}
			}
		})
		t.Run("each rotation records its event", func(t *testing.T) {
			evs, err := db.ListEvents(ctx, tenant, 0, "key.rotated", 100)
			if err != nil || len(evs) != 2 {
				t.Fatalf("%d key.rotated events, err %v", len(evs), err)
			}
		})
		t.Run("another node learns a kid it has never seen on first sight", func(t *testing.T) {
			other := newTestManager(db, clk)
			if _, err := other.JWKS(ctx, tenant); err != nil { // caches the current state
				t.Fatal(err)
			}
			// Two rotations make current a key that did not exist when other loaded.
			for range 2 {
				if err := m.Rotate(ctx, tenant); err != nil {
					t.Fatal(err)
				}
			}
			tok, err := m.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "new"})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := other.Verify(ctx, tenant, tok); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("keys retired longer than the retention leave the JWKS, stop verifying and are deleted", func(t *testing.T) {
			clk.Add(testKeysConfig.RetainRetired.D() + time.Hour)
			if err := m.Rotate(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			rows, _ := db.ListSigningKeys(ctx, tenant)
			for _, r := range rows {
				if r.KeyID == before[RS256] || r.KeyID == before[ES256] {
					t.Fatalf("key %s retired long ago is still stored", r.KeyID)
				}
			}
			got := countStatus(t, db, tenant)
			for _, alg := range algorithms {
				// Only the key retired just now remains retired.
				if got[alg+" retired"] != 1 {
					t.Fatalf("keys %v", got)
				}
			}
			doc, _ := m.JWKS(ctx, tenant)
			kids := jwksKids(t, doc)
			if len(kids) != 6 {
				t.Fatalf("JWKS has %d keys, want 6", len(kids))
			}
			for _, alg := range algorithms {
				if _, ok := kids[before[alg]]; ok {
					t.Fatalf("expired %s key still published", alg)
				}
				if _, _, err := m.Verify(ctx, tenant, oldTokens[alg]); !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("token of an expired %s key: err %v", alg, err)
				}
			}
		})
		t.Run("an expired retired key leaves the JWKS before it is deleted", func(t *testing.T) {
			tenant := storetest.Tenant(t, db)
			if err := m.Rotate(ctx, tenant); err != nil { // creates the keys, then rotates them
				t.Fatal(err)
			}
			clk.Add(testKeysConfig.RetainRetired.D() + time.Minute) // also expires the cache
			doc, err := m.JWKS(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(jwksKids(t, doc)); n != 4 {
				t.Fatalf("JWKS has %d keys, want 4", n)
			}
			if got := countStatus(t, db, tenant); got["ES256 retired"] != 1 {
				t.Fatalf("keys %v", got)
			}
		})
	})
}

func TestConcurrentFirstUseByTwoNodes(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db1, db2 := twoNodes(t, backend)
			clk := newClock()
			nodes := []*Manager{newTestManager(db1, clk), newTestManager(db2, clk)}
			for round := range 3 {
				tenant := storetest.Tenant(t, db1)
				start := make(chan struct{})
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for i := range 8 {
					wg.Go(func() {
						<-start
						m := nodes[i%2]
						if i%4 < 2 {
							_, err := m.JWKS(ctx, tenant)
							errs <- err
						} else {
							_, err := m.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "x"})
							errs <- err
						}
					})
				}
				close(start)
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
				}
				got := countStatus(t, db1, tenant)
				want := map[string]int{"RS256 current": 1, "RS256 next": 1, "ES256 current": 1, "ES256 next": 1}
				if len(got) != len(want) {
					t.Fatalf("round %d: keys %v, want %v", round, got, want)
				}
				for k, n := range want {
					if got[k] != n {
						t.Fatalf("round %d: keys %v, want %v", round, got, want)
					}
				}
				j1, _ := nodes[0].JWKS(ctx, tenant)
				j2, _ := nodes[1].JWKS(ctx, tenant)
				if string(j1) != string(j2) {
					t.Fatalf("round %d: the nodes publish different key sets", round)
				}
			}
		})
	}
}

func TestRunRotatesOnSchedule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		nodes := []*Manager{newTestManager(db, clk), newTestManager(db, clk)}
		for _, m := range nodes {
			m.tick = 5 * time.Millisecond
		}
		due, fresh, never := storetest.Tenant(t, db), storetest.Tenant(t, db), storetest.Tenant(t, db)
		if _, err := nodes[0].JWKS(ctx, due); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{}, len(nodes))
		for _, m := range nodes {
			go func() { m.Run(runCtx); done <- struct{}{} }()
		}
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			for range nodes {
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("Run did not return after its context ended")
				}
			}
		}
		defer stop()

		initial := currentKids(t, db, due)
		time.Sleep(50 * time.Millisecond)
		t.Run("keys younger than the interval are not rotated", func(t *testing.T) {
			if got := currentKids(t, db, due); got[ES256] != initial[ES256] {
				t.Fatal("rotated too early")
			}
		})
		clk.Add(testKeysConfig.RotationInterval.D() - time.Hour)
		if _, err := nodes[0].JWKS(ctx, fresh); err != nil { // keys 1h younger than the interval at the next step
			t.Fatal(err)
		}
		clk.Add(time.Hour + time.Minute)
		t.Run("keys older than the interval are rotated once although two nodes run the schedule", func(t *testing.T) {
			deadline := time.Now().Add(20 * time.Second)
			for currentKids(t, db, due)[ES256] == initial[ES256] {
				if time.Now().After(deadline) {
					t.Fatal("not rotated")
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // more ticks on both nodes
			got := countStatus(t, db, due)
			for _, alg := range algorithms {
				if got[alg+" retired"] != 1 || got[alg+" current"] != 1 || got[alg+" next"] != 1 {
					t.Fatalf("keys %v: want exactly one rotation", got)
				}
			}
		})
		t.Run("a tenant whose keys are younger than the interval is left alone", func(t *testing.T) {
			if got := countStatus(t, db, fresh); got["ES256 retired"] != 0 {
				t.Fatalf("keys %v", got)
			}
		})
		t.Run("a tenant without keys gets none from the schedule", func(t *testing.T) {
			if got := countStatus(t, db, never); len(got) != 0 {
				t.Fatalf("keys %v", got)
			}
		})
		t.Run("retired keys past retention are pruned by the schedule", func(t *testing.T) {
			clk.Add(testKeysConfig.RetainRetired.D() + time.Hour)
			deadline := time.Now().Add(20 * time.Second)
			for {
				got := countStatus(t, db, due)
				// The schedule also rotated again by now (2 days > interval), so the first retired keys
				// must be gone and only the ones retired by the second rotation remain.
				if got["ES256 retired"] == 1 && got["RS256 retired"] == 1 {
					rows, _ := db.ListSigningKeys(ctx, due)
					gone := true
					for _, r := range rows {
						if r.KeyID == initial[ES256] || r.KeyID == initial[RS256] {
							gone = false
						}
					}
					if gone {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("keys %v", got)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
		t.Run("Run returns when its context ends", func(t *testing.T) { stop() })
	})
}

func TestRunWithRotationDisabledOnlyPrunes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		m := newTestManager(db, clk)
		m.cfg.RotationInterval = 0
		tenant := storetest.Tenant(t, db)
		if err := m.Rotate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		kids := currentKids(t, db, tenant)
		clk.Add(365 * 24 * time.Hour)
		m.runOnce(ctx)
		if got := currentKids(t, db, tenant); got[ES256] != kids[ES256] || got[RS256] != kids[RS256] {
			t.Fatal("rotated although rotation is disabled")
		}
		if got := countStatus(t, db, tenant); got["ES256 retired"] != 0 || got["RS256 retired"] != 0 {
			t.Fatalf("keys %v: retired keys past retention were not pruned", got)
		}
	})
}

// twoNodes opens two store handles on one migrated database of backend, as two server nodes would.
func twoNodes(t *testing.T, backend string) (*store.DB, *store.DB) {
	t.Helper()
	ctx := context.Background()
	url := storetest.URL(t, backend)
	open := func() *store.DB {
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db1, db2 := open(), open()
	if err := db1.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db1, db2
}
