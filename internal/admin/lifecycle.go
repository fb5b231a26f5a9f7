package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// DeleteClient removes a client and ends everything issued to it in one transaction (store.DeleteClient):
// one grant.revoked event per grant, then client.deleted. Its access tokens stop working on every node at
// once. An error wrapping store.ErrNotFound when it does not exist.
func (s *Service) DeleteClient(ctx context.Context, tenantID, clientID, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		grants, err := tx.DeleteClient(ctx, tenantID, clientID)
		if errors.Is(err, store.ErrNotFound) {
			return errNoClient(tenantID, clientID)
		}
		if err != nil {
			return err
		}
		for _, g := range grants {
			if err := tx.AppendEvent(ctx, events.GrantRevoked(tenantID, g.UserID, g.ClientID, g.ID, actor, events.ReasonClientDeleted)); err != nil {
				return err
			}
		}
		return tx.AppendEvent(ctx, events.ClientDeleted(tenantID, clientID, actor))
	})
}

// errNoClient is the answer about a client that does not exist: it wraps store.ErrNotFound and says where
// to look.
func errNoClient(tenantID, clientID string) error {
	return fmt.Errorf("no client %q in tenant %s (umm clients list shows the clients): %w", clientID, tenantID, store.ErrNotFound)
}

// txClient reads a client inside tx; an unknown one is errNoClient.
func txClient(ctx context.Context, tx *store.Tx, tenantID, clientID string) (store.Client, error) {
	c, err := tx.GetClient(ctx, tenantID, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return c, errNoClient(tenantID, clientID)
	}
	return c, err
}

// ClientPatch changes some fields of a client; nil fields stay as they are. The secret is changed by
// RotateClientSecret only.
type ClientPatch struct {
	Name                   *string
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	GrantTypes             *[]string
	Scopes                 *[]string
	FirstParty             *bool
	JWKSURI                *string
	IDTokenAlg             *string
	AllowedOrigins         *[]string
	// Single logout: an empty URI removes it (and its *SessionRequired flag must then be false).
	BackchannelLogoutURI              *string
	BackchannelLogoutSessionRequired  *bool
	FrontchannelLogoutURI             *string
	FrontchannelLogoutSessionRequired *bool
	// MFAPolicy replaces the tenant's MFA policy for this client; "" follows the tenant's.
	MFAPolicy *string
}

// UpdateClient applies patch to the client and validates the result as a whole, like a new registration.
// An error wrapping store.ErrNotFound when the client does not exist.
func (s *Service) UpdateClient(ctx context.Context, tenantID, clientID string, patch ClientPatch, actor string) (store.Client, error) {
	if err := s.requireTenant(ctx, tenantID); err != nil {
		return store.Client{}, err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		old, err := txClient(ctx, tx, tenantID, clientID)
		if err != nil {
			return err
		}
		in := ClientInput{
			ClientID: old.ClientID, Name: old.Name, RedirectURIs: old.RedirectURIs,
			PostLogoutRedirectURIs: old.PostLogoutRedirectURIs, GrantTypes: old.GrantTypes, Scopes: old.Scopes,
			TokenEndpointAuthMethod: old.TokenEndpointAuthMethod, FirstParty: old.FirstParty, JWKS: old.JWKS,
			JWKSURI: old.JWKSURI, IDTokenAlg: old.IDTokenAlg, AllowedOrigins: old.AllowedOrigins,
			BackchannelLogoutURI: old.BackchannelLogoutURI, BackchannelLogoutSessionRequired: old.BackchannelLogoutSessionRequired,
			FrontchannelLogoutURI: old.FrontchannelLogoutURI, FrontchannelLogoutSessionRequired: old.FrontchannelLogoutSessionRequired,
			RequiredProfileFields: old.RequiredProfileFields, InitiateLoginURI: old.InitiateLoginURI, MFAPolicy: old.MFAPolicy,
		}
		set(&in.Name, patch.Name)
		set(&in.MFAPolicy, patch.MFAPolicy)
		set(&in.RedirectURIs, patch.RedirectURIs)
		set(&in.PostLogoutRedirectURIs, patch.PostLogoutRedirectURIs)
		set(&in.GrantTypes, patch.GrantTypes)
		set(&in.Scopes, patch.Scopes)
		set(&in.FirstParty, patch.FirstParty)
		set(&in.IDTokenAlg, patch.IDTokenAlg)
		set(&in.AllowedOrigins, patch.AllowedOrigins)
		set(&in.BackchannelLogoutURI, patch.BackchannelLogoutURI)
		set(&in.BackchannelLogoutSessionRequired, patch.BackchannelLogoutSessionRequired)
		set(&in.FrontchannelLogoutURI, patch.FrontchannelLogoutURI)
		set(&in.FrontchannelLogoutSessionRequired, patch.FrontchannelLogoutSessionRequired)
		if patch.JWKSURI != nil {
			in.JWKSURI = *patch.JWKSURI
			if in.JWKSURI != "" {
				in.JWKS = "" // one source of keys
			}
		}
		hasSecret := len(old.SecretHash) > 0
		in.normalize(hasSecret)
		if err := in.validate(hasSecret); err != nil {
			return err
		}
		return s.writeClient(ctx, tx, tenantID, in, old.SecretHash, actor)
	})
	if err != nil {
		return store.Client{}, err
	}
	return s.db.GetClient(ctx, tenantID, clientID)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// MaxSecretGrace bounds how long a replaced client secret may keep working.
