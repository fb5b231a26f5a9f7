package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Users from upstream identity providers (package federation speaks the protocols; this file owns what
// becomes of the person). An upstream identity is linked to at most one user; a user may hold several.
// Linking to an existing account happens only after the person proved that account, or when the
// connection trusts the upstream's verified address and the account's own address is verified too: an
// account whose address nobody proved may have been registered by someone else in the owner's name, and
// linking it would hand that someone the owner's upstream sign-in.

// Ways a link came about (the "how" of identity.linked).
const (
	LinkCreated      = "created"           // the account was created from the upstream identity
	LinkTrustedEmail = "trusted_email"     // the connection trusts the upstream's verified address
	LinkPassword     = "proved_password"   // the person signed in to the account with its password
	LinkPasskey      = "proved_passkey"    // ... with one of its passkeys
	LinkEmailCode    = "proved_email_code" // ... with a code sent to its address
	LinkAccount      = "account_page"      // the signed-in owner linked it from the account page
	LinkImported     = "imported"          // a directory's user moved in with the password the directory accepted
)

// Errors of linking and unlinking.
var (
	// ErrIdentityTaken: the upstream identity is linked to another user.
	ErrIdentityTaken = errors.New("this upstream account is already linked to another account")
	// ErrLastSignIn: removing the identity would leave the account no way to sign in.
	ErrLastSignIn = errors.New("the account has no other way to sign in")
	// ErrNoEmail: the upstream shared no address, and an account needs one.
	ErrNoEmail = errors.New("the upstream account shared no email address")
)

// Upstream is an upstream identity as the hosted pages hand it over (from federation.Identity, after the
// connection's role mapping).
type Upstream struct {
	Connection    string
	Subject       string
	Email         string
	EmailVerified bool
	// Profile values by field name (given_name, family_name, locale, custom fields, ...); values the
	// tenant's schema refuses are dropped, never fatal.
	Profile map[string]string
	// Roles are the UMM roles the mapping grants now; Managed every role the mapping can grant, so a role
	// the upstream stopped granting is taken away while roles given in UMM stay.
	Roles, Managed []string
	Claims         string // the upstream's claims as JSON, kept on the identity
	Tokens         []byte // the upstream's tokens, sealed; nil when not kept
}

// TokensAAD binds an identity's sealed upstream tokens to it.
func TokensAAD(tenantID, connection, subject string) []byte {
	return keys.UpstreamTokensAAD(tenantID, connection, subject)
}

// LinkedUser returns the user an upstream identity is linked to, store.ErrNotFound when it is not linked.
func (s *Service) LinkedUser(ctx context.Context, tenantID, connection, subject string) (store.User, error) {
	ui, err := s.db.GetIdentity(ctx, tenantID, connection, subject)
	if err != nil {
		return store.User{}, err
	}
	return s.db.GetUser(ctx, tenantID, ui.UserID)
}

// upstreamProfile keeps the values of up's profile that the tenant's schema accepts (as an operator's
// write), each checked alone so one odd value does not cost the others.
func (s *Service) upstreamProfile(ctx context.Context, t store.Tenant, up Upstream) map[string]any {
	out := map[string]any{}
	names := make([]string, 0, len(up.Profile))
	for k := range up.Profile {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v := strings.TrimSpace(up.Profile[name])
		if v == "" || name == "email" || name == "email_verified" || name == "phone_number_verified" {
			continue
		}
		clean, errs := ValidateProfile(t.Settings.Profile, PurposeAdmin, map[string]any{name: v}, s.now())
		if errs != nil {
			s.log.DebugContext(ctx, "upstream profile value dropped", "tenant", t.ID, "connection", up.Connection, "field", name)
			continue
		}
		for k, cv := range clean {
			out[k] = cv
		}
	}
	return out
}

// ProvisionFederated creates an account from an upstream identity and links it, in one transaction with
// user.created and identity.linked. The address is verified only when the upstream said so. It fails with
// ErrNoEmail without an address, store.ErrConflict when the address belongs to an account (link instead)
// or the identity is linked already.
func (s *Service) ProvisionFederated(ctx context.Context, t store.Tenant, up Upstream) (store.User, error) {
	return s.provision(ctx, t, up, "", LinkCreated)
}

// provision is ProvisionFederated; a non-empty phc becomes the account's password.
func (s *Service) provision(ctx context.Context, t store.Tenant, up Upstream, phc, how string) (store.User, error) {
	if strings.TrimSpace(up.Email) == "" {
		return store.User{}, ErrNoEmail
	}
	emailNorm, err := NormalizeEmail(up.Email)
	if err != nil {
		return store.User{}, err
	}
	roles, err := cleanRoles(up.Roles)
	if err != nil {
		return store.User{}, err
	}
	now := s.now()
	u := store.User{TenantID: t.ID, ID: keys.NewID(), Email: strings.TrimSpace(up.Email), EmailNorm: emailNorm,
		EmailVerified: up.EmailVerified, Roles: roles, CreatedAt: now, UpdatedAt: now}
	ApplyProfile(&u, s.upstreamProfile(ctx, t, up))
	if checkNames(u.GivenName, u.FamilyName) != nil {
		u.GivenName, u.FamilyName = "", ""
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		// An address the upstream did not vouch for was only typed by the person, as at registration:
		// the account counts as self-registered, so the tenant's verification applies before it signs in
		// (and an account never verified is cleared away like any other).
		if !u.EmailVerified {
			if err := tx.MarkSelfRegistered(ctx, t.ID, u.ID); err != nil {
				return err
			}
		}
		if len(roles) > 0 {
			if err := tx.SetUserRoles(ctx, t.ID, u.ID, roles); err != nil {
				return err
			}
		}
		if err := tx.AppendEvent(ctx, at(withVia(events.UserCreated(t.ID, u.ID, u.ID), up.Connection), now)); err != nil {
			return err
		}
		if phc != "" {
			if err := tx.SetPasswordHash(ctx, t.ID, u.ID, phc, now); err != nil {
				return err
			}
		}
		return s.link(ctx, tx, t.ID, u.ID, up, how, u.ID, now)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("provision upstream user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = now.Truncate(1e9), now.Truncate(1e9)
	return u, nil
}

// withVia names the connection an event came through.
func withVia(e store.Event, connection string) store.Event {
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	e.Data["connection"] = connection
	return e
}

// link stores the identity of up for userID with its identity.linked event.
func (s *Service) link(ctx context.Context, tx *store.Tx, tenantID, userID string, up Upstream, how, actor string, now time.Time) error {
	err := tx.LinkIdentity(ctx, store.UserIdentity{TenantID: tenantID, ConnectionID: up.Connection, Subject: up.Subject,
		UserID: userID, Email: up.Email, EmailVerified: up.EmailVerified, Claims: up.Claims, Tokens: up.Tokens,
		CreatedAt: now, LastUsedAt: now})
	if errors.Is(err, store.ErrConflict) {
		return ErrIdentityTaken
	}
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, at(events.IdentityLinked(tenantID, actor, userID, up.Connection, up.Subject, how), now))
}

// LinkFederated links up to the existing account userID (how says what allowed it) and applies its
// role mapping. ErrIdentityTaken when the identity is linked to someone else; linking it again to the same
// user changes nothing.
func (s *Service) LinkFederated(ctx context.Context, t store.Tenant, userID string, up Upstream, how, actor string) error {
	now := s.now()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ui, err := tx.GetIdentity(ctx, t.ID, up.Connection, up.Subject)
		switch {
		case err == nil && ui.UserID == userID:
			return nil
		case err == nil:
			return ErrIdentityTaken
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := s.link(ctx, tx, t.ID, userID, up, how, actor, now); err != nil {
			return err
		}
		return s.syncRoles(ctx, tx, t.ID, userID, up, now)
	})
	if err != nil {
		return fmt.Errorf("link upstream identity: %w", err)
	}
	return nil
}

// syncRoles gives userID the roles up's mapping grants now and takes away the managed ones it no longer
// grants, with roles.changed when that changes anything.
func (s *Service) syncRoles(ctx context.Context, tx *store.Tx, tenantID, userID string, up Upstream, now time.Time) error {
	if len(up.Managed) == 0 {
		return nil
	}
	have, err := tx.UserRoles(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	var next []string
	for _, r := range have {
		if !slices.Contains(up.Managed, r) {
			next = append(next, r)
		}
	}
	next, err = cleanRoles(append(next, up.Roles...))
	if err != nil {
		return err
	}
	if slices.Equal(have, next) {
		return nil
	}
	if err := tx.SetUserRoles(ctx, tenantID, userID, next); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, at(withVia(events.RolesChanged(tenantID, userID, "connection:"+up.Connection, next), up.Connection), now))
}

// RefreshFederated records a sign-in through a linked identity: what the upstream said this time, its
// tokens when kept, the role mapping, and with profile (directories the tenant treats as the source of
// truth) the mapped profile fields too.
func (s *Service) RefreshFederated(ctx context.Context, t store.Tenant, userID string, up Upstream, profile bool) (store.User, error) {
	now := s.now()
	var vals map[string]any
	if profile {
		vals = s.upstreamProfile(ctx, t, up)
	}
	var out store.User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.TouchIdentity(ctx, store.UserIdentity{TenantID: t.ID, ConnectionID: up.Connection, Subject: up.Subject,
			Email: up.Email, EmailVerified: up.EmailVerified, Claims: up.Claims, Tokens: up.Tokens}, now); err != nil {
			return err
		}
		if err := s.syncRoles(ctx, tx, t.ID, userID, up, now); err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, t.ID, userID)
		if err != nil {
			return err
		}
		out = u
		if len(vals) == 0 {
			return nil
		}
		next := u
		fields := ApplyProfile(&next, vals)
		if len(fields) == 0 || checkNames(next.GivenName, next.FamilyName) != nil {
			return nil
		}
		next.UpdatedAt = now
		if err := tx.UpdateUser(ctx, next); err != nil {
			return err
		}
		out = next
		return tx.AppendEvent(ctx, at(withVia(events.UserUpdated(t.ID, userID, "connection:"+up.Connection, fields), up.Connection), now))
	})
	if err != nil {
		return store.User{}, fmt.Errorf("refresh upstream identity: %w", err)
	}
	return out, nil
}

