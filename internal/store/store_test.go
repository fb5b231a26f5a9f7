package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestMigrateIsIdempotentAndReady(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if err := db.Ready(ctx); err != nil {
			t.Fatalf("ready: %v", err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil || v != store.LatestVersion() || v == 0 {
			t.Fatalf("schema version = %d, %v; want %d", v, err, store.LatestVersion())
		}
	})
}

func TestTenantsAndClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		t.Run("a duplicate tenant is a conflict", func(t *testing.T) {
			err := db.CreateTenant(ctx, store.Tenant{ID: tid, Name: "again"})
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
		})
		t.Run("a missing tenant is not found", func(t *testing.T) {
			if _, err := db.GetTenant(ctx, "nope-"+tid); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("a client round-trips and upsert replaces it", func(t *testing.T) {
			c := store.Client{TenantID: tid, ClientID: "web", SecretHash: []byte{1, 2, 3}, RedirectURIs: []string{"https://a/cb"},
				GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true}
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			c.RedirectURIs = []string{"https://b/cb"}
			c.FirstParty = false
			if err := db.UpsertClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := db.GetClient(ctx, tid, "web")
			if err != nil {
				t.Fatal(err)
			}
			if got.RedirectURIs[0] != "https://b/cb" || got.FirstParty || string(got.SecretHash) != "\x01\x02\x03" || got.IDTokenAlg != "RS256" {
				t.Fatalf("got %+v", got)
			}
			if _, err := db.GetClient(ctx, storetest.Tenant(t, db), "web"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("client visible in another tenant: %v", err)
			}
		})
		t.Run("a rolled back transaction leaves no event", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.InTx(ctx, func(tx *store.Tx) error {
				if err := tx.AppendEvent(ctx, store.Event{TenantID: tid, Type: "test.rolled_back"}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v", err)
			}
			evs, err := db.ListEvents(ctx, tid, 0, "test.rolled_back", 10)
			if err != nil || len(evs) != 0 {
				t.Fatalf("events = %v, %v", evs, err)
			}
		})
		t.Run("a login request completes once", func(t *testing.T) {
			lr := store.LoginRequest{TenantID: tid, ID: "lr1", Kind: store.LoginKindAuthorize, ClientID: "web",
				Params: store.AuthorizeParams{Scopes: []string{"openid"}, MaxAge: -1}, ExpiresAt: time.Now().Add(time.Minute)}
			if err := db.CreateLoginRequest(ctx, lr); err != nil {
				t.Fatal(err)
			}
			lr.UserID, lr.AMR, lr.AuthTime = "u1", []string{"pwd"}, time.Now()
			if err := db.CompleteLoginRequest(ctx, lr); err != nil {
				t.Fatal(err)
			}
			if err := db.CompleteLoginRequest(ctx, lr); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second completion err = %v, want ErrConflict", err)
			}
			got, err := db.GetLoginRequest(ctx, tid, "lr1")
			if err != nil || got.Status != store.LoginAuthenticated || got.UserID != "u1" || got.AMR[0] != "pwd" || got.Params.MaxAge != -1 {
				t.Fatalf("got %+v, %v", got, err)
			}
			if err := db.SetLoginRequestStatus(ctx, tid, "lr1", store.LoginAuthenticated, store.LoginDone); err != nil {
				t.Fatal(err)
			}
			if err := db.SetLoginRequestStatus(ctx, tid, "lr1", store.LoginAuthenticated, store.LoginDone); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second consumption err = %v, want ErrConflict", err)
			}
		})
	})
}

func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "umm.db")
	db, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		if mode := st.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s has mode %o; want no group/other access", filepath.Base(p), mode)
		}
	}
	st, err := os.Stat(filepath.Dir(path))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, %v; want 0700", st.Mode().Perm(), err)
	}
}

func TestListUserSessionsIsBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		if err := db.CreateUser(ctx, store.User{TenantID: tid, ID: "u1", Email: "a@example.com", EmailNorm: "a@example.com"}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		total := store.MaxListedSessions + 5
		for i := range total {
			at := now.Add(time.Duration(i-total) * time.Second)
			s := store.Session{TenantID: tid, ID: fmt.Sprintf("s%03d", i), UserID: "u1", AuthTime: at, CreatedAt: at,
				LastSeenAt: at, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
			if err := db.CreateSession(ctx, s, []byte(tid+s.ID)); err != nil {
				t.Fatal(err)
			}
		}
		ss, err := db.ListUserSessions(ctx, tid, "u1", now)
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != store.MaxListedSessions {
			t.Fatalf("listed %d sessions, want %d", len(ss), store.MaxListedSessions)
		}
		if ss[0].ID != fmt.Sprintf("s%03d", total-1) {
			t.Fatalf("first listed %s, want the newest", ss[0].ID)
		}
	})
}
