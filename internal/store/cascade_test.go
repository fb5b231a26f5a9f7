package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// issued creates, for user u and client c of tenant tid, one of everything a client and a user accumulate:
// a grant with a refresh token, an authorization code, a device code, a consent, a session naming the
// client, and a login request. It returns the grant id.
func issued(t *testing.T, db *store.DB, tid, u, c string) string {
	t.Helper()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	gid := "g-" + u + "-" + c
	sid := "s-" + u + "-" + c
	err := db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpsertClient(ctx, store.Client{TenantID: tid, ClientID: c, TokenEndpointAuthMethod: "none"}); err != nil {
			return err
		}
		if _, err := tx.GetUser(ctx, tid, u); errors.Is(err, store.ErrNotFound) {
			if err := tx.CreateUser(ctx, store.User{TenantID: tid, ID: u, Email: u + "@example.com", EmailNorm: u + "@example.com"}); err != nil {
				return err
			}
		}
		if err := tx.CreateGrant(ctx, store.Grant{TenantID: tid, ID: gid, ClientID: c, UserID: u, ExpiresAt: exp}); err != nil {
			return err
		}
		if err := tx.CreateRefreshToken(ctx, store.RefreshToken{TenantID: tid, TokenHash: []byte("rt-" + gid), GrantID: gid, ExpiresAt: exp}); err != nil {
			return err
		}
		if err := tx.CreateAuthCode(ctx, store.AuthCode{TenantID: tid, CodeHash: []byte("code-" + gid), ClientID: c, UserID: u,
			GrantID: gid, RedirectURI: "https://app.example/cb", ExpiresAt: exp}); err != nil {
			return err
		}
		if err := tx.CreateDeviceCode(ctx, store.DeviceCode{TenantID: tid, DeviceCodeHash: []byte("dc-" + gid),
			UserCodeHash: []byte("uc-" + gid), ClientID: c, UserID: u, Status: store.DeviceApproved, Interval: 5 * time.Second, ExpiresAt: exp}); err != nil {
			return err
		}
		if err := tx.UpsertConsent(ctx, store.Consent{TenantID: tid, UserID: u, ClientID: c, Scopes: []string{"openid"}}); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, store.Session{TenantID: tid, ID: sid, UserID: u, IdleExpiresAt: exp, ExpiresAt: exp},
			[]byte("cookie-"+tid+sid)); err != nil {
			return err
		}
		if err := tx.AddSessionClient(ctx, tid, sid, c, time.Now()); err != nil {
			return err
		}
		return tx.CreateLoginRequest(ctx, store.LoginRequest{TenantID: tid, ID: "lr-" + gid, Kind: store.LoginKindAuthorize,
			ClientID: c, UserID: u, ExpiresAt: exp})
	})
	if err != nil {
		t.Fatal(err)
	}
	return gid
}

