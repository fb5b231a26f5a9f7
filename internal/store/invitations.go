package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Invitation statuses. An expired invitation keeps its status (pending); ExpiresAt tells.
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationRevoked  = "revoked"
)

// Invitation is an address invited to a tenant. The link's token is stored only as its hash.
type Invitation struct {
	TenantID  string
	ID        string
	Email     string
	EmailNorm string
	Roles     []string // given to the account on acceptance
	ClientID  string   // where the new account goes: the client's initiate_login_uri; empty: the account page
	Status    string   // Invitation* constants
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	InvitedBy string // the actor that created it
	UserID    string // the account that accepted it
	// OrgID, when set, is the organization the account becomes a member of on acceptance, holding OrgRoles
	// there.
	OrgID    string
	OrgRoles []string
}

const invitationCols = `tenant_id, id, email, email_norm, roles, client_id, status, expires_at, created_at, updated_at,
	invited_by, user_id, org_id, org_roles`

// CreateInvitation stores inv (pending) with the hash of its link's token.
func (q *queries) CreateInvitation(ctx context.Context, inv Invitation, tokenHash []byte) error {
	if inv.Roles == nil {
		inv.Roles = []string{}
	}
	if inv.OrgRoles == nil {
		inv.OrgRoles = []string{}
	}
	roles, err := json.Marshal(inv.Roles)
	if err != nil {
		return fmt.Errorf("create invitation: %w", err)
	}
	orgRoles, err := json.Marshal(inv.OrgRoles)
	if err != nil {
		return fmt.Errorf("create invitation: %w", err)
	}
	if _, err := q.exec(ctx, `INSERT INTO invitations (tenant_id, id, email, email_norm, roles, client_id, token_hash, status,
		expires_at, created_at, updated_at, invited_by, user_id, org_id, org_roles) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)`,
		inv.TenantID, inv.ID, inv.Email, inv.EmailNorm, string(roles), inv.ClientID, tokenHash, InvitationPending,
		inv.ExpiresAt.Unix(), inv.CreatedAt.Unix(), inv.CreatedAt.Unix(), inv.InvitedBy, inv.OrgID, string(orgRoles)); err != nil {
		return fmt.Errorf("create invitation: %w", err)
	}
	return nil
}

// GetInvitation returns the tenant's invitation id, or ErrNotFound.
func (q *queries) GetInvitation(ctx context.Context, tenantID, id string) (Invitation, error) {
	return q.getInvitation(ctx, `tenant_id = ? AND id = ?`, tenantID, id)
}

// GetInvitationByToken returns the tenant's invitation whose link token hashes to tokenHash, or
// ErrNotFound (also for a token replaced by a resend).
func (q *queries) GetInvitationByToken(ctx context.Context, tenantID string, tokenHash []byte) (Invitation, error) {
	return q.getInvitation(ctx, `tenant_id = ? AND token_hash = ?`, tenantID, tokenHash)
}

func (q *queries) getInvitation(ctx context.Context, where string, args ...any) (Invitation, error) {
	out, err := q.listInvitations(ctx, where, args...)
	if err != nil {
		return Invitation{}, fmt.Errorf("get invitation: %w", err)
	}
	if len(out) == 0 {
		return Invitation{}, fmt.Errorf("get invitation: %w", ErrNotFound)
	}
	return out[0], nil
}

// ListInvitations returns the tenant's invitations with status (every status when empty), newest first,
// at most limit (1..1000; otherwise 1000).
func (q *queries) ListInvitations(ctx context.Context, tenantID, status string, limit int) ([]Invitation, error) {
	if limit < 1 || limit > 1000 {
		limit = 1000
	}
	where, args := `tenant_id = ?`, []any{tenantID}
	if status != "" {
		where, args = where+` AND status = ?`, append(args, status)
	}
	out, err := q.listInvitations(ctx, where+` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return out, nil
}

// ListOrganizationInvitations returns up to limit of the organization's invitations, newest first, after
// the one created at afterCreated with id afterID (keyset pagination; afterID empty for the first page).
func (q *queries) ListOrganizationInvitations(ctx context.Context, tenantID, orgID string, afterCreated time.Time, afterID string, limit int) ([]Invitation, error) {
	where, args := `tenant_id = ? AND org_id = ?`, []any{tenantID, orgID}
	if afterID != "" {
		at := afterCreated.Unix()
		where, args = where+` AND (created_at < ? OR (created_at = ? AND id < ?))`, append(args, at, at, afterID)
	}
	out, err := q.listInvitations(ctx, where+` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, pageLimit(limit))...)
	if err != nil {
		return nil, fmt.Errorf("list organization invitations: %w", err)
	}
	return out, nil
}

