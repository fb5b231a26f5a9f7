package authz_test

import (
	"context"
	"slices"
	"testing"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestOrganizationBranding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s, tid := setup(t, db)
		ctx := context.Background()
		tests := []struct {
			name     string
			branding map[string]any
			want     []string // fields with problems
		}{
			{"a tenant's branding keys pass", map[string]any{"display_name": "Globex", "logo_url": "https://globex.example/l.svg",
				"primary_color": "#1f4e79"}, nil},
			{"an unknown key is named", map[string]any{"colour": "#1f4e79"}, []string{"branding"}},
			{"a light colour fails the contrast check", map[string]any{"primary_color": "#ffff00"}, []string{"branding.primary_color"}},
			{"a logo that is no https URL is refused", map[string]any{"logo_url": "javascript:alert(1)"}, []string{"branding.logo_url"}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := "org-" + string(rune('a'+i))
				_, err := s.CreateOrganization(ctx, tid, authz.OrganizationInput{ID: id, Name: id, Branding: tt.branding}, "test")
				if got := fields(err); !slices.Equal(got, tt.want) || (tt.want == nil && err != nil) {
					t.Errorf("problems %v (%v), want %v", got, err, tt.want)
				}
			})
		}
	})
}

func TestJoinThroughConnection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s, tid := setup(t, db)
		ctx := context.Background()
		for _, c := range []string{"globex-sso", "google"} {
			if err := db.UpsertConnection(ctx, store.Connection{TenantID: tid, ID: c, Type: "oidc", Config: "{}"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CreateOrganization(ctx, tid, authz.OrganizationInput{ID: "globex", Name: "Globex",
			Connections: []string{"globex-sso"}}, "test"); err != nil {
			t.Fatal(err)
		}
		joins := func() int {
			evs, err := db.ListEvents(ctx, tid, 0, events.TypeOrganizationMemberAdded, 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		if joined, err := s.JoinThroughConnection(ctx, tid, "globex", "alice", "google"); joined || err != nil {
			t.Errorf("through a connection not the organization's: joined %v, %v", joined, err)
		}
		if joined, err := s.JoinThroughConnection(ctx, tid, "globex", "alice", "globex-sso"); !joined || err != nil {
			t.Fatalf("through the organization's connection: joined %v, %v", joined, err)
		}
		if m, err := db.GetOrganizationMember(ctx, tid, "globex", "alice"); err != nil || len(m.Roles) != 0 {
			t.Errorf("membership %+v, %v; want one with no roles", m, err)
		}
		if joined, err := s.JoinThroughConnection(ctx, tid, "globex", "alice", "globex-sso"); joined || err != nil {
			t.Errorf("a member again: joined %v, %v", joined, err)
		}
		if joined, err := s.JoinThroughConnection(ctx, tid, "nowhere", "alice", "globex-sso"); joined || err != nil {
			t.Errorf("an unknown organization: joined %v, %v", joined, err)
		}
		if n := joins(); n != 1 {
			t.Errorf("%d organization.member_added events, want 1", n)
		}
	})
}
