package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestJWKS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		t.Run("the key set holds the tenant's public keys of both algorithms", func(t *testing.T) {
			b := f.browser()
			r := b.request(http.MethodGet, "/t/"+f.tenant.ID+"/jwks.json", nil)
			r.Header.Set("Origin", "https://spa.example.com") // the public client spa's redirect URI origin
			w := b.serve(r)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			h := w.Header()
			if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "public, max-age=60" ||
				h.Get("Access-Control-Allow-Origin") != "https://spa.example.com" || h.Get("Vary") != "Origin" {
				t.Errorf("headers %v", h)
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
				t.Fatal(err)
			}
			algs := map[string]bool{}
			for _, k := range set.Keys {
				algs[k["alg"].(string)] = true
				if k["kid"] == "" || k["d"] != nil || k["p"] != nil {
					t.Errorf("key %v: want a kid and no private part", k)
				}
			}
			if !algs["RS256"] || !algs["ES256"] {
				t.Errorf("algorithms %v, want RS256 and ES256", algs)
			}
			want, err := f.keys.JWKS(context.Background(), f.tenant.ID)
			if err != nil || string(want) != w.Body.String() {
				t.Errorf("the body is not keys.Manager.JWKS (%v)", err)
			}
		})
		t.Run("an unknown tenant has no key set", func(t *testing.T) {
			if w := f.browser().get("/t/nope/jwks.json"); w.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", w.Code)
			}
		})
	})
}

// BenchmarkJWKS measures the handler alone, on a warm cache (bench/ measures the server end to end).
func BenchmarkJWKS(b *testing.B) {
	f := newFixture(b, storetest.Open(b))
	r := httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+f.tenant.ID+"/jwks.json", nil)
	mux := http.NewServeMux()
	f.p.Routes(mux)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}
