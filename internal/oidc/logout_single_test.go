package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// addLogoutClient registers a client with logout URIs in the fixture's tenant.
func (f *fixture) addLogoutClient(t *testing.T, id string, mod func(*store.Client)) store.Client {
	t.Helper()
	c := store.Client{TenantID: f.tenant.ID, ClientID: id, Name: "Logout " + id, SecretHash: []byte("x"),
		GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: "client_secret_basic",
		RedirectURIs: []string{"https://" + id + ".example.com/cb"}, PostLogoutRedirectURIs: []string{"https://" + id + ".example.com/bye"}}
	mod(&c)
	if err := f.db.UpsertClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// signInWith signs user in and records that the clients received tokens in that session.
func (b *browser) signInWith(t *testing.T, user store.User, clients ...string) store.Session {
	t.Helper()
	s := b.signIn(user)
	for _, c := range clients {
		if err := b.f.sessions.AddClient(context.Background(), b.f.tenant.ID, s.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (f *fixture) sessionEnded(t *testing.T, sid string) bool {
	t.Helper()
	s, err := f.db.GetSession(context.Background(), f.tenant.ID, sid)
	if err != nil {
		t.Fatal(err)
	}
	return !s.EndedAt.IsZero()
}

// TestLogoutNeedsTheSessionCookie covers RP-initiated logout requests that arrive without the browser's
// session cookie, as a cross-site POST does (SameSite=Lax), and the server-side end of the session.
func TestLogoutNeedsTheSessionCookie(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		path := "/t/" + f.tenant.ID + "/logout"

		t.Run("a cross-site POST with a valid hint asks for confirmation and touches no cookie", func(t *testing.T) {
			b := f.browser()
			s := b.signIn(f.alice)
			r := httptest.NewRequest(http.MethodPost, abs(path), strings.NewReader(url.Values{
				"id_token_hint": {f.idToken(t, f.tenant.ID, f.alice, s.ID)}, "post_logout_redirect_uri": {"https://app.example.com/bye"},
			}.Encode())) // no cookies: the browser leaves Lax cookies out of a cross-site POST
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Origin", "https://app.example.com")
			w := httptest.NewRecorder()
			f.handler.ServeHTTP(w, r)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `value="logout"`) {
				t.Fatalf("status %d Location %q; want the confirmation page", w.Code, w.Header().Get("Location"))
			}
			for _, c := range w.Result().Cookies() {
				if c.Name == "umm_session" {
					t.Errorf("the response sets the session cookie %+v; it must leave it alone", c)
				}
			}
			if f.sessionEnded(t, s.ID) {
				t.Error("the session ended without confirmation")
			}
			// The person confirms on the page: a same-origin POST, which carries the cookie.
			m := csrfFieldRE.FindStringSubmatch(b.get(path + "?client_id=web").Body.String())
			if m == nil {
				t.Fatal("no CSRF token")
			}
			w = b.post(path, url.Values{"action": {"logout"}, "csrf_token": {m[1]}, "client_id": {"web"},
				"post_logout_redirect_uri": {"https://app.example.com/bye"}})
			if w.Code != http.StatusFound || w.Header().Get("Location") != "https://app.example.com/bye" {
				t.Fatalf("confirm: status %d Location %q", w.Code, w.Header().Get("Location"))
			}
			if !f.sessionEnded(t, s.ID) {
				t.Error("the session row is not ended after confirmation")
			}
		})

		t.Run("with the cookie and a valid hint the session row ends at once", func(t *testing.T) {
			b := f.browser()
			s := b.signIn(f.alice)
			w := b.post(path, url.Values{"id_token_hint": {f.idToken(t, f.tenant.ID, f.alice, s.ID)}})
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "signed out") {
				t.Fatalf("status %d; want the signed-out page", w.Code)
			}
			if !f.sessionEnded(t, s.ID) {
				t.Error("only the cookie was cleared: the session row lives on")
			}
			es, err := db.ListEvents(context.Background(), f.tenant.ID, 0, events.TypeSessionEnded, 1000)
			n := 0
			for _, e := range es {
				if e.Subject == s.ID {
					n++
				}
			}
			if err != nil || n != 1 {
				t.Errorf("%d session.ended events for %s (%v), want 1", n, s.ID, err)
			}
		})

		t.Run("an expired hint identifies the session but asks for confirmation", func(t *testing.T) {
			b := f.browser()
			s := b.signIn(f.alice)
			hint := f.idToken(t, f.tenant.ID, f.alice, s.ID, func(c map[string]any) { c["exp"] = f.now().Add(-time.Minute).Unix() })
			w := b.get(path + "?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://app.example.com/bye"}}.Encode())
			body := w.Body.String()
			if w.Code != http.StatusOK || !strings.Contains(body, `value="logout"`) || f.sessionEnded(t, s.ID) {
				t.Fatalf("status %d; want the confirmation page and the session kept", w.Code)
			}
			// The hint named the client, so the page offers its registered redirect.
			if !strings.Contains(body, `name="client_id" value="web"`) || !strings.Contains(body, `value="https://app.example.com/bye"`) {
				t.Errorf("the confirmation page lost the hint's client: %.600s", body)
			}
		})
	})
}

func TestFrontchannelLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		path := "/t/" + f.tenant.ID + "/logout"
		f.addLogoutClient(t, "fc1", func(c *store.Client) { c.FrontchannelLogoutURI = "https://fc1.example.com/fc?app=1" })
		f.addLogoutClient(t, "fc2", func(c *store.Client) {
			c.FrontchannelLogoutURI, c.FrontchannelLogoutSessionRequired = "https://fc2.example.com/logout", true
		})
		f.addLogoutClient(t, "fc3", func(c *store.Client) { c.FrontchannelLogoutURI = "https://fc3.example.com/unused" })

		b := f.browser()
		s := b.signInWith(t, f.alice, "fc1", "fc2", "web") // fc3 got no tokens in this session
		hint := f.idToken(t, f.tenant.ID, f.alice, s.ID, func(c map[string]any) { c["aud"] = "fc1" })
		w := b.get(path + "?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://fc1.example.com/bye"},
			"state": {"st"}}.Encode())
		if w.Code != http.StatusOK {
			t.Fatalf("status %d Location %q; want the signed-out page with the iframes first", w.Code, w.Header().Get("Location"))
		}
		body := html.UnescapeString(w.Body.String())
		iss := url.QueryEscape(testPublicURL + "/t/" + f.tenant.ID)
		for _, want := range []string{
			`src="https://fc1.example.com/fc?app=1&iss=` + iss + `&sid=` + s.ID + `"`,
			`src="https://fc2.example.com/logout?iss=` + iss + `&sid=` + s.ID + `"`,
			`href="https://fc1.example.com/bye?state=st"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %s:\n%s", want, body)
			}
		}
		if strings.Contains(body, "fc3.example.com") {
			t.Error("a client that got no tokens in the session is framed")
		}
		var frameSrc string
		for _, d := range strings.Split(w.Header().Get("Content-Security-Policy"), ";") {
			if d = strings.TrimSpace(d); strings.HasPrefix(d, "frame-src ") {
				frameSrc = d
			}
		}
		if frameSrc != "frame-src https://fc1.example.com/fc https://fc2.example.com/logout" {
			t.Errorf("CSP %q, want frame-src exactly the two logout URIs", frameSrc)
		}
		if !f.sessionEnded(t, s.ID) {
			t.Error("the session is not ended")
		}

		t.Run("without front-channel clients the redirect is immediate", func(t *testing.T) {
			b := f.browser()
			s := b.signInWith(t, f.alice, "web")
			w := b.get(path + "?" + url.Values{"id_token_hint": {f.idToken(t, f.tenant.ID, f.alice, s.ID)},
				"post_logout_redirect_uri": {"https://app.example.com/bye"}}.Encode())
			if w.Code != http.StatusFound || strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-src") {
				t.Errorf("status %d CSP %q; want a redirect and no frame-src", w.Code, w.Header().Get("Content-Security-Policy"))
			}
		})
	})
}

// receiver is a client's back-channel logout endpoint: it verifies each logout token against the
// provider's JWKS with go-jose and records the claims; fail makes it answer 503 that many times first.
type receiver struct {
	t    *testing.T
	f    *fixture
	srv  *httptest.Server
	mu   sync.Mutex
	fail int
	got  []map[string]any
	hits int
}

func newReceiver(t *testing.T, f *fixture, fail int) *receiver {
	rc := &receiver{t: t, f: f, fail: fail}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.hits++
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		rc.t.Errorf("Content-Type %q", ct)
	}
	claims, err := rc.verify(r.PostFormValue("logout_token"))
	if err != nil {
		rc.t.Errorf("logout token: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.got = append(rc.got, claims)
	w.WriteHeader(http.StatusOK)
}

// verify checks the token as a relying party does (Back-Channel Logout 1.0 §2.6).
func (rc *receiver) verify(tok string) (map[string]any, error) {
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return nil, err
	}
	if typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); typ != "logout+jwt" {
		return nil, errors.New("typ is " + typ)
	}
	body, err := rc.f.keys.JWKS(context.Background(), rc.f.tenant.ID)
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, err
	}
	keys := set.Key(jws.Signatures[0].Protected.KeyID)
	if len(keys) != 1 {
		return nil, errors.New("kid not in the JWKS")
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, err
	}
	var c map[string]any
	return c, json.Unmarshal(payload, &c)
}

func (rc *receiver) received() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]any(nil), rc.got...)
}

func TestBackchannelLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		path := "/t/" + f.tenant.ID + "/logout"
		// The outbox runs ahead of the provider's clock by shift, to reach retries without waiting.
		var shift time.Duration
		clock := func() time.Time { return f.now().Add(shift) }
		outbox := events.NewOutbox(db, nil, map[string]events.Deliverer{events.KindBackchannelLogout: f.p.DeliverBackchannelLogout})
		outbox.Now = clock
		drain := func(t *testing.T) {
			t.Helper()
			if _, err := outbox.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		ok := newReceiver(t, f, 0)
		f.addLogoutClient(t, "bc", func(c *store.Client) {
			c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired = ok.srv.URL+"/backchannel", true
		})
		f.addLogoutClient(t, "bces", func(c *store.Client) {
			c.BackchannelLogoutURI, c.IDTokenAlg = ok.srv.URL+"/es", "ES256"
		})

		t.Run("an RP-initiated logout sends each client of the session a verifiable logout token", func(t *testing.T) {
			b := f.browser()
			s := b.signInWith(t, f.alice, "bc", "bces", "web")
			hint := f.idToken(t, f.tenant.ID, f.alice, s.ID, func(c map[string]any) { c["aud"] = "bc" })
			if w := b.get(path + "?id_token_hint=" + hint); w.Code != http.StatusOK || !f.sessionEnded(t, s.ID) {
				t.Fatalf("status %d; want the session ended", w.Code)
			}
			ms, err := db.ListOutbox(ctx, f.tenant.ID)
			if err != nil || len(ms) != 2 {
				t.Fatalf("outbox %+v, %v; want one message per client with a backchannel_logout_uri", ms, err)
			}
			drain(t)
			got := ok.received()
			if len(got) != 2 {
				t.Fatalf("received %d tokens, want 2", len(got))
			}
			auds := map[string]bool{}
			for _, c := range got {
				auds[c["aud"].(string)] = true
				if c["iss"] != testPublicURL+"/t/"+f.tenant.ID || c["sub"] != f.alice.ID || c["sid"] != s.ID {
					t.Errorf("claims %v: want iss, sub and sid of the session", c)
				}
				ev, _ := c["events"].(map[string]any)
				if _, has := ev["http://schemas.openid.net/event/backchannel-logout"]; !has || len(ev) != 1 {
					t.Errorf("events %v", c["events"])
				}
				if _, has := c["nonce"]; has {
					t.Error("a logout token must not carry a nonce")
				}
				iat, exp := int64(c["iat"].(float64)), int64(c["exp"].(float64))
				if d := f.now().Unix() - iat; d < 0 || d > 60 || exp <= iat || exp > iat+300 || c["jti"] == "" {
					t.Errorf("iat %d exp %d jti %v", iat, exp, c["jti"])
				}
			}
			if !auds["bc"] || !auds["bces"] {
				t.Errorf("audiences %v, want bc and bces", auds)
			}
			if ms, _ := db.ListOutbox(ctx, f.tenant.ID); len(ms) != 0 {
				t.Errorf("delivered messages remain: %+v", ms)
			}
		})

		t.Run("a failing receiver gets retries and then succeeds", func(t *testing.T) {
			flaky := newReceiver(t, f, 2)
			f.addLogoutClient(t, "flaky", func(c *store.Client) { c.BackchannelLogoutURI = flaky.srv.URL + "/bc" })
			s := f.browser().signInWith(t, f.bob, "flaky")
			if err := f.sessions.EndByID(ctx, f.tenant.ID, f.bob.ID, s.ID, f.bob.ID); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				drain(t)
				shift += outbox.MaxDelay
			}
			if got := flaky.received(); len(got) != 1 || got[0]["sid"] != s.ID || flaky.hits != 3 {
				t.Errorf("received %v after %d requests; want one token on the third", got, flaky.hits)
			}
		})

		t.Run("an operator disabling the user notifies the clients of every session", func(t *testing.T) {
			before := len(ok.received())
			u := f.createUser("carol@example.com", "", "", true, nil)
			s1 := f.browser().signInWith(t, u, "bc")
			s2 := f.browser().signInWith(t, u, "bc")
			if err := f.identity.SetDisabled(ctx, f.tenant.ID, u.ID, true, "cli"); err != nil {
				t.Fatal(err)
			}
			drain(t)
			sids := map[any]bool{}
			for _, c := range ok.received()[before:] {
				sids[c["sid"]] = c["sub"] == u.ID
			}
			if len(sids) != 2 || !sids[s1.ID] || !sids[s2.ID] {
				t.Errorf("tokens for sessions %v, want %s and %s", sids, s1.ID, s2.ID)
			}
		})

		t.Run("ending every session from the account page notifies too", func(t *testing.T) {
			before := len(ok.received())
			u := f.createUser("dave@example.com", "", "", true, nil)
			s := f.browser().signInWith(t, u, "bc")
			if err := f.sessions.EndAll(ctx, f.tenant.ID, u.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			drain(t)
			if got := ok.received()[before:]; len(got) != 1 || got[0]["sid"] != s.ID {
				t.Errorf("received %v, want one token for %s", got, s.ID)
			}
		})

		t.Run("a message for a deleted client is given up", func(t *testing.T) {
			f.addLogoutClient(t, "gone", func(c *store.Client) { c.BackchannelLogoutURI = ok.srv.URL + "/gone" })
			s := f.browser().signInWith(t, f.bob, "gone")
			if err := f.sessions.EndByID(ctx, f.tenant.ID, f.bob.ID, s.ID, f.bob.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := db.DeleteClient(ctx, f.tenant.ID, "gone"); err != nil {
				t.Fatal(err)
			}
			drain(t)
			es, err := db.ListEvents(ctx, f.tenant.ID, 0, events.TypeOutboxFailed, 100)
			if err != nil || len(es) != 1 || es[0].ClientID != "gone" {
				t.Errorf("failed events %+v, %v; want one for client gone", es, err)
			}
		})
	})
}