// byColumn counts the tenant's rows per table whose column equals v.
func byColumn(t *testing.T, db *store.DB, tid, column, v string, tables ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range tables {
		out[table] = store.Count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ? AND `+column+` = ?`, tid, v)
	}
	return out
}

var clientTables = []string{"grants", "authorization_codes", "device_codes", "consent_grants", "session_clients", "login_requests"}

func TestDeleteClientEndsEverythingIssuedToIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		gone := issued(t, db, tid, "alice", "web")
		kept := issued(t, db, tid, "alice", "other")

		deleted, err := db.DeleteClient(ctx, tid, "web")
		if err != nil {
			t.Fatal(err)
		}
		if len(deleted) != 1 || deleted[0].ID != gone {
			t.Errorf("DeleteClient returned grants %v, want [%s]", deleted, gone)
		}
		for table, n := range byColumn(t, db, tid, "client_id", "web", clientTables...) {
			if n != 0 {
				t.Errorf("%s still has %d rows of the deleted client", table, n)
			}
		}
		for table, n := range byColumn(t, db, tid, "client_id", "other", clientTables...) {
			if n != 1 {
				t.Errorf("%s has %d rows of the other client, want 1", table, n)
			}
		}
		if n := store.Count(t, db, `SELECT COUNT(*) FROM refresh_tokens WHERE tenant_id = ? AND grant_id = ?`, tid, gone); n != 0 {
			t.Errorf("%d refresh tokens of the deleted client remain", n)
		}
		if revoked, err := db.AccessTokenRevoked(ctx, tid, "jti", gone); err != nil || !revoked {
			t.Errorf("an access token of the deleted client's grant: revoked = %v, %v; want true", revoked, err)
		}
		if revoked, err := db.AccessTokenRevoked(ctx, tid, "jti", kept); err != nil || revoked {
			t.Errorf("an access token of the other client's grant: revoked = %v, %v; want false", revoked, err)
		}
		if _, err := db.DeleteClient(ctx, tid, "web"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting it again = %v, want ErrNotFound", err)
		}
	})
}

func TestClientRegisteredAgainStartsAfterTheDeletion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		c := store.Client{TenantID: tid, ClientID: "m2m", TokenEndpointAuthMethod: "none"}
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		first, err := db.GetClient(ctx, tid, "m2m")
		if err != nil {
			t.Fatal(err)
		}
		if first.TokensNotBefore != 0 {
			t.Errorf("a client never deleted has TokensNotBefore %d, want 0", first.TokensNotBefore)
		}
		before := time.Now().Unix()
		if _, err := db.DeleteClient(ctx, tid, "m2m"); err != nil {
			t.Fatal(err)
		}
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		again, err := db.GetClient(ctx, tid, "m2m")
		if err != nil {
			t.Fatal(err)
		}
		if again.TokensNotBefore < before || again.TokensNotBefore > time.Now().Unix() {
			t.Errorf("TokensNotBefore = %d, want the deletion time (between %d and now)", again.TokensNotBefore, before)
		}
		if n := store.Count(t, db, `SELECT COUNT(*) FROM client_tombstones WHERE tenant_id = ?`, tid); n != 0 {
			t.Errorf("%d tombstones remain after the id was registered again", n)
		}

		// Updating the new client keeps the boundary.
		c.Name = "renamed"
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.GetClient(ctx, tid, "m2m"); got.TokensNotBefore != again.TokensNotBefore {
			t.Errorf("an update changed TokensNotBefore from %d to %d", again.TokensNotBefore, got.TokensNotBefore)
		}
		// A tombstone older than every token is pruned, a recent one kept.
		if _, err := db.DeleteClient(ctx, tid, "m2m"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.DeleteOldClientTombstones(ctx, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := store.Count(t, db, `SELECT COUNT(*) FROM client_tombstones WHERE tenant_id = ?`, tid); n != 1 {
			t.Fatalf("a recent tombstone was pruned (%d left)", n)
		}
		if _, err := db.DeleteOldClientTombstones(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := store.Count(t, db, `SELECT COUNT(*) FROM client_tombstones WHERE tenant_id = ?`, tid); n != 0 {
			t.Errorf("an old tombstone was kept (%d left)", n)
		}
	})
}

func TestDeleteUserEndsEverythingIssuedToIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		gone := issued(t, db, tid, "bob", "web")
		kept := issued(t, db, tid, "carol", "web")
		if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteUser(ctx, tid, "bob") }); err != nil {
			t.Fatal(err)
		}
		userTables := []string{"grants", "authorization_codes", "device_codes", "consent_grants", "login_requests", "sessions"}
		for table, n := range byColumn(t, db, tid, "user_id", "bob", userTables...) {
			if n != 0 {
				t.Errorf("%s still has %d rows of the deleted user", table, n)
			}
		}
		for table, n := range byColumn(t, db, tid, "user_id", "carol", userTables...) {
			if n != 1 {
				t.Errorf("%s has %d rows of the other user, want 1", table, n)
			}
		}
		if revoked, _ := db.AccessTokenRevoked(ctx, tid, "jti", gone); !revoked {
			t.Error("an access token of the deleted user's grant is not revoked")
		}
		if revoked, _ := db.AccessTokenRevoked(ctx, tid, "jti", kept); revoked {
			t.Error("an access token of the other user's grant is revoked")
		}
	})
}

func TestDeleteTenantRemovesEveryRowOfIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		other := storetest.Tenant(t, db)
		issued(t, db, tid, "dave", "web")
		issued(t, db, other, "dave", "web")
		for _, id := range []string{tid, other} {
			if err := db.AppendEvent(ctx, store.Event{TenantID: id, Type: "test.happened"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteTenant(ctx, tid); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetTenant(ctx, tid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTenant after deletion = %v, want ErrNotFound", err)
		}
		tables := append([]string{"clients", "users", "refresh_tokens", "events"}, clientTables...)
		for _, table := range tables {
			if n := store.Count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ?`, tid); n != 0 {
				t.Errorf("%s still has %d rows of the deleted tenant", table, n)
			}
			if n := store.Count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ?`, other); n == 0 {
				t.Errorf("%s lost the other tenant's rows", table)
			}
		}
		if err := db.CreateTenant(ctx, store.Tenant{ID: tid, Name: "again"}); err != nil {
			t.Fatal(err)
		}
		if cs, _ := db.ListClients(ctx, tid); len(cs) != 0 {
			t.Errorf("the tenant created again has %d clients, want none", len(cs))
		}
		if err := db.DeleteTenant(ctx, "t-never-existed"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting an unknown tenant = %v, want ErrNotFound", err)
		}
	})
}

func TestRotateClientSecretKeepsThePreviousOneForTheGraceOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		c := store.Client{TenantID: tid, ClientID: "svc", SecretHash: []byte("old"), TokenEndpointAuthMethod: "client_secret_basic"}
		if err := db.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(time.Hour).Truncate(time.Second)
		if err := db.RotateClientSecret(ctx, tid, "svc", []byte("new"), until); err != nil {
			t.Fatal(err)
		}
		got, _ := db.GetClient(ctx, tid, "svc")
		if string(got.SecretHash) != "new" || string(got.PreviousSecretHash) != "old" || !got.PreviousSecretExpiresAt.Equal(until) {
			t.Errorf("after a rotation with grace: secret %q, previous %q until %v; want new, old until %v",
				got.SecretHash, got.PreviousSecretHash, got.PreviousSecretExpiresAt, until)
		}
		// An update that keeps the secret keeps the grace; one that changes it ends it.
		got.Name = "renamed"
		if err := db.UpsertClient(ctx, got); err != nil {
			t.Fatal(err)
		}
		if kept, _ := db.GetClient(ctx, tid, "svc"); string(kept.PreviousSecretHash) != "old" {
			t.Errorf("an update keeping the secret dropped the previous one (%q)", kept.PreviousSecretHash)
		}
		got.SecretHash = []byte("other")
		if err := db.UpsertClient(ctx, got); err != nil {
			t.Fatal(err)
		}
		if changed, _ := db.GetClient(ctx, tid, "svc"); changed.PreviousSecretHash != nil || !changed.PreviousSecretExpiresAt.IsZero() {
			t.Errorf("an update changing the secret kept the previous one (%q until %v)", changed.PreviousSecretHash, changed.PreviousSecretExpiresAt)
		}
		if err := db.RotateClientSecret(ctx, tid, "svc", []byte("newest"), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.GetClient(ctx, tid, "svc"); got.PreviousSecretHash != nil || string(got.SecretHash) != "newest" {
			t.Errorf("a rotation without grace kept previous %q (secret %q)", got.PreviousSecretHash, got.SecretHash)
		}
		if err := db.RotateClientSecret(ctx, tid, "nope", []byte("x"), time.Time{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rotating an unknown client = %v, want ErrNotFound", err)
		}
	})
}

// TestSQLiteListenerSeesOtherProcesses checks that what another process (the umm CLI) commits on the
// SQLite file reaches a listening server, which in-process delivery alone cannot do.
func TestSQLiteListenerSeesOtherProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	writer, reader := openPair(t, "sqlite")
	store.AsOtherProcess(writer)
	reader.SetMaxOpenConns(1) // the listener must not take the pool's only connection
	in := listen(t, reader)
	tid := storetest.Tenant(t, writer)
	in.await(t, store.TopicTenant, tid)

	if err := writer.UpsertClient(ctx, store.Client{TenantID: tid, ClientID: "cli", TokenEndpointAuthMethod: "none"}); err != nil {
		t.Fatal(err)
	}
	in.await(t, store.TopicClient, tid+":cli")
	if _, err := reader.GetClient(ctx, tid, "cli"); err != nil { // the pool still serves
		t.Fatal(err)
	}
	if _, err := writer.DeleteClient(ctx, tid, "cli"); err != nil {
		t.Fatal(err)
	}
	in.await(t, store.TopicClient, tid+":cli")
	boom := errors.New("boom")
	if err := writer.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Notify(ctx, "test", tid+":rolled-back"); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := writer.InTx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, "test", tid+":after") }); err != nil {
		t.Fatal(err)
	}
	for _, p := range in.await(t, "test", tid+":after") {
		if p == tid+":rolled-back" {
			t.Error("a rolled-back message of another process was delivered")
		}
	}
}