const MaxSecretGrace = 30 * 24 * time.Hour

// RotateClientSecret gives a confidential client a new generated 256-bit secret and returns it (shown
// once; only its hash is stored). The previous secret keeps working for grace (0: it stops at once), so
// that the client's deployments can be updated without an outage.
func (s *Service) RotateClientSecret(ctx context.Context, tenantID, clientID string, grace time.Duration, actor string) (keys.Secret, error) {
	if grace < 0 || grace > MaxSecretGrace {
		return "", &InvalidError{Problems: []string{fmt.Sprintf("grace: must be between 0 and %s", MaxSecretGrace)}}
	}
	secret := keys.Secret(keys.NewToken())
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := txClient(ctx, tx, tenantID, clientID)
		if err != nil {
			return err
		}
		if !usesSecret(c.TokenEndpointAuthMethod) {
			return &InvalidError{Problems: []string{fmt.Sprintf(
				"client_secret: client %s authenticates with %s, not a secret; there is no secret to rotate", clientID, c.TokenEndpointAuthMethod)}}
		}
		var until time.Time
		if grace > 0 {
			until = s.now().Add(grace)
		}
		if err := tx.RotateClientSecret(ctx, tenantID, clientID, s.keyring.HashSecret(string(secret)), until); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.ClientSecretRotated(tenantID, clientID, actor, int64(grace/time.Second)))
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// TenantPatch changes some fields of a tenant; nil fields stay as they are.
type TenantPatch struct {
	Name     *string
	Settings func(*store.TenantSettings) // edits the settings in place
}

// UpdateTenant applies patch and validates the result. An error wrapping store.ErrNotFound when the tenant
// does not exist.
func (s *Service) UpdateTenant(ctx context.Context, id string, patch TenantPatch, actor string) (store.Tenant, error) {
	t, err := s.GetTenant(ctx, id)
	if err != nil {
		return t, err
	}
	in := TenantInput{ID: t.ID, Name: t.Name, Settings: t.Settings}
	set(&in.Name, patch.Name)
	if patch.Settings != nil {
		patch.Settings(&in.Settings)
	}
	if _, err := s.UpsertTenant(ctx, in, actor); err != nil {
		return store.Tenant{}, err
	}
	return s.db.GetTenant(ctx, id)
}

// DeleteTenant removes the tenant with everything in it (users, clients, sessions, tokens, keys, events)
// in one transaction, leaving only its tenant.deleted event; its tokens stop working on every node at
// once. A tenant created again under the same id starts empty, with new signing keys. A tenant the
// configuration's seed names is created again at the next start.
func (s *Service) DeleteTenant(ctx context.Context, id, actor string) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteTenant(ctx, id); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.TenantDeleted(id, actor))
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("tenant %q does not exist (umm tenants list shows the tenants): %w", id, store.ErrNotFound)
	}
	return err
}

// UserPatch changes some fields of a user; nil fields stay as they are.
type UserPatch struct {
	Email         *string
	GivenName     *string
	FamilyName    *string
	EmailVerified *bool
	Roles         *[]string
	// Attributes sets the profile values it names (an empty value clears one); the others stay.
	Attributes map[string]any
}

// UpdateUser applies patch: the profile through identity (one user.updated event naming the fields that
// changed), the roles through identity's role check (roles.changed).
func (s *Service) UpdateUser(ctx context.Context, tenantID, userID string, patch UserPatch, actor string) (store.User, error) {
	u, err := s.FindUser(ctx, tenantID, userID)
	if err != nil {
		return u, err
	}
	if err := s.checkAttributes(ctx, tenantID, patch.Attributes); err != nil {
		return store.User{}, err
	}
	p := identity.Profile{Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, EmailVerified: u.EmailVerified}
	set(&p.Email, patch.Email)
	set(&p.GivenName, patch.GivenName)
	set(&p.FamilyName, patch.FamilyName)
	set(&p.EmailVerified, patch.EmailVerified)
	if patch.Email != nil && patch.EmailVerified == nil && *patch.Email != u.Email {
		p.EmailVerified = false // a new address is not verified until proven
	}
	if _, err := s.identity.UpdateUser(ctx, tenantID, u.ID, p, actor); err != nil {
		return store.User{}, invalidUser(err)
	}
	if len(patch.Attributes) > 0 {
		if _, err := s.UpdateProfile(ctx, tenantID, u.ID, patch.Attributes, actor); err != nil {
			return store.User{}, err
		}
	}
	if patch.Roles != nil && !slices.Equal(slices.Sorted(slices.Values(*patch.Roles)), u.Roles) {
		if err := s.identity.SetRoles(ctx, tenantID, u.ID, *patch.Roles, actor); err != nil {
			return store.User{}, invalidUser(err)
		}
	}
	return s.identity.GetUser(ctx, tenantID, u.ID)
}
