package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/umm-project/umm/internal/identity/webauthntest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// FuzzVerifyPasskeyAssertion: whatever a browser posts as its answer, verification does not panic, refuses
// with ErrPasskeyInvalid, or accepts an answer that proved user verification.
func FuzzVerifyPasskeyAssertion(f *testing.F) {
	p := fuzzPasskeySetup(f)
	challenge := []byte("0123456789abcdef0123456789abcdef")
	opts := []byte(`{"publicKey":{"challenge":"` + base64.RawURLEncoding.EncodeToString(challenge) + `","rpId":"id.example.com"}}`)
	valid, err := p.auth.Get(opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(strings.Replace(string(valid), `"type":"public-key"`, `"type":"other"`, 1)))
	f.Add([]byte(`{"id":"","rawId":"","type":"public-key","response":{"clientDataJSON":"","authenticatorData":"","signature":""}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, response []byte) {
		methods, _, err := p.s.VerifyPasskeyAssertion(p.tn, p.u, p.fac, challenge, response)
		if err != nil {
			if !errors.Is(err, ErrPasskeyInvalid) {
				t.Fatalf("error %v is not ErrPasskeyInvalid", err)
			}
			return
		}
		if !slices.Contains(methods, AMRUser) {
			t.Fatalf("accepted without user verification: %v", methods)
		}
	})
}

// fuzzPasskeySetup is newPasskeySetup for a fuzz target.
func fuzzPasskeySetup(f *testing.F) passkeySetup {
	ctx := context.Background()
	db := storetest.Open(f)
	s := New(db, testSecurity(), nil)
	s.PublicURL = passkeyOrigin
	tn := store.Tenant{ID: "fuzz", Name: "Fuzz"}
	if err := db.CreateTenant(ctx, tn); err != nil {
		f.Fatal(err)
	}
	u, err := s.CreateUser(ctx, tn.ID, NewUser{Email: "pia@example.org", Password: regTestPassword}, "test")
	if err != nil {
		f.Fatal(err)
	}
	auth := webauthntest.New(passkeyOrigin)
	opts, flow, err := s.BeginPasskeyRegistration(ctx, tn, u, browserA)
	if err != nil {
		f.Fatal(err)
	}
	resp, err := auth.Create(opts)
	if err != nil {
		f.Fatal(err)
	}
	fac, err := s.FinishPasskeyRegistration(ctx, tn, u, flow, browserA, resp, "")
	if err != nil {
		f.Fatal(err)
	}
	return passkeySetup{s: s, tn: tn, u: u, auth: auth, fac: fac}
}

// FuzzCleanPasskeyName: a stored name is valid UTF-8 without control characters, at most
// MaxPasskeyNameLen characters, trimmed, and cleaning it again changes nothing.
func FuzzCleanPasskeyName(f *testing.F) {
	for _, s := range []string{"", "Work laptop", " a\x00b ", "\xff\xfe", strings.Repeat("é", 100), "\u0085x", "  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := CleanPasskeyName(in)
		if !utf8.ValidString(out) || hasControl(out) || utf8.RuneCountInString(out) > MaxPasskeyNameLen ||
			strings.TrimSpace(out) != out || CleanPasskeyName(out) != out {
			t.Fatalf("CleanPasskeyName(%q) = %q", in, out)
		}
	})
}
