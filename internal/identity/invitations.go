package identity

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Invitation validity: the default when none is given, and the bounds of what may be given.
const (
	DefaultInvitationTTL = 72 * time.Hour
	MinInvitationTTL     = 5 * time.Minute
	MaxInvitationTTL     = 30 * 24 * time.Hour
)

// Errors of the invitation service. Test them with errors.Is; their text is written for the person who
// made the request.
var (
	// ErrAccountExists: the address already has an account in the tenant; it signs in instead.
	ErrAccountExists = errors.New("an account with this email address exists already")
	// ErrAlreadyInvited: the address has a pending invitation that has not expired; resend it instead.
	ErrAlreadyInvited = errors.New("this email address has a pending invitation already")
	// ErrUnknownRole: a role to give is not one of the tenant's roles.
	ErrUnknownRole = errors.New("unknown role")
	// ErrUnknownClient: the client to send the new account to is not registered in the tenant.
	ErrUnknownClient = errors.New("unknown client")
	// ErrInvitationTTL: the validity is outside MinInvitationTTL..MaxInvitationTTL.
	ErrInvitationTTL = errors.New("invalid invitation validity")
	// ErrInvitationClosed: the invitation was accepted or revoked; it can be neither resent nor revoked.
	ErrInvitationClosed = errors.New("the invitation is no longer pending")
	// ErrUnknownOrganization: the organization to make the invitee a member of does not exist.
	ErrUnknownOrganization = errors.New("unknown organization")
)

// Reasons an invitation link cannot be used (InvitationLinkError.Reason).
const (
	LinkUnknown = "unknown" // no such link: mistyped, or replaced by a resend
	LinkExpired = "expired"
	LinkRevoked = "revoked"
	LinkUsed    = "used" // the invitation was accepted
)

// InvitationLinkError says why an invitation link cannot be used.
type InvitationLinkError struct{ Reason string }

func (e *InvitationLinkError) Error() string { return "invitation link " + e.Reason }

// NewInvitation is the input of CreateInvitation.
type NewInvitation struct {
	Email    string
	Roles    []string      // given to the account on acceptance; each must exist in the tenant
	ClientID string        // optional: the client whose initiate_login_uri the new account is sent to
	TTL      time.Duration // how long the link works; 0 is DefaultInvitationTTL
	// Inviter names who invites in the email ("Ada Admin invites you to Acme"); empty: the tenant's name.
	Inviter string
	// OrgID, when set, is an organization of the tenant the account becomes a member of on acceptance,
	// holding OrgRoles (roles of the tenant) there.
	OrgID    string
	OrgRoles []string
}

// InvitationLink is the address of the page that accepts the invitation whose link carries token.
func (s *Service) InvitationLink(tenantID, token string) string {
	return strings.TrimSuffix(s.PublicURL, "/") + "/t/" + url.PathEscape(tenantID) + "/invitation?token=" + url.QueryEscape(token)
}

