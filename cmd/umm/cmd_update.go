package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/server"
	"github.com/umm-project/umm/internal/store"
)

// The update commands change only the fields whose flags are given; a list flag given replaces the list.

// isSet reports whether flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func stringIfSet(fs *flag.FlagSet, name string) *string {
	if !isSet(fs, name) {
		return nil
	}
	v := stringFlag(fs, name)
	return &v
}

func listIfSet(fs *flag.FlagSet, name string) *[]string {
	if !isSet(fs, name) {
		return nil
	}
	v := listValue(fs, name)
	if v == nil {
		v = []string{}
	}
	return &v
}

func boolIfSet(fs *flag.FlagSet, name string) *bool {
	if !isSet(fs, name) {
		return nil
	}
	v := stringFlag(fs, name) == "true"
	return &v
}

// nothingToUpdate refuses an update command without any field to change.
func nothingToUpdate(fs *flag.FlagSet, keep ...string) error {
	changed := false
	fs.Visit(func(f *flag.Flag) {
		for _, k := range append(keep, "config") {
			if f.Name == k {
				return
			}
		}
		changed = true
	})
	if !changed {
		return usagef("nothing to update: give at least one field to change")
	}
	return nil
}

func clientsUpdateCommand() *command {
	return &command{
		name:  "clients update",
		short: "change a client's settings",
		summary: `Change a client's settings. Only the fields whose flags are given change; a list flag replaces the
whole list (give it once with an empty value to clear it). The result is checked like a new registration.
The secret is changed by "umm clients rotate-secret".`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "client `id` (required)")
			fs.String("name", "", "display `name` shown on the consent page")
			fs.Var(new(listFlag), "redirect-uri", "redirect `URI` (repeatable or comma-separated; replaces the list)")
			fs.Var(new(listFlag), "post-logout-redirect-uri", "post-logout redirect `URI` (repeatable; replaces the list)")
			fs.Var(new(listFlag), "grant-type", "grant `type` (repeatable; replaces the list)")
			fs.Var(new(listFlag), "scope", "allowed `scope` (repeatable; replaces the list; empty: the standard scopes)")
			fs.Bool("first-party", false, "trusted first-party client (--first-party=false to ask for consent again)")
			fs.String("jwks-uri", "", "`URL` of the client's JWK Set (private_key_jwt)")
			fs.String("id-token-alg", "", "ID token signing `alg`: RS256 or ES256")
			fs.Var(new(listFlag), "allowed-origin", "web `origin` whose browser app may call the token endpoints (repeatable; replaces the list)")
			fs.String("backchannel-logout-uri", "", "`URL` for back-channel logout tokens (empty: none)")
			fs.Bool("backchannel-logout-session-required", false, "the client needs sid in logout tokens")
			fs.String("frontchannel-logout-uri", "", "`URL` framed on the signed-out page (empty: none)")
			fs.Bool("frontchannel-logout-session-required", false, "the client needs iss and sid on its front-channel logout URI")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			if err := nothingToUpdate(fs, "tenant", "id"); err != nil {
				return err
			}
			patch := admin.ClientPatch{
				Name: stringIfSet(fs, "name"), RedirectURIs: listIfSet(fs, "redirect-uri"),
				PostLogoutRedirectURIs: listIfSet(fs, "post-logout-redirect-uri"), GrantTypes: listIfSet(fs, "grant-type"),
				Scopes: listIfSet(fs, "scope"), FirstParty: boolIfSet(fs, "first-party"),
				JWKSURI: stringIfSet(fs, "jwks-uri"), IDTokenAlg: stringIfSet(fs, "id-token-alg"),
				AllowedOrigins:                    listIfSet(fs, "allowed-origin"),
				BackchannelLogoutURI:              stringIfSet(fs, "backchannel-logout-uri"),
				BackchannelLogoutSessionRequired:  boolIfSet(fs, "backchannel-logout-session-required"),
				FrontchannelLogoutURI:             stringIfSet(fs, "frontchannel-logout-uri"),
				FrontchannelLogoutSessionRequired: boolIfSet(fs, "frontchannel-logout-session-required"),
			}
			tenant := stringFlag(fs, "tenant")
			return withServices(ctx, e, fs, func(s *server.Services) error {
				c, err := s.Admin.UpdateClient(ctx, tenant, stringFlag(fs, "id"), patch, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "updated client %s in tenant %s (%s, grants %s)\n", c.ClientID, tenant,
					c.TokenEndpointAuthMethod, strings.Join(c.GrantTypes, " "))
				return nil
			})
		},
	}
}

