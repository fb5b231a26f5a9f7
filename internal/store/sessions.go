package store

import (
	"context"
	"fmt"
	"time"
)

// Session is a browser SSO session. ID is the public session id (the sid claim); the cookie value is
// never stored, only its hash (token_hash).
type Session struct {
	TenantID      string
	ID            string
	UserID        string
	AuthTime      time.Time
	AMR           []string
	ACR           string
	UserAgent     string
	IP            string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time
	EndedAt       time.Time // zero while the session is not ended
	// Factors are the methods the session proved and when each was last used (step-up keeps the
	// strongest ones); AMR and ACR are derived from them.
	Factors SessionFactors
}

const sessionCols = `tenant_id, id, user_id, auth_time, amr, acr, user_agent, ip, created_at, last_seen_at,
	idle_expires_at, expires_at, ended_at, factors`

// CreateSession stores s with the hash of its cookie token.
func (q *queries) CreateSession(ctx context.Context, s Session, tokenHash []byte) error {
	_, err := q.exec(ctx, `INSERT INTO sessions (tenant_id, id, token_hash, user_id, auth_time, amr, acr, user_agent, ip,
		created_at, last_seen_at, idle_expires_at, expires_at, factors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.TenantID, s.ID, tokenHash, s.UserID, s.AuthTime.Unix(), jsonList(s.AMR), s.ACR, s.UserAgent, s.IP,
		s.CreatedAt.Unix(), s.LastSeenAt.Unix(), expiryUnix(s.IdleExpiresAt), expiryUnix(s.ExpiresAt), s.Factors.encode())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSessionByToken returns the session whose cookie hashes to tokenHash, ended or expired ones too
// (callers check EndedAt and the expiries), or ErrNotFound.
func (q *queries) GetSessionByToken(ctx context.Context, tenantID string, tokenHash []byte) (Session, error) {
	return q.getSession(ctx, `WHERE tenant_id = ? AND token_hash = ?`, tenantID, tokenHash)
}

// GetSession returns the session with id sid (ended or expired ones too), or ErrNotFound.
func (q *queries) GetSession(ctx context.Context, tenantID, sid string) (Session, error) {
	return q.getSession(ctx, `WHERE tenant_id = ? AND id = ?`, tenantID, sid)
}

func (q *queries) getSession(ctx context.Context, where string, args ...any) (Session, error) {
	rows, err := q.query(ctx, `SELECT `+sessionCols+` FROM sessions `+where, args...)
	if err != nil {
		return Session{}, fmt.Errorf("get session: %w", err)
	}
	ss, err := scanSessions(rows)
	if err != nil {
		return Session{}, fmt.Errorf("get session: %w", err)
	}
	if len(ss) == 0 {
		return Session{}, fmt.Errorf("get session: %w", ErrNotFound)
	}
	return ss[0], nil
}

// TouchSession slides the idle expiry of a live session: it sets last_seen_at to now and idle_expires_at
// to idleExpires, but only when the stored last_seen_at is not after notBefore. This bounds the writes to
// one per period per session across every node. It reports whether the row changed.
func (q *queries) TouchSession(ctx context.Context, tenantID, sid string, now, idleExpires, notBefore time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE sessions SET last_seen_at = ?, idle_expires_at = ?
		WHERE tenant_id = ? AND id = ? AND ended_at IS NULL AND last_seen_at <= ?`,
		now.Unix(), expiryUnix(idleExpires), tenantID, sid, notBefore.Unix())
	if err != nil {
		return false, fmt.Errorf("touch session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("touch session: %w", err)
	}
	return n > 0, nil
}

// EndSession marks a live session ended at at; ErrNotFound when it does not exist or already ended.
func (q *queries) EndSession(ctx context.Context, tenantID, sid string, at time.Time) error {
	err := q.execOne(ctx, `UPDATE sessions SET ended_at = ? WHERE tenant_id = ? AND id = ? AND ended_at IS NULL`,
		at.Unix(), tenantID, sid)
	if err != nil {
		return fmt.Errorf("end session %s: %w", sid, err)
	}
	return nil
}

// EndUserSessions ends every live session of the user and returns their ids.
func (q *queries) EndUserSessions(ctx context.Context, tenantID, userID string, at time.Time) ([]string, error) {
	return q.EndUserSessionsExcept(ctx, tenantID, userID, "", at)
}

// EndUserSessionsExcept ends every live session of the user but keep (empty: none) and returns their ids.
func (q *queries) EndUserSessionsExcept(ctx context.Context, tenantID, userID, keep string, at time.Time) ([]string, error) {
	ids, err := q.queryStrings(ctx, `UPDATE sessions SET ended_at = ? WHERE tenant_id = ? AND user_id = ? AND ended_at IS NULL
		AND id <> ? RETURNING id`, at.Unix(), tenantID, userID, keep)
	if err != nil {
		return nil, fmt.Errorf("end user sessions: %w", err)
	}
	return ids, nil
}

// MaxListedSessions bounds ListUserSessions (the newest first), so a user with very many sessions (a
// script signing in in a loop) cannot make the account page expensive; ending all sessions is not bounded.
const MaxListedSessions = 100

// ListUserSessions returns the user's sessions that are not ended and not expired at now, newest first,
// at most MaxListedSessions. Callers that apply tenant lifetimes shorter than the stored expiries filter
// further.

func (q *queries) ListUserSessions(ctx context.Context, tenantID, userID string, now time.Time) ([]Session, error) {
	rows, err := q.query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE tenant_id = ? AND user_id = ? AND ended_at IS NULL
		AND idle_expires_at > ? AND expires_at > ? ORDER BY created_at DESC, id LIMIT ?`, tenantID, userID, now.Unix(), now.Unix(),
		MaxListedSessions)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	ss, err := scanSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return ss, nil
}

// DeleteExpiredSessions removes sessions (and their client lists) that ended or expired before before
// (garbage collection).
func (q *queries) DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error) {
	b := before.Unix()
	if _, err := q.exec(ctx, `DELETE FROM session_clients WHERE EXISTS (SELECT 1 FROM sessions s
		WHERE s.tenant_id = session_clients.tenant_id AND s.id = session_clients.session_id
		AND (s.ended_at < ? OR s.expires_at < ? OR s.idle_expires_at < ?))`, b, b, b); err != nil {
		return 0, fmt.Errorf("delete expired sessions: clients: %w", err)
	}
	res, err := q.exec(ctx, `DELETE FROM sessions WHERE ended_at < ? OR expires_at < ? OR idle_expires_at < ?`, b, b, b)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// AddSessionClient records that clientID received tokens within session sid (idempotent).
func (q *queries) AddSessionClient(ctx context.Context, tenantID, sid, clientID string, at time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO session_clients (tenant_id, session_id, client_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, session_id, client_id) DO NOTHING`, tenantID, sid, clientID, at.Unix())
	if err != nil {
		return fmt.Errorf("add session client: %w", err)
	}
	return nil
}