// CreateInvitation invites an address to the tenant: the invitation, its invitation.created event and the
// email with the single-use link commit together. The link's token is stored only as its hash.
func (s *Service) CreateInvitation(ctx context.Context, tenantID string, in NewInvitation, actor string) (store.Invitation, error) {
	now := s.now()
	norm, err := NormalizeEmail(in.Email)
	if err != nil {
		return store.Invitation{}, err
	}
	ttl, err := invitationTTL(in.TTL)
	if err != nil {
		return store.Invitation{}, err
	}
	roles, err := s.existingRoles(ctx, tenantID, in.Roles)
	if err != nil {
		return store.Invitation{}, err
	}
	var orgRoles []string
	if in.OrgID != "" {
		if _, err := s.db.GetOrganization(ctx, tenantID, in.OrgID); errors.Is(err, store.ErrNotFound) {
			return store.Invitation{}, fmt.Errorf("%w %q", ErrUnknownOrganization, in.OrgID)
		} else if err != nil {
			return store.Invitation{}, err
		}
		if orgRoles, err = s.existingRoles(ctx, tenantID, in.OrgRoles); err != nil {
			return store.Invitation{}, err
		}
	} else if len(in.OrgRoles) > 0 {
		return store.Invitation{}, fmt.Errorf("%w: roles in an organization need the organization", ErrUnknownOrganization)
	}
	if in.ClientID != "" {
		if _, err := s.db.GetClient(ctx, tenantID, in.ClientID); errors.Is(err, store.ErrNotFound) {
			return store.Invitation{}, fmt.Errorf("%w %q", ErrUnknownClient, in.ClientID)
		} else if err != nil {
			return store.Invitation{}, err
		}
	}
	if _, err := s.db.GetUserByEmail(ctx, tenantID, norm); err == nil {
		return store.Invitation{}, ErrAccountExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Invitation{}, err
	}
	pending, err := s.db.PendingInvitationsFor(ctx, tenantID, norm)
	if err != nil {
		return store.Invitation{}, err
	}
	for _, p := range pending {
		if now.Before(p.ExpiresAt) {
			return store.Invitation{}, fmt.Errorf("%w (id %s)", ErrAlreadyInvited, p.ID)
		}
	}
	inv := store.Invitation{TenantID: tenantID, ID: keys.NewID(), Email: strings.TrimSpace(in.Email), EmailNorm: norm,
		Roles: roles, ClientID: in.ClientID, Status: store.InvitationPending, ExpiresAt: now.Add(ttl).Truncate(time.Second),
		CreatedAt: now.Truncate(time.Second), InvitedBy: actor, OrgID: in.OrgID, OrgRoles: orgRoles}
	inv.UpdatedAt = inv.CreatedAt
	token := keys.NewToken()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateInvitation(ctx, inv, keys.HashToken(token)); err != nil {
			return err
		}
		e := events.InvitationCreated(tenantID, inv.ID, actor, roles, inv.ClientID)
		if inv.OrgID != "" {
			e.Data["org_id"], e.Data["org_roles"] = inv.OrgID, nonNilRoles(orgRoles)
		}
		if err := tx.AppendEvent(ctx, at(e, now)); err != nil {
			return err
		}
		return s.enqueueInvitation(ctx, tx, inv, token, in.Inviter, now)
	})
	if err != nil {
		return store.Invitation{}, fmt.Errorf("create invitation: %w", err)
	}
	return inv, nil
}

// ListInvitations returns the tenant's invitations with status (store.InvitationPending, ...; every one
// when empty), newest first.
func (s *Service) ListInvitations(ctx context.Context, tenantID, status string) ([]store.Invitation, error) {
	switch status {
	case "", store.InvitationPending, store.InvitationAccepted, store.InvitationRevoked:
	default:
		return nil, fmt.Errorf("unknown invitation status %q: use pending, accepted or revoked", status)
	}
	return s.db.ListInvitations(ctx, tenantID, status, 0)
}

// GetInvitation returns the tenant's invitation id, or store.ErrNotFound.
func (s *Service) GetInvitation(ctx context.Context, tenantID, id string) (store.Invitation, error) {
	return s.db.GetInvitation(ctx, tenantID, id)
}

// ResendInvitation sends a pending invitation again with a new link valid for DefaultInvitationTTL (also
// when it had expired); the previous link stops working. The new token, the invitation.resent event and
// the email commit together. ErrInvitationClosed when it was accepted or revoked.
func (s *Service) ResendInvitation(ctx context.Context, tenantID, id, actor string) (store.Invitation, error) {
	now := s.now()
	inv, err := s.db.GetInvitation(ctx, tenantID, id)
	if err != nil {
		return inv, err
	}
	if inv.Status != store.InvitationPending {
		return inv, fmt.Errorf("%w: it was %s", ErrInvitationClosed, inv.Status)
	}
	token := keys.NewToken()
	inv.ExpiresAt, inv.UpdatedAt = now.Add(DefaultInvitationTTL).Truncate(time.Second), now.Truncate(time.Second)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RenewInvitation(ctx, tenantID, id, keys.HashToken(token), inv.ExpiresAt, now); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.InvitationResent(tenantID, id, actor), now)); err != nil {
			return err
		}
		return s.enqueueInvitation(ctx, tx, inv, token, "", now)
	})
	if errors.Is(err, store.ErrConflict) {
		return inv, fmt.Errorf("%w: it was accepted or revoked meanwhile", ErrInvitationClosed)
	}
	if err != nil {
		return inv, fmt.Errorf("resend invitation: %w", err)
	}
	return inv, nil
}

