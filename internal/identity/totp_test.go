package identity

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// RFC 6238 Appendix B's SHA-1 vectors, cut to our 6 digits (the last 6 of the RFC's 8).
func TestTOTPCodeRFC6238(t *testing.T) {
	t.Parallel()
	seed := []byte("12345678901234567890")
	for _, c := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"},
		{2000000000, "279037"}, {20000000000, "353130"},
	} {
		if got := TOTPCode(seed, time.Unix(c.unix, 0)); got != c.want {
			t.Errorf("TOTPCode at %d = %s, want %s", c.unix, got, c.want)
		}
	}
}

func TestNormalizeTOTP(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"123456": "123456", " 123 456 ": "123456", "123\u00a0456": "123456", "12345": "", "1234567": "",
		"12345a": "", "１２３４５６": "", "": "",
	} {
		if got := normalizeTOTP(in); got != want {
			t.Errorf("normalizeTOTP(%q) = %q, want %q", in, got, want)
		}
	}
}

// totpUser is a tenant and a user of a service with a keyring.
func totpUser(t *testing.T, db *store.DB) (*Service, *clock, store.Tenant, store.User) {
	t.Helper()
	s, clk := newService(t, db, testSecurity())
	s.Keyring = testKeyring
	tn := regTenant(t, db, config.Registration{})
	u := createUser(t, s, tn.ID, NewUser{Email: "tess@example.org", Password: regTestPassword, EmailVerified: true})
	return s, clk, tn, u
}

// seedOf decodes the seed of an enrolment.
func seedOf(t *testing.T, e TOTPEnrolment) []byte {
	t.Helper()
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(seed) != 20 {
		t.Fatalf("secret %q: %v", e.Secret, err)
	}
	return seed
}

