package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/server"
)

func clientsCreateCommand() *command {
	return &command{
		name:  "clients create",
		short: "register an OAuth/OIDC client (prints a generated secret once)",
		summary: `Register an OAuth 2.0 / OpenID Connect client. A confidential client (client_secret_basic or
client_secret_post, the default) gets a generated 256-bit secret, printed once: UMM stores only a keyed
hash of it. --public registers a client without credentials (auth method none), which must use PKCE.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "client `id` (required)")
			fs.String("name", "", "display `name` shown on the consent page")
			fs.Var(new(listFlag), "redirect-uri", "redirect `URI` (repeatable or comma-separated; absolute, no fragment)")
			fs.Var(new(listFlag), "post-logout-redirect-uri", "post-logout redirect `URI` (repeatable)")
			fs.Var(new(listFlag), "grant-type", "grant `type` (repeatable): authorization_code, refresh_token, client_credentials,\nurn:ietf:params:oauth:grant-type:device_code (default authorization_code,refresh_token;\nclient_credentials for a confidential client without redirect URIs)")
			fs.Var(new(listFlag), "scope", "allowed `scope` (repeatable; default: the standard scopes)")
			fs.String("auth-method", "", "token endpoint auth `method`: client_secret_basic (default), client_secret_post, private_key_jwt, none")
			fs.Bool("public", false, "public client (same as --auth-method none): no secret, PKCE required")
			fs.Bool("first-party", false, "trusted first-party client: users are not asked for consent")
			fs.String("jwks-uri", "", "`URL` of the client's JWK Set (private_key_jwt)")
			fs.String("id-token-alg", "", "ID token signing `alg`: RS256 (default) or ES256")
			fs.Var(new(listFlag), "allowed-origin", "web `origin` whose browser app may call the token endpoints (repeatable;\nhttps://host[:port], http only for loopback); a public client's redirect URI origins are allowed already")
			fs.String("backchannel-logout-uri", "", "`URL` the server POSTs a logout token to when a session the client\ngot tokens in ends (https; http only on loopback)")
			fs.Bool("backchannel-logout-session-required", false, "the client needs sid in logout tokens (UMM always sends it)")
			fs.String("frontchannel-logout-uri", "", "`URL` framed on the signed-out page, with iss and sid (https; http only on loopback)")
			fs.Bool("frontchannel-logout-session-required", false, "the client needs iss and sid on its front-channel logout URI (UMM always sends them)")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			method := stringFlag(fs, "auth-method")
			if stringFlag(fs, "public") == "true" {
				if method != "" && method != admin.AuthNone {
					return usagef("--public conflicts with --auth-method %s", method)
				}
				method = admin.AuthNone
			}
			in := admin.ClientInput{
				ClientID: stringFlag(fs, "id"), Name: stringFlag(fs, "name"),
				RedirectURIs: listValue(fs, "redirect-uri"), PostLogoutRedirectURIs: listValue(fs, "post-logout-redirect-uri"),
				GrantTypes: listValue(fs, "grant-type"), Scopes: listValue(fs, "scope"),
				TokenEndpointAuthMethod: method, FirstParty: stringFlag(fs, "first-party") == "true",
				JWKSURI: stringFlag(fs, "jwks-uri"), IDTokenAlg: stringFlag(fs, "id-token-alg"),
				AllowedOrigins: listValue(fs, "allowed-origin"),
			}
			in.BackchannelLogoutURI = stringFlag(fs, "backchannel-logout-uri")
			in.BackchannelLogoutSessionRequired = stringFlag(fs, "backchannel-logout-session-required") == "true"
			in.FrontchannelLogoutURI = stringFlag(fs, "frontchannel-logout-uri")
			in.FrontchannelLogoutSessionRequired = stringFlag(fs, "frontchannel-logout-session-required") == "true"
			tenant := stringFlag(fs, "tenant")
			return withServices(ctx, e, fs, func(s *server.Services) error {
				c, secret, err := s.Admin.CreateClient(ctx, tenant, in, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "created client %s in tenant %s (%s, grants %s)\n", c.ClientID, tenant,
					c.TokenEndpointAuthMethod, strings.Join(c.GrantTypes, " "))
				fmt.Fprintf(e.stdout, "issuer: %s\n", s.Issuer(tenant))
				if secret != "" {
					printClientSecret(e, secret)
				}
				return nil
			})
		},
	}
}

// printClientSecret shows a new client secret, the only time it is shown: UMM keeps only its hash.
func printClientSecret(e *env, secret keys.Secret) {
	fmt.Fprintf(e.stdout, "client_secret: %s\n", string(secret))
	fmt.Fprintln(e.stderr, "Store the client secret now: it is not shown again and cannot be recovered.")
}

func clientsListCommand() *command {
	return &command{
		name:    "clients list",
		short:   "list a tenant's clients",
		summary: "List a tenant's clients.",
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
		},
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				cs, err := s.Admin.ListClients(ctx, stringFlag(fs, "tenant"))
				if err != nil {
					return err
				}
				w := newTable(e.stdout)
				fmt.Fprintln(w, "CLIENT_ID\tNAME\tAUTH_METHOD\tGRANT_TYPES\tFIRST_PARTY\tREDIRECT_URIS")
				for _, c := range cs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\n", c.ClientID, c.Name, c.TokenEndpointAuthMethod,
						strings.Join(c.GrantTypes, ","), c.FirstParty, strings.Join(c.RedirectURIs, " "))
				}
				return w.Flush()
			})
		},
	}
}

func clientsDeleteCommand() *command {
	return &command{
		name:    "clients delete",
		short:   "delete a client",
		summary: "Delete a client and everything issued to it (grants, refresh tokens, codes, consents). Its access\ntokens stop working at once on every node; a client registered again under its id starts empty.",
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "client `id` (required)")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				if err := s.Admin.DeleteClient(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "id"), actorCLI); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted client %s\n", stringFlag(fs, "id"))
				return nil
			})
		},
	}
}
