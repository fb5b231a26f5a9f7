package config

import (
	"strings"
	"testing"
	"time"
)

// TestAuthzFromYAML: a permission is written as its name or as {name, description}, and every part of
// the authorization model comes through.
func TestAuthzFromYAML(t *testing.T) {
	c, err := Load("", []string{`UMM_TENANTS=[{id: acme,
		apis: [{identifier: "https://api.acme.example", name: Orders, permissions: [orders:read, {name: orders:write, description: Change orders}],
			token_lifetime: 5m, claims: [permissions]}],
		roles: [{name: editor, permissions: [{api: "https://api.acme.example", permission: orders:write}]}],
		users: [{email: a@example.com}],
		groups: [{name: staff, roles: [editor], members: [a@example.com]}],
		organizations: [{id: globex, name: Globex, members: [{email: a@example.com, roles: [editor]}]}],
		clients: [{client_id: web, redirect_uris: ["https://app.example/cb"], grant_types: [authorization_code],
			token_endpoint_auth_method: none, organization_required: true, token_claims: [roles, org_id]}]}]`})
	if err != nil {
		t.Fatal(err)
	}
	tn := c.Tenants[0]
	a := tn.APIs[0]
	if len(a.Permissions) != 2 || a.Permissions[0].Name != "orders:read" || a.Permissions[1].Description != "Change orders" ||
		a.TokenLifetime.D() != 5*time.Minute {
		t.Errorf("api = %+v", a)
	}
	if tn.Roles[0].Permissions[0].Permission != "orders:write" || tn.Groups[0].Members[0] != "a@example.com" ||
		tn.Organizations[0].Members[0].Roles[0] != "editor" {
		t.Errorf("tenant = %+v", tn)
	}
	if cl := tn.Clients[0]; !cl.OrganizationRequired || len(cl.TokenClaims) != 2 {
		t.Errorf("client = %+v", cl)
	}
}

// TestAuthzValidation lists every problem of an authorization seed at once, each named by its key.
func TestAuthzValidation(t *testing.T) {
	ts := TenantSeed{ID: "acme",
		APIs: []APISeed{
			{Identifier: "api.example", Permissions: []PermissionDef{{Name: "orders read"}, {Name: "x"}, {Name: "x"}}, Claims: []string{"email"}},
			{Identifier: "https://api.example#frag", TokenLifetime: Duration(48 * time.Hour)},
			{Identifier: "https://ok.example", Permissions: []PermissionDef{{Name: "orders:read"}}},
		},
		Roles: []RoleSeed{{Name: "editor", Permissions: []PermissionRef{{API: "https://nope.example", Permission: "a"},
			{API: "https://ok.example", Permission: "orders:write"}}}},
		Groups:        []GroupSeed{{Name: "staff", Roles: []string{"ghost"}, Members: []string{"nobody@example.com"}}},
		Organizations: []OrganizationSeed{{ID: "Bad Id", Connections: []string{"corp"}}},
		Clients:       []ClientSeed{{ClientID: "web", TokenClaims: []string{"email"}}},
	}
	p := validateAuthz("tenants[0]", ts)
	for _, want := range []string{
		"tenants[0].apis[0].identifier: \"api.example\" must be an absolute URI",
		"tenants[0].apis[0].permissions[0]: \"orders read\" may hold only",
		"tenants[0].apis[0].permissions[2]: \"x\" appears twice",
		"tenants[0].apis[0].claims: \"email\" is not one of",
		"tenants[0].apis[1].identifier: \"https://api.example#frag\" must not have a fragment",
		"tenants[0].apis[1].token_lifetime: must be between",
		"tenants[0].roles[0].permissions[0].api: \"https://nope.example\" is not the identifier",
		"tenants[0].roles[0].permissions[1].permission: \"orders:write\" is not a permission of api https://ok.example",
		"tenants[0].groups[0].roles[0]: \"ghost\" is not a role",
		"tenants[0].groups[0].members[0]: \"nobody@example.com\" is not one of",
		"tenants[0].organizations[0].id:",
		"tenants[0].organizations[0].name: is required",
		"tenants[0].organizations[0].connections[0]: \"corp\" is not one of",
		"tenants[0].clients[0].token_claims: \"email\" is not one of",
	} {
		found := false
		for _, got := range p {
			if strings.HasPrefix(got, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem %q among:\n%s", want, strings.Join(p, "\n"))
		}
	}
}
