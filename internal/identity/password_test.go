package identity

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestHashAndVerifyPassword(t *testing.T) {
	sec := testSecurity()
	h := HashPassword("correct horse battery staple", sec)
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=8192,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Fatalf("hash %q is not a PHC argon2id string with a 16-byte salt and a 32-byte key", h)
	}
	if h2 := HashPassword("correct horse battery staple", sec); h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	stronger := sec
	stronger.Argon2MemoryKiB, stronger.Argon2Iterations, stronger.Argon2Parallelism = 16384, 2, 2
	hs := HashPassword("correct horse battery staple", stronger)
	tests := []struct {
		name, phc, password string
		want                bool
	}{
		{"the right password matches", h, "correct horse battery staple", true},
		{"a wrong password does not match", h, "correct horse battery stapler", false},
		{"an empty password does not match", h, "", false},
		{"a hash with other parameters verifies with its own parameters", hs, "correct horse battery staple", true},
		{"a hash with other parameters rejects a wrong password", hs, "Correct horse battery staple", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.phc, tt.password)
			if err != nil || got != tt.want {
				t.Fatalf("VerifyPassword = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	t.Run("parameters other than the configured ones need a rehash", func(t *testing.T) {
		if NeedsRehash(h, sec) || !NeedsRehash(hs, sec) || !NeedsRehash(h, stronger) {
			t.Fatal("NeedsRehash does not follow the parameters")
		}
	})
	salt, key, _ := strings.Cut(strings.TrimPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$"), "$")
	malformed := []struct{ name, phc string }{
		{"an empty hash is malformed", ""},
		{"a bcrypt hash is not argon2id", "$2a$10$abcdefghijklmnopqrstuu5bc2nHtsJMdXP2xAH1o3wwPQ7qL4a3S"},
		{"argon2i is not argon2id", strings.Replace(h, "argon2id", "argon2i", 1)},
		{"another version is refused", strings.Replace(h, "v=19", "v=16", 1)},
		{"absurd memory is refused", "$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key},
		{"zero iterations are refused", "$argon2id$v=19$m=8192,t=0,p=1$" + salt + "$" + key},
		{"reordered parameters are refused", "$argon2id$v=19$t=1,m=8192,p=1$" + salt + "$" + key},
		{"a salt that is not base64 is refused", "$argon2id$v=19$m=8192,t=1,p=1$!!!$" + key},
		{"a truncated key is refused", "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key[:8]},
		{"a missing field is refused", "$argon2id$v=19$m=8192,t=1,p=1$" + salt},
	}
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.phc, "correct horse battery staple")
			if ok || !errors.Is(err, errMalformedHash) {
				t.Fatalf("VerifyPassword = %v, %v; want false, errMalformedHash", ok, err)
			}
		})
	}
}

func TestHashingWaitsForASlotAndGivesUpWithTheContext(t *testing.T) {
	sec := testSecurity()
	sec.MaxConcurrentHashes = 1
	s := New(storetest.Open(t), sec, nil)
	s.sem <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.HashPassword(ctx, "correct horse battery staple"); !errors.Is(err, context.Canceled) {
		t.Fatalf("HashPassword with no free slot and a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := s.VerifyPassword(ctx, s.dummy, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("VerifyPassword with no free slot and a cancelled context: %v, want context.Canceled", err)
	}
	<-s.sem
	if _, err := s.HashPassword(context.Background(), "correct horse battery staple"); err != nil {
		t.Fatalf("with a free slot: %v", err)
	}
	if len(s.sem) != 0 {
		t.Fatal("the slot was not released")
	}
}

func TestAParameterChangeRehashesAtTheNextSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		old := testSecurity()
		s1, _ := newService(t, db, old)
		tid := storetest.Tenant(t, db)
		u, err := s1.CreateUser(ctx, tid, NewUser{Email: "carol@example.com", Password: "correct horse battery staple"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		newer := old
		newer.Argon2Iterations = 2
		s2, _ := newService(t, db, newer)
		if _, err := s2.Authenticate(ctx, tid, "carol@example.com", "correct horse battery staple", "192.0.2.1"); err != nil {
			t.Fatalf("sign-in with a hash made under the old parameters: %v", err)
		}
		h, err := db.GetPasswordHash(ctx, tid, u.ID)
		if err != nil || !strings.Contains(h, "m=8192,t=2,p=1") {
			t.Fatalf("stored hash %q, %v: want the new parameters", h, err)
		}
		if n := len(eventsOf(t, db, tid, events.TypePasswordRehashed)); n != 1 {
			t.Fatalf("%d password.rehashed events, want 1", n)
		}
		if _, err := s1.Authenticate(ctx, tid, "carol@example.com", "correct horse battery staple", "192.0.2.1"); err != nil {
			t.Fatalf("the new hash does not verify under the old configuration: %v", err)
		}
	})
}

func TestPasswordsThatFailThePolicyAreNotStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testSecurity())
		tid := storetest.Tenant(t, db)
		var pe *PasswordError
		if _, err := s.CreateUser(ctx, tid, NewUser{Email: "erin@example.com", Password: "password"}, "test"); !errors.As(err, &pe) {
			t.Fatalf("create with a common password: %v, want *PasswordError", err)
		}
		u, err := s.CreateUser(ctx, tid, NewUser{Email: "erin@example.com"}, "test")
		if err != nil {
			t.Fatalf("create without a password after the refused one: %v", err)
		}
		if err := s.SetPassword(ctx, tid, u.ID, "erin", "test"); !errors.As(err, &pe) {
			t.Fatalf("set a short password: %v, want *PasswordError", err)
		}
		if _, err := db.GetPasswordHash(ctx, tid, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a refused password was stored: %v", err)
		}
		wantTypes(t, db, tid, events.TypeUserCreated)
	})
}
