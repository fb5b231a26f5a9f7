package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is one tenant with lifetimes of 10 minutes idle and one hour absolute, one user, a Manager on a
// test clock and a browser (a cookie map).
type fixture struct {
	db      *store.DB
	m       *Manager
	clk     *clock
	tenant  store.Tenant
	user    string
	cookies map[string]*http.Cookie
}

func newFixture(t *testing.T, db *store.DB, secure bool) *fixture {
	t.Helper()
	ctx := context.Background()
	tid := storetest.Tenant(t, db)
	tenant, err := db.GetTenant(ctx, tid)
	if err != nil {
		t.Fatal(err)
	}
	tenant.Settings = store.TenantSettings{SessionIdle: 600, SessionAbsolute: 3600}
	if err := db.UpdateTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	m := New(db, secure, nil)
	m.Now = clk.Now
	f := &fixture{db: db, m: m, clk: clk, tenant: tenant, cookies: map[string]*http.Cookie{}}
	f.user = f.addUser(t, "mia@example.com")
	return f
}

func (f *fixture) addUser(t *testing.T, email string) string {
	t.Helper()
	id := keys.NewID()
	if err := f.db.CreateUser(context.Background(), store.User{TenantID: f.tenant.ID, ID: id, Email: email, EmailNorm: email}); err != nil {
		t.Fatal(err)
	}
	return id
}

// request builds a request from the browser, carrying its cookies.
func (f *fixture) request() *http.Request {
	r := httptest.NewRequest("GET", "https://id.example.com/t/"+f.tenant.ID+"/login", nil)
	r.RemoteAddr = "192.0.2.44:51000"
	r.Header.Set("User-Agent", "test-browser/1.0")
	for _, c := range f.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// keep stores the cookies a response set, as a browser would.
func (f *fixture) keep(w *httptest.ResponseRecorder) []*http.Cookie {
	cs := w.Result().Cookies()
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(f.cookies, c.Name)
		} else {
			f.cookies[c.Name] = c
		}
	}
	return cs
}

