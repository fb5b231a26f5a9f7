package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestAuthorizePost covers authorization requests sent as POST (OIDC Core §3.1.2.1): a client's
// auto-submitted form, which browsers send without SameSite=Lax cookies when it comes from another site.
func TestAuthorizePost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		path := "/t/" + f.tenant.ID + "/authorize"
		params := func(mods ...func(url.Values)) url.Values {
			return codeParams(append([]func(url.Values){set("client_id", "first"), set("redirect_uri", "https://first.example.com/cb")}, mods...)...)
		}
		// crossSite posts form as a page on another site makes the browser do it: without the Lax cookies.
		crossSite := func(form url.Values) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodPost, abs(path), strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Origin", "https://first.example.com")
			w := httptest.NewRecorder()
			f.handler.ServeHTTP(w, r)
			return w
		}

		for _, tt := range []struct {
			name   string
			params url.Values
		}{
			{"a cross-site POST is bounced to a GET that sees the SSO session", params()},
			{"a cross-site POST with prompt=none is answered from the SSO session", params(set("prompt", "none"))},
		} {
			t.Run(tt.name, func(t *testing.T) {
				b := f.browser()
				s := b.signIn(f.alice)
				w := crossSite(tt.params)
				if w.Code != http.StatusSeeOther {
					t.Fatalf("status %d Location %q; want 303 to the same request as a GET", w.Code, w.Header().Get("Location"))
				}
				if c := w.Result().Cookies(); len(c) != 0 {
					t.Errorf("the bounce sets cookies %v; the browser's own must stay", c)
				}
				u := location(t, w)
				if u.Scheme+"://"+u.Host+u.Path != abs(path) || u.Query().Encode() != tt.params.Encode() {
					t.Fatalf("bounced to %s, want %s?%s", u, abs(path), tt.params.Encode())
				}
				before := b.jar.Cookies(u)
				// The browser follows the 303 with a GET, a top-level navigation that carries Lax cookies.
				ac := f.code(t, b.get(u.String()), "https://first.example.com/cb", "xyz-state")
				if ac.SessionID != s.ID || ac.UserID != f.alice.ID {
					t.Errorf("code for session %s user %s, want the SSO session %s", ac.SessionID, ac.UserID, s.ID)
				}
				if after := b.jar.Cookies(u); len(after) != len(before) || !sameCookies(before, after) {
					t.Errorf("cookies changed from %v to %v", before, after)
				}
			})
		}

		t.Run("a same-site POST with the cookies is answered at once", func(t *testing.T) {
			b := f.browser()
			s := b.signIn(f.alice)
			b.get(path + "?" + params(set("prompt", "login")).Encode()) // sets umm_browser as a first visit does
			ac := f.code(t, b.post(path, params()), "https://first.example.com/cb", "xyz-state")
			if ac.SessionID != s.ID {
				t.Errorf("code for session %s, want %s", ac.SessionID, s.ID)
			}
		})

		t.Run("errors in a POST still go straight to the client", func(t *testing.T) {
			w := crossSite(params(set("response_type", "token")))
			if q := location(t, w).Query(); w.Code != http.StatusFound || q.Get("error") != "unsupported_response_type" {
				t.Errorf("status %d %v", w.Code, q)
			}
		})

		t.Run("a POST without a session is bounced once and then signs in", func(t *testing.T) {
			b := f.browser()
			w := b.post(path, params())
			if w.Code != http.StatusSeeOther {
				t.Fatalf("status %d", w.Code)
			}
			f.loginRequestID(t, b.get(location(t, w).String()))
		})
	})
}

func sameCookies(a, b []*http.Cookie) bool {
	m := map[string]string{}
	for _, c := range a {
		m[c.Name] = c.Value
	}
	for _, c := range b {
		if m[c.Name] != c.Value {
			return false
		}
	}
	return true
}
