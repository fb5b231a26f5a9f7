package oidc

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// idToken signs an ID token of tenantID for user and session, changed by mods.
func (f *fixture) idToken(t *testing.T, tenantID string, user store.User, sid string, mods ...func(map[string]any)) string {
	t.Helper()
	now := f.now()
	c := map[string]any{
		"iss": testPublicURL + "/t/" + tenantID, "sub": user.ID, "aud": "web", "sid": sid,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "auth_time": now.Unix(),
	}
	for _, m := range mods {
		m(c)
	}
	tok, err := f.keys.Sign(context.Background(), tenantID, keys.RS256, "JWT", c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var csrfFieldRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func TestLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		path := "/t/" + f.tenant.ID + "/logout"
		other := storetest.Tenant(t, db)

		// live reports whether the browser's session is still live.
		live := func(t *testing.T, b *browser) bool {
			t.Helper()
			_, ok, err := f.sessions.Current(ctx, b.request(http.MethodGet, path, nil), f.tenant)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		wantRedirect := func(t *testing.T, w interface{ Result() *http.Response }, want string) {
			t.Helper()
			res := w.Result()
			if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
				t.Fatalf("status %d Location %q, want 302 to %s", res.StatusCode, res.Header.Get("Location"), want)
			}
		}

		t.Run("a valid hint signs out at once and redirects with state", func(t *testing.T) {
			b := f.browser()
			s := b.signIn(f.alice)
			w := b.get(path + "?" + url.Values{"id_token_hint": {f.idToken(t, f.tenant.ID, f.alice, s.ID)},
				"post_logout_redirect_uri": {"https://app.example.com/bye"}, "state": {"st 1"}}.Encode())
			wantRedirect(t, w, "https://app.example.com/bye?state=st+1")
			if live(t, b) {
				t.Error("the session is still live")
			}
			// SSO ended with it: the next authorization request cannot skip the sign-in form.
			q := location(t, b.get(f.authorizeURL(codeParams(set("client_id", "first"),
				set("redirect_uri", "https://first.example.com/cb"), set("prompt", "none"))))).Query()
			if q.Get("error") != "login_required" {
				t.Errorf("prompt=none after logout: %v, want login_required", q)
			}
			f.loginRequestID(t, b.get(f.authorizeURL(codeParams(set("client_id", "first"),
				set("redirect_uri", "https://first.example.com/cb")))))
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
		})

		t.Run("an expired hint is accepted, with confirmation", func(t *testing.T) {
			b := f.browser()
			s := b.signIn(f.alice)
			hint := f.idToken(t, f.tenant.ID, f.alice, s.ID, func(c map[string]any) {
				c["exp"] = time.Now().Add(-24 * time.Hour).Unix()
			})
			w := b.post(path, url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://app.example.com/bye2?x=1"}})
			m := csrfFieldRE.FindStringSubmatch(w.Body.String())
			if w.Code != http.StatusOK || m == nil || !live(t, b) {
				t.Fatalf("status %d; want the confirmation page and the session kept", w.Code)
			}
			wantRedirect(t, b.post(path, url.Values{"action": {"logout"}, "csrf_token": {m[1]}, "client_id": {"web"},
				"post_logout_redirect_uri": {"https://app.example.com/bye2?x=1"}}), "https://app.example.com/bye2?x=1")
			if live(t, b) {
				t.Error("the session is still live")
			}
		})

		t.Run("a valid hint without a redirect URI shows the signed-out page", func(t *testing.T) {
			b := f.browser()
			s := b.signIn(f.alice)
			w := b.get(path + "?id_token_hint=" + f.idToken(t, f.tenant.ID, f.alice, s.ID))
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "signed out") || live(t, b) {
				t.Errorf("status %d live %v body %.300s", w.Code, live(t, b), w.Body.String())
			}
		})

		t.Run("a hint with an audience list and azp names the client", func(t *testing.T) {
			b := f.browser()
			s := b.signIn(f.alice)
			hint := f.idToken(t, f.tenant.ID, f.alice, s.ID, func(c map[string]any) {
				c["aud"], c["azp"] = []string{"web", "api"}, "web"
			})
			w := b.get(path + "?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://app.example.com/bye"}}.Encode())
			wantRedirect(t, w, "https://app.example.com/bye")
		})

		t.Run("without a hint the user confirms first", func(t *testing.T) {
			b := f.browser()
			b.signIn(f.alice)
			w := b.get(path + "?" + url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {"https://app.example.com/bye"},
				"state": {"s2"}}.Encode())
			body := w.Body.String()
			if w.Code != http.StatusOK || w.Header().Get("Location") != "" {
				t.Fatalf("status %d; want the confirmation page", w.Code)
			}
			if !live(t, b) {
				t.Fatal("the session ended before confirmation")
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example.com") {
				t.Errorf("CSP %q: confirming redirects to the client, so form-action must allow it", csp)
			}
			for _, want := range []string{`<button type="submit" name="action" value="logout">`, `method="post"`,
				`action="/t/` + f.tenant.ID + `/logout"`, `name="post_logout_redirect_uri" value="https://app.example.com/bye"`,
				`name="state" value="s2"`, `name="client_id" value="web"`, "Web App", f.tenant.Name} {
				if !strings.Contains(body, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			m := csrfFieldRE.FindStringSubmatch(body)
			if m == nil {
				t.Fatal("no CSRF token on the page")
			}
			form := url.Values{"action": {"logout"}, "client_id": {"web"},
				"post_logout_redirect_uri": {"https://app.example.com/bye"}, "state": {"s2"}}

			t.Run("a confirmation without the CSRF token is refused", func(t *testing.T) {
				if w := b.post(path, form); w.Code != http.StatusBadRequest || !live(t, b) {
					t.Errorf("status %d live %v; want 400 and the session kept", w.Code, live(t, b))
				}
			})
			t.Run("a confirmation from another site is refused", func(t *testing.T) {
				r := b.request(http.MethodPost, path, url.Values{"action": {"logout"}, "csrf_token": {m[1]}})
				r.Header.Set("Origin", "https://evil.example")
				if w := b.serve(r); w.Code != http.StatusBadRequest || !live(t, b) {
					t.Errorf("status %d live %v", w.Code, live(t, b))
				}
			})
			form.Set("csrf_token", m[1])
			wantRedirect(t, b.post(path, form), "https://app.example.com/bye?state=s2")
			if live(t, b) {
				t.Error("the session is still live after confirmation")
			}
		})

		t.Run("a hint for another user asks for confirmation", func(t *testing.T) {
			b := f.browser()
			s := b.signIn(f.alice)
			w := b.get(path + "?id_token_hint=" + f.idToken(t, f.tenant.ID, f.bob, s.ID))
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `value="logout"`) || !live(t, b) {
				t.Errorf("status %d; want the confirmation page and the session kept", w.Code)
			}
		})

		t.Run("a hint for another session of the same user asks for confirmation", func(t *testing.T) {
			b := f.browser()
			b.signIn(f.alice)
			w := b.get(path + "?id_token_hint=" + f.idToken(t, f.tenant.ID, f.alice, "other-sid"))
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `value="logout"`) || !live(t, b) {
				t.Errorf("status %d; want the confirmation page and the session kept", w.Code)
			}
		})

		t.Run("without a session a valid hint is followed at once", func(t *testing.T) {
			hint := f.idToken(t, f.tenant.ID, f.alice, "ended-sid")
			w := f.browser().get(path + "?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://app.example.com/bye"}}.Encode())
			wantRedirect(t, w, "https://app.example.com/bye")
		})

		t.Run("without a session and without a hint the user confirms too", func(t *testing.T) {
			b := f.browser()
			w := b.get(path + "?" + url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {"https://app.example.com/bye"}}.Encode())
			if w.Code != http.StatusOK || w.Header().Get("Location") != "" || !strings.Contains(w.Body.String(), `value="logout"`) {
				t.Fatalf("status %d Location %q; want the confirmation page", w.Code, w.Header().Get("Location"))
			}
			m := csrfFieldRE.FindStringSubmatch(w.Body.String())
			if m == nil {
				t.Fatal("no CSRF token on the page")
			}
			wantRedirect(t, b.post(path, url.Values{"action": {"logout"}, "client_id": {"web"}, "csrf_token": {m[1]},
				"post_logout_redirect_uri": {"https://app.example.com/bye"}}), "https://app.example.com/bye")
		})

		bad := []struct {
			name   string
			params func(t *testing.T, sid string) url.Values
		}{
			{"an unregistered post_logout_redirect_uri is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {"https://evil.example/bye"}}
			}},
			{"a post_logout_redirect_uri with a trailing slash is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {"https://app.example.com/bye/"}}
			}},
			{"a post_logout_redirect_uri with an added query is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {"https://app.example.com/bye?next=https://evil.example"}}
			}},
			{"a login redirect URI is not a logout redirect URI", func(t *testing.T, sid string) url.Values {
				return url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {"https://app.example.com/cb"}}
			}},
			{"a post_logout_redirect_uri without a client is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"post_logout_redirect_uri": {"https://app.example.com/bye"}}
			}},
			{"an unknown client is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"client_id": {"nobody"}, "post_logout_redirect_uri": {"https://app.example.com/bye"}}
			}},
			{"a client_id that is not the hint's audience is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"client_id": {"spa"}, "id_token_hint": {f.idToken(t, f.tenant.ID, f.alice, sid)},
					"post_logout_redirect_uri": {"https://app.example.com/bye"}}
			}},
			{"a hint signed for another tenant is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"id_token_hint": {f.idToken(t, other, f.alice, sid)},
					"post_logout_redirect_uri": {"https://app.example.com/bye"}}
			}},
			{"a hint naming another issuer is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"id_token_hint": {f.idToken(t, f.tenant.ID, f.alice, sid, func(c map[string]any) {
					c["iss"] = "https://evil.example"
				})}, "post_logout_redirect_uri": {"https://app.example.com/bye"}}
			}},
			{"a tampered hint is refused", func(t *testing.T, sid string) url.Values {
				h := f.idToken(t, f.tenant.ID, f.alice, sid)
				return url.Values{"id_token_hint": {h[:len(h)-6] + "AAAAAA"}, "post_logout_redirect_uri": {"https://app.example.com/bye"}}
			}},
			{"an access token is not a hint", func(t *testing.T, sid string) url.Values {
				return url.Values{"id_token_hint": {f.accessToken(t, f.tenant.ID, f.alice.ID, "openid")},
					"post_logout_redirect_uri": {"https://app.example.com/bye"}}
			}},
			{"a hint that is not a JWT is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"id_token_hint": {"garbage"}}
			}},
			{"a repeated post_logout_redirect_uri is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {"https://app.example.com/bye", "https://evil.example"}}
			}},
			{"an oversized state is refused", func(t *testing.T, sid string) url.Values {
				return url.Values{"client_id": {"web"}, "state": {strings.Repeat("s", 600)}}
			}},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				b := f.browser()
				s := b.signIn(f.alice)
				w := b.get(path + "?" + tt.params(t, s.ID).Encode())
				if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
					t.Errorf("status %d Location %q; want a 400 page", w.Code, w.Header().Get("Location"))
				}
				if strings.Contains(w.Body.String(), "evil.example") {
					t.Error("the page echoes the attacker's URI")
				}
				if !live(t, b) {
					t.Error("a refused logout ended the session")
				}
			})
		}
	})
}
