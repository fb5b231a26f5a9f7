package oidc

import (
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/store"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		ok       bool
	}{
		{"space-separated values are split", "openid profile email", []string{"openid", "profile", "email"}, true},
		{"repeated values are kept once in first-seen order", "email openid email", []string{"email", "openid"}, true},
		{"extra spaces are ignored", "  openid   profile ", []string{"openid", "profile"}, true},
		{"an empty scope is no scopes", "", nil, true},
		{"custom scopes with colons and slashes are allowed", "orders:read api/v1", []string{"orders:read", "api/v1"}, true},
		{"a double quote is refused", `openid "x"`, nil, false},
		{"a backslash is refused", `openid a\b`, nil, false},
		{"a tab is refused", "openid\tprofile", nil, false},
		{"a non-ASCII character is refused", "openid profilé", nil, false},
		{"an overlong scope is refused", strings.Repeat("a", maxScopeLen+1), nil, false},
		{"case is kept (scopes are case-sensitive)", "OpenID", []string{"OpenID"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseScope(tt.in)
			if ok != tt.ok || !slices.Equal(got, tt.want) {
				t.Errorf("parseScope(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestDisallowedScopes(t *testing.T) {
	open := store.Client{}
	narrow := store.Client{Scopes: []string{"openid", "orders:read"}}
	tests := []struct {
		name      string
		client    store.Client
		requested []string
		want      []string
	}{
		{"a client without a list may request the standard scopes", open, []string{"openid", "profile", "email", "roles", "offline_access"}, nil},
		{"a client without a list may not request custom scopes", open, []string{"openid", "orders:read"}, []string{"orders:read"}},
		{"a client with a list may request what it lists", narrow, []string{"orders:read", "openid"}, nil},
		{"a client with a list may not request a standard scope it does not list", narrow, []string{"openid", "email"}, []string{"email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := disallowedScopes(tt.client, tt.requested); !slices.Equal(got, tt.want) {
				t.Errorf("disallowedScopes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTenantScopes(t *testing.T) {
	got := tenantScopes([]store.Client{{Scopes: []string{"openid", "b:write"}}, {Scopes: []string{"a:read", "b:write"}}})
	want := []string{"openid", "profile", "email", "phone", "address", "offline_access", "roles", "a:read", "b:write"}
	if !slices.Equal(got, want) {
		t.Errorf("tenantScopes = %v, want %v", got, want)
	}
	if !slices.Equal(standardScopes, []string{"openid", "profile", "email", "phone", "address", "offline_access", "roles"}) {
		t.Error("tenantScopes modified standardScopes")
	}
}
