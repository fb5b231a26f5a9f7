package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
)

// Validity of an invitation link: the default and the bounds (identity's).
const (
	DefaultInvitationTTL = identity.DefaultInvitationTTL
	MinInvitationTTL     = identity.MinInvitationTTL
	MaxInvitationTTL     = identity.MaxInvitationTTL
)

// InvitationInput is an invitation to create.
type InvitationInput struct {
	Email    string
	Roles    []string      // each must be one of the tenant's roles
	ClientID string        // optional: the client the new account is sent to (its initiate_login_uri)
	TTL      time.Duration // how long the link works; 0: 72 hours
	Inviter  string        // who invites, as the email names them; empty: the tenant's name
	// OrgID, when set, makes the new account a member of that organization holding OrgRoles there.
	OrgID    string
	OrgRoles []string
}

// CreateInvitation invites an address to the tenant through identity: the invitee is emailed a single-use
// link to create an account.
func (s *Service) CreateInvitation(ctx context.Context, tenantID string, in InvitationInput, actor string) (store.Invitation, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return store.Invitation{}, err
	}
	inv, err := s.identity.CreateInvitation(ctx, tenantID, identity.NewInvitation{Email: in.Email, Roles: in.Roles,
		ClientID: in.ClientID, TTL: in.TTL, Inviter: in.Inviter, OrgID: in.OrgID, OrgRoles: in.OrgRoles}, actor)
	if err != nil {
		return inv, invalidInvitation(err)
	}
	return inv, nil
}

// ListInvitations returns the tenant's invitations with status (pending, accepted, revoked; all when
// empty), newest first.
func (s *Service) ListInvitations(ctx context.Context, tenantID, status string) ([]store.Invitation, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	switch status {
	case "", store.InvitationPending, store.InvitationAccepted, store.InvitationRevoked:
	default:
		return nil, &InvalidError{Problems: []string{fmt.Sprintf("status: %q is not pending, accepted or revoked", status)}}
	}
	return s.identity.ListInvitations(ctx, tenantID, status)
}

// ResendInvitation emails a pending invitation again with a new link (valid 72 hours); the previous link
// stops working.
func (s *Service) ResendInvitation(ctx context.Context, tenantID, id, actor string) (store.Invitation, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return store.Invitation{}, err
	}
	inv, err := s.identity.ResendInvitation(ctx, tenantID, id, actor)
	if errors.Is(err, store.ErrNotFound) {
		return inv, fmt.Errorf("no invitation %q in tenant %s: %w", id, tenantID, store.ErrNotFound)
	}
	return inv, invalidInvitation(err)
}

// RevokeInvitation withdraws a pending invitation: its link stops working.
func (s *Service) RevokeInvitation(ctx context.Context, tenantID, id, actor string) error {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return err
	}
	err := s.identity.RevokeInvitation(ctx, tenantID, id, actor)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no invitation %q in tenant %s: %w", id, tenantID, store.ErrNotFound)
	}
	return invalidInvitation(err)
}

// invalidInvitation turns identity's refusals into an *InvalidError naming the field to fix.
func invalidInvitation(err error) error {
	field := ""
	switch {
	case err == nil:
		return nil
	case errors.Is(err, identity.ErrInvalidEmail):
		field = "email"
	case errors.Is(err, identity.ErrAccountExists):
		return &InvalidError{Problems: []string{"email: " + err.Error() + "; the person can sign in (or reset their password)"}, cause: err}
	case errors.Is(err, identity.ErrAlreadyInvited):
		return &InvalidError{Problems: []string{"email: " + err.Error() + "; resend it to send a new link"}, cause: err}
	case errors.Is(err, identity.ErrInvalidRole), errors.Is(err, identity.ErrUnknownRole):
		field = "roles"
	case errors.Is(err, identity.ErrUnknownClient):
		field = "client"
	case errors.Is(err, identity.ErrUnknownOrganization):
		field = "organization"
	case errors.Is(err, identity.ErrInvitationTTL):
		field = "expires"
	case errors.Is(err, identity.ErrInvitationClosed):
		return &InvalidError{Problems: []string{err.Error()}, cause: err}
	default:
		return err
	}
	return &InvalidError{Problems: []string{field + ": " + err.Error()}, cause: err}
}