// SignInWays counts how u can sign in besides the linked identity (connection, subject): a password
// when the tenant offers passwords, a passkey, an email code to a verified address when the tenant offers it, or another linked identity.
func (s *Service) SignInWays(ctx context.Context, t store.Tenant, u store.User, connection, subject string) (int, error) {
	n := 0
	// A password counts only where the tenant's sign-in page asks for one, as passkeys and codes do.
	if has, err := s.db.HasPassword(ctx, t.ID, u.ID); err != nil {
		return 0, err
	} else if has && t.Settings.Login.Allows(config.MethodPassword) {
		n++
	}
	fs, err := s.db.ListFactors(ctx, t.ID, u.ID)
	if err != nil {
		return 0, err
	}
	for _, f := range fs {
		if f.Kind == store.FactorWebAuthn && f.Confirmed() && t.Settings.Login.Allows(config.MethodPasskey) {
			n++
		}
	}
	if u.EmailVerified && t.Settings.Login.Allows(config.MethodEmailCode) {
		n++
	}
	ids, err := s.db.ListUserIdentities(ctx, t.ID, u.ID)
	if err != nil {
		return 0, err
	}
	for _, ui := range ids {
		if ui.ConnectionID != connection || ui.Subject != subject {
			n++
		}
	}
	return n, nil
}

