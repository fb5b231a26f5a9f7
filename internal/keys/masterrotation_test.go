package keys

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestMasterKeyRotation walks the rotation steps on one database: the node keeps signing and verifying
// with the same signing keys at every step, client secret hashes stay valid, and after Reseal the new key
// alone opens everything.
func TestMasterKeyRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		oldKey, newKey := testMaster(7), testMaster(8)
		open := func(t *testing.T, master []byte, previous ...[]byte) *Keyring {
			t.Helper()
			kr, err := OpenKeyring(ctx, db, master, previous)
			if err != nil {
				t.Fatalf("OpenKeyring: %v", err)
			}
			return kr
		}
		tenant := storetest.Tenant(t, db)
		krOld := open(t, oldKey)
		hash := krOld.HashSecret("client-secret")
		csrf := krOld.MAC("csrf", []byte("x"))
		m := newTestManager(db, newClock())
		m.kr = krOld
		tok, err := m.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "u"})
		if err != nil {
			t.Fatal(err)
		}
		// A pending device sign-in shows its user code, sealed.
		code, err := krOld.Seal([]byte("BCDF-GHJK"), DeviceUserCodeAAD(tenant, "lr-1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateLoginRequest(ctx, store.LoginRequest{TenantID: tenant, ID: "lr-1", Kind: store.LoginKindDevice,
			ClientID: "tv", Params: store.AuthorizeParams{DeviceUserCodeSealed: code}, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		// A user's authenticator app: its seed, sealed.
		seed, err := krOld.Seal([]byte("0123456789abcdefghij"), TOTPSeedAAD(tenant, "u-1", "f-1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateUser(ctx, store.User{TenantID: tenant, ID: "u-1", Email: "u1@example.com"}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateFactor(ctx, store.Factor{TenantID: tenant, ID: "f-1", UserID: "u-1", Kind: store.FactorTOTP,
			Secret: seed, ConfirmedAt: time.Now(), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		// An upstream connection's client secret and a linked identity's upstream tokens, sealed.
		connSecret, err := krOld.Seal([]byte(`{"client_secret":"upstream-secret"}`), ConnectionSecretsAAD(tenant, "corp"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.UpsertConnection(ctx, store.Connection{TenantID: tenant, ID: "corp", Type: "oidc", Config: "{}", Secrets: connSecret}); err != nil {
			t.Fatal(err)
		}
		upTokens, err := krOld.Seal([]byte(`{"access_token":"at"}`), UpstreamTokensAAD(tenant, "corp", "sub-1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.LinkIdentity(ctx, store.UserIdentity{TenantID: tenant, ConnectionID: "corp", Subject: "sub-1", UserID: "u-1",
			Tokens: upTokens, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		// A second tenant whose keys are created in step 2, under the new key.
		other := storetest.Tenant(t, db)

		t.Run("a node that only knows the new key refuses to start before the rotation", func(t *testing.T) {
			if _, err := OpenKeyring(ctx, db, newKey, nil); err == nil || !strings.Contains(err.Error(), "previous_master_key_files") {
				t.Errorf("OpenKeyring with an unknown key = %v, want an error naming previous_master_key_files", err)
			}
		})
		krStep1 := open(t, oldKey, newKey)
		krStep2 := open(t, newKey, oldKey)
		t.Run("hashes and MACs stay valid with the new master key", func(t *testing.T) {
			for name, kr := range map[string]*Keyring{"step 1": krStep1, "step 2": krStep2} {
				if !kr.CheckSecret("client-secret", hash) || !bytes.Equal(kr.MAC("csrf", []byte("x")), csrf) {
					t.Errorf("%s: a client secret hash or MAC made under the old key no longer matches", name)
				}
			}
		})
		t.Run("in step 2 the new key seals and both open", func(t *testing.T) {
			m2 := newTestManager(db, newClock())
			m2.kr = krStep2
			if _, _, err := m2.Verify(ctx, tenant, tok); err != nil {
				t.Fatalf("a token signed before the rotation does not verify: %v", err)
			}
			if _, err := m2.Sign(ctx, tenant, ES256, "JWT", claims{Sub: "u"}); err != nil {
				t.Fatalf("signing with a key sealed under the old master key: %v", err)
			}
			if _, err := m2.Sign(ctx, other, ES256, "JWT", claims{Sub: "u"}); err != nil { // creates other's keys
				t.Fatal(err)
			}
			s, _ := krStep2.Seal([]byte("v"), []byte("aad"))
			if _, err := krOld.Open(s, []byte("aad")); err == nil {
				t.Error("step 2 sealed under the old key")
			}
			if _, err := krStep1.Open(s, []byte("aad")); err != nil {
				t.Errorf("a step 1 node cannot open what a step 2 node sealed: %v", err)
			}
		})
		t.Run("reseal moves every value to the new key", func(t *testing.T) {
			rep, err := Reseal(ctx, db, krStep2)
			if err != nil {
				t.Fatal(err)
			}
			// The hash root, the first tenant's four keys, the user code, the TOTP seed, the connection's
			// secret and the identity's tokens were under the old key; other's four keys are new.
			if rep.Resealed != 9 || rep.Current != 4 {
				t.Errorf("Reseal = %+v, want 9 resealed and 4 current", rep)
			}
			if again, err := Reseal(ctx, db, krStep2); err != nil || again.Resealed != 0 {
				t.Errorf("a second Reseal = %+v, %v; want nothing left to reseal", again, err)
			}
		})
		t.Run("after the rotation the new key alone opens everything and the old one nothing", func(t *testing.T) {
			krNew := open(t, newKey)
			if !krNew.CheckSecret("client-secret", hash) {
				t.Error("a client secret hash made under the old key no longer matches")
			}
			m3 := newTestManager(db, newClock())
			m3.kr = krNew
			for _, tid := range []string{tenant, other} {
				if _, err := m3.Sign(ctx, tid, RS256, "JWT", claims{Sub: "u"}); err != nil {
					t.Errorf("tenant %s: signing with only the new key: %v", tid, err)
				}
			}
			if _, _, err := m3.Verify(ctx, tenant, tok); err != nil {
				t.Errorf("a token signed before the rotation does not verify: %v", err)
			}
			lr, err := db.GetLoginRequest(ctx, tenant, "lr-1")
			if err != nil {
				t.Fatal(err)
			}
			if plain, err := krNew.Open(lr.Params.DeviceUserCodeSealed, DeviceUserCodeAAD(tenant, "lr-1")); err != nil || string(plain) != "BCDF-GHJK" {
				t.Errorf("the pending device sign-in's user code = %q, %v", plain, err)
			}
			f, err := db.GetFactor(ctx, tenant, "u-1", "f-1")
			if err != nil {
				t.Fatal(err)
			}
			if plain, err := krNew.Open(f.Secret, TOTPSeedAAD(tenant, "u-1", "f-1")); err != nil || string(plain) != "0123456789abcdefghij" {
				t.Errorf("the TOTP seed = %q, %v", plain, err)
			}
			c, err := db.GetConnection(ctx, tenant, "corp")
			if err != nil {
				t.Fatal(err)
			}
			if plain, err := krNew.Open(c.Secrets, ConnectionSecretsAAD(tenant, "corp")); err != nil || !strings.Contains(string(plain), "upstream-secret") {
				t.Errorf("the connection's secrets = %q, %v", plain, err)
			}
			ui, err := db.GetIdentity(ctx, tenant, "corp", "sub-1")
			if err != nil {
				t.Fatal(err)
			}
			if plain, err := krNew.Open(ui.Tokens, UpstreamTokensAAD(tenant, "corp", "sub-1")); err != nil || string(plain) != `{"access_token":"at"}` {
				t.Errorf("the upstream tokens = %q, %v", plain, err)
			}
			if _, err := OpenKeyring(ctx, db, oldKey, nil); err == nil {
				t.Error("the old key alone still opens the database's secrets")
			}
		})
	})
}
