package store

import (
	"context"
	"fmt"
	"time"
)

// Flow kinds and states. A kind has its own small state machine; the store only moves a row from one
// state to the next atomically.
const (
	FlowRegistration = "registration" // prove the address of a new (or unverified) account
	FlowRecovery     = "recovery"     // prove the address of an account to choose a new password
	FlowEmailChange  = "email_change" // prove a signed-in user's new address before it replaces the old one
	FlowMFA          = "mfa"          // a user who passed a first factor proves a second one (or steps up)
	FlowEmailLogin   = "email_login"  // passwordless sign-in with a code (and link) sent by email or SMS
	FlowWebAuthn     = "webauthn"     // a passkey ceremony's challenge, between its options and its answer
	FlowNotMe        = "not_me"       // the "This wasn't me" link of a new sign-in email
	FlowPhone        = "phone"        // prove a phone number by a texted code before it becomes an SMS factor
	FlowUpstream     = "upstream"     // a sign-in at an upstream identity provider, between its start and callback
	FlowLink         = "link"         // an upstream identity waits for the person to prove the account it would join

	FlowPending = "pending" // waiting for the link or the code
	FlowDone    = "done"    // finished; never usable again
	FlowFailed  = "failed"  // too many wrong codes; never usable again
	FlowDecoy   = "decoy"   // looks like a pending flow to the browser but proves nothing (no enumeration)
)

// Flow is one self-service flow (docs/DESIGN.md, "Self-service flows").
type Flow struct {
	TenantID       string
	ID             string // random; appears in URLs of the browser that started the flow
	Kind           string
	State          string
	UserID         string // empty while no account is involved
	Email          string
	LinkHash       []byte // hash of the secret in the emailed link
	CodeHash       []byte // hash of the emailed code
	FailedAttempts int
	BrowserHash    []byte // the browser that started the flow
	LoginRequestID string // the pending login request the flow resumes, empty when none
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ExpiresAt      time.Time
	Data           string // the kind's own state as JSON
}

const flowCols = `tenant_id, id, kind, state, user_id, email, link_hash, code_hash, failed_attempts, browser_hash,
	login_request, created_at, updated_at, expires_at, data`

// CreateFlow stores a new flow.
func (q *queries) CreateFlow(ctx context.Context, f Flow) error {
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = f.CreatedAt
	}
	_, err := q.exec(ctx, `INSERT INTO flows (`+flowCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.TenantID, f.ID, f.Kind, f.State, f.UserID, f.Email, nilIfEmpty(f.LinkHash), nilIfEmpty(f.CodeHash),
		f.FailedAttempts, nilIfEmpty(f.BrowserHash), f.LoginRequestID, f.CreatedAt.Unix(), f.UpdatedAt.Unix(),
		expiryUnix(f.ExpiresAt), f.Data)
	if err != nil {
		return fmt.Errorf("create flow: %w", err)
	}
	return nil
}

