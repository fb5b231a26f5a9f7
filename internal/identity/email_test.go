package identity

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"upper case folds to lower case", "Alice@Example.COM", "alice@example.com"},
		{"surrounding space is trimmed", "  bob@example.com\t", "bob@example.com"},
		{"fullwidth letters become plain letters", "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "alice@example.com"},
		{"a ligature is decomposed", "ﬁle@example.com", "file@example.com"},
		{"sharp s folds like ss", "STRAẞE@example.com", "strasse@example.com"},
		{"greek final sigma folds like sigma", "ΟΔΟΣ@example.gr", "οδοσ@example.gr"},
		{"a precomposed and a combining accent are equal", "jose\u0301@example.com", "jos\u00e9@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"an empty string is refused", ""},
		{"a string without @ is refused", "alice"},
		{"an empty local part is refused", "@example.com"},
		{"an empty domain is refused", "alice@"},
		{"inner space is refused", "al ice@example.com"},
		{"a control character is refused", "alice\x00@example.com"},
		{"a domain with an empty label is refused", "alice@example..com"},
		{"a domain ending in a dot is refused", "alice@example.com."},
		{"an address over 254 bytes is refused", strings.Repeat("a", 250) + "@example.com"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := NormalizeEmail(tt.in); !errors.Is(err, ErrInvalidEmail) {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want ErrInvalidEmail", tt.in, got, err)
			}
		})
	}
}

func TestEmailIsUniquePerTenantAfterNormalisation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(t, db, testSecurity())
		tid := storetest.Tenant(t, db)
		u := createUser(t, s, tid, NewUser{Email: "Alice@Example.COM", GivenName: "Alice"})
		if u.Email != "Alice@Example.COM" || u.EmailNorm != "alice@example.com" {
			t.Fatalf("stored email %q / %q: want the address as given and its normalised form", u.Email, u.EmailNorm)
		}
		for _, tt := range []struct{ name, email string }{
			{"the same address in lower case is a conflict", "alice@example.com"},
			{"the same address in fullwidth forms is a conflict", "ＡＬＩＣＥ＠example.com"},
			{"the same address with surrounding space is a conflict", " alice@EXAMPLE.com "},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := s.CreateUser(ctx, tid, NewUser{Email: tt.email}, "test"); !errors.Is(err, store.ErrConflict) {
					t.Fatalf("CreateUser(%q) err = %v, want store.ErrConflict", tt.email, err)
				}
			})
		}
		t.Run("any spelling finds the user", func(t *testing.T) {
			for _, e := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "ａｌｉｃｅ＠example.com"} {
				got, err := s.FindUserByEmail(ctx, tid, e)
				if err != nil || got.ID != u.ID {
					t.Fatalf("FindUserByEmail(%q) = %+v, %v", e, got, err)
				}
			}
		})
		t.Run("a string that is not an address is not found", func(t *testing.T) {
			if _, err := s.FindUserByEmail(ctx, tid, "alice"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("the same address in another tenant is allowed", func(t *testing.T) {
			if _, err := s.CreateUser(ctx, storetest.Tenant(t, db), NewUser{Email: "alice@example.com"}, "test"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("changing the email to a taken one is a conflict", func(t *testing.T) {
			b := createUser(t, s, tid, NewUser{Email: "bob@example.com"})
			_, err := s.UpdateUser(ctx, tid, b.ID, Profile{Email: "ALICE@example.com"}, "test")
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
		})
		t.Run("only successful creations left a user.created event", func(t *testing.T) {
			if n := len(eventsOf(t, db, tid, events.TypeUserCreated)); n != 2 {
				t.Fatalf("%d user.created events, want 2 (alice, bob)", n)
			}
		})
	})
}
