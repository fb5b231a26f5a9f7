package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// profileSchema releases company under profile and tier under a scope of the tenant's own.
var profileSchema = config.ProfileSchema{Fields: []config.ProfileField{
	{Name: "company", Type: "string", Claim: &config.FieldClaim{Scope: "profile"}},
	{Name: "tier", Type: "string", Claim: &config.FieldClaim{Scope: "crm"}},
	{Name: "internal_note", Type: "string"}, // no claim: never released
}}

func TestUserClaimsOfProfiles(t *testing.T) {
	t.Parallel()
	u := store.User{ID: "u1", GivenName: "Ada", FamilyName: "Lovelace", Profile: store.Profile{
		Claims: map[string]any{"name": "Ada, Countess of Lovelace", "nickname": "ada", "birthdate": "1815-12-10",
			"locale": "en-GB", "phone_number": "+4930123456", "address": map[string]string{"locality": "London"}},
		Attributes: map[string]any{"company": "Analytical Engines", "tier": "gold", "internal_note": "secret"},
	}}
	tests := []struct {
		name   string
		scopes []string
		schema config.ProfileSchema
		want   map[string]any
	}{
		{"openid alone releases no profile value, custom ones included", []string{"openid"}, profileSchema,
			map[string]any{"sub": "u1"}},
		{"profile releases the standard claims and company", []string{"openid", "profile"}, profileSchema, map[string]any{
			"sub": "u1", "name": "Ada, Countess of Lovelace", "given_name": "Ada", "family_name": "Lovelace",
			"nickname": "ada", "birthdate": "1815-12-10", "locale": "en-GB", "company": "Analytical Engines"}},
		{"without the schema's claim, company is not released", []string{"profile"}, config.ProfileSchema{}, map[string]any{
			"sub": "u1", "name": "Ada, Countess of Lovelace", "given_name": "Ada", "family_name": "Lovelace",
			"nickname": "ada", "birthdate": "1815-12-10", "locale": "en-GB"}},
		{"phone releases the number, unverified", []string{"phone"}, profileSchema, map[string]any{
			"sub": "u1", "phone_number": "+4930123456", "phone_number_verified": false}},
		{"address releases the address object", []string{"address"}, profileSchema, map[string]any{
			"sub": "u1", "address": map[string]string{"locality": "London"}}},
		{"a custom scope releases its field only", []string{"crm"}, profileSchema, map[string]any{"sub": "u1", "tier": "gold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := userClaims(u, tt.scopes, tt.schema); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("userClaims = %#v\nwant %#v", got, tt.want)
			}
		})
	}
	t.Run("a verified phone number says so", func(t *testing.T) {
		v := u
		v.Profile = u.Profile.Clone()
		v.Profile.Claims["phone_number_verified"] = true
		if got := userClaims(v, []string{"phone"}, profileSchema); got["phone_number_verified"] != true {
			t.Errorf("phone_number_verified = %v", got["phone_number_verified"])
		}
	})
	t.Run("a stored field named like a standard claim never overrides it", func(t *testing.T) {
		bad := config.ProfileSchema{Fields: []config.ProfileField{{Name: "email", Claim: &config.FieldClaim{Scope: "profile"}}}}
		v := u
		v.Email = "ada@example.com"
		v.Profile = u.Profile.Clone()
		v.Profile.Attributes["email"] = "spoof@evil.example"
		if got := userClaims(v, []string{"profile", "email"}, bad); got["email"] != "ada@example.com" {
			t.Errorf("email = %v", got["email"])
		}
		if got := userClaims(v, []string{"profile"}, bad); got["email"] != nil {
			t.Errorf("email released without the email scope: %v", got["email"])
		}
	})
}

func TestProfileClaimsInTokensAndUserInfo(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		ctx := context.Background()
		ten, err := db.GetTenant(ctx, e.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		ten.Settings.Profile = profileSchema
		if err := db.UpdateTenant(ctx, ten); err != nil {
			t.Fatal(err)
		}
		e.p.Invalidate(store.TopicTenant, e.tenant.ID)
		if _, err := e.identity.UpdateProfile(ctx, e.tenant.ID, e.user.ID, identity.PurposeAdmin,
			map[string]any{"company": "Acme", "tier": "gold", "internal_note": "x", "phone_number": "+4930123456"}, "test"); err != nil {
			t.Fatal(err)
		}
		userinfo := func(t *testing.T, accessToken string) map[string]any {
			t.Helper()
			r := httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/userinfo", nil)
			r.Header.Set("Authorization", "Bearer "+accessToken)
			w := e.serve(r)
			if w.Code != http.StatusOK {
				t.Fatalf("userinfo: %d %s", w.Code, w.Body)
			}
			return decodeJSON(t, w)
		}
		for _, tc := range []struct {
			name        string
			scopes      []string
			wantCompany bool
			wantPhone   bool
		}{
			{"company is released under profile", []string{"openid", "profile"}, true, false},
			{"company is not released without profile", []string{"openid", "email", "phone"}, false, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := wantTokenResponse(t, e.redeem(e.mintCode(codeOpts{scopes: tc.scopes, nonce: "n"})))
				for where, c := range map[string]map[string]any{
					"id token": jwtClaims(t, m["id_token"].(string)), "userinfo": userinfo(t, m["access_token"].(string)),
				} {
					if got := c["company"] == "Acme"; got != tc.wantCompany {
						t.Errorf("%s: company = %v, want released %v", where, c["company"], tc.wantCompany)
					}
					if got := c["phone_number"] == "+4930123456"; got != tc.wantPhone {
						t.Errorf("%s: phone_number = %v, want released %v", where, c["phone_number"], tc.wantPhone)
					}
					if c["tier"] != nil || c["internal_note"] != nil {
						t.Errorf("%s: released %v / %v without their scope", where, c["tier"], c["internal_note"])
					}
				}
			})
		}
		t.Run("discovery lists the standard profile claims and the released custom fields", func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/.well-known/openid-configuration", nil)
			w := e.serve(r)
			var doc struct {
				Claims []string `json:"claims_supported"`
				Scopes []string `json:"scopes_supported"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
				t.Fatalf("%d %s: %v", w.Code, w.Body, err)
			}
			for _, c := range []string{"nickname", "birthdate", "phone_number", "phone_number_verified", "address", "company", "tier"} {
				if !slices.Contains(doc.Claims, c) {
					t.Errorf("claims_supported lacks %s: %v", c, doc.Claims)
				}
			}
			if slices.Contains(doc.Claims, "internal_note") {
				t.Error("a field without claim is advertised")
			}
			for _, s := range []string{"phone", "address"} {
				if !slices.Contains(doc.Scopes, s) {
					t.Errorf("scopes_supported lacks %s: %v", s, doc.Scopes)
				}
			}
		})
	})
}
