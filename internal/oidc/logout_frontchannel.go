package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/umm-project/umm/internal/store"
)

// frontchannelLogoutURIs returns the iframe URLs that sign the browser out of each client that received
// tokens within session sid and registered a frontchannel_logout_uri (OpenID Connect Front-Channel Logout
// 1.0 §2, §4). Each carries iss and sid, whether or not the client requires them, so that a client can
// always tell which session ended; ID tokens carry the same sid.
func (p *Provider) frontchannelLogoutURIs(ctx context.Context, t store.Tenant, sid string) ([]string, error) {
	ids, err := p.sessions.Clients(ctx, t.ID, sid)
	if err != nil {
		return nil, fmt.Errorf("front-channel logout: %w", err)
	}
	var out []string
	for _, id := range ids {
		c, err := p.db.GetClient(ctx, t.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("front-channel logout: %w", err)
		}
		if c.FrontchannelLogoutURI == "" {
			continue
		}
		out = append(out, withQuery(c.FrontchannelLogoutURI, url.Values{"iss": {p.issuer(t.ID)}, "sid": {sid}}))
	}
	return out, nil
}