func (f *fixture) start(t *testing.T, userID string) store.Session {
	t.Helper()
	w := httptest.NewRecorder()
	s, err := f.m.Start(context.Background(), w, f.request(), f.tenant, userID, []string{"pwd"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.keep(w)
	return s
}

func (f *fixture) current(t *testing.T) (store.Session, bool) {
	t.Helper()
	s, ok, err := f.m.Current(context.Background(), f.request(), f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	return s, ok
}

func types(t *testing.T, db *store.DB, tenantID string) []string {
	t.Helper()
	evs, err := db.ListEvents(context.Background(), tenantID, 0, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestStartSetsARandomCookieAndStoresOnlyItsHash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, secure := range []bool{true, false} {
			f := newFixture(t, db, secure)
			w := httptest.NewRecorder()
			var inTxSession store.Session
			s, err := f.m.Start(context.Background(), w, f.request(), f.tenant, f.user, []string{"pwd"}, "urn:umm:pwd",
				func(tx *store.Tx, s store.Session) error { inTxSession = s; return nil })
			if err != nil {
				t.Fatal(err)
			}
			cs := w.Result().Cookies()
			if len(cs) != 1 || cs[0].Name != CookieName {
				t.Fatalf("cookies = %v, want one %s", cs, CookieName)
			}
			c := cs[0]
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/t/"+f.tenant.ID+"/" || c.Secure != secure || len(c.Value) != 43 {
				t.Fatalf("cookie %+v: want HttpOnly, SameSite=Lax, Path /t/%s/, Secure=%v, a 43-character token", c, f.tenant.ID, secure)
			}
			got, err := db.GetSessionByToken(context.Background(), f.tenant.ID, keys.HashToken(c.Value))
			if err != nil || got.ID != s.ID || got.UserID != f.user || !slices.Equal(got.AMR, []string{"pwd"}) || got.ACR != "urn:umm:pwd" {
				t.Fatalf("stored session %+v, %v", got, err)
			}
			if got.ID == c.Value || inTxSession.ID != s.ID || got.IP != "192.0.2.44" || got.UserAgent != "test-browser/1.0" {
				t.Fatalf("session %+v (inTx saw %s)", got, inTxSession.ID)
			}
			if !got.AuthTime.Equal(f.clk.Now()) || !got.IdleExpiresAt.Equal(f.clk.Now().Add(10*time.Minute)) ||
				!got.ExpiresAt.Equal(f.clk.Now().Add(time.Hour)) {
				t.Fatalf("times %+v: want the tenant's lifetimes from now", got)
			}
			if want := []string{events.TypeSessionStarted, events.TypeLoginSucceeded}; !slices.Equal(types(t, db, f.tenant.ID), want) {
				t.Fatalf("events = %v, want %v", types(t, db, f.tenant.ID), want)
			}
		}
	})
}

func TestCurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, true)
		s := f.start(t, f.user)
		tests := []struct {
			name   string
			mutate func(r *http.Request) (*http.Request, store.Tenant)
			want   bool
		}{
			{"the browser's cookie finds its session", func(r *http.Request) (*http.Request, store.Tenant) { return r, f.tenant }, true},
			{"no cookie is no session", func(r *http.Request) (*http.Request, store.Tenant) {
				return httptest.NewRequest("GET", "/", nil), f.tenant
			}, false},
			{"a forged cookie is no session", func(r *http.Request) (*http.Request, store.Tenant) {
				r2 := httptest.NewRequest("GET", "/", nil)
				r2.AddCookie(&http.Cookie{Name: CookieName, Value: keys.NewToken()})
				return r2, f.tenant
			}, false},
			{"the session id as cookie is no session", func(r *http.Request) (*http.Request, store.Tenant) {
				r2 := httptest.NewRequest("GET", "/", nil)
				r2.AddCookie(&http.Cookie{Name: CookieName, Value: s.ID})
				return r2, f.tenant
			}, false},
			{"the cookie is no session in another tenant", func(r *http.Request) (*http.Request, store.Tenant) {
				other, _ := db.GetTenant(context.Background(), storetest.Tenant(t, db))
				return r, other
			}, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r, tenant := tt.mutate(f.request())
				got, ok, err := f.m.Current(context.Background(), r, tenant)
				if err != nil || ok != tt.want || (ok && got.ID != s.ID) {
					t.Fatalf("Current = %s, %v, %v; want %v", got.ID, ok, err, tt.want)
				}
			})
		}
	})
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t.Run("activity slides the idle expiry, writing at most once a minute", func(t *testing.T) {
			f := newFixture(t, db, true)
			s := f.start(t, f.user)
			f.clk.Advance(30 * time.Second)
			if _, ok := f.current(t); !ok {
				t.Fatal("session not live after 30s")
			}
			if got, _ := db.GetSession(ctx, f.tenant.ID, s.ID); !got.LastSeenAt.Equal(s.LastSeenAt) {
				t.Fatal("a request within the first minute wrote the session")
			}
			f.clk.Advance(9 * time.Minute) // 9m30s after the start, 30s before the idle expiry
			if _, ok := f.current(t); !ok {
				t.Fatal("session not live before its idle expiry")
			}
			got, _ := db.GetSession(ctx, f.tenant.ID, s.ID)
			if !got.LastSeenAt.Equal(f.clk.Now()) || !got.IdleExpiresAt.Equal(f.clk.Now().Add(10*time.Minute)) {
				t.Fatalf("after activity: last seen %v, idle expiry %v; want now and now+10m", got.LastSeenAt, got.IdleExpiresAt)
			}
			f.clk.Advance(9 * time.Minute) // past the original idle expiry
			if _, ok := f.current(t); !ok {
				t.Fatal("the slid session expired at its original idle expiry")
			}
			f.clk.Advance(10 * time.Minute)
			if _, ok := f.current(t); ok {
				t.Fatal("session live after 10 idle minutes")
			}
		})
		t.Run("the absolute lifetime ends even an active session", func(t *testing.T) {
			f := newFixture(t, db, true)
			f.start(t, f.user)
			for range 7 { // 7 * 8m = 56m, always active
				f.clk.Advance(8 * time.Minute)
				s, ok := f.current(t)
				if !ok {
					t.Fatalf("active session expired early at %v", f.clk.Now())
				}
				if s.IdleExpiresAt.After(s.ExpiresAt) {
					t.Fatalf("idle expiry %v slid past the absolute expiry %v", s.IdleExpiresAt, s.ExpiresAt)
				}
			}
			f.clk.Advance(4 * time.Minute) // 60m
			if _, ok := f.current(t); ok {
				t.Fatal("session live at its absolute expiry")
			}
		})
		t.Run("shortening the tenant's lifetime applies to existing sessions", func(t *testing.T) {
			f := newFixture(t, db, true)
			f.start(t, f.user)
			f.clk.Advance(5 * time.Minute)
			f.tenant.Settings.SessionIdle = 120
			if _, ok := f.current(t); ok {
				t.Fatal("session live 5 minutes idle under a 2-minute idle lifetime")
			}
		})
	})
}

func TestStartRotatesAndEndsThePreviousSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, true)
		first := f.start(t, f.user)
		oldCookie := f.cookies[CookieName].Value
		other := f.addUser(t, "noah@example.com")
		second := f.start(t, other) // another user signs in in the same browser
		if second.ID == first.ID || f.cookies[CookieName].Value == oldCookie {
			t.Fatal("the new session reuses the old id or cookie")
		}
		if got, _ := db.GetSession(ctx, f.tenant.ID, first.ID); got.EndedAt.IsZero() {
			t.Fatal("the previous session is still live")
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: oldCookie})
		if _, ok, _ := f.m.Current(ctx, r, f.tenant); ok {
			t.Fatal("the old cookie still finds a session")
		}
		if s, ok := f.current(t); !ok || s.ID != second.ID || s.UserID != other {
			t.Fatalf("current = %+v, %v; want the new session", s, ok)
		}
		ended, _ := db.ListEvents(ctx, f.tenant.ID, 0, events.TypeSessionEnded, 10)
		if len(ended) != 1 || ended[0].Subject != first.ID || ended[0].Data["reason"] != events.ReasonReplaced {
			t.Fatalf("session.ended events = %+v", ended)
		}
	})
}

func TestStartRollsBackWithTheCallersTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, true)
		first := f.start(t, f.user)
		before := types(t, db, f.tenant.ID)
		boom := errors.New("boom")
		w := httptest.NewRecorder()
		_, err := f.m.Start(ctx, w, f.request(), f.tenant, f.user, []string{"pwd"}, "", func(tx *store.Tx, s store.Session) error {
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		if len(w.Result().Cookies()) != 0 {
			t.Fatal("a failed start set a cookie")
		}
		if got := types(t, db, f.tenant.ID); !slices.Equal(got, before) {
			t.Fatalf("events after the failed start = %v, want unchanged %v", got, before)
		}
		if s, ok := f.current(t); !ok || s.ID != first.ID {
			t.Fatal("the failed start ended the previous session")
		}
		live, _ := f.m.List(ctx, f.tenant.ID, f.user)
		if len(live) != 1 {
			t.Fatalf("%d live sessions, want 1", len(live))
		}
		if u, _ := db.GetUser(ctx, f.tenant.ID, f.user); u.SignIns != 1 {
			t.Fatalf("sign-ins = %d after one start and one failed start, want 1", u.SignIns)
		}
	})
}

