package keys

import (
	"context"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store/storetest"
)

// benchManager returns a Manager over a SQLite store with one tenant whose keys exist and are cached.
func benchManager(b *testing.B) (*Manager, string) {
	b.Helper()
	db := storetest.Open(b)
	m := NewManager(db, NewKeyring(testMaster(1)), testKeysConfig, nil)
	m.cacheTTL = time.Hour // measure the cached path, not a reload every 30s
	tenant := storetest.Tenant(b, db)
	if _, err := m.JWKS(context.Background(), tenant); err != nil {
		b.Fatal(err)
	}
	return m, tenant
}

var benchClaims = map[string]any{
	"iss": "https://id.example.com/t/acme", "sub": "user-123", "aud": "web", "client_id": "web",
	"scope": "openid profile email", "exp": 1_800_000_600, "iat": 1_800_000_000, "jti": "01hzyqk3x3k4c",
}

func benchSign(b *testing.B, alg, typ string) {
	m, tenant := benchManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Sign(ctx, tenant, alg, typ, benchClaims); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSignES256(b *testing.B) { benchSign(b, ES256, "at+jwt") }

func BenchmarkSignRS256(b *testing.B) { benchSign(b, RS256, "JWT") }

func BenchmarkVerifyES256(b *testing.B) {
	m, tenant := benchManager(b)
	ctx := context.Background()
	token, err := m.Sign(ctx, tenant, ES256, "at+jwt", benchClaims)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := m.Verify(ctx, tenant, token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkJWKS(b *testing.B) {
	m, tenant := benchManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.JWKS(ctx, tenant); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
