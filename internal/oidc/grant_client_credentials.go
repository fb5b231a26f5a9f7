package oidc

import (
	"context"
	"slices"
)

// grantClientCredentials issues an access token to a confidential client acting for itself (RFC 6749
// §4.4). It writes nothing: the client and tenant come from per-node caches and the token is a signed JWT,
// so the path costs no database round trip once the caches are warm.
func (p *Provider) grantClientCredentials(ctx context.Context, tr *tokenRequest) (*tokenResponse, error) {
	c := tr.client
	if c.Public() {
		return nil, errUnauthorizedClient("client_credentials needs a confidential client (one with credentials)")
	}
	var scopes []string
	if s := tr.form.Get("scope"); s != "" {
		req, ok := parseScope(s)
		if !ok {
			return nil, errInvalidScope("scope is malformed")
		}
		allowed := allowedScopes(c)
		for _, v := range req {
			switch {
			case v == scopeOpenID || v == scopeOfflineAccess:
				return nil, errInvalidScope("openid and offline_access need a user and cannot be granted with client_credentials")
			case !slices.Contains(allowed, v):
				// Unlike an authorization request, nobody is there to be asked: a scope the client may not
				// have is refused (RFC 6749 §5.2) rather than silently left out.
				return nil, errInvalidScope("this client may not request one of these scopes: request only scopes registered for the client")
			}
		}
		scopes = req
	} else {
		// RFC 6749 §3.3: no scope asks for the default, the client's registered scopes that need no user.
		for _, v := range c.Scopes {
			if v != scopeOpenID && v != scopeOfflineAccess {
				scopes = append(scopes, v)
			}
		}
	}
	api, err := p.lookupResource(ctx, tr.tenant.ID, tr.form.Get("resource"))
	if err != nil {
		return nil, err
	}
	return p.issue(ctx, tr.tenant, &authorization{grantType: grantClientCredentials, client: c, subject: c.ClientID, scopes: scopes,
		api: api})
}
