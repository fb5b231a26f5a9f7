package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Cookie names.
const (
	CookieName        = "umm_session"
	BrowserCookieName = "umm_browser"
)

// touchEvery is the most often a session's idle expiry is written: at most one write per session per
// period, whatever the request rate and the number of nodes.
const touchEvery = time.Minute

// browserCookieLife is the lifetime of the umm_browser cookie (it identifies the browser, not the user).
const browserCookieLife = 400 * 24 * time.Hour // the maximum browsers accept (RFC 6265bis)

// maxUserAgent bounds the stored User-Agent in bytes.
const maxUserAgent = 512

// Manager starts, finds and ends browser sessions. It is safe for concurrent use.
type Manager struct {
	// Now is the clock (time.Now by default); tests replace it before use.
	Now func() time.Time
	// ClientIP returns the client address of a request (server sets web.ClientIP, which honours trusted
	// proxies); by default the host of r.RemoteAddr.
	ClientIP func(r *http.Request) string

	db     *store.DB
	secure bool
	log    *slog.Logger
}

// New returns a Manager. secure marks cookies Secure (set it when the public URL is https).
func New(db *store.DB, secure bool, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{Now: time.Now, ClientIP: remoteHost, db: db, secure: secure, log: log}
}

func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// cookiePath scopes cookies to one tenant's routes.
func cookiePath(tenantID string) string { return "/t/" + tenantID + "/" }

// tokenHash returns the hash of the request's session cookie, or nil when there is none.
func tokenHash(r *http.Request) []byte {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	return keys.HashToken(c.Value)
}

// valid reports whether s is live at now under the tenant's current lifetimes. The stored expiries are
// checked, and so are the lifetimes as configured now, so that shortening a tenant's lifetimes takes effect
// on existing sessions at once.
func valid(s store.Session, settings store.TenantSettings, now time.Time) bool {
	return s.EndedAt.IsZero() &&
		now.Before(s.IdleExpiresAt) && now.Before(s.ExpiresAt) &&
		now.Before(s.LastSeenAt.Add(settings.SessionIdleD())) && now.Before(s.CreatedAt.Add(settings.SessionAbsoluteD()))
}

// Current returns the browser's session when it is live (not ended, within the idle and absolute
// lifetimes), and false otherwise. It slides the idle expiry, writing at most once a minute per session.
func (m *Manager) Current(ctx context.Context, r *http.Request, tenant store.Tenant) (store.Session, bool, error) {
	h := tokenHash(r)
	if h == nil {
		return store.Session{}, false, nil
	}
	s, err := m.db.GetSessionByToken(ctx, tenant.ID, h)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, false, nil
	}
	if err != nil {
		return store.Session{}, false, fmt.Errorf("current session: %w", err)
	}
	now := m.Now()
	if !valid(s, tenant.Settings, now) {
		return store.Session{}, false, nil
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		idle := now.Add(tenant.Settings.SessionIdleD())
		if idle.After(s.ExpiresAt) {
			idle = s.ExpiresAt
		}
		ok, err := m.db.TouchSession(ctx, tenant.ID, s.ID, now, idle, now.Add(-touchEvery))
		if err != nil {
			return store.Session{}, false, fmt.Errorf("current session: %w", err)
		}
		if ok {
			s.LastSeenAt, s.IdleExpiresAt = time.Unix(now.Unix(), 0), time.Unix(idle.Unix(), 0)
		}
	}
	return s, true, nil
}

// Start signs the user in on this browser: it ends the browser's previous session (if its cookie names
// one), creates a new session with a new id and a new cookie token (rotation at every sign-in, so a cookie
// planted before sign-in is worthless after it), appends session.started and login.succeeded, counts the sign-in (users.sign_ins), and runs
// inTx (may be nil) in the same transaction; any error rolls all of it back and sets no cookie.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, tenant store.Tenant, userID string,
	amr []string, acr string, inTx func(tx *store.Tx, s store.Session) error) (store.Session, error) {
	return m.StartAfter(ctx, w, r, tenant, userID, amr, acr, nil, inTx)
}

// StartAfter is Start with before (may be nil) run first in the same transaction: it creates the account
// the session belongs to (an accepted invitation), so the account and its first session commit together.
func (m *Manager) StartAfter(ctx context.Context, w http.ResponseWriter, r *http.Request, tenant store.Tenant, userID string,
	amr []string, acr string, before func(tx *store.Tx) error, inTx func(tx *store.Tx, s store.Session) error) (store.Session, error) {
	now := m.Now()
	return m.start(ctx, w, r, tenant, userID, Factors(now, amr...), amr, acr, now, before, inTx)
}