// enrolTOTP starts and confirms a TOTP factor, returning its id and seed. The clock moves on one step
// afterwards, so the confirming code's step is the past.
func enrolTOTP(t *testing.T, s *Service, clk *clock, tn store.Tenant, u store.User) (string, []byte) {
	t.Helper()
	e, err := s.BeginTOTP(context.Background(), tn, u)
	if err != nil {
		t.Fatal(err)
	}
	seed := seedOf(t, e)
	if err := s.ConfirmTOTP(context.Background(), tn.ID, u.ID, e.FactorID, TOTPCode(seed, clk.Now()), "Phone"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(TOTPPeriod)
	return e.FactorID, seed
}

func TestTOTP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		t.Run("enrolment: the URI, a sealed seed, a pending factor that never verifies", func(t *testing.T) {
			s, clk, tn, u := totpUser(t, db)
			e, err := s.BeginTOTP(ctx, tn, u)
			if err != nil {
				t.Fatal(err)
			}
			seed := seedOf(t, e)
			if strings.ReplaceAll(e.Grouped, " ", "") != e.Secret || e.Grouped[4] != ' ' {
				t.Errorf("grouped %q of %q", e.Grouped, e.Secret)
			}
			uri, err := url.Parse(e.URI)
			if err != nil || uri.Scheme != "otpauth" || uri.Host != "totp" || uri.Path != "/Reg:tess@example.org" {
				t.Fatalf("URI %q: %v", e.URI, err)
			}
			q := uri.Query()
			if q.Get("secret") != e.Secret || q.Get("issuer") != "Reg" || q.Get("algorithm") != "SHA1" ||
				q.Get("digits") != "6" || q.Get("period") != "30" {
				t.Errorf("URI query %v", q)
			}
			f, err := db.GetFactor(ctx, tn.ID, u.ID, e.FactorID)
			if err != nil {
				t.Fatal(err)
			}
			if f.Confirmed() || f.Kind != store.FactorTOTP || len(f.Secret) == 0 {
				t.Errorf("factor %+v", f)
			}
			if bytes.Contains(f.Secret, seed) || bytes.Contains(f.Secret, []byte(e.Secret)) {
				t.Error("the stored secret holds the raw seed")
			}
			if _, err := s.VerifyTOTP(ctx, tn.ID, u.ID, TOTPCode(seed, clk.Now())); !errors.Is(err, ErrInvalidCode) {
				t.Errorf("a pending factor's code = %v, want ErrInvalidCode", err)
			}
			if fs, _ := s.Factors(ctx, tn.ID, u.ID); len(fs) != 0 {
				t.Errorf("pending factor listed: %+v", fs)
			}
			// A second start drops the first pending enrolment.
			e2, err := s.BeginTOTP(ctx, tn, u)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetFactor(ctx, tn.ID, u.ID, e.FactorID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the older pending enrolment is still there: %v", err)
			}
			again, err := s.TOTPEnrolmentOf(ctx, tn, u, e2.FactorID)
			if err != nil || again != e2 {
				t.Errorf("TOTPEnrolmentOf = %+v, %v; want %+v", again, err, e2)
			}
		})

		t.Run("a wrong confirm code keeps it pending; the confirming code cannot be replayed", func(t *testing.T) {
			s, clk, tn, u := totpUser(t, db)
			e, err := s.BeginTOTP(ctx, tn, u)
			if err != nil {
				t.Fatal(err)
			}
			seed := seedOf(t, e)
			code := TOTPCode(seed, clk.Now())
			wrong := TOTPCode(seed, clk.Now().Add(5*TOTPPeriod))
			if err := s.ConfirmTOTP(ctx, tn.ID, u.ID, e.FactorID, wrong, ""); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("wrong code = %v, want ErrInvalidCode", err)
			}
			if f, _ := db.GetFactor(ctx, tn.ID, u.ID, e.FactorID); f.Confirmed() {
				t.Fatal("confirmed by a wrong code")
			}
			if err := s.ConfirmTOTP(ctx, tn.ID, u.ID, e.FactorID, code, strings.Repeat("x", 65)); !errors.Is(err, ErrInvalidFactorName) {
				t.Errorf("a long name = %v", err)
			}
			if err := s.ConfirmTOTP(ctx, tn.ID, u.ID, e.FactorID, code, " Pixel 9 "); err != nil {
				t.Fatal(err)
			}
			fs, err := s.Factors(ctx, tn.ID, u.ID)
			if err != nil || len(fs) != 1 || fs[0].Name != "Pixel 9" || !fs[0].Confirmed() || fs[0].Secret != nil {
				t.Fatalf("factors %+v, %v", fs, err)
			}
			if err := s.ConfirmTOTP(ctx, tn.ID, u.ID, e.FactorID, code, ""); !errors.Is(err, ErrEnrolmentUnknown) {
				t.Errorf("confirming twice = %v, want ErrEnrolmentUnknown", err)
			}
			if _, err := s.VerifyTOTP(ctx, tn.ID, u.ID, code); !errors.Is(err, ErrInvalidCode) {
				t.Errorf("the confirming code signed in: %v", err)
			}
			if got := eventsOf(t, db, tn.ID, events.TypeFactorEnrolled); len(got) != 1 {
				t.Errorf("%d factor_enrolled events", len(got))
			}
		})

		t.Run("an enrolment expires", func(t *testing.T) {
			s, clk, tn, u := totpUser(t, db)
			e, err := s.BeginTOTP(ctx, tn, u)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(pendingTOTPTTL)
			if err := s.ConfirmTOTP(ctx, tn.ID, u.ID, e.FactorID, TOTPCode(seedOf(t, e), clk.Now()), ""); !errors.Is(err, ErrEnrolmentUnknown) {
				t.Errorf("an old enrolment = %v, want ErrEnrolmentUnknown", err)
			}
		})

		t.Run("a code is accepted once; drift of one step either side, not two", func(t *testing.T) {
			s, clk, tn, u := totpUser(t, db)
			id, seed := enrolTOTP(t, s, clk, tn, u)
			now := clk.Now()
			f, err := s.VerifyTOTP(ctx, tn.ID, u.ID, TOTPCode(seed, now))
			if err != nil || f.ID != id {
				t.Fatalf("VerifyTOTP = %+v, %v", f, err)
			}
			if _, err := s.VerifyTOTP(ctx, tn.ID, u.ID, TOTPCode(seed, now)); !errors.Is(err, ErrInvalidCode) {
				t.Errorf("replayed code = %v, want ErrInvalidCode", err)
			}
			// The previous step is older than the one used: refused too.
			if _, err := s.VerifyTOTP(ctx, tn.ID, u.ID, TOTPCode(seed, now.Add(-TOTPPeriod))); !errors.Is(err, ErrInvalidCode) {
				t.Errorf("an older step after a newer one = %v, want ErrInvalidCode", err)
			}
			// A phone one step ahead.
			if _, err := s.VerifyTOTP(ctx, tn.ID, u.ID, TOTPCode(seed, now.Add(TOTPPeriod))); err != nil {
				t.Errorf("a code one step ahead = %v", err)
			}
			clk.Advance(10 * TOTPPeriod)
			now = clk.Now()
			if _, err := s.VerifyTOTP(ctx, tn.ID, u.ID, TOTPCode(seed, now.Add(-TOTPPeriod))); err != nil {
				t.Errorf("a code one step behind = %v", err)
			}
			for _, d := range []time.Duration{-2 * TOTPPeriod, 2 * TOTPPeriod} {
				if _, err := s.VerifyTOTP(ctx, tn.ID, u.ID, TOTPCode(seed, now.Add(d))); !errors.Is(err, ErrInvalidCode) {
					t.Errorf("a code %v away = %v, want ErrInvalidCode", d, err)
				}
			}
			if f, _ := db.GetFactor(ctx, tn.ID, u.ID, id); f.LastUsedAt.Unix() != now.Unix() {
				t.Errorf("last used %v, want %v", f.LastUsedAt, now)
			}
		})

		t.Run("a code sent twice at the same moment is accepted once", func(t *testing.T) {
			s, clk, tn, u := totpUser(t, db)
			_, seed := enrolTOTP(t, s, clk, tn, u)
			code := TOTPCode(seed, clk.Now())
			const n = 8
			errs := make(chan error, n)
			for range n {
				go func() {
					_, err := s.VerifyTOTP(ctx, tn.ID, u.ID, code)
					errs <- err
				}()
			}
			ok := 0
			for range n {
				switch err := <-errs; {
				case err == nil:
					ok++
				case !errors.Is(err, ErrInvalidCode):
					t.Errorf("VerifyTOTP = %v", err)
				}
			}
			if ok != 1 {
				t.Errorf("%d of %d concurrent uses of one code accepted, want 1", ok, n)
			}
		})

		t.Run("ten wrong codes lock the second factor for 15 minutes", func(t *testing.T) {
			s, clk, tn, u := totpUser(t, db)
			_, seed := enrolTOTP(t, s, clk, tn, u)
			good := TOTPCode(seed, clk.Now())
			bad := "000000"
			if bad == good || bad == TOTPCode(seed, clk.Now().Add(-TOTPPeriod)) || bad == TOTPCode(seed, clk.Now().Add(TOTPPeriod)) {
				bad = "000001"
			}
			for i := range maxMFAFailures {
				_, err := s.VerifyTOTP(ctx, tn.ID, u.ID, bad)
				if i < maxMFAFailures-1 && !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("failure %d = %v", i+1, err)
				}
				if i == maxMFAFailures-1 && !errors.Is(err, ErrTooManyAttempts) {
					t.Fatalf("failure %d = %v, want ErrTooManyAttempts", i+1, err)
				}
			}
			_, err := s.VerifyTOTP(ctx, tn.ID, u.ID, good)
			var te *ThrottledError
			if !errors.Is(err, ErrTooManyAttempts) || !errors.As(err, &te) || te.RetryAfter != mfaLockFor || te.Budget != BudgetMFA {
				t.Fatalf("the right code while locked = %v", err)
			}
			// The recovery codes share the budget.
			if _, err := s.UseRecoveryCode(ctx, tn, u, "aaaaa-aaaaa", "", ""); !errors.Is(err, ErrTooManyAttempts) {
				t.Errorf("a recovery code while locked = %v", err)
			}
			clk.Advance(mfaLockFor)
			if _, err := s.VerifyTOTP(ctx, tn.ID, u.ID, TOTPCode(seed, clk.Now())); err != nil {
				t.Fatalf("after the lock = %v", err)
			}
			// A right code forgets the failures.
			if th, _ := db.GetThrottle(ctx, tn.ID, mfaKey(u.ID)); th.Failures != 0 {
				t.Errorf("failures %d after a right code", th.Failures)
			}
		})

		t.Run("removing a factor and an operator's reset", func(t *testing.T) {
			s, clk, tn, u := totpUser(t, db)
			id, _ := enrolTOTP(t, s, clk, tn, u)
			if err := s.RemoveFactor(ctx, tn.ID, u.ID, "nope", u.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("removing an unknown factor = %v", err)
			}
			if err := s.RemoveFactor(ctx, tn.ID, u.ID, id, u.ID); err != nil {
				t.Fatal(err)
			}
			enrolTOTP(t, s, clk, tn, u)
			enrolTOTP(t, s, clk, tn, u)
			if _, err := s.GenerateRecoveryCodes(ctx, tn.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			n, err := s.ResetMFA(ctx, tn.ID, u.ID, "cli")
			if err != nil || n != 2 {
				t.Fatalf("ResetMFA = %d, %v", n, err)
			}
			if left, total, _ := s.RecoveryCodesLeft(ctx, tn.ID, u.ID); left != 0 || total != 0 {
				t.Errorf("recovery codes after a reset: %d/%d", left, total)
			}
			evs := eventTypes(t, db, tn.ID)
			for _, want := range []string{events.TypeFactorRemoved, events.TypeMFAReset} {
				if !slices.Contains(evs, want) {
					t.Errorf("no %s in %v", want, evs)
				}
			}
		})
	})
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _, tn, u := totpUser(t, db)
		codes, err := s.GenerateRecoveryCodes(ctx, tn.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != RecoveryCodeCount {
			t.Fatalf("%d codes", len(codes))
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if len(c) != 11 || c[5] != '-' || normalizeRecoveryCode(c) == "" || seen[c] {
				t.Errorf("code %q", c)
			}
			seen[c] = true
		}
		if left, total, _ := s.RecoveryCodesLeft(ctx, tn.ID, u.ID); left != 10 || total != 10 {
			t.Errorf("left %d of %d", left, total)
		}

		// Typed without the hyphen, in upper case, with spaces around.
		typed := " " + strings.ToUpper(strings.ReplaceAll(codes[0], "-", "")) + " "
		left, err := s.UseRecoveryCode(ctx, tn, u, typed, "192.0.2.1", "de")
		if err != nil || left != 9 {
			t.Fatalf("UseRecoveryCode = %d, %v", left, err)
		}
		if _, err := s.UseRecoveryCode(ctx, tn, u, codes[0], "192.0.2.1", ""); !errors.Is(err, ErrInvalidCode) {
			t.Errorf("a used code = %v, want ErrInvalidCode", err)
		}
		if left, err := s.UseRecoveryCode(ctx, tn, u, codes[1], "192.0.2.1", ""); err != nil || left != 8 {
			t.Errorf("the second code = %d, %v", left, err)
		}

		ms, err := db.ListOutbox(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		var mails []events.Email
		for _, m := range ms {
			if bytes.Contains(m.Payload, []byte(u.Email)) {
				t.Error("the outbox holds the address in clear")
			}
			e, err := events.OpenEmail(testKeyring.Open, m)
			if err != nil {
				t.Fatal(err)
			}
			if e.Type == notify.TypeRecoveryCodeUsed {
				mails = append(mails, e)
			}
		}
		if len(mails) != 2 || mails[0].To != u.Email || mails[0].Lang != "de" || mails[0].Vars["left"] != "9" ||
			mails[1].Vars["left"] != "8" {
			t.Errorf("notices %+v", mails)
		}
		used := eventsOf(t, db, tn.ID, events.TypeRecoveryCodeUsed)
		if len(used) != 2 || used[0].IP != "192.0.2.1" {
			t.Errorf("recovery_code_used events %+v", used)
		}

		// An address nobody confirmed is not told.
		v := createUser(t, s, tn.ID, NewUser{Email: "unverified@example.org", Password: regTestPassword})
		vc, err := s.GenerateRecoveryCodes(ctx, tn.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseRecoveryCode(ctx, tn, v, vc[0], "", ""); err != nil {
			t.Fatal(err)
		}
		if ms, _ := db.ListOutbox(ctx, tn.ID); len(ms) != 2 {
			t.Errorf("%d emails queued, want only the two to the verified address", len(ms))
		}

		// A new set replaces the old one, used or not.
		fresh, err := s.GenerateRecoveryCodes(ctx, tn.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseRecoveryCode(ctx, tn, u, codes[2], "", ""); !errors.Is(err, ErrInvalidCode) {
			t.Errorf("a code of the old set = %v", err)
		}
		if _, err := s.UseRecoveryCode(ctx, tn, u, fresh[0], "", ""); err != nil {
			t.Errorf("a code of the new set = %v", err)
		}
		if got := eventsOf(t, db, tn.ID, events.TypeRecoveryCodesNew); len(got) != 3 { // two sets of u, one of v
			t.Errorf("%d recovery_codes_generated events", len(got))
		}
	})
}

func TestNormalizeRecoveryCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"abcde-fghjk": "abcdefghjk", "ABCDEFGHJK": "abcdefghjk", " abcde fghjk\t": "abcdefghjk",
		"abcde-fghj": "", "abcde-fghjkm": "", "abcde-fghj1": "", "abcde-fghjo": "", "": "",
	} {
		if got := normalizeRecoveryCode(in); got != want {
			t.Errorf("normalizeRecoveryCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTOTPEnrolmentLogsNoSeed(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	e := TOTPEnrolment{FactorID: "f1", Secret: "JBSWY3DPEHPK3PXP", Grouped: "JBSW Y3DP EHPK 3PXP", URI: "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}
	slog.New(slog.NewTextHandler(&buf, nil)).Info("enrolment", "enrolment", e)
	if strings.Contains(buf.String(), "JBSW") || !strings.Contains(buf.String(), "f1") {
		t.Errorf("logged %q", buf.String())
	}
}

// TestTOTPMatchTake: a matched code is used only when Take commits, so of two sign-ins that matched the
// same code at the same moment the first to commit wins and the second's Take is ErrInvalidCode (its
// transaction, and the session it would start, roll back). A taken code no longer matches.
func TestTOTPMatchTake(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk, tn, u := totpUser(t, db)
		_, seed := enrolTOTP(t, s, clk, tn, u)
		code := TOTPCode(seed, clk.Now())
		a, err := s.MatchTOTPCode(ctx, tn.ID, u.ID, code)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.MatchTOTPCode(ctx, tn.ID, u.ID, code)
		if err != nil {
			t.Fatalf("a code not yet taken does not match twice: %v", err)
		}
		if err := db.InTx(ctx, func(tx *store.Tx) error { return a.Take(ctx, tx) }); err != nil {
			t.Fatalf("first Take: %v", err)
		}
		if err := db.InTx(ctx, func(tx *store.Tx) error { return b.Take(ctx, tx) }); !errors.Is(err, ErrInvalidCode) {
			t.Errorf("second Take = %v, want ErrInvalidCode", err)
		}
		if _, err := s.MatchTOTPCode(ctx, tn.ID, u.ID, code); !errors.Is(err, ErrInvalidCode) {
			t.Errorf("a taken code matches again: %v", err)
		}
		// A Take that rolls back leaves the code usable.
		clk.Advance(TOTPPeriod)
		next := TOTPCode(seed, clk.Now())
		m, err := s.MatchTOTPCode(ctx, tn.ID, u.ID, next)
		if err != nil {
			t.Fatal(err)
		}
		_ = db.InTx(ctx, func(tx *store.Tx) error {
			if err := m.Take(ctx, tx); err != nil {
				return err
			}
			return errors.New("the sign-in failed")
		})
		if _, err := s.MatchTOTPCode(ctx, tn.ID, u.ID, next); err != nil {
			t.Errorf("a code whose sign-in rolled back is used: %v", err)
		}
	})
}
