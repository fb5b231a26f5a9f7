package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// NewUser is the input of CreateUser. Password is optional (an account without a password signs in
// another way, or is given one later).
type NewUser struct {
	Email         string
	Password      string
	GivenName     string
	FamilyName    string
	EmailVerified bool
	Roles         []string
	// Profile are further profile values by field name (standard claims and custom attributes), checked
	// by ValidateProfile as an operator's write (profile_users.go).
	Profile map[string]any
}

// Profile is the input of UpdateUser: every field replaces the stored one.
type Profile struct {
	Email         string
	GivenName     string
	FamilyName    string
	EmailVerified bool
}

// maxNameLen bounds given and family names in bytes.
const maxNameLen = 200

// CreateUser creates an account. The email must be valid (ErrInvalidEmail) and unused in the tenant after
// normalisation (store.ErrConflict); a password, if given, must pass the tenant's password policy (*PasswordError).
// The user, its password, its roles (created when new) and the user.created event commit together.
func (s *Service) CreateUser(ctx context.Context, tenantID string, in NewUser, actor string) (store.User, error) {
	emailNorm, err := NormalizeEmail(in.Email)
	if err != nil {
		return store.User{}, err
	}
	if err := checkNames(in.GivenName, in.FamilyName); err != nil {
		return store.User{}, err
	}
	roles, err := cleanRoles(in.Roles)
	if err != nil {
		return store.User{}, err
	}
	var pw NewPassword
	if in.Password != "" {
		if pw, err = s.PreparePassword(ctx, tenantID, "", in.Email, in.Password); err != nil {
			return store.User{}, err
		}
	}
	now := s.now()
	u := store.User{TenantID: tenantID, ID: keys.NewID(), Email: strings.TrimSpace(in.Email), EmailNorm: emailNorm,
		EmailVerified: in.EmailVerified, GivenName: strings.TrimSpace(in.GivenName), FamilyName: strings.TrimSpace(in.FamilyName),
		Roles: roles, CreatedAt: now, UpdatedAt: now}
	if err := s.newUserProfile(ctx, &u, in.Profile); err != nil {
		return store.User{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if in.Password != "" {
			if err := pw.Store(ctx, tx, tenantID, u.ID, now); err != nil {
				return err
			}
		}
		if len(roles) > 0 {
			if err := tx.SetUserRoles(ctx, tenantID, u.ID, roles); err != nil {
				return err
			}
		}
		return tx.AppendEvent(ctx, at(events.UserCreated(tenantID, u.ID, actor), now))
	})
	if err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = now.Truncate(1e9), now.Truncate(1e9)
	return u, nil
}

// GetUser returns the user (with roles) or store.ErrNotFound.
func (s *Service) GetUser(ctx context.Context, tenantID, userID string) (store.User, error) {
	return s.db.GetUser(ctx, tenantID, userID)
}

// FindUserByEmail returns the user whose address equals email after normalisation, or store.ErrNotFound
// (also for a string that is not an address).
func (s *Service) FindUserByEmail(ctx context.Context, tenantID, email string) (store.User, error) {
	n, err := NormalizeEmail(email)
	if err != nil {
		return store.User{}, fmt.Errorf("find user: %w", store.ErrNotFound)
	}
	return s.db.GetUserByEmail(ctx, tenantID, n)
}

// ListUsers returns up to limit users (1..1000, default 100) whose id sorts after after, by id: pass the
// last id of a page to get the next one.
func (s *Service) ListUsers(ctx context.Context, tenantID, after string, limit int) ([]store.User, error) {
	return s.db.ListUsers(ctx, tenantID, after, limit)
}

// UpdateUser replaces the user's profile (email, names, email_verified) and records which fields changed.
// Nothing changed: no write and no event. A new email taken by another user is store.ErrConflict.
func (s *Service) UpdateUser(ctx context.Context, tenantID, userID string, in Profile, actor string) (store.User, error) {
	emailNorm, err := NormalizeEmail(in.Email)
	if err != nil {
		return store.User{}, err
	}
	if err := checkNames(in.GivenName, in.FamilyName); err != nil {
		return store.User{}, err
	}
	var out store.User
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		next := u
		next.Email, next.EmailNorm, next.EmailVerified = strings.TrimSpace(in.Email), emailNorm, in.EmailVerified
		next.GivenName, next.FamilyName = strings.TrimSpace(in.GivenName), strings.TrimSpace(in.FamilyName)
		var fields []string
		if next.Email != u.Email {
			fields = append(fields, "email")
		}
		if next.EmailVerified != u.EmailVerified {
			fields = append(fields, "email_verified")
		}
		if next.GivenName != u.GivenName {
			fields = append(fields, "given_name")
		}
		if next.FamilyName != u.FamilyName {
			fields = append(fields, "family_name")
		}
		if len(fields) == 0 {
			out = u
			return nil
		}
		now := s.now()
		next.UpdatedAt = now
		if err := tx.UpdateUser(ctx, next); err != nil {
			return err
		}
		next.UpdatedAt = now.Truncate(1e9)
		out = next
		return tx.AppendEvent(ctx, at(events.UserUpdated(tenantID, userID, actor, fields), now))
	})
	if err != nil {
		return store.User{}, fmt.Errorf("update user: %w", err)
	}
	return out, nil
}