// StartProven is StartAfter for a sign-in that proved factors (methods with their times): the session's
// amr and acr are derived from them (Assurance).
func (m *Manager) StartProven(ctx context.Context, w http.ResponseWriter, r *http.Request, tenant store.Tenant, userID string,
	factors store.SessionFactors, before func(tx *store.Tx) error, inTx func(tx *store.Tx, s store.Session) error) (store.Session, error) {
	amr, acr := Assurance(factors)
	return m.start(ctx, w, r, tenant, userID, factors, amr, acr, m.Now(), before, inTx)
}

// StepUp records that the browser's live session s proved more factors (a second factor, or a stronger
// one asked for by acr_values or max_age): its factors grow, amr and acr follow, and auth_time becomes
// now, since the user just authenticated. inTx (may be nil) runs in the same transaction. The session
// keeps its id and cookie: nothing the browser held before is worth more than it was, except to this user.
func (m *Manager) StepUp(ctx context.Context, tenant store.Tenant, s store.Session, add store.SessionFactors,
	inTx func(tx *store.Tx, s store.Session) error) (store.Session, error) {
	now := m.Now()
	s.Factors = Merge(SessionFactorsOf(s), add)
	s.AMR, s.ACR = Assurance(s.Factors)
	s.AuthTime = time.Unix(now.Unix(), 0)
	err := m.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateSessionAuth(ctx, s); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.SessionSteppedUp(tenant.ID, s.UserID, s.ID, s.AMR, s.ACR), now)); err != nil {
			return err
		}
		if inTx != nil {
			return inTx(tx, s)
		}
		return nil
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("step up: %w", err)
	}
	return s, nil
}

func (m *Manager) start(ctx context.Context, w http.ResponseWriter, r *http.Request, tenant store.Tenant, userID string,
	factors store.SessionFactors, amr []string, acr string, now time.Time, before func(tx *store.Tx) error,
	inTx func(tx *store.Tx, s store.Session) error) (store.Session, error) {
	ip := m.ClientIP(r)
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	if amr == nil {
		amr = []string{}
	}
	token := keys.NewToken()
	sec := time.Unix(now.Unix(), 0) // the store keeps seconds; return what a later read returns
	s := store.Session{TenantID: tenant.ID, ID: keys.NewID(), UserID: userID, AuthTime: sec, AMR: amr, ACR: acr, Factors: factors,
		UserAgent: ua, IP: ip, CreatedAt: sec, LastSeenAt: sec,
		IdleExpiresAt: sec.Add(tenant.Settings.SessionIdleD()), ExpiresAt: sec.Add(tenant.Settings.SessionAbsoluteD())}
	if s.IdleExpiresAt.After(s.ExpiresAt) {
		s.IdleExpiresAt = s.ExpiresAt
	}
	old := tokenHash(r)
	err := m.db.InTx(ctx, func(tx *store.Tx) error {
		replaced := "" // the same person's session this one replaces, if any
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		if old != nil {
			prev, err := tx.GetSessionByToken(ctx, tenant.ID, old)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			case prev.EndedAt.IsZero():
				if err := tx.EndSession(ctx, tenant.ID, prev.ID, now); err != nil {
					return err
				}
				if prev.UserID == userID {
					replaced = prev.ID
				}
				if err := tx.AppendEvent(ctx, at(events.SessionEnded(tenant.ID, prev.UserID, prev.ID, userID, events.ReasonReplaced), now)); err != nil {
					return err
				}
				if err := events.EnqueueSessionLogout(ctx, tx, tenant.ID, prev.UserID, prev.ID, now); err != nil {
					return err
				}
			}
		}
		if err := tx.CreateSession(ctx, s, keys.HashToken(token)); err != nil {
			return err
		}
		if replaced != "" {
			// Signing in again (ForceAuthn, prompt=login) replaces the session, but the SAML apps the
			// person signed in to with the old one keep their own sessions: UMM has no back channel to
			// end them, so the new session inherits them and single logout still reaches them.
			// (OpenID Connect clients of the old session get their back-channel logout above.)
			if err := tx.CarrySessionClients(ctx, tenant.ID, replaced, s.ID, "saml:", s.CreatedAt); err != nil {
				return err
			}
		}
		if err := tx.AppendEvent(ctx, at(events.SessionStarted(tenant.ID, userID, s.ID, ip), now)); err != nil {
			return err
		}
		ok := events.LoginSucceeded(tenant.ID, userID, s.ID, ip, amr, acr)
		if via := ViaFrom(ctx); via != "" {
			ok.Data["connection"] = via
		}
		if err := tx.AppendEvent(ctx, at(ok, now)); err != nil {
			return err
		}
		// Every started session is one sign-in of the user (progressive profiling counts them).
		if err := tx.CountSignIn(ctx, tenant.ID, userID); err != nil {
			return err
		}
		if inTx != nil {
			return inTx(tx, s)
		}
		return nil
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("start session: %w", err)
	}
	// A session cookie (no Max-Age): the server-side lifetimes decide; closing the browser also ends it.
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: cookiePath(tenant.ID), HttpOnly: true,
		Secure: m.secure, SameSite: http.SameSiteLaxMode})
	return s, nil
}