// UnlinkIdentity removes u's identity at connection when another way to sign in remains (ErrLastSignIn
// otherwise), with identity.unlinked. store.ErrNotFound when u has no such identity.
func (s *Service) UnlinkIdentity(ctx context.Context, t store.Tenant, u store.User, connection, subject, actor string) error {
	ways, err := s.SignInWays(ctx, t, u, connection, subject)
	if err != nil {
		return err
	}
	if ways == 0 {
		return ErrLastSignIn
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UnlinkIdentity(ctx, t.ID, u.ID, connection, subject); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, at(events.IdentityUnlinked(t.ID, actor, u.ID, connection, subject), now))
	})
}

// DropUnprovenIdentities is what recovering an account whose address nobody had proved does to its
// linked identities, in tx: those whose upstream did not verify the address are unlinked (with
// identity.unlinked), since whoever signed in with them may have typed the owner's address upstream to
// hold an account in the owner's name, as a password set before anyone proved the address may be.
func DropUnprovenIdentities(ctx context.Context, tx *store.Tx, tenantID, userID, actor string, now time.Time) error {
	ids, err := tx.ListUserIdentities(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	for _, ui := range ids {
		if ui.EmailVerified {
			continue
		}
		if err := tx.UnlinkIdentity(ctx, tenantID, userID, ui.ConnectionID, ui.Subject); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.IdentityUnlinked(tenantID, actor, userID, ui.ConnectionID, ui.Subject), now)); err != nil {
			return err
		}
	}
	return nil
}

