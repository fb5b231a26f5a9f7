package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// UserInput is a user to create. Password is optional (a user without one cannot sign in with a password).
type UserInput struct {
	Email         string
	Password      keys.Secret
	GivenName     string
	FamilyName    string
	EmailVerified bool
	Roles         []string
	// Attributes are profile values by field name: standard claims and the tenant's custom fields.
	Attributes map[string]any
}

// UserFromSeed converts a seed entry.
func UserFromSeed(u config.UserSeed) UserInput {
	return UserInput{
		Email: u.Email, Password: keys.Secret(u.Password), GivenName: u.GivenName, FamilyName: u.FamilyName,
		EmailVerified: u.EmailVerified, Roles: u.Roles, Attributes: u.Attributes,
	}
}

func (in UserInput) newUser() identity.NewUser {
	return identity.NewUser{
		Email: in.Email, Password: string(in.Password), GivenName: in.GivenName, FamilyName: in.FamilyName,
		EmailVerified: in.EmailVerified, Roles: in.Roles, Profile: in.profileValues(),
	}
}

// CreateUser creates a user (with its roles and password) through identity; store.ErrConflict when the
// email is taken.
func (s *Service) CreateUser(ctx context.Context, tenantID string, in UserInput, actor string) (store.User, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return store.User{}, err
	}
	u, err := s.identity.CreateUser(ctx, tenantID, in.newUser(), actor)
	if err != nil {
		return store.User{}, invalidUser(err)
	}
	return u, nil
}

// FindUser returns the user named by ref: an email address (contains @) or a user id.
func (s *Service) FindUser(ctx context.Context, tenantID, ref string) (store.User, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return store.User{}, err
	}
	var (
		u   store.User
		err error
	)
	if strings.Contains(ref, "@") {
		u, err = s.identity.FindUserByEmail(ctx, tenantID, ref)
	} else {
		u, err = s.identity.GetUser(ctx, tenantID, ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return u, fmt.Errorf("no user %q in tenant %s: %w", ref, tenantID, store.ErrNotFound)
	}
	return u, err
}

// ListUsers returns up to limit users of a tenant whose id sorts after after.
func (s *Service) ListUsers(ctx context.Context, tenantID, after string, limit int) ([]store.User, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return nil, err
	}
	return s.identity.ListUsers(ctx, tenantID, after, limit)
}

// SetPassword replaces a user's password after checking the password policy. It is an operator's reset
// (CLI, seed, later the admin API), so, as after a reset in other identity providers, whoever held the old
// password loses what it gave them: in the same transaction as the new hash and its password.changed
// event, every session of the user ends (session.ended, reason password_reset) and every grant is revoked
// (grant.revoked, reason password_reset), so refresh tokens stop working and access tokens stop
// introspecting.
func (s *Service) SetPassword(ctx context.Context, tenantID, userID string, password keys.Secret, actor string) error {
	return s.setPassword(ctx, tenantID, userID, password, actor, nil)
}

// setPassword is SetPassword running also, in its transaction, inTx (when not nil).
func (s *Service) setPassword(ctx context.Context, tenantID, userID string, password keys.Secret, actor string, inTx func(tx *store.Tx) error) error {
	u, err := s.identity.GetUser(ctx, tenantID, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	pw, err := s.identity.PreparePassword(ctx, tenantID, userID, u.Email, string(password))
	if err != nil {
		return invalidUser(err)
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetUser(ctx, tenantID, userID); err != nil { // deleted meanwhile
			return err
		}
		if err := pw.Store(ctx, tx, tenantID, userID, now); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.PasswordChanged(tenantID, userID, actor), now)); err != nil {
			return err
		}
		err := identity.EndSessionsAndGrants(ctx, tx, tenantID, userID, actor,
			events.ReasonPasswordReset, events.ReasonPasswordReset, now)
		if err != nil {
			return err
		}
		// A new password set by an operator ends any attack's hold on the account.
		if err := identity.AccountRecovered(ctx, tx, tenantID, userID, actor, now); err != nil {
			return err
		}
		if inTx != nil {
			return inTx(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// at stamps an event with the service clock's time.
func at(e store.Event, t time.Time) store.Event {
	e.CreatedAt = t
	return e
}

// SetDisabled disables (or enables again) a user.
func (s *Service) SetDisabled(ctx context.Context, tenantID, userID string, disabled bool, actor string) error {
	return s.identity.SetDisabled(ctx, tenantID, userID, disabled, actor)
}

// SetRoles replaces a user's roles.
func (s *Service) SetRoles(ctx context.Context, tenantID, userID string, roles []string, actor string) error {
	return invalidUser(s.identity.SetRoles(ctx, tenantID, userID, roles, actor))
}

// Unlock lifts the account's sign-in locks and counts (the account-wide hard lock included).
func (s *Service) Unlock(ctx context.Context, tenantID, userID, actor string) error {
	return s.identity.Unlock(ctx, tenantID, userID, actor)
}

// DeleteUser removes a user and everything that hangs off it.
func (s *Service) DeleteUser(ctx context.Context, tenantID, userID, actor string) error {
	return s.identity.DeleteUser(ctx, tenantID, userID, actor)
}

// invalidUser turns identity's validation errors into an *InvalidError naming the field to fix (the
// original error stays in the chain for errors.Is).
func invalidUser(err error) error {
	var pe *identity.PasswordError
	if ie, ok := profileProblems(err); ok {
		return ie
	}
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return &InvalidError{Problems: []string{"password: " + pe.Error()}, cause: err}
	case errors.Is(err, identity.ErrInvalidEmail):
		return &InvalidError{Problems: []string{"email: " + err.Error()}, cause: err}
	case errors.Is(err, identity.ErrInvalidRole):
		return &InvalidError{Problems: []string{"roles: " + err.Error()}, cause: err}
	case errors.Is(err, identity.ErrInvalidName):
		return &InvalidError{Problems: []string{"given_name, family_name: " + err.Error()}, cause: err}
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("a user with this email address already exists: %w", err)
	}
	return err
}
