package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/store/storetest"
)

// The back channel's hot paths, end to end through the mux on SQLite: client_credentials (no database
// access once the caches are warm) and introspection of an access token. Ratios against Hydra live in
// bench/; these catch regressions in time and allocations.

func benchRequest(e *tokenEnv, endpoint, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/"+e.tenant.ID+"/"+endpoint, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("m2m", secretM2M)
	r.RemoteAddr = e.ip + ":4711"
	return r
}

func benchServe(b *testing.B, e *tokenEnv, endpoint, body string, parallel bool) {
	b.Helper()
	if w := e.serve(benchRequest(e, endpoint, body)); w.Code != http.StatusOK { // warm the caches and keys
		b.Fatalf("%d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for b.Loop() {
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, benchRequest(e, endpoint, body))
			if w.Code != http.StatusOK {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, benchRequest(e, endpoint, body))
			if w.Code != http.StatusOK {
				b.Errorf("%d %s", w.Code, w.Body)
				return
			}
		}
	})
}

func BenchmarkClientCredentials(b *testing.B) {
	e := newTokenEnv(b, storetest.Open(b))
	body := url.Values{"grant_type": {grantClientCredentials}, "scope": {"orders:read"}}.Encode()
	b.Run("serial", func(b *testing.B) { benchServe(b, e, "token", body, false) })
	b.Run("parallel", func(b *testing.B) { benchServe(b, e, "token", body, true) })
}

// BenchmarkIntrospectAccessTokenCached introspects one access token again and again, so after the first
// request the answer comes from the node's caches of verified tokens and revocation answers: it catches
// regressions of that path and is never quoted as the introspection figure (bench's
// BenchmarkIntrospection introspects each token once).
func BenchmarkIntrospectAccessTokenCached(b *testing.B) {
	e := newTokenEnv(b, storetest.Open(b))
	w := e.serve(benchRequest(e, "token", "grant_type=client_credentials&scope=orders:read"))
	if w.Code != http.StatusOK {
		b.Fatalf("%d %s", w.Code, w.Body)
	}
	at := decodeJSON(b, w)["access_token"].(string)
	body := url.Values{"token": {at}, "token_type_hint": {"access_token"}}.Encode()
	b.Run("serial", func(b *testing.B) { benchServe(b, e, "introspect", body, false) })
	b.Run("parallel", func(b *testing.B) { benchServe(b, e, "introspect", body, true) })
}