// PendingInvitationsFor returns the tenant's pending invitations of the normalised address emailNorm.
func (q *queries) PendingInvitationsFor(ctx context.Context, tenantID, emailNorm string) ([]Invitation, error) {
	out, err := q.listInvitations(ctx, `tenant_id = ? AND email_norm = ? AND status = ?`, tenantID, emailNorm, InvitationPending)
	if err != nil {
		return nil, fmt.Errorf("pending invitations: %w", err)
	}
	return out, nil
}

func (q *queries) listInvitations(ctx context.Context, where string, args ...any) ([]Invitation, error) {
	rows, err := q.query(ctx, `SELECT `+invitationCols+` FROM invitations WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Invitation
	for rows.Next() {
		var inv Invitation
		var roles, orgRoles string
		var expires, created, updated int64
		if err := rows.Scan(&inv.TenantID, &inv.ID, &inv.Email, &inv.EmailNorm, &roles, &inv.ClientID, &inv.Status,
			&expires, &created, &updated, &inv.InvitedBy, &inv.UserID, &inv.OrgID, &orgRoles); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(roles), &inv.Roles); err != nil {
			return nil, fmt.Errorf("invitation %s: roles: %w", inv.ID, err)
		}
		if err := json.Unmarshal([]byte(orgRoles), &inv.OrgRoles); err != nil {
			return nil, fmt.Errorf("invitation %s: org_roles: %w", inv.ID, err)
		}
		inv.ExpiresAt, inv.CreatedAt, inv.UpdatedAt = time.Unix(expires, 0), time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, inv)
	}
	return out, rows.Err()
}

// RenewInvitation gives a pending invitation a new link token and expiry: the old link stops working.
// ErrConflict when the invitation is no longer pending (accepted or revoked meanwhile); ErrNotFound
// when it does not exist.
func (q *queries) RenewInvitation(ctx context.Context, tenantID, id string, tokenHash []byte, expiresAt, now time.Time) error {
	return q.updatePending(ctx, "renew invitation", tenantID, id, `token_hash = ?, expires_at = ?, updated_at = ?`,
		tokenHash, expiresAt.Unix(), now.Unix())
}

// RevokeInvitation marks a pending invitation revoked; its link stops working. ErrConflict when it is not
// pending, ErrNotFound when it does not exist.
func (q *queries) RevokeInvitation(ctx context.Context, tenantID, id string, now time.Time) error {
	return q.updatePending(ctx, "revoke invitation", tenantID, id, `status = '`+InvitationRevoked+`', updated_at = ?`, now.Unix())
}

// AcceptInvitation marks a pending, unexpired invitation accepted by userID (the link is used up).
// ErrConflict when it was accepted, revoked or renewed meanwhile, or has expired.
func (q *queries) AcceptInvitation(ctx context.Context, tenantID, id, userID string, now time.Time) error {
	err := q.execOne(ctx, `UPDATE invitations SET status = '`+InvitationAccepted+`', user_id = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ? AND status = '`+InvitationPending+`' AND expires_at > ?`,
		userID, now.Unix(), tenantID, id, now.Unix())
	if err == ErrNotFound {
		return fmt.Errorf("accept invitation: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("accept invitation: %w", err)
	}
	return nil
}

// updatePending sets set (with args) on the invitation when it is pending.
func (q *queries) updatePending(ctx context.Context, what, tenantID, id, set string, args ...any) error {
	err := q.execOne(ctx, `UPDATE invitations SET `+set+` WHERE tenant_id = ? AND id = ? AND status = '`+InvitationPending+`'`,
		append(args, tenantID, id)...)
	if err == ErrNotFound {
		if _, gerr := q.GetInvitation(ctx, tenantID, id); gerr != nil {
			return fmt.Errorf("%s: %w", what, gerr)
		}
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// DeleteEndedInvitations deletes the invitations that ended before before: accepted or revoked then, or
// still pending but expired then (garbage collection, which passes the events' retention cut-off, so an
// invitation is kept as long as the events that tell its story).
func (q *queries) DeleteEndedInvitations(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM invitations WHERE (status = '`+InvitationPending+`' AND expires_at < ?)
		OR (status <> '`+InvitationPending+`' AND updated_at < ?)`, before.Unix(), before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete ended invitations: %w", err)
	}
	return res.RowsAffected()
}
