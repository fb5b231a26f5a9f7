package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity/webauthntest"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

const passkeyOrigin = "https://id.example.com"

// passkeySetup is a service serving passkeyOrigin, a tenant and a user with a registered passkey.
type passkeySetup struct {
	s    *Service
	clk  *clock
	tn   store.Tenant
	u    store.User
	auth *webauthntest.Authenticator
	fac  store.Factor
}

var browserA = []byte("browser A hash")

func newPasskeySetup(t *testing.T, db *store.DB) passkeySetup {
	t.Helper()
	s, clk := newService(t, db, testSecurity())
	s.PublicURL = passkeyOrigin + "/"
	tn := regTenant(t, db, config.Registration{})
	u := createUser(t, s, tn.ID, NewUser{Email: "pia@example.org", Password: regTestPassword, EmailVerified: true})
	auth := webauthntest.New(passkeyOrigin)
	fac := registerPasskey(t, s, tn, u, auth, "")
	return passkeySetup{s: s, clk: clk, tn: tn, u: u, auth: auth, fac: fac}
}

func registerPasskey(t *testing.T, s *Service, tn store.Tenant, u store.User, auth *webauthntest.Authenticator, name string) store.Factor {
	t.Helper()
	ctx := context.Background()
	opts, flow, err := s.BeginPasskeyRegistration(ctx, tn, u, browserA)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := auth.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.FinishPasskeyRegistration(ctx, tn, u, flow, browserA, resp, name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// login runs a sign-in ceremony with auth for userID ("" discoverable).
func (p passkeySetup) login(t *testing.T, auth *webauthntest.Authenticator, userID string) (store.User, store.Factor, []string, error) {
	t.Helper()
	ctx := context.Background()
	opts, flow, err := p.s.BeginPasskeyLogin(ctx, p.tn, userID, browserA)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p.s.FinishPasskeyLogin(ctx, p.tn, flow, browserA, resp)
}

func TestPasskeyRegistrationAndLogin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPasskeySetup(t, db)
		if p.fac.Kind != store.FactorWebAuthn || !p.fac.Confirmed() || p.fac.Name != "Passkey" ||
			string(p.fac.CredentialID) != string(p.auth.CredentialID) {
			t.Fatalf("factor = %+v", p.fac)
		}
		if string(p.auth.UserHandle) != p.u.ID {
			t.Fatalf("user handle %q, want the user id", p.auth.UserHandle)
		}
		if evs := eventsOf(t, db, p.tn.ID, events.TypeFactorEnrolled); len(evs) != 1 {
			t.Fatalf("%d enrolment events", len(evs))
		}
		// The options of a second registration exclude the passkey, so the same authenticator refuses.
		opts, _, err := p.s.BeginPasskeyRegistration(ctx, p.tn, p.u, browserA)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			PublicKey struct {
				RP                     struct{ ID string }
				AuthenticatorSelection struct {
					ResidentKey      string `json:"residentKey"`
					UserVerification string `json:"userVerification"`
				} `json:"authenticatorSelection"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal(opts, &o); err != nil {
			t.Fatal(err)
		}
		if o.PublicKey.RP.ID != "id.example.com" || o.PublicKey.AuthenticatorSelection.ResidentKey != "required" ||
			o.PublicKey.AuthenticatorSelection.UserVerification != "required" {
			t.Fatalf("creation options %s", opts)
		}
		if _, err := p.auth.Create(opts); !errors.Is(err, webauthntest.ErrExcluded) {
			t.Fatalf("create with an excluded credential: %v", err)
		}

		// Discoverable sign-in.
		u, f, methods, err := p.login(t, p.auth, "")
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != p.u.ID || f.ID != p.fac.ID || !slices.Equal(methods, []string{AMRSoftwareKey, AMRUser}) {
			t.Fatalf("login = %s %s %v", u.ID, f.ID, methods)
		}
		stored, err := db.GetFactor(ctx, p.tn.ID, p.u.ID, p.fac.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.LastUsedAt.Equal(p.clk.Now()) {
			t.Fatalf("last used %v", stored.LastUsedAt)
		}
		c, _ := decodeCredential(stored)
		if c.Authenticator.SignCount != p.auth.Counter {
			t.Fatalf("stored counter %d, authenticator %d", c.Authenticator.SignCount, p.auth.Counter)
		}

		// A second factor of a known user, with a roaming authenticator.
		p.auth.Attachment = "cross-platform"
		if _, _, methods, err = p.login(t, p.auth, p.u.ID); err != nil ||
			!slices.Equal(methods, []string{AMRHardwareKey, AMRUser}) {
			t.Fatalf("second factor: %v %v", methods, err)
		}
		// Another user's ceremony does not accept it.
		other := createUser(t, p.s, p.tn.ID, NewUser{Email: "otto@example.org", Password: regTestPassword})
		if _, _, err := p.s.BeginPasskeyLogin(ctx, p.tn, other.ID, browserA); !errors.Is(err, ErrPasskeyNone) {
			t.Fatalf("begin for a user without passkeys: %v", err)
		}
		otherAuth := webauthntest.New(passkeyOrigin)
		registerPasskey(t, p.s, p.tn, other, otherAuth, "Otto's key")
		opts, flow, err := p.s.BeginPasskeyLogin(ctx, p.tn, other.ID, browserA)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.auth.Get(opts); !errors.Is(err, webauthntest.ErrNotAllowed) {
			t.Fatalf("get outside allowCredentials: %v", err)
		}
		// Answered all the same (a modified client): refused.
		sneaky, _ := p.auth.Get([]byte(`{"publicKey":` + string(mustField(t, opts, "publicKey", "allowCredentials")) + `}`))
		if _, _, _, err := p.s.FinishPasskeyLogin(ctx, p.tn, flow, browserA, sneaky); !errors.Is(err, ErrPasskeyInvalid) {
			t.Fatalf("another user's passkey as a second factor: %v", err)
		}

		// Rename and remove.
		if err := p.s.RenamePasskey(ctx, p.tn.ID, p.u.ID, p.fac.ID, "  Laptop\x00  "); err != nil {
			t.Fatal(err)
		}
		list, err := p.s.ListPasskeys(ctx, p.tn.ID, p.u.ID)
		if err != nil || len(list) != 1 || list[0].Name != "Laptop" {
			t.Fatalf("list %+v %v", list, err)
		}
		if err := p.s.RemovePasskey(ctx, p.tn.ID, other.ID, p.fac.ID, other.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removing another user's passkey: %v", err)
		}
		if err := p.s.RemovePasskey(ctx, p.tn.ID, p.u.ID, p.fac.ID, p.u.ID); err != nil {
			t.Fatal(err)
		}
		if evs := eventsOf(t, db, p.tn.ID, events.TypeFactorRemoved); len(evs) != 1 {
			t.Fatalf("%d removal events", len(evs))
		}
		if _, _, _, err := p.login(t, p.auth, ""); !errors.Is(err, ErrPasskeyInvalid) {
			t.Fatalf("removed passkey: %v", err)
		}
	})
}

// mustField strips a field from the options' publicKey member and returns that member (a client that
// ignores allowCredentials).
func mustField(t *testing.T, opts []byte, member, drop string) []byte {
	t.Helper()
	var o map[string]map[string]any
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	delete(o[member], drop)
	b, _ := json.Marshal(o[member])
	return b
}

func TestPasskeyRefusals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPasskeySetup(t, db)
		refused := func(name string, mutate func(a *webauthntest.Authenticator)) {
			t.Helper()
			a := *p.auth
			mutate(&a)
			if _, _, _, err := p.login(t, &a, ""); !errors.Is(err, ErrPasskeyInvalid) {
				t.Fatalf("%s: err = %v, want ErrPasskeyInvalid", name, err)
			}
		}
		refused("wrong origin", func(a *webauthntest.Authenticator) { a.Origin = "https://evil.example.net" })
		refused("wrong RP ID", func(a *webauthntest.Authenticator) { a.RPID = "evil.example.net" })
		refused("no user verification", func(a *webauthntest.Authenticator) { a.NoUV = true })
		refused("unknown credential", func(a *webauthntest.Authenticator) {
			fresh := webauthntest.New(passkeyOrigin)
			a.Key, a.CredentialID = fresh.Key, fresh.CredentialID
		})
		refused("another key", func(a *webauthntest.Authenticator) { a.Key = webauthntest.New(passkeyOrigin).Key })
		refused("user handle of another user", func(a *webauthntest.Authenticator) { a.UserHandle = []byte("someone-else") })

		// A good sign-in moves the stored counter on; an answer with an older counter is a clone.
		if _, _, _, err := p.login(t, p.auth, ""); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := p.login(t, p.auth, ""); err != nil {
			t.Fatal(err)
		}
		refused("counter went backwards", func(a *webauthntest.Authenticator) { a.Counter -= 2 })
		if _, _, _, err := p.login(t, p.auth, ""); err != nil {
			t.Fatalf("the real authenticator after a clone was refused: %v", err)
		}

		// Ceremony problems: another browser, used twice, expired, a registration answer for a sign-in.
		opts, flow, err := p.s.BeginPasskeyLogin(ctx, p.tn, "", browserA)
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := p.auth.Get(opts)
		if _, _, _, err := p.s.FinishPasskeyLogin(ctx, p.tn, flow, []byte("browser B"), resp); !errors.Is(err, ErrPasskeyCeremony) {
			t.Fatalf("another browser: %v", err)
		}
		if _, _, _, err := p.s.FinishPasskeyLogin(ctx, p.tn, flow, browserA, resp); err != nil {
			t.Fatalf("own browser after another one tried: %v", err)
		}
		if _, _, _, err := p.s.FinishPasskeyLogin(ctx, p.tn, flow, browserA, resp); !errors.Is(err, ErrPasskeyCeremony) {
			t.Fatalf("replay: %v", err)
		}
		opts, flow, _ = p.s.BeginPasskeyLogin(ctx, p.tn, "", browserA)
		resp, _ = p.auth.Get(opts)
		p.clk.Advance(PasskeyTTL)
		if _, _, _, err := p.s.FinishPasskeyLogin(ctx, p.tn, flow, browserA, resp); !errors.Is(err, ErrPasskeyCeremony) {
			t.Fatalf("expired: %v", err)
		}
		_, regFlow, _ := p.s.BeginPasskeyRegistration(ctx, p.tn, p.u, browserA)
		opts, _, _ = p.s.BeginPasskeyLogin(ctx, p.tn, "", browserA)
		resp, _ = p.auth.Get(opts)
		if _, _, _, err := p.s.FinishPasskeyLogin(ctx, p.tn, regFlow, browserA, resp); !errors.Is(err, ErrPasskeyCeremony) {
			t.Fatalf("registration ceremony answered as a sign-in: %v", err)
		}
		if _, _, _, err := p.s.FinishPasskeyLogin(ctx, p.tn, "nope", browserA, resp); !errors.Is(err, ErrPasskeyCeremony) {
			t.Fatalf("unknown ceremony: %v", err)
		}
		for _, junk := range []string{"", "{}", "not json", `{"id":"AA","rawId":"AA","type":"public-key","response":{}}`} {
			opts, flow, _ := p.s.BeginPasskeyLogin(ctx, p.tn, "", browserA)
			_ = opts
			if _, _, _, err := p.s.FinishPasskeyLogin(ctx, p.tn, flow, browserA, []byte(junk)); !errors.Is(err, ErrPasskeyInvalid) {
				t.Fatalf("answer %q: %v", junk, err)
			}
		}

		// A disabled user cannot sign in with a passkey.
		if err := p.s.SetDisabled(ctx, p.tn.ID, p.u.ID, true, "admin"); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := p.login(t, p.auth, ""); !errors.Is(err, ErrPasskeyInvalid) {
			t.Fatalf("disabled user: %v", err)
		}
	})
}

func TestPasskeyRegistrationRefusals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPasskeySetup(t, db)
		try := func(mutate func(a *webauthntest.Authenticator), browser []byte, user store.User) error {
			t.Helper()
			a := webauthntest.New(passkeyOrigin)
			mutate(a)
			opts, flow, err := p.s.BeginPasskeyRegistration(ctx, p.tn, p.u, browserA)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := a.Create(opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.s.FinishPasskeyRegistration(ctx, p.tn, user, flow, browser, resp, "")
			return err
		}
		keep := func(*webauthntest.Authenticator) {}
		if err := try(func(a *webauthntest.Authenticator) { a.Origin = "https://evil.example.net" }, browserA, p.u); !errors.Is(err, ErrPasskeyInvalid) {
			t.Fatalf("wrong origin: %v", err)
		}
		if err := try(func(a *webauthntest.Authenticator) { a.RPID = "example.net" }, browserA, p.u); !errors.Is(err, ErrPasskeyInvalid) {
			t.Fatalf("wrong RP ID: %v", err)
		}
		if err := try(func(a *webauthntest.Authenticator) { a.NoUV = true }, browserA, p.u); !errors.Is(err, ErrPasskeyInvalid) {
			t.Fatalf("no user verification: %v", err)
		}
		if err := try(keep, []byte("browser B"), p.u); !errors.Is(err, ErrPasskeyCeremony) {
			t.Fatalf("another browser: %v", err)
		}
		other := createUser(t, p.s, p.tn.ID, NewUser{Email: "otto@example.org", Password: regTestPassword})
		if err := try(keep, browserA, other); !errors.Is(err, ErrPasskeyCeremony) {
			t.Fatalf("another user's ceremony: %v", err)
		}
		// The same credential id again (an authenticator ignoring excludeCredentials).
		if err := try(func(a *webauthntest.Authenticator) {
			a.CredentialID, a.IgnoreExclusions = p.auth.CredentialID, true
		}, browserA, p.u); !errors.Is(err, ErrPasskeyTaken) {
			t.Fatalf("credential registered twice: %v", err)
		}
		// Names: given, from a known AAGUID, a security key.
		f := registerPasskey(t, p.s, p.tn, p.u, webauthntest.New(passkeyOrigin), " Work laptop ")
		if f.Name != "Work laptop" {
			t.Fatalf("name %q", f.Name)
		}
		a := webauthntest.New(passkeyOrigin)
		a.AAGUID = [16]byte{0xfb, 0xfc, 0x30, 0x07, 0x15, 0x4e, 0x4e, 0xcc, 0x8c, 0x0b, 0x6e, 0x02, 0x05, 0x57, 0xd7, 0xbd}
		if f := registerPasskey(t, p.s, p.tn, p.u, a, ""); f.Name != "iCloud Keychain" {
			t.Fatalf("name %q", f.Name)
		}
		a = webauthntest.New(passkeyOrigin)
		a.Attachment = "cross-platform"
		if f := registerPasskey(t, p.s, p.tn, p.u, a, ""); f.Name != "Security key" {
			t.Fatalf("name %q", f.Name)
		}
	})
}

func TestPasskeyRPID(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	s, _ := newService(t, db, testSecurity())
	s.PublicURL = "https://login.example.com:8443"
	tn := regTenant(t, db, config.Registration{})
	tn.Settings.WebAuthn = config.WebAuthn{RPID: "example.com", RPName: "Example"}
	u := createUser(t, s, tn.ID, NewUser{Email: "pia@example.org", Password: regTestPassword})
	a := webauthntest.New("https://login.example.com:8443")
	registerPasskey(t, s, tn, u, a, "")
	opts, flow, err := s.BeginPasskeyLogin(context.Background(), tn, "", browserA)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			RPID string `json:"rpId"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal(opts, &o)
	if o.PublicKey.RPID != "example.com" {
		t.Fatalf("rpId %q", o.PublicKey.RPID)
	}
	resp, _ := a.Get(opts)
	if _, _, _, err := s.FinishPasskeyLogin(context.Background(), tn, flow, browserA, resp); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyPasskeyAssertion(t *testing.T) {
	t.Parallel()
	p := newPasskeySetup(t, storetest.Open(t))
	challenge := []byte("0123456789abcdef0123456789abcdef")
	opts := []byte(`{"publicKey":{"challenge":"` + base64.RawURLEncoding.EncodeToString(challenge) + `","rpId":"id.example.com"}}`)
	resp, err := p.auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	methods, data, err := p.s.VerifyPasskeyAssertion(p.tn, p.u, p.fac, challenge, resp)
	if err != nil || !slices.Equal(methods, []string{AMRSoftwareKey, AMRUser}) || !strings.Contains(data, `"signCount":1`) {
		t.Fatalf("verify: %v %s %v", methods, data, err)
	}
	if _, _, err := p.s.VerifyPasskeyAssertion(p.tn, p.u, p.fac, []byte("another challenge of 32 bytes..."), resp); !errors.Is(err, ErrPasskeyInvalid) {
		t.Fatalf("another challenge: %v", err)
	}
	other := p.u
	other.ID = "someone"
	if _, _, err := p.s.VerifyPasskeyAssertion(p.tn, other, p.fac, challenge, resp); !errors.Is(err, ErrPasskeyInvalid) {
		t.Fatalf("another user: %v", err)
	}
}

func TestPasskeysUsable(t *testing.T) {
	t.Parallel()
	s := New(nil, testSecurity(), nil)
	for _, c := range []struct {
		publicURL, rpID string
		want            bool
	}{
		{"https://id.example.com", "", true},
		{"https://id.example.com:8443/", "example.com", true},
		{"https://id.example.com", "other.com", false},
		{"https://id.example.com", "xample.com", false},
		{"http://id.example.com", "", false}, // not a secure context
		{"http://localhost:8080", "", true},
		{"http://app.localhost:8080", "", true},
		{"http://127.0.0.1:8080", "", false}, // an IP address is no RP ID
		{"https://192.0.2.1", "", false},
		{"", "", false},
	} {
		s.PublicURL = c.publicURL
		tn := store.Tenant{ID: "t"}
		tn.Settings.WebAuthn.RPID = c.rpID
		if got := s.PasskeysUsable(tn); got != c.want {
			t.Errorf("PasskeysUsable(%q, rp_id %q) = %v, want %v", c.publicURL, c.rpID, got, c.want)
		}
	}
}
