package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestQueryEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		tid, other := storetest.Tenant(t, db), storetest.Tenant(t, db)
		t0 := time.Unix(1_800_000_000, 0)
		for i, e := range []store.Event{
			{Type: "user.created", Actor: "client:ops", Subject: "ann"},
			{Type: "session.started", Actor: "ann", Subject: "s1", ClientID: "web", Data: map[string]any{"user_id": "ann"}},
			{Type: "grant.revoked", Actor: "client:ops", Subject: "g1", ClientID: "web", Data: map[string]any{"user_id": "ann"}},
			{Type: "user.created", Actor: "client:ops", Subject: "bob"},
			{Type: "session.started", Actor: "bob", Subject: "s2", ClientID: "app", Data: map[string]any{"user_id": "bob"}},
		} {
			e.TenantID, e.CreatedAt = tid, t0.Add(time.Duration(i)*time.Minute)
			if err := db.AppendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.AppendEvent(ctx, store.Event{TenantID: other, Type: "user.created", Subject: "ann", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		subjects := func(f store.EventQuery) []string {
			t.Helper()
			evs, err := db.QueryEvents(ctx, tid, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range evs {
				out = append(out, e.Subject)
			}
			return out
		}
		all, _ := db.QueryEvents(ctx, tid, store.EventQuery{Oldest: true})
		if len(all) != 5 {
			t.Fatalf("%d events, want 5", len(all))
		}
		tests := []struct {
			name string
			f    store.EventQuery
			want []string
		}{
			{"everything comes newest first", store.EventQuery{}, []string{"s2", "bob", "g1", "s1", "ann"}},
			{"oldest first on request", store.EventQuery{Oldest: true, Limit: 2}, []string{"ann", "s1"}},
			{"by type", store.EventQuery{Type: "user.created"}, []string{"bob", "ann"}},
			{"a user as subject, actor or in the data", store.EventQuery{UserID: "ann"}, []string{"g1", "s1", "ann"}},
			{"by client", store.EventQuery{ClientID: "web"}, []string{"g1", "s1"}},
			{"after an id", store.EventQuery{AfterID: all[2].ID}, []string{"s2", "bob"}},
			{"before an id (the next page)", store.EventQuery{BeforeID: all[2].ID}, []string{"s1", "ann"}},
			{"within a time window", store.EventQuery{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"g1", "s1"}},
			{"filters combine", store.EventQuery{Type: "session.started", UserID: "bob"}, []string{"s2"}},
			{"nothing matches", store.EventQuery{UserID: "carl"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := subjects(tt.f); !slices.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func TestSearchConsents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		for _, u := range []string{"ann", "bob"} {
			if err := db.CreateUser(ctx, store.User{TenantID: tid, ID: u, Email: u + "@example.com", EmailNorm: u + "@example.com"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range [][2]string{{"ann", "app"}, {"ann", "web"}, {"bob", "web"}} {
			if err := db.UpsertConsent(ctx, store.Consent{TenantID: tid, UserID: c[0], ClientID: c[1], Scopes: []string{"openid"}}); err != nil {
				t.Fatal(err)
			}
		}
		keys := func(f store.ConsentQuery) string {
			t.Helper()
			cs, err := db.SearchConsents(ctx, tid, f)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(cs2keys(cs))
		}
		for _, tt := range []struct {
			name string
			f    store.ConsentQuery
			want string
		}{
			{"everything in user, client order", store.ConsentQuery{}, "[ann/app ann/web bob/web]"},
			{"of a user", store.ConsentQuery{UserID: "ann"}, "[ann/app ann/web]"},
			{"for a client", store.ConsentQuery{ClientID: "web"}, "[ann/web bob/web]"},
			{"after a position", store.ConsentQuery{AfterUser: "ann", AfterClient: "app"}, "[ann/web bob/web]"},
			{"limited", store.ConsentQuery{Limit: 1}, "[ann/app]"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if got := keys(tt.f); got != tt.want {
					t.Errorf("got %s, want %s", got, tt.want)
				}
			})
		}
	})
}

func cs2keys(cs []store.Consent) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.UserID+"/"+c.ClientID)
	}
	return out
}
