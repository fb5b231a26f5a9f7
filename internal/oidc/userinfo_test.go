package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// accessToken signs an access token for the fixture's tenant as the issuer does, with claims changed by mods.
func (f *fixture) accessToken(t *testing.T, tenantID, sub, scope string, mods ...func(map[string]any)) string {
	t.Helper()
	now := f.now()
	c := map[string]any{
		"iss": testPublicURL + "/t/" + tenantID, "sub": sub, "aud": []string{"web"}, "client_id": "web", "scope": scope,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": keys.NewID(),
	}
	for _, m := range mods {
		m(c)
	}
	tok, err := f.keys.Sign(context.Background(), tenantID, keys.ES256, "at+jwt", c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestUserInfo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		path := "/t/" + f.tenant.ID + "/userinfo"
		other := storetest.Tenant(t, db)
		frank := f.createUser("frank@example.com", "Frank", "", true, nil)
		if err := db.SetUserDisabled(ctx, f.tenant.ID, frank.ID, true, time.Now()); err != nil {
			t.Fatal(err)
		}
		gone := f.createUser("gone@example.com", "", "", false, nil)
		goneToken := f.accessToken(t, f.tenant.ID, gone.ID, "openid")
		if err := db.DeleteUser(ctx, f.tenant.ID, gone.ID); err != nil {
			t.Fatal(err)
		}
		idToken, err := f.keys.Sign(ctx, f.tenant.ID, keys.RS256, "JWT", map[string]any{
			"iss": f.p.issuer(f.tenant.ID), "sub": f.alice.ID, "aud": "web", "scope": "openid",
			"exp": time.Now().Add(time.Hour).Unix(), "jti": "x"})
		if err != nil {
			t.Fatal(err)
		}
		valid := f.accessToken(t, f.tenant.ID, f.alice.ID, "openid profile email roles")
		tampered := valid[:len(valid)-4] + "AAAA"
		if tampered == valid {
			tampered = valid[:len(valid)-4] + "BBBB"
		}

		bearer := func(tok string) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
		}
		tests := []struct {
			name       string
			method     string
			form       url.Values
			prepare    func(*http.Request)
			wantStatus int
			wantError  string // in WWW-Authenticate and the body; "" for success or a bare challenge
			wantClaims map[string]any
		}{
			{"a token with every scope gets every claim", "GET", nil, bearer(valid), 200, "", map[string]any{
				"sub": f.alice.ID, "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
				"updated_at": float64(f.alice.UpdatedAt.Unix()), "email": "alice@example.com", "email_verified": true,
				"roles": []any{"admin", "staff"}}},
			{"openid alone gets only sub", "GET", nil,
				bearer(f.accessToken(t, f.tenant.ID, f.alice.ID, "openid")), 200, "", map[string]any{"sub": f.alice.ID}},
			{"email alone gets the email claims", "GET", nil,
				bearer(f.accessToken(t, f.tenant.ID, f.bob.ID, "openid email")), 200, "",
				map[string]any{"sub": f.bob.ID, "email": "bob@example.com", "email_verified": false}},
			{"roles of a user without roles is an empty list", "GET", nil,
				bearer(f.accessToken(t, f.tenant.ID, f.bob.ID, "openid roles")), 200, "",
				map[string]any{"sub": f.bob.ID, "roles": []any{}}},
			{"a POST with a Bearer header works", "POST", url.Values{}, bearer(valid), 200, "", nil},
			{"a POST with the token in the form works", "POST", url.Values{"access_token": {valid}}, nil, 200, "", nil},
			{"a lower-case bearer scheme works", "GET", nil, func(r *http.Request) { r.Header.Set("Authorization", "bearer "+valid) }, 200, "", nil},
			{"no token gets a bare challenge", "GET", nil, nil, 401, "", nil},
			{"a token in the query is not read", "GET", nil, func(r *http.Request) { r.URL.RawQuery = "access_token=" + valid }, 401, "", nil},
			{"the token in both header and form is invalid_request", "POST", url.Values{"access_token": {valid}}, bearer(valid), 400, "invalid_request", nil},
			{"Basic authentication is invalid_request", "GET", nil, func(r *http.Request) { r.Header.Set("Authorization", "Basic eDp5") }, 400, "invalid_request", nil},
			{"an empty Bearer is invalid_request", "GET", nil, func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, 400, "invalid_request", nil},
			{"garbage is invalid_token", "GET", nil, bearer("not-a-jwt"), 401, "invalid_token", nil},
			{"an oversized token is invalid_token", "GET", nil, bearer(strings.Repeat("a.", 6000)), 401, "invalid_token", nil},
			{"a tampered signature is invalid_token", "GET", nil, bearer(tampered), 401, "invalid_token", nil},
			{"an expired token is invalid_token", "GET", nil, bearer(f.accessToken(t, f.tenant.ID, f.alice.ID, "openid",
				func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), 401, "invalid_token", nil},
			{"another tenant's token is invalid_token", "GET", nil, bearer(f.accessToken(t, other, f.alice.ID, "openid")), 401, "invalid_token", nil},
			{"a token naming another issuer is invalid_token", "GET", nil, bearer(f.accessToken(t, f.tenant.ID, f.alice.ID, "openid",
				func(c map[string]any) { c["iss"] = testPublicURL + "/t/" + other })), 401, "invalid_token", nil},
			{"an ID token is not an access token", "GET", nil, bearer(idToken), 401, "invalid_token", nil},
			{"a token of a revoked or unknown grant is invalid_token", "GET", nil, bearer(f.accessToken(t, f.tenant.ID, f.alice.ID, "openid",
				func(c map[string]any) { c["gid"] = "no-such-grant" })), 401, "invalid_token", nil},
			{"a disabled user's token is invalid_token", "GET", nil, bearer(f.accessToken(t, f.tenant.ID, frank.ID, "openid")), 401, "invalid_token", nil},
			{"a deleted user's token is invalid_token", "GET", nil, bearer(goneToken), 401, "invalid_token", nil},
			{"a token without openid is insufficient_scope", "GET", nil, bearer(f.accessToken(t, f.tenant.ID, f.alice.ID, "profile")), 403, "insufficient_scope", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := f.browser()
				r := b.request(tt.method, path, tt.form)
				r.Header.Set("Origin", "https://spa.example.com") // the public client spa's redirect URI origin
				if tt.prepare != nil {
					tt.prepare(r)
				}
				w := b.serve(r)
				if w.Code != tt.wantStatus {
					t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantStatus, w.Body.String())
				}
				if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q", cc)
				}
				if w.Header().Get("Access-Control-Allow-Origin") != "https://spa.example.com" {
					t.Errorf("Access-Control-Allow-Origin %q, want the app's origin", w.Header().Get("Access-Control-Allow-Origin"))
				}
				challenge := w.Header().Get("WWW-Authenticate")
				switch {
				case tt.wantStatus == 200:
					var got map[string]any
					if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
						t.Fatal(err)
					}
					if tt.wantClaims != nil && !equalJSON(got, tt.wantClaims) {
						t.Errorf("claims %v, want %v", got, tt.wantClaims)
					}
				case tt.wantError == "":
					if !strings.HasPrefix(challenge, "Bearer ") || strings.Contains(challenge, "error=") {
						t.Errorf("WWW-Authenticate %q, want a bare Bearer challenge", challenge)
					}
				default:
					if !strings.HasPrefix(challenge, "Bearer ") || !strings.Contains(challenge, `error="`+tt.wantError+`"`) ||
						!strings.Contains(challenge, `error_description="`) {
						t.Errorf("WWW-Authenticate %q, want error %s", challenge, tt.wantError)
					}
					var body map[string]string
					if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != tt.wantError {
						t.Errorf("body %s, want error %s", w.Body.String(), tt.wantError)
					}
				}
			})
		}
		t.Run("a preflight request is answered for browser apps", func(t *testing.T) {
			b := f.browser()
			r := b.request(http.MethodOptions, path, nil)
			r.Header.Set("Origin", "https://spa.example.com")
			r.Header.Set("Access-Control-Request-Method", "GET")
			r.Header.Set("Access-Control-Request-Headers", "authorization")
			w := b.serve(r)
			if w.Code != http.StatusNoContent || !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("status %d headers %v", w.Code, w.Header())
			}
		})
	})
}

func equalJSON(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			return false
		}
		if l, isList := v.([]any); isList {
			gl, ok := g.([]any)
			if !ok || !slices.Equal(gl, l) {
				return false
			}
			continue
		}
		if g != v {
			return false
		}
	}
	return true
}