// SetPassword sets (or replaces) the user's password after the tenant's password policy (PreparePassword). It does not end the
// user's sessions: callers that want that (a password reset) call session.Manager.EndAll.
func (s *Service) SetPassword(ctx context.Context, tenantID, userID, password, actor string) error {
	u, err := s.db.GetUser(ctx, tenantID, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	pw, err := s.PreparePassword(ctx, tenantID, userID, u.Email, password)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := pw.Store(ctx, tx, tenantID, userID, now); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.PasswordChanged(tenantID, userID, actor), now))
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// SetDisabled disables or enables the account. Disabling also ends every session of the user and revokes
// every grant (so refresh tokens and access tokens stop working); enabling does not bring them back, and
// lifts the account's sign-in locks (also when it was enabled already). Disabling a disabled account
// changes nothing.
func (s *Service) SetDisabled(ctx context.Context, tenantID, userID string, disabled bool, actor string) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		if u.Disabled == disabled {
			if !disabled { // enabling an enabled account still lifts its locks
				return UnlockInTx(ctx, tx, tenantID, userID, actor, events.UnlockEnabled, s.now())
			}
			return nil
		}
		now := s.now()
		if err := tx.SetUserDisabled(ctx, tenantID, userID, disabled, now); err != nil {
			return err
		}
		if !disabled {
			if err := tx.AppendEvent(ctx, at(events.UserEnabled(tenantID, userID, actor), now)); err != nil {
				return err
			}
			// An operator who enables the account means to let its owner in: lift the locks too.
			return UnlockInTx(ctx, tx, tenantID, userID, actor, events.UnlockEnabled, now)
		}
		if err := tx.AppendEvent(ctx, at(events.UserDisabled(tenantID, userID, actor), now)); err != nil {
			return err
		}
		return EndSessionsAndGrants(ctx, tx, tenantID, userID, actor, events.ReasonRevoked, "user_disabled", now)
	})
	if err != nil {
		return fmt.Errorf("set user disabled: %w", err)
	}
	return nil
}

// DeleteUser removes the account with its password, roles, sessions and consents, and revokes its grants.
func (s *Service) DeleteUser(ctx context.Context, tenantID, userID, actor string) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		if err := EndSessionsAndGrants(ctx, tx, tenantID, userID, actor, events.ReasonRevoked, "user_deleted", now); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, tenantID, userID); err != nil {
			return err
		}
		if err := tx.DeleteThrottlesOf(ctx, tenantID, accountKey(userID), "aip:"+userID+":", "dev:"+userID+":"); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.UserDeleted(tenantID, userID, actor), now))
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// EndSessionsAndGrants ends the user's live sessions and revokes all the user's grants in tx, with one
// event each: session.ended with sessionReason, grant.revoked with grantReason, and a back-channel logout
// message to every client that received tokens in an ended session. Disabling and deleting a user call
// it, and so does an operator's password reset (admin).
func EndSessionsAndGrants(ctx context.Context, tx *store.Tx, tenantID, userID, actor, sessionReason, grantReason string, now time.Time) error {
	return EndOtherSessionsAndGrants(ctx, tx, tenantID, userID, "", actor, sessionReason, grantReason, now)
}

// EndOtherSessionsAndGrants is EndSessionsAndGrants keeping the session keepSID (empty: none) live; every
// grant is revoked all the same, those issued in the kept session included. A password change on the
// account page calls it with the session it was made in.
func EndOtherSessionsAndGrants(ctx context.Context, tx *store.Tx, tenantID, userID, keepSID, actor, sessionReason, grantReason string, now time.Time) error {
	sids, err := tx.EndUserSessionsExcept(ctx, tenantID, userID, keepSID, now)
	if err != nil {
		return err
	}
	for _, sid := range sids {
		if err := tx.AppendEvent(ctx, at(events.SessionEnded(tenantID, userID, sid, actor, sessionReason), now)); err != nil {
			return err
		}
		// Back-Channel Logout 1.0: the clients of each session hear of its end, committed with it.
		if err := events.EnqueueSessionLogout(ctx, tx, tenantID, userID, sid, now); err != nil {
			return err
		}
	}
	return revokeGrants(ctx, tx, tenantID, userID, "", actor, grantReason, now)
}

// revokeGrants revokes the user's live grants (for clientID, or all when empty), one event each.
func revokeGrants(ctx context.Context, tx *store.Tx, tenantID, userID, clientID, actor, reason string, now time.Time) error {
	gs, err := tx.RevokeGrantsByUser(ctx, tenantID, userID, clientID, now)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if err := tx.AppendEvent(ctx, at(events.GrantRevoked(tenantID, userID, g.ClientID, g.ID, actor, reason), now)); err != nil {
			return err
		}
	}
	return nil
}

// SetRoles makes roles exactly the user's roles (role rows are created on first use) and records the new set.
func (s *Service) SetRoles(ctx context.Context, tenantID, userID string, roles []string, actor string) error {
	roles, err := cleanRoles(roles)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		if slices.Equal(u.Roles, roles) {
			return nil
		}
		if err := tx.SetUserRoles(ctx, tenantID, userID, roles); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.RolesChanged(tenantID, userID, actor, roles), s.now()))
	})
	if err != nil {
		return fmt.Errorf("set roles: %w", err)
	}
	return nil
}

// cleanRoles validates role names and returns them sorted without duplicates.
func cleanRoles(roles []string) ([]string, error) {
	var out []string
	for _, r := range roles {
		if r == "" || len(r) > 100 || strings.ContainsFunc(r, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) {
			return nil, fmt.Errorf("%w: %q", ErrInvalidRole, r)
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func checkNames(names ...string) error {
	for _, n := range names {
		if len(n) > maxNameLen || strings.ContainsFunc(n, unicode.IsControl) {
			return fmt.Errorf("%w: at most 200 bytes without control characters", ErrInvalidName)
		}
	}
	return nil
}

// at stamps an event with the service clock's time.
func at(e store.Event, t time.Time) store.Event {
	e.CreatedAt = t
	return e
}