// End ends the browser's current session (logout) and clears the cookie. It returns the session that was
// ended and true, or false when the browser had no live session (the cookie is cleared anyway).
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request, tenantID string) (store.Session, bool, error) {
	m.clearCookie(w, tenantID)
	h := tokenHash(r)
	if h == nil {
		return store.Session{}, false, nil
	}
	var ended store.Session
	err := m.db.InTx(ctx, func(tx *store.Tx) error {
		s, err := tx.GetSessionByToken(ctx, tenantID, h)
		if err != nil {
			return err
		}
		now := m.Now()
		if err := tx.EndSession(ctx, tenantID, s.ID, now); err != nil {
			return err
		}
		s.EndedAt = time.Unix(now.Unix(), 0)
		ended = s
		if err := tx.AppendEvent(ctx, at(events.SessionEnded(tenantID, s.UserID, s.ID, s.UserID, events.ReasonLogout), now)); err != nil {
			return err
		}
		return events.EnqueueSessionLogout(ctx, tx, tenantID, s.UserID, s.ID, now)
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, false, nil
	}
	if err != nil {
		return store.Session{}, false, fmt.Errorf("end session: %w", err)
	}
	return ended, true, nil
}

func (m *Manager) clearCookie(w http.ResponseWriter, tenantID string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: cookiePath(tenantID), MaxAge: -1, HttpOnly: true,
		Secure: m.secure, SameSite: http.SameSiteLaxMode})
}

// EndByID ends the session sid of userID (the account page's "sign out there", the admin). A session of
// another user, or one already ended, is store.ErrNotFound.
func (m *Manager) EndByID(ctx context.Context, tenantID, userID, sid, actor string) error {
	err := m.db.InTx(ctx, func(tx *store.Tx) error {
		s, err := tx.GetSession(ctx, tenantID, sid)
		if err != nil {
			return err
		}
		if s.UserID != userID {
			return store.ErrNotFound
		}
		now := m.Now()
		if err := tx.EndSession(ctx, tenantID, sid, now); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.SessionEnded(tenantID, userID, sid, actor, events.ReasonRevoked), now)); err != nil {
			return err
		}
		return events.EnqueueSessionLogout(ctx, tx, tenantID, userID, sid, now)
	})
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndAll ends every live session of the user, one session.ended event each.
func (m *Manager) EndAll(ctx context.Context, tenantID, userID, actor string) error {
	err := m.db.InTx(ctx, func(tx *store.Tx) error {
		now := m.Now()
		sids, err := tx.EndUserSessions(ctx, tenantID, userID, now)
		if err != nil {
			return err
		}
		for _, sid := range sids {
			if err := tx.AppendEvent(ctx, at(events.SessionEnded(tenantID, userID, sid, actor, events.ReasonRevoked), now)); err != nil {
				return err
			}
			if err := events.EnqueueSessionLogout(ctx, tx, tenantID, userID, sid, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end all sessions: %w", err)
	}
	return nil
}

// List returns the user's live sessions, newest first.
func (m *Manager) List(ctx context.Context, tenantID, userID string) ([]store.Session, error) {
	return m.db.ListUserSessions(ctx, tenantID, userID, m.Now())
}

// AddClient records that clientID received tokens within session sid (for logout and the account page).
func (m *Manager) AddClient(ctx context.Context, tenantID, sid, clientID string) error {
	return m.db.AddSessionClient(ctx, tenantID, sid, clientID, m.Now())
}

// Clients returns the client ids that received tokens within session sid, sorted.
func (m *Manager) Clients(ctx context.Context, tenantID, sid string) ([]string, error) {
	return m.db.SessionClients(ctx, tenantID, sid)
}

// BrowserHash returns the hash of the browser's umm_browser cookie, setting a new random cookie first when
// there is none. A login request stores it so that only the browser that started a flow can resume it.
// The cookie is HttpOnly, SameSite=Lax, scoped to /t/{tenant}/, long-lived and Secure when the Manager's
// secure flag is set; it says nothing about the user.
func (m *Manager) BrowserHash(w http.ResponseWriter, r *http.Request, tenantID string) []byte {
	for _, c := range r.CookiesNamed(BrowserCookieName) {
		if len(c.Value) >= 32 {
			return keys.HashToken(c.Value)
		}
	}
	v := keys.NewToken()
	http.SetCookie(w, &http.Cookie{Name: BrowserCookieName, Value: v, Path: cookiePath(tenantID),
		MaxAge: int(browserCookieLife / time.Second), HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode})
	// A later call in the same request (before the browser sends the cookie back) must agree.
	r.AddCookie(&http.Cookie{Name: BrowserCookieName, Value: v})
	return keys.HashToken(v)
}

// at stamps an event with the manager clock's time.
func at(e store.Event, t time.Time) store.Event {
	e.CreatedAt = t
	return e
}
