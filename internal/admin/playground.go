package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// EnsurePlaygroundClients gives every tenant whose playground is on (settings.playground) its built-in
// public client: clientID, code + PKCE only, first party, with the exact redirect URI redirectURI(tenant)
// (under the current public URL, so a changed server.public_url is followed at the next start). A client
// that already matches is left alone; one that differs is put back. It returns the clients it wrote.
func (s *Service) EnsurePlaygroundClients(ctx context.Context, clientID string, redirectURI func(tenantID string) string) ([]string, error) {
	ts, err := s.db.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	var written []string
	for _, t := range ts {
		if !t.Settings.Playground {
			continue
		}
		in := ClientInput{
			ClientID: clientID, Name: "UMM playground",
			RedirectURIs: []string{redirectURI(t.ID)}, GrantTypes: []string{"authorization_code"},
			Scopes: []string{"openid", "profile", "email"}, TokenEndpointAuthMethod: AuthNone, FirstParty: true,
		}
		old, err := s.db.GetClient(ctx, t.ID, clientID)
		switch {
		case err == nil && playgroundClientMatches(old, in):
			continue
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return written, err
		}
		err = retryConflict(func() error {
			return s.db.InTx(ctx, func(tx *store.Tx) error { return s.upsertClient(ctx, tx, t.ID, in, events.ActorSeed) })
		})
		if err != nil {
			return written, fmt.Errorf("playground client of tenant %s: %w", t.ID, err)
		}
		written = append(written, "client "+t.ID+"/"+clientID)
	}
	return written, nil
}

func playgroundClientMatches(c store.Client, in ClientInput) bool {
	return c.Name == in.Name && slices.Equal(c.RedirectURIs, in.RedirectURIs) && slices.Equal(c.GrantTypes, in.GrantTypes) &&
		slices.Equal(c.Scopes, in.Scopes) && c.TokenEndpointAuthMethod == in.TokenEndpointAuthMethod && c.FirstParty &&
		len(c.SecretHash) == 0 && len(c.PostLogoutRedirectURIs) == 0 && c.JWKS == "" && c.JWKSURI == ""
}
