package identity

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/store"
)

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	def := store.PasswordPolicy{}
	ten := store.PasswordPolicy{MinLength: 10}
	tests := []struct {
		name, password, email string
		policy                store.PasswordPolicy
		reason                string // "" passes
	}{
		{"a long unusual passphrase passes", "correct horse battery staple", "dave@example.com", def, ""},
		{"a random 16-character password passes", "k7#Vq9!mZp2@Lx4w", "dave@example.com", def, ""},
		{"eight characters pass by default", "x7#kQ!p2", "dave@example.com", def, ""},
		{"eight multi-byte characters pass", "ßøæåðþçñ", "dave@example.com", def, ""},
		{"seven characters fail by default", "x7#kQ!p", "dave@example.com", def, ReasonTooShort},
		{"nine characters fail when the tenant asks for ten", "x7#kQ!p2z", "dave@example.com", ten, ReasonTooShort},
		{"ten characters pass when the tenant asks for ten", "x7#kQ!p2zR", "dave@example.com", ten, ""},
		{"128 characters pass", strings.Repeat("ab", 64), "dave@example.com", def, ""},
		{"129 characters fail", strings.Repeat("ab", 64) + "c", "dave@example.com", def, ReasonTooLong},
		{"invalid UTF-8 fails", "abcdefg\xff", "dave@example.com", def, ReasonInvalidText},
		{"the email address fails", "Dave.Smith@example.com", "dave.smith@example.com", def, ReasonContainsEmail},
		{"a password containing the address fails", "my Dave.Smith@example.com!", "dave.smith@example.com", def, ReasonContainsEmail},
		{"the local part of the address fails", "DAVE.SMITH", "dave.smith@example.com", def, ReasonContainsEmail},
		{"a password containing a local part of four characters fails", "xq7!DAVE#kk2", "dave@example.com", def, ReasonContainsEmail},
		{"a password containing a local part of two characters passes", "xq7!AL#kk2zz", "al@example.com", def, ""},
		{"Password123! is refused as breached", "Password123!", "dave@example.com", def, ReasonBreached},
		{"Qwerty123! is refused as breached", "Qwerty123!", "dave@example.com", def, ReasonBreached},
		{"Welcome2024! is refused as breached", "Welcome2024!", "dave@example.com", def, ReasonBreached},
		{"Iloveyou1! is refused as breached", "Iloveyou1!", "dave@example.com", def, ReasonBreached},
		{"Sunshine#1987 is refused as breached", "Sunshine#1987", "dave@example.com", def, ReasonBreached},
		{"2024Football! is refused as breached", "2024Football!", "dave@example.com", def, ReasonBreached},
		{"P@ssw0rd1 is refused as breached", "P@ssw0rd1", "dave@example.com", def, ReasonBreached},
		{"a listed password in other case is refused", "PassWord123", "dave@example.com", def, ReasonBreached},
		{"a listed password in full-width letters is refused", "ｐａｓｓｗｏｒｄ", "dave@example.com", def, ReasonBreached},
		{"another listed password is refused", "qwertyuiop", "dave@example.com", def, ReasonBreached},
		{"a listed password near the end of the list is refused", "losthope", "dave@example.com", def, ReasonBreached},
		{"a core shorter than four letters is judged as the whole password", "2#9!x7q$", "dave@example.com", def, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckPassword(tt.policy, tt.password, tt.email)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("CheckPassword(%q) = %v, want nil", tt.password, err)
				}
				return
			}
			var pe *PasswordError
			if !errors.As(err, &pe) || pe.Reason != tt.reason {
				t.Fatalf("CheckPassword(%q) = %#v, want a *PasswordError with reason %q", tt.password, err, tt.reason)
			}
			if pe.Message == "" || strings.Contains(pe.Message, tt.password) {
				t.Fatalf("message %q is empty or repeats the password", pe.Message)
			}
		})
	}
	t.Run("the minimum length is named in the reason", func(t *testing.T) {
		t.Parallel()
		err := CheckPassword(store.PasswordPolicy{MinLength: 12}, "x7#kQ!p2", "")
		if err == nil || !strings.Contains(err.Error(), "at least 12 characters") {
			t.Fatalf("CheckPassword = %v, want a message naming 12 characters", err)
		}
	})
}

// TestBreachedListHoldsTheSourceEntries checks the embedded table against entries of the source list taken
// from its top, its middle and the last one kept, so that a table built with another fold or fingerprint
// than breached.go's fails here.
func TestBreachedListHoldsTheSourceEntries(t *testing.T) {
	t.Parallel()
	if breached.count < 199_000 {
		t.Fatalf("the list has %d fingerprints, want about 200,000", breached.count)
	}
	for _, e := range []string{"123456", "password", "qwerty", "iloveyou", "welcome", "trustno1", "070162", "251125", "losthope"} {
		if !breached.contains(foldPassword(e)) {
			t.Errorf("%q is not on the list", e)
		}
	}
	for _, e := range []string{"correct horse battery staple", "k7#vq9!mzp2@lx4w", ""} {
		if breached.contains(e) {
			t.Errorf("%q is on the list", e)
		}
	}
}

// TestRandomPasswordsAreRarelyRefused measures the false-positive rate of the list and its rules on random
// 16-character passwords: with 38-bit fingerprints and up to four lookups each, about 3e-6 of them, so
// about 0.3 of 100,000, are refused by a chance fingerprint match. More than 3 means the table or the
// rules refuse far more than documented.
func TestRandomPasswordsAreRarelyRefused(t *testing.T) {
	t.Parallel()
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*-_"
	r := rand.New(rand.NewPCG(1, 2))
	refused := 0
	for range 100_000 {
		var b [16]byte
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if isBreached(foldPassword(string(b[:]))) {
			t.Logf("refused %q", b[:])
			refused++
		}
	}
	if refused > 3 {
		t.Fatalf("%d of 100,000 random passwords refused", refused)
	}
}

func TestADamagedListIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, data string }{
		{"an empty table", ""},
		{"another magic", "UMMBPL2\n" + breachedData[8:]},
		{"a truncated table", breachedData[:len(breachedData)-1]},
		{"a table with an extra byte", breachedData + "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseBreached(tt.data); err == nil {
				t.Fatal("parseBreached accepted a damaged table")
			}
		})
	}
	if _, err := parseBreached(breachedData); err != nil {
		t.Fatalf("the embedded table: %v", err)
	}
}

// BenchmarkBreachedLookup measures one list lookup and a whole check (up to four lookups), and reports the
// size of the embedded table and the heap its parsing allocates (it reads the embedded bytes in place).
func BenchmarkBreachedLookup(b *testing.B) {
	b.Run("contains", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			breached.contains("kq7vz9mxp2lx4wre")
		}
	})
	b.Run("isBreached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			isBreached("welcome2024!")
		}
	})
	b.Run("load", func(b *testing.B) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var t breachedTable
		for b.Loop() {
			t, _ = parseBreached(breachedData)
		}
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(len(breachedData)), "embedded-bytes")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "heap-bytes/load")
		b.ReportMetric(float64(t.count), "entries")
	})
}

func ExampleCheckPassword() {
	err := CheckPassword(store.PasswordPolicy{MinLength: 10}, "Password123!", "dave@example.com")
	var pe *PasswordError
	if errors.As(err, &pe) {
		fmt.Println(pe.Reason)
	}
	// Output: breached
}
