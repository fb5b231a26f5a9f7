package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestGrantsAndRefreshTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		now := time.Unix(time.Now().Unix(), 0)
		newGrant := func(id, user, client string) {
			t.Helper()
			g := store.Grant{TenantID: tid, ID: id, ClientID: client, UserID: user, SessionID: "s1",
				Scopes: []string{"openid", "offline_access"}, AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now,
				ExpiresAt: now.Add(time.Hour)}
			if err := db.CreateGrant(ctx, g); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateRefreshToken(ctx, store.RefreshToken{TenantID: tid, TokenHash: []byte("rt-" + id), GrantID: id,
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		newGrant("g1", "u1", "web")
		t.Run("a refresh token is read together with its grant", func(t *testing.T) {
			rt, g, err := db.GetRefreshToken(ctx, tid, []byte("rt-g1"))
			if err != nil {
				t.Fatal(err)
			}
			if rt.GrantID != "g1" || !rt.UsedAt.IsZero() || g.ClientID != "web" || g.Scopes[1] != "offline_access" ||
				!g.Alive(now) || g.Alive(now.Add(2*time.Hour)) {
				t.Fatalf("got %+v %+v", rt, g)
			}
		})
		t.Run("a refresh token is used once", func(t *testing.T) {
			if err := db.UseRefreshToken(ctx, tid, []byte("rt-g1"), now); err != nil {
				t.Fatal(err)
			}
			if err := db.UseRefreshToken(ctx, tid, []byte("rt-g1"), now); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second use: %v", err)
			}
			rt, _, _ := db.GetRefreshToken(ctx, tid, []byte("rt-g1"))
			if !rt.UsedAt.Equal(now) {
				t.Fatalf("used_at = %v", rt.UsedAt)
			}
		})
		t.Run("revoking a grant marks its access tokens revoked, once", func(t *testing.T) {
			if revoked, _ := db.AccessTokenRevoked(ctx, tid, "jti-1", "g1"); revoked {
				t.Fatal("revoked before revocation")
			}
			ok, err := db.RevokeGrant(ctx, tid, "g1", now)
			if err != nil || !ok {
				t.Fatalf("revoke: %v, %v", ok, err)
			}
			if ok, err := db.RevokeGrant(ctx, tid, "g1", now); err != nil || ok {
				t.Fatalf("second revoke: %v, %v", ok, err)
			}
			if revoked, err := db.AccessTokenRevoked(ctx, tid, "jti-1", "g1"); err != nil || !revoked {
				t.Fatalf("revoked = %v, %v", revoked, err)
			}
			if revoked, _ := db.AccessTokenRevoked(ctx, tid, "jti-1", "nope"); !revoked {
				t.Fatal("a token of an unknown grant is alive")
			}
			g, _ := db.GetGrant(ctx, tid, "g1")
			if g.Alive(now) || !g.RevokedAt.Equal(now) {
				t.Fatalf("grant %+v", g)
			}
			if _, err := db.RevokeGrant(ctx, tid, "nope", now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown grant: %v", err)
			}
		})
		t.Run("an access token revoked by jti stays revoked", func(t *testing.T) {
			if err := db.RevokeAccessToken(ctx, tid, "jti-2", now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := db.RevokeAccessToken(ctx, tid, "jti-2", now.Add(time.Minute)); err != nil {
				t.Fatalf("second revoke: %v", err)
			}
			if revoked, err := db.AccessTokenRevoked(ctx, tid, "jti-2", ""); err != nil || !revoked {
				t.Fatalf("revoked = %v, %v", revoked, err)
			}
		})
		t.Run("a client assertion id is accepted once", func(t *testing.T) {
			if err := db.UseClientAssertion(ctx, tid, "svc", "a1", now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := db.UseClientAssertion(ctx, tid, "svc", "a1", now.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("replay: %v", err)
			}
			if err := db.UseClientAssertion(ctx, tid, "svc2", "a1", now.Add(time.Minute)); err != nil {
				t.Fatalf("another client's jti: %v", err)
			}
		})
		t.Run("garbage collection removes expired rows", func(t *testing.T) {
			if _, err := db.DeleteExpiredRevokedTokens(ctx, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if revoked, _ := db.AccessTokenRevoked(ctx, tid, "jti-2", ""); revoked {
				t.Fatal("expired revocation kept")
			}
			if _, err := db.DeleteExpiredGrants(ctx, now.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetGrant(ctx, tid, "g1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("expired grant kept: %v", err)
			}
		})
	})
}
