package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestShortLifetimesAreNeverCut: an expiry is stored in whole seconds rounded up, so a row issued at
// 12.950 s with a one-second lifetime expires at 14 s, not at 13 s, 50 ms after it was issued.
func TestShortLifetimesAreNeverCut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		issued := time.Unix(time.Now().Unix(), 950_000_000) // late in a second, as the failing run was
		wantAtLeast := issued.Add(time.Second)
		check := func(t *testing.T, what string, got time.Time) {
			t.Helper()
			if got.Before(wantAtLeast) {
				t.Errorf("%s issued at %s for 1s reads back expiring at %s, before %s", what,
					issued.Format("15:04:05.000"), got.Format("15:04:05.000"), wantAtLeast.Format("15:04:05.000"))
			}
			if got.After(wantAtLeast.Add(time.Second)) {
				t.Errorf("%s expires at %s, more than a second after the asked %s", what, got.Format("15:04:05.000"), wantAtLeast.Format("15:04:05.000"))
			}
		}
		t.Run("an authorization code", func(t *testing.T) {
			if err := db.CreateAuthCode(ctx, store.AuthCode{TenantID: tid, CodeHash: []byte("exp-code"), ClientID: "web",
				UserID: "u", SessionID: "s", GrantID: "g", RedirectURI: "https://rp/cb", CreatedAt: issued, ExpiresAt: wantAtLeast}); err != nil {
				t.Fatal(err)
			}
			c, err := db.GetAuthCode(ctx, tid, []byte("exp-code"))
			if err != nil {
				t.Fatal(err)
			}
			check(t, "the code", c.ExpiresAt)
		})
		t.Run("a login request", func(t *testing.T) {
			if err := db.CreateLoginRequest(ctx, store.LoginRequest{TenantID: tid, ID: "exp-lr", Kind: store.LoginKindAuthorize,
				ClientID: "web", Status: store.LoginPending, CreatedAt: issued, ExpiresAt: wantAtLeast}); err != nil {
				t.Fatal(err)
			}
			lr, err := db.GetLoginRequest(ctx, tid, "exp-lr")
			if err != nil {
				t.Fatal(err)
			}
			check(t, "the login request", lr.ExpiresAt)
		})
		t.Run("a device code", func(t *testing.T) {
			if err := db.CreateDeviceCode(ctx, store.DeviceCode{TenantID: tid, DeviceCodeHash: []byte("exp-dc"), UserCodeHash: []byte("exp-uc"),
				ClientID: "tv", Interval: 5 * time.Second, CreatedAt: issued, ExpiresAt: wantAtLeast}); err != nil {
				t.Fatal(err)
			}
			d, err := db.GetDeviceCode(ctx, tid, []byte("exp-dc"))
			if err != nil {
				t.Fatal(err)
			}
			check(t, "the device code", d.ExpiresAt)
		})
		t.Run("an expiry on a whole second is kept exactly", func(t *testing.T) {
			exact := time.Unix(issued.Unix()+60, 0)
			if err := db.CreateAuthCode(ctx, store.AuthCode{TenantID: tid, CodeHash: []byte("exact-code"), ClientID: "web",
				UserID: "u", SessionID: "s", GrantID: "g2", RedirectURI: "https://rp/cb", CreatedAt: issued, ExpiresAt: exact}); err != nil {
				t.Fatal(err)
			}
			c, err := db.GetAuthCode(ctx, tid, []byte("exact-code"))
			if err != nil || !c.ExpiresAt.Equal(exact) {
				t.Errorf("expires %s (%v), want exactly %s", c.ExpiresAt, err, exact)
			}
		})
	})
}
