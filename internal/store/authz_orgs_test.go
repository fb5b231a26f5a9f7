package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestOrganizationSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []string{"alice", "bob"} {
			must(db.CreateUser(ctx, store.User{TenantID: tid, ID: u, Email: u + "@example.com", EmailNorm: u + "@example.com"}))
		}
		for _, c := range []string{"globex-sso", "google"} {
			must(db.UpsertConnection(ctx, store.Connection{TenantID: tid, ID: c, Type: "oidc", Config: "{}"}))
		}
		must(db.CreateOrganization(ctx, store.Organization{TenantID: tid, ID: "globex", Name: "Globex", DisplayName: "Zeta Globex"}))
		must(db.CreateOrganization(ctx, store.Organization{TenantID: tid, ID: "initech", Name: "Initech"}))
		must(db.CreateOrganization(ctx, store.Organization{TenantID: tid, ID: "umbrella", Name: "Umbrella"}))
		must(db.SetOrganizationConnections(ctx, tid, "globex", []string{"globex-sso"}))
		for _, o := range []string{"globex", "initech"} {
			must(db.AddOrganizationMember(ctx, tid, o, "alice"))
		}

		t.Run("a user's organizations come in the order of the names people read", func(t *testing.T) {
			os, err := db.ListUserOrganizations(ctx, tid, "alice")
			must(err)
			var ids []string
			for _, o := range os {
				ids = append(ids, o.ID)
			}
			if !slices.Equal(ids, []string{"initech", "globex"}) || !slices.Equal(os[1].Connections, []string{"globex-sso"}) {
				t.Errorf("alice's organizations %v (%+v), want initech then globex with its connection", ids, os)
			}
			if os, err := db.ListUserOrganizations(ctx, tid, "bob"); err != nil || len(os) != 0 {
				t.Errorf("bob's organizations %+v, %v; want none", os, err)
			}
		})
		t.Run("only connections of an organization are organization connections", func(t *testing.T) {
			ids, err := db.OrganizationConnectionIDs(ctx, tid)
			if err != nil || !slices.Equal(ids, []string{"globex-sso"}) {
				t.Errorf("organization connections %v, %v; want [globex-sso]", ids, err)
			}
		})
		t.Run("the organization chosen is stored on a pending login request only", func(t *testing.T) {
			lr := store.LoginRequest{TenantID: tid, ID: "lr-org", Kind: store.LoginKindAuthorize, ClientID: "web",
				Params: store.AuthorizeParams{Scopes: []string{"openid"}, MaxAge: -1, Lang: "fr"}, ExpiresAt: time.Now().Add(time.Minute)}
			must(db.CreateLoginRequest(ctx, lr))
			must(db.SetLoginRequestOrganization(ctx, tid, lr.ID, "initech"))
			got, err := db.GetLoginRequest(ctx, tid, lr.ID)
			if err != nil || got.Params.Organization != "initech" || got.Params.Lang != "fr" || !slices.Equal(got.Params.Scopes, []string{"openid"}) {
				t.Fatalf("after the choice: %+v, %v", got.Params, err)
			}
			lr.UserID, lr.AuthTime = "alice", time.Now()
			must(db.CompleteLoginRequest(ctx, lr))
			if err := db.SetLoginRequestOrganization(ctx, tid, lr.ID, "globex"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a choice on a completed request: err = %v, want ErrNotFound", err)
			}
			if got, _ := db.GetLoginRequest(ctx, tid, lr.ID); got.Params.Organization != "initech" {
				t.Errorf("a completed request's organization became %q", got.Params.Organization)
			}
		})
	})
}
