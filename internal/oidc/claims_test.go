package oidc

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

func TestUserClaims(t *testing.T) {
	updated := time.Unix(1700000000, 0)
	full := store.User{ID: "u1", Email: "Alice@Example.com", EmailVerified: true, GivenName: "Alice", FamilyName: "Liddell",
		Roles: []string{"admin"}, UpdatedAt: updated}
	bare := store.User{ID: "u2", Email: "bob@example.com"}
	tests := []struct {
		name   string
		user   store.User
		scopes []string
		want   map[string]any
	}{
		{"openid alone releases only sub", full, []string{"openid"}, map[string]any{"sub": "u1"}},
		{"profile releases the names and updated_at", full, []string{"openid", "profile"}, map[string]any{
			"sub": "u1", "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell", "updated_at": int64(1700000000)}},
		{"email releases the address as typed and its verification", full, []string{"email"}, map[string]any{
			"sub": "u1", "email": "Alice@Example.com", "email_verified": true}},
		{"roles releases the roles", full, []string{"roles"}, map[string]any{"sub": "u1", "roles": []string{"admin"}}},
		{"empty profile fields are left out", bare, []string{"profile"}, map[string]any{"sub": "u2"}},
		{"a user without roles gets an empty list", bare, []string{"roles"}, map[string]any{"sub": "u2", "roles": []string{}}},
		{"a given name alone is the name", store.User{ID: "u3", GivenName: "Cher"}, []string{"profile"}, map[string]any{
			"sub": "u3", "name": "Cher", "given_name": "Cher"}},
		{"unknown scopes release nothing", full, []string{"orders:read", "offline_access"}, map[string]any{"sub": "u1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := userClaims(tt.user, tt.scopes, config.ProfileSchema{})
			eq := maps.EqualFunc(got, tt.want, func(a, b any) bool {
				if la, ok := a.([]string); ok {
					lb, ok := b.([]string)
					return ok && slices.Equal(la, lb)
				}
				return a == b
			})
			if !eq {
				t.Errorf("userClaims = %#v, want %#v", got, tt.want)
			}
		})
	}
}