func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// GetFlow returns the flow (expired ones too: callers check ExpiresAt) or ErrNotFound.
func (q *queries) GetFlow(ctx context.Context, tenantID, id string) (Flow, error) {
	f, err := scanFlow(q.row(ctx, `SELECT `+flowCols+` FROM flows WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return f, fmt.Errorf("get flow: %w", err)
	}
	return f, nil
}

// GetFlowByLink returns the flow whose link secret hashes to linkHash, or ErrNotFound.
func (q *queries) GetFlowByLink(ctx context.Context, tenantID string, linkHash []byte) (Flow, error) {
	if len(linkHash) == 0 {
		return Flow{}, fmt.Errorf("get flow: %w", ErrNotFound)
	}
	f, err := scanFlow(q.row(ctx, `SELECT `+flowCols+` FROM flows WHERE tenant_id = ? AND link_hash = ?`, tenantID, linkHash))
	if err != nil {
		return f, fmt.Errorf("get flow: %w", err)
	}
	return f, nil
}

// AddFlowFailure counts one wrong code on a flow in state from, and moves it to FlowFailed when the count
// reaches failAt, in one statement. It returns the flow after the change; ErrConflict when the flow is not
// in state from any more.
func (q *queries) AddFlowFailure(ctx context.Context, tenantID, id, from string, failAt int, now time.Time) (Flow, error) {
	err := q.execOne(ctx, `UPDATE flows SET failed_attempts = failed_attempts + 1,
		state = CASE WHEN failed_attempts + 1 >= ? THEN ? ELSE state END, updated_at = ?
		WHERE tenant_id = ? AND id = ? AND state = ?`, failAt, FlowFailed, now.Unix(), tenantID, id, from)
	if isNotFound(err) {
		return Flow{}, fmt.Errorf("flow failure: %w", ErrConflict)
	}
	if err != nil {
		return Flow{}, fmt.Errorf("flow failure: %w", err)
	}
	return q.GetFlow(ctx, tenantID, id)
}

// SetFlowState moves a flow from state from to state to; ErrConflict when it is not in state from any
// more (so each step happens once, whichever node serves it). The link and code hashes are cleared once a
// flow leaves FlowPending, so a used secret matches nothing.
func (q *queries) SetFlowState(ctx context.Context, tenantID, id, from, to string, now time.Time) error {
	err := q.execOne(ctx, `UPDATE flows SET state = ?, updated_at = ?,
		link_hash = CASE WHEN ? = ? THEN link_hash ELSE NULL END, code_hash = CASE WHEN ? = ? THEN code_hash ELSE NULL END
		WHERE tenant_id = ? AND id = ? AND state = ?`, to, now.Unix(), to, FlowPending, to, FlowPending, tenantID, id, from)
	if isNotFound(err) {
		return fmt.Errorf("flow %s -> %s: %w", from, to, ErrConflict)
	}
	return err
}

// EndUserFlows moves every pending flow of kind for the user to FlowDone (a newer flow replaces them).
func (q *queries) EndUserFlows(ctx context.Context, tenantID, userID, kind string, now time.Time) error {
	if userID == "" {
		return nil
	}
	_, err := q.exec(ctx, `UPDATE flows SET state = ?, link_hash = NULL, code_hash = NULL, updated_at = ?
		WHERE tenant_id = ? AND user_id = ? AND kind = ? AND state = ?`, FlowDone, now.Unix(), tenantID, userID, kind, FlowPending)
	if err != nil {
		return fmt.Errorf("end flows: %w", err)
	}
	return nil
}

// DeleteExpiredFlows removes flows that expired before before (garbage collection).
func (q *queries) DeleteExpiredFlows(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM flows WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete expired flows: %w", err)
	}
	return res.RowsAffected()
}

// MarkSelfRegistered records that the user created its own account (registration): such an account is
// held to the tenant's verification rule and deleted when it stays unverified.
func (q *queries) MarkSelfRegistered(ctx context.Context, tenantID, userID string) error {
	if err := q.execOne(ctx, `UPDATE users SET self_registered = ? WHERE tenant_id = ? AND id = ?`, true, tenantID, userID); err != nil {
		return fmt.Errorf("mark self-registered: %w", err)
	}
	return nil
}

// SelfRegistered reports whether the user created its own account.
func (q *queries) SelfRegistered(ctx context.Context, tenantID, userID string) (bool, error) {
	var b bool
	if err := q.row(ctx, `SELECT self_registered FROM users WHERE tenant_id = ? AND id = ?`, tenantID, userID).Scan(&b); err != nil {
		return false, fmt.Errorf("self-registered: %w", scanErr(err))
	}
	return b, nil
}

// SetEmailVerified marks the user's address verified; ErrNotFound when the user is gone.
func (q *queries) SetEmailVerified(ctx context.Context, tenantID, userID string, now time.Time) error {
	if err := q.execOne(ctx, `UPDATE users SET email_verified = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		true, now.Unix(), tenantID, userID); err != nil {
		return fmt.Errorf("set email verified: %w", err)
	}
	return nil
}

// UnverifiedRegistrations returns the ids of up to limit self-registered accounts of the tenant that were
// created before before and never verified their address (garbage collection deletes them).
func (q *queries) UnverifiedRegistrations(ctx context.Context, tenantID string, before time.Time, limit int) ([]string, error) {
	ids, err := q.queryStrings(ctx, `SELECT id FROM users WHERE tenant_id = ? AND self_registered = ? AND email_verified = ?
		AND created_at < ? ORDER BY created_at LIMIT ?`, tenantID, true, false, before.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("unverified registrations: %w", err)
	}
	return ids, nil
}

func scanFlow(row interface{ Scan(...any) error }) (Flow, error) {
	var f Flow
	var created, updated, expires int64
	err := row.Scan(&f.TenantID, &f.ID, &f.Kind, &f.State, &f.UserID, &f.Email, &f.LinkHash, &f.CodeHash,
		&f.FailedAttempts, &f.BrowserHash, &f.LoginRequestID, &created, &updated, &expires, &f.Data)
	if err != nil {
		return Flow{}, scanErr(err)
	}
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt = time.Unix(created, 0), time.Unix(updated, 0), time.Unix(expires, 0)
	return f, nil
}

// SetFlowCode replaces the code (and link, when linkHash is not nil) of a pending flow: a code sent again
// makes the previous one worthless. ErrConflict when the flow is not pending any more.
func (q *queries) SetFlowCode(ctx context.Context, tenantID, id string, codeHash, linkHash []byte, now time.Time) error {
	err := q.execOne(ctx, `UPDATE flows SET code_hash = ?, link_hash = COALESCE(?, link_hash), updated_at = ?
		WHERE tenant_id = ? AND id = ? AND state = ?`, nilIfEmpty(codeHash), nilIfEmpty(linkHash), now.Unix(), tenantID, id, FlowPending)
	if isNotFound(err) {
		return fmt.Errorf("set flow code: %w", ErrConflict)
	}
	return err
}

// SetFlowData replaces the kind's state of a pending flow.
func (q *queries) SetFlowData(ctx context.Context, tenantID, id, data string, now time.Time) error {
	err := q.execOne(ctx, `UPDATE flows SET data = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND state = ?`,
		data, now.Unix(), tenantID, id, FlowPending)
	if isNotFound(err) {
		return fmt.Errorf("set flow data: %w", ErrConflict)
	}
	return err
}