// RevokeInvitation withdraws a pending invitation: its link stops working. The change and the
// invitation.revoked event commit together. ErrInvitationClosed when it was accepted or revoked.
func (s *Service) RevokeInvitation(ctx context.Context, tenantID, id, actor string) error {
	now := s.now()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeInvitation(ctx, tenantID, id, now); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.InvitationRevoked(tenantID, id, actor), now))
	})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: it was accepted or revoked already", ErrInvitationClosed)
	}
	if err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	return nil
}

// OpenInvitation returns the invitation whose link carries token when it can still be accepted: pending
// and not expired. Otherwise it returns *InvitationLinkError saying why.
func (s *Service) OpenInvitation(ctx context.Context, tenantID, token string) (store.Invitation, error) {
	if token == "" || len(token) > 128 {
		return store.Invitation{}, &InvitationLinkError{Reason: LinkUnknown}
	}
	inv, err := s.db.GetInvitationByToken(ctx, tenantID, keys.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return inv, &InvitationLinkError{Reason: LinkUnknown}
	}
	if err != nil {
		return inv, err
	}
	switch {
	case inv.Status == store.InvitationAccepted:
		return inv, &InvitationLinkError{Reason: LinkUsed}
	case inv.Status == store.InvitationRevoked:
		return inv, &InvitationLinkError{Reason: LinkRevoked}
	case !s.now().Before(inv.ExpiresAt):
		return inv, &InvitationLinkError{Reason: LinkExpired}
	}
	return inv, nil
}

// Acceptance is an invitation ready to be accepted: the account to create, checked, with its password
// hashed. Commit it with AcceptInvitation.
type Acceptance struct {
	inv  store.Invitation
	user store.User
	pw   NewPassword
}

// UserID is the id the account will have (to start its session in the same transaction).
func (a Acceptance) UserID() string { return a.user.ID }

// Invitation is the invitation being accepted.
func (a Acceptance) Invitation() store.Invitation { return a.inv }

// AcceptanceError is everything wrong with a registration form submitted on an invitation: the profile
// values (Fields) and the password (Password); either may be nil.
type AcceptanceError struct {
	Fields   FieldErrors
	Password *PasswordError
}

func (e *AcceptanceError) Error() string {
	var msgs []string
	if e.Password != nil {
		msgs = append(msgs, "password: "+e.Password.Message)
	}
	if e.Fields != nil {
		msgs = append(msgs, e.Fields.Error())
	}
	return strings.Join(msgs, "; ")
}

// PrepareAcceptance checks the registration form of inv: the profile values against the tenant's schema
// (ValidateProfile, registration) and the password against its policy. Problems are an *AcceptanceError.
// The address is the invitation's, verified by the link.
func (s *Service) PrepareAcceptance(ctx context.Context, inv store.Invitation, password string, values map[string]any) (Acceptance, error) {
	t, err := s.db.GetTenant(ctx, inv.TenantID)
	if err != nil {
		return Acceptance{}, err
	}
	now := s.now()
	clean, ferrs := ValidateProfile(t.Settings.Profile, PurposeRegistration, values, now)
	var aerr AcceptanceError
	aerr.Fields = ferrs
	pw, err := s.PreparePassword(ctx, inv.TenantID, "", inv.Email, password)
	if err != nil && !errors.As(err, &aerr.Password) {
		return Acceptance{}, err
	}
	if aerr.Fields != nil || aerr.Password != nil {
		return Acceptance{}, &aerr
	}
	u := store.User{TenantID: inv.TenantID, ID: keys.NewID(), Email: inv.Email, EmailNorm: inv.EmailNorm,
		EmailVerified: true, Roles: inv.Roles, CreatedAt: now, UpdatedAt: now}
	ApplyProfile(&u, clean)
	if err := checkNames(u.GivenName, u.FamilyName); err != nil {
		return Acceptance{}, &AcceptanceError{Fields: FieldErrors{{Field: "given_name", Code: CodeTooLong, Param: "200"}}}
	}
	return Acceptance{inv: inv, user: u, pw: pw}, nil
}