func TestStartCountsSignIns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, true)
		other := f.addUser(t, "noah@example.com")
		f.start(t, f.user)
		f.start(t, f.user)
		f.start(t, other)
		if _, ok := f.current(t); !ok { // reusing a session is no sign-in
			t.Fatal("no current session")
		}
		for id, want := range map[string]int{f.user: 2, other: 1} {
			if u, _ := db.GetUser(ctx, f.tenant.ID, id); u.SignIns != want {
				t.Errorf("user %s: sign-ins = %d, want %d", id, u.SignIns, want)
			}
		}
		w := httptest.NewRecorder()
		if _, err := f.m.Start(ctx, w, f.request(), f.tenant, "nobody", []string{"pwd"}, "", nil); err == nil {
			t.Fatal("a session started for an unknown user")
		}
	})
}

func TestEnding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t.Run("End ends the browser's session and clears the cookie", func(t *testing.T) {
			f := newFixture(t, db, true)
			s := f.start(t, f.user)
			w := httptest.NewRecorder()
			ended, ok, err := f.m.End(ctx, w, f.request(), f.tenant.ID)
			if err != nil || !ok || ended.ID != s.ID || ended.EndedAt.IsZero() {
				t.Fatalf("End = %+v, %v, %v", ended, ok, err)
			}
			cs := w.Result().Cookies()
			if len(cs) != 1 || cs[0].Name != CookieName || cs[0].MaxAge >= 0 || cs[0].Path != "/t/"+f.tenant.ID+"/" {
				t.Fatalf("cookies = %+v, want %s cleared", cs, CookieName)
			}
			if _, ok := f.current(t); ok {
				t.Fatal("the session is live after End")
			}
			if _, ok, err := f.m.End(ctx, httptest.NewRecorder(), f.request(), f.tenant.ID); ok || err != nil {
				t.Fatalf("ending again = %v, %v; want false", ok, err)
			}
			f.keep(w)
			if _, ok, err := f.m.End(ctx, httptest.NewRecorder(), f.request(), f.tenant.ID); ok || err != nil {
				t.Fatalf("ending without a cookie = %v, %v; want false", ok, err)
			}
			evs, _ := db.ListEvents(ctx, f.tenant.ID, 0, events.TypeSessionEnded, 10)
			if len(evs) != 1 || evs[0].Data["reason"] != events.ReasonLogout || evs[0].Actor != f.user {
				t.Fatalf("session.ended = %+v", evs)
			}
		})
		t.Run("EndByID ends one session of the user and no one else's", func(t *testing.T) {
			f := newFixture(t, db, true)
			s := f.start(t, f.user)
			other := f.addUser(t, "olga@example.com")
			if err := f.m.EndByID(ctx, f.tenant.ID, other, s.ID, other); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("ending another user's session: %v, want ErrNotFound", err)
			}
			if _, ok := f.current(t); !ok {
				t.Fatal("another user ended the session")
			}
			if err := f.m.EndByID(ctx, f.tenant.ID, f.user, s.ID, "admin:root"); err != nil {
				t.Fatal(err)
			}
			if _, ok := f.current(t); ok {
				t.Fatal("session live after EndByID")
			}
			if err := f.m.EndByID(ctx, f.tenant.ID, f.user, s.ID, "admin:root"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("ending twice: %v, want ErrNotFound", err)
			}
		})
		t.Run("EndAll ends every session of the user, one event each", func(t *testing.T) {
			f := newFixture(t, db, true)
			var sids []string
			for range 3 {
				f.cookies = map[string]*http.Cookie{} // three browsers
				sids = append(sids, f.start(t, f.user).ID)
			}
			other := f.addUser(t, "pia@example.com")
			f.cookies = map[string]*http.Cookie{}
			keep := f.start(t, other)
			live, err := f.m.List(ctx, f.tenant.ID, f.user)
			if err != nil || len(live) != 3 {
				t.Fatalf("List = %d sessions, %v; want 3", len(live), err)
			}
			if err := f.m.EndAll(ctx, f.tenant.ID, f.user, f.user); err != nil {
				t.Fatal(err)
			}
			if live, _ := f.m.List(ctx, f.tenant.ID, f.user); len(live) != 0 {
				t.Fatalf("%d sessions live after EndAll", len(live))
			}
			if s, ok := f.current(t); !ok || s.ID != keep.ID {
				t.Fatal("EndAll ended another user's session")
			}
			evs, _ := db.ListEvents(ctx, f.tenant.ID, 0, events.TypeSessionEnded, 10)
			var got []string
			for _, e := range evs {
				got = append(got, e.Subject)
			}
			slices.Sort(got)
			slices.Sort(sids)
			if !slices.Equal(got, sids) {
				t.Fatalf("session.ended subjects = %v, want %v", got, sids)
			}
		})
	})
}

func TestSessionClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, true)
		s := f.start(t, f.user)
		for _, c := range []string{"web", "cli", "web"} {
			if err := f.m.AddClient(ctx, f.tenant.ID, s.ID, c); err != nil {
				t.Fatal(err)
			}
		}
		got, err := f.m.Clients(ctx, f.tenant.ID, s.ID)
		if err != nil || !slices.Equal(got, []string{"cli", "web"}) {
			t.Fatalf("Clients = %v, %v; want [cli web] once each", got, err)
		}
	})
}

// TestSigningInAgainKeepsTheSAMLApps: a person who signs in again in the same browser (ForceAuthn,
// prompt=login) stays signed in to the SAML apps of the replaced session, so the new session records them,
// dated before it began; OpenID Connect clients (logged out by the back channel) and another person's
// apps are not carried over.
func TestSigningInAgainKeepsTheSAMLApps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, true)
		first := f.start(t, f.user)
		for _, c := range []string{"web", "saml:https://sp.example/a"} {
			if err := f.m.AddClient(ctx, f.tenant.ID, first.ID, c); err != nil {
				t.Fatal(err)
			}
		}
		second := f.start(t, f.user) // within the same second as the app's sign-in
		got, err := db.SessionClientTimes(ctx, f.tenant.ID, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got["saml:https://sp.example/a"].Before(second.CreatedAt) {
			t.Fatalf("clients of the new session = %v, want only the SAML app, dated before %v", got, second.CreatedAt)
		}
		f.clk.Advance(time.Minute)
		if err := f.m.AddClient(ctx, f.tenant.ID, second.ID, "saml:https://sp.example/b"); err != nil {
			t.Fatal(err)
		}
		third := f.start(t, f.addUser(t, "noah@example.com")) // another person signs in in this browser
		if got, err := f.m.Clients(ctx, f.tenant.ID, third.ID); err != nil || len(got) != 0 {
			t.Fatalf("another person's session inherits %v, %v", got, err)
		}
	})
}

func TestBrowserHash(t *testing.T) {
	db := storetest.Open(t)
	m := New(db, true, nil)
	t.Run("a browser without the cookie gets one, and the same request sees the same hash", func(t *testing.T) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/t/acme/authorize", nil)
		h1 := m.BrowserHash(w, r, "acme")
		h2 := m.BrowserHash(w, r, "acme")
		cs := w.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("%d cookies set, want 1", len(cs))
		}
		c := cs[0]
		if c.Name != BrowserCookieName || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/t/acme/" ||
			c.MaxAge < 30*24*3600 {
			t.Fatalf("cookie %+v", c)
		}
		if string(h1) != string(h2) || string(h1) != string(keys.HashToken(c.Value)) {
			t.Fatal("the hash is not the hash of the cookie, or changed within the request")
		}
		t.Run("the next request with the cookie gets the same hash and no new cookie", func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/t/acme/authorize/resume", nil)
			r.AddCookie(&http.Cookie{Name: BrowserCookieName, Value: c.Value})
			if h := m.BrowserHash(w, r, "acme"); string(h) != string(h1) || len(w.Result().Cookies()) != 0 {
				t.Fatal("a returning browser got another identity")
			}
		})
		t.Run("another browser gets another hash", func(t *testing.T) {
			if h := m.BrowserHash(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), "acme"); string(h) == string(h1) {
				t.Fatal("two browsers share a hash")
			}
		})
	})
}
