package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/identity/webauthntest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

const passkeyOrigin = "https://id.example.com"

// passkeyBench is a SQLite store with a user who registered the passkey of auth.
type passkeyBench struct {
	s    *identity.Service
	tn   store.Tenant
	u    store.User
	f    store.Factor
	auth *webauthntest.Authenticator
}

var benchBrowser = []byte("the benchmark's browser")

func newPasskeyBench(b *testing.B) passkeyBench {
	b.Helper()
	ctx := context.Background()
	db := storetest.Open(b)
	s := identity.New(db, config.Security{Argon2MemoryKiB: 8192, Argon2Iterations: 1, Argon2Parallelism: 1,
		AccountLockoutThreshold: 1 << 30, AccountLockoutDuration: config.Duration(time.Minute), IPLimitPerMinute: 1 << 30}, nil)
	s.PublicURL = passkeyOrigin
	tn := store.Tenant{ID: "bench", Name: "Bench"}
	if err := db.CreateTenant(ctx, tn); err != nil {
		b.Fatal(err)
	}
	u, err := s.CreateUser(ctx, tn.ID, identity.NewUser{Email: "pat@example.com", Password: "a long bench password 1",
		EmailVerified: true}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	auth := webauthntest.New(passkeyOrigin)
	opts, flow, err := s.BeginPasskeyRegistration(ctx, tn, u, benchBrowser)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := auth.Create(opts)
	if err != nil {
		b.Fatal(err)
	}
	f, err := s.FinishPasskeyRegistration(ctx, tn, u, flow, benchBrowser, resp, "")
	if err != nil {
		b.Fatal(err)
	}
	return passkeyBench{s: s, tn: tn, u: u, f: f, auth: auth}
}

// BenchmarkWebAuthnAssertion measures the server's side of a passkey sign-in.
//
//   - verify: one assertion checked as FinishPasskeyLogin checks it (parsing the browser's JSON, the
//     library's verification of client data, RP ID hash, flags and the ES256 signature, and our checks of
//     user handle, counter and user), without the database: the same answer verified again and again.
//   - finish_sqlite: FinishPasskeyLogin on SQLite with a fresh ceremony each time (the ceremony's row read
//     and used up, the passkey and its user looked up, the new counter stored); starting the ceremony and
//     the authenticator's signature are outside the timer.
//   - ecdsa_p256: the bare signature verification, the floor of both.
func BenchmarkWebAuthnAssertion(b *testing.B) {
	b.Run("verify", func(b *testing.B) {
		pb := newPasskeyBench(b)
		challenge := make([]byte, 32)
		_, _ = rand.Read(challenge)
		opts := []byte(`{"publicKey":{"challenge":"` + base64.RawURLEncoding.EncodeToString(challenge) + `","rpId":"id.example.com"}}`)
		resp, err := pb.auth.Get(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, _, err := pb.s.VerifyPasskeyAssertion(pb.tn, pb.u, pb.f, challenge, resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("finish_sqlite", func(b *testing.B) {
		pb := newPasskeyBench(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			opts, flow, err := pb.s.BeginPasskeyLogin(ctx, pb.tn, "", benchBrowser)
			if err != nil {
				b.Fatal(err)
			}
			resp, err := pb.auth.Get(opts)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, _, _, err := pb.s.FinishPasskeyLogin(ctx, pb.tn, flow, benchBrowser, resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ecdsa_p256", func(b *testing.B) {
		a := webauthntest.New(passkeyOrigin)
		digest := sha256.Sum256([]byte("authenticator data and client data hash"))
		sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if !ecdsa.VerifyASN1(&a.Key.PublicKey, digest[:], sig) {
				b.Fatal("signature does not verify")
			}
		}
	})
}