// AcceptInvitation creates the account of a (verified address, password, profile, the invitation's roles)
// and marks the invitation accepted, with the user.created and invitation.accepted events, in tx: the
// caller starts the account's session in the same transaction. store.ErrConflict when the invitation was
// accepted, revoked, resent or expired meanwhile, or the address got an account meanwhile.
func (s *Service) AcceptInvitation(ctx context.Context, tx *store.Tx, a Acceptance) error {
	now := s.now()
	u := a.user
	if err := tx.AcceptInvitation(ctx, u.TenantID, a.inv.ID, u.ID, now); err != nil {
		return err
	}
	if err := tx.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("accept invitation: %w", err)
	}
	if err := a.pw.Store(ctx, tx, u.TenantID, u.ID, now); err != nil {
		return err
	}
	if len(u.Roles) > 0 {
		if err := tx.SetUserRoles(ctx, u.TenantID, u.ID, u.Roles); err != nil {
			return err
		}
	}
	if err := tx.AppendEvent(ctx, at(events.UserCreated(u.TenantID, u.ID, u.ID), now)); err != nil {
		return err
	}
	if org := a.inv.OrgID; org != "" {
		// Deleting an organization revokes its pending invitations, so the one just accepted names an
		// organization that exists.
		if err := tx.AddOrganizationMember(ctx, u.TenantID, org, u.ID); err != nil {
			return fmt.Errorf("accept invitation: membership: %w", err)
		}
		if err := tx.SetOrganizationMemberRoles(ctx, u.TenantID, org, u.ID, a.inv.OrgRoles); err != nil {
			return fmt.Errorf("accept invitation: membership: %w", err)
		}
		if err := tx.AppendEvent(ctx, at(events.OrganizationMember(events.TypeOrganizationMemberAdded, u.TenantID, u.ID, org, u.ID,
			a.inv.OrgRoles), now)); err != nil {
			return err
		}
	}
	return tx.AppendEvent(ctx, at(events.InvitationAccepted(u.TenantID, a.inv.ID, u.ID), now))
}

func nonNilRoles(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// invitationTTL applies the default and the bounds to a requested validity.
func invitationTTL(d time.Duration) (time.Duration, error) {
	if d == 0 {
		return DefaultInvitationTTL, nil
	}
	if d < MinInvitationTTL || d > MaxInvitationTTL {
		return 0, fmt.Errorf("%w: %s is outside %s to %s", ErrInvitationTTL, d, MinInvitationTTL, MaxInvitationTTL)
	}
	return d, nil
}

// existingRoles checks the role names and that each is one of the tenant's roles.
func (s *Service) existingRoles(ctx context.Context, tenantID string, names []string) ([]string, error) {
	roles, err := cleanRoles(names)
	if err != nil || len(roles) == 0 {
		return roles, err
	}
	have, err := s.db.ListRoles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var known []string
	for _, r := range have {
		known = append(known, r.Name)
	}
	for _, r := range roles {
		if !slices.Contains(known, r) {
			if len(known) == 0 {
				return nil, fmt.Errorf("%w %q: the tenant has no roles yet", ErrUnknownRole, r)
			}
			return nil, fmt.Errorf("%w %q: the tenant's roles are %s", ErrUnknownRole, r, strings.Join(known, ", "))
		}
	}
	return roles, nil
}

// enqueueInvitation queues the invitation email with the link carrying token, in tx, in the tenant's
// default language (the invitee has chosen none yet).
func (s *Service) enqueueInvitation(ctx context.Context, tx *store.Tx, inv store.Invitation, token, inviter string, now time.Time) error {
	if s.PublicURL == "" {
		return errors.New("invitation link: server.public_url is not set")
	}
	t, err := tx.GetTenant(ctx, inv.TenantID)
	if err != nil {
		return err
	}
	if inviter == "" {
		inviter = t.Name
		if inviter == "" {
			inviter = t.ID
		}
	}
	lang, _, _ := strings.Cut(strings.ToLower(t.Settings.Look.DefaultLocale), "-")
	return events.EnqueueInvitation(ctx, tx, s.SealEmail, inv.TenantID, inv.Email, inviter, lang,
		s.InvitationLink(inv.TenantID, token), now)
}