// ClaimUnverifiedAccount is what proving the mailbox of an account with an unverified address does when
// an upstream identity links to it: the address becomes verified, and a password set before anyone
// proved the address is removed, with every session and grant, since it may be someone else's who
// registered the address in the owner's name; so are identities linked from an unverified upstream
// address (DropUnprovenIdentities). One transaction with email.verified and user.updated.
func (s *Service) ClaimUnverifiedAccount(ctx context.Context, t store.Tenant, u store.User) (store.User, error) {
	now := s.now()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetEmailVerified(ctx, t.ID, u.ID, now); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.EmailVerified(t.ID, u.ID, "link"), now)); err != nil {
			return err
		}
		if err := DropUnprovenIdentities(ctx, tx, t.ID, u.ID, u.ID, now); err != nil {
			return err
		}
		if _, err := tx.GetPasswordHash(ctx, t.ID, u.ID); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.DeletePasswordHash(ctx, t.ID, u.ID); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, at(events.UserUpdated(t.ID, u.ID, u.ID, []string{"password"}), now)); err != nil {
			return err
		}
		return EndSessionsAndGrants(ctx, tx, t.ID, u.ID, u.ID, events.ReasonRevoked, "unverified_password_removed", now)
	})
	if err != nil {
		return u, fmt.Errorf("claim account: %w", err)
	}
	u.EmailVerified = true
	return u, nil
}

// ImportFromDirectory moves a directory user in after the directory accepted password (lazy migration):
// the account (created when there is none, else the account existing holds the address) gets that
// password, hashed like any other, and the directory identity is linked, so every later sign-in is
// local. The password is stored whatever the tenant's policy says: the person chose it under the
// directory's rules, and the next change follows the tenant's.
func (s *Service) ImportFromDirectory(ctx context.Context, t store.Tenant, existing *store.User, up Upstream, password string) (store.User, error) {
	phc, err := s.HashPassword(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	if existing == nil {
		return s.provision(ctx, t, up, phc, LinkImported)
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetPasswordHash(ctx, t.ID, existing.ID, phc, now); err != nil {
			return err
		}
		if _, err := tx.GetIdentity(ctx, t.ID, up.Connection, up.Subject); errors.Is(err, store.ErrNotFound) {
			if err := s.link(ctx, tx, t.ID, existing.ID, up, LinkImported, existing.ID, now); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		return s.syncRoles(ctx, tx, t.ID, existing.ID, up, now)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("import directory user: %w", err)
	}
	return *existing, nil
}