func clientsRotateSecretCommand() *command {
	return &command{
		name:  "clients rotate-secret",
		short: "give a client a new secret (prints it once)",
		summary: `Give a confidential client a new generated 256-bit secret, printed once: UMM stores only a keyed hash
of it. The previous secret stops working at once, or after --grace (for example 1h) so that the client's
deployments can switch without an outage.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "client `id` (required)")
			fs.Duration("grace", 0, "how long the previous secret keeps working (`duration`, e.g. 1h; default 0: not at all)")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			grace, _ := time.ParseDuration(stringFlag(fs, "grace"))
			tenant, id := stringFlag(fs, "tenant"), stringFlag(fs, "id")
			return withServices(ctx, e, fs, func(s *server.Services) error {
				secret, err := s.Admin.RotateClientSecret(ctx, tenant, id, grace, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "rotated the secret of client %s in tenant %s\n", id, tenant)
				if grace > 0 {
					fmt.Fprintf(e.stdout, "the previous secret keeps working for %s\n", grace)
				} else {
					fmt.Fprintln(e.stdout, "the previous secret no longer works")
				}
				printClientSecret(e, secret)
				return nil
			})
		},
	}
}

func usersUpdateCommand() *command {
	return &command{
		name:  "users update",
		short: "change a user's profile or roles",
		summary: `Change a user's profile or roles. Only the fields whose flags are given change. A new address is
unverified unless --email-verified is given too.`,
		flags: func(fs *flag.FlagSet) {
			userFlags(fs)
			fs.String("new-email", "", "the new email `address`")
			fs.String("given-name", "", "given `name`")
			fs.String("family-name", "", "family `name`")
			fs.Bool("email-verified", false, "mark the email address as verified (--email-verified=false: unverified)")
			fs.Var(new(listFlag), "role", "`role` (repeatable or comma-separated; replaces the user's roles; empty: none)")
			attrFlags(fs)
		},
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			if err := nothingToUpdate(fs, "tenant", "email", "id"); err != nil {
				return err
			}
			patch := admin.UserPatch{
				Email: stringIfSet(fs, "new-email"), GivenName: stringIfSet(fs, "given-name"),
				FamilyName: stringIfSet(fs, "family-name"), EmailVerified: boolIfSet(fs, "email-verified"),
				Roles: listIfSet(fs, "role"), Attributes: attrValues(fs),
			}
			return withUser(ctx, e, fs, func(s *server.Services, u store.User) error {
				u, err := s.Admin.UpdateUser(ctx, u.TenantID, u.ID, patch, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "updated user %s (%s)\n", u.Email, u.ID)
				return nil
			})
		},
	}
}

// tenantSettingFlags are the per-tenant lifetimes the tenant commands set, with the field each edits.
var tenantSettingFlags = []struct {
	name, help string
	field      func(*store.TenantSettings) *int64
}{
	{"session-idle", "SSO session idle timeout", func(s *store.TenantSettings) *int64 { return &s.SessionIdle }},
	{"session-absolute", "SSO session absolute lifetime", func(s *store.TenantSettings) *int64 { return &s.SessionAbsolute }},
	{"access-token-ttl", "access token lifetime", func(s *store.TenantSettings) *int64 { return &s.AccessTokenTTL }},
	{"id-token-ttl", "ID token lifetime", func(s *store.TenantSettings) *int64 { return &s.IDTokenTTL }},
	{"refresh-token-ttl", "refresh token lifetime", func(s *store.TenantSettings) *int64 { return &s.RefreshTokenTTL }},
	{"code-ttl", "authorization code lifetime", func(s *store.TenantSettings) *int64 { return &s.CodeTTL }},
	{"device-code-ttl", "device code lifetime", func(s *store.TenantSettings) *int64 { return &s.DeviceCodeTTL }},
	{"login-request-ttl", "pending sign-in lifetime", func(s *store.TenantSettings) *int64 { return &s.LoginRequestTTL }},
}

func tenantsUpdateCommand() *command {
	return &command{
		name:  "tenants update",
		short: "change a tenant's name or lifetimes",
		summary: `Change a tenant's name or token and session lifetimes. Only the fields whose flags are given change;
a lifetime of 0 restores the default.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("id", "", "tenant `id` (required)")
			fs.String("name", "", "display `name`")
			for _, f := range tenantSettingFlags {
				fs.Duration(f.name, 0, f.help+" (`duration`, e.g. 15m; 0: the default)")
			}
		},
		required: []string{"id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			if err := nothingToUpdate(fs, "id"); err != nil {
				return err
			}
			var edits []func(*store.TenantSettings)
			for _, f := range tenantSettingFlags {
				if !isSet(fs, f.name) {
					continue
				}
				d, _ := time.ParseDuration(stringFlag(fs, f.name))
				if d != 0 && d < time.Second {
					return usagef("--%s must be at least 1s (or 0 for the default)", f.name)
				}
				field, v := f.field, int64(d/time.Second)
				edits = append(edits, func(s *store.TenantSettings) { *field(s) = v })
			}
			patch := admin.TenantPatch{Name: stringIfSet(fs, "name"), Settings: func(s *store.TenantSettings) {
				for _, edit := range edits {
					edit(s)
				}
			}}
			return withServices(ctx, e, fs, func(s *server.Services) error {
				t, err := s.Admin.UpdateTenant(ctx, stringFlag(fs, "id"), patch, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "updated tenant %s (%s)\n", t.ID, t.Name)
				return nil
			})
		},
	}
}

func tenantsDeleteCommand() *command {
	return &command{
		name:  "tenants delete",
		short: "delete a tenant with everything in it",
		summary: `Delete a tenant with everything in it: users, clients, sessions, grants, tokens, signing keys and its
event history. Tokens it issued stop working at once on every node. This cannot be undone; --yes confirms.
A tenant named in the configuration's tenants block is created again (empty) at the next start.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("id", "", "tenant `id` (required)")
			fs.Bool("yes", false, "confirm the deletion")
		},
		required: []string{"id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			id := stringFlag(fs, "id")
			if ok, _ := strconv.ParseBool(stringFlag(fs, "yes")); !ok {
				return usagef("deleting tenant %s removes all its users, clients and tokens for good: add --yes to confirm", id)
			}
			return withServices(ctx, e, fs, func(s *server.Services) error {
				if err := s.Admin.DeleteTenant(ctx, id, actorCLI); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted tenant %s\n", id)
				return nil
			})
		},
	}
}