// CarrySessionClients records on session to the clients of session from whose ids start with prefix. A
// session that replaces another of the same person keeps the apps that person is still signed in to, so
// that signing out later reaches them. Each carried record is dated before toCreated, the new session's
// start, so that it can be told from a sign-in within the new session (SessionClientTimes).
func (q *queries) CarrySessionClients(ctx context.Context, tenantID, from, to, prefix string, toCreated time.Time) error {
	before := toCreated.Unix() - 1
	_, err := q.exec(ctx, `INSERT INTO session_clients (tenant_id, session_id, client_id, created_at)
		SELECT tenant_id, ?, client_id, CASE WHEN created_at < ? THEN created_at ELSE ? END FROM session_clients
		WHERE tenant_id = ? AND session_id = ? AND substr(client_id, 1, ?) = ?`,
		to, before, before, tenantID, from, len(prefix), prefix)
	if err != nil {
		return fmt.Errorf("carry session clients: %w", err)
	}
	return nil
}

// SessionClientTimes returns the client ids recorded on session sid with when each was recorded: before
// the session's start for a client carried over from a session it replaced.
func (q *queries) SessionClientTimes(ctx context.Context, tenantID, sid string) (map[string]time.Time, error) {
	rows, err := q.query(ctx, `SELECT client_id, created_at FROM session_clients WHERE tenant_id = ? AND session_id = ?`, tenantID, sid)
	if err != nil {
		return nil, fmt.Errorf("session clients: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("session clients: %w", err)
		}
		out[id] = time.Unix(at, 0)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session clients: %w", err)
	}
	return out, nil
}

// SessionClients returns the client ids that received tokens within session sid, sorted.
func (q *queries) SessionClients(ctx context.Context, tenantID, sid string) ([]string, error) {
	out, err := q.queryStrings(ctx, `SELECT client_id FROM session_clients WHERE tenant_id = ? AND session_id = ? ORDER BY client_id`,
		tenantID, sid)
	if err != nil {
		return nil, fmt.Errorf("session clients: %w", err)
	}
	return out, nil
}

func scanSessions(rows interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}) ([]Session, error) {
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var s Session
		var amr, factors string
		var authTime, created, lastSeen, idle, expires int64
		var ended *int64
		if err := rows.Scan(&s.TenantID, &s.ID, &s.UserID, &authTime, &amr, &s.ACR, &s.UserAgent, &s.IP, &created,
			&lastSeen, &idle, &expires, &ended, &factors); err != nil {
			return nil, err
		}
		s.AuthTime, s.AMR, s.Factors = time.Unix(authTime, 0), parseList(amr), decodeSessionFactors(factors)
		s.CreatedAt, s.LastSeenAt = time.Unix(created, 0), time.Unix(lastSeen, 0)
		s.IdleExpiresAt, s.ExpiresAt, s.EndedAt = time.Unix(idle, 0), time.Unix(expires, 0), nullTime(ended)
		out = append(out, s)
	}
	return out, rows.Err()
}
