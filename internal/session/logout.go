package session

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/umm-project/umm/internal/store"
)

// SAMLClientPrefix marks a SAML app (by entity ID) among a session's clients.
const SAMLClientPrefix = "saml:"

// FrontchannelLogoutURIs returns the iframe URLs that sign the browser out of each client that received
// tokens within session sid and registered a frontchannel_logout_uri (OpenID Connect Front-Channel Logout
// 1.0 §2, §4), for the page that tells the person they are signed out, and the SAML IdP's logout frame of
// each SAML app that got an assertion within it. Each carries iss (the tenant's
// issuer) and sid, whether or not the client requires them, so a client can always tell which session
// ended; ID tokens carry the same sid.
func (m *Manager) FrontchannelLogoutURIs(ctx context.Context, tenantID, issuer, sid string) ([]string, error) {
	ids, err := m.db.SessionClients(ctx, tenantID, sid)
	if err != nil {
		return nil, fmt.Errorf("front-channel logout: %w", err)
	}
	var out []string
	for _, id := range ids {
		if entityID, ok := strings.CutPrefix(id, SAMLClientPrefix); ok {
			// A SAML app is told by a signed LogoutRequest, which only the SAML IdP can make: frame its
			// page that does (it answers only for a session that has ended).
			out = append(out, issuer+"/saml/logout-frame?"+url.Values{"sid": {sid}, "sp": {entityID}}.Encode())
			continue
		}
		c, err := m.db.GetClient(ctx, tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("front-channel logout: %w", err)
		}
		if c.FrontchannelLogoutURI == "" {
			continue
		}
		sep := "?"
		if strings.Contains(c.FrontchannelLogoutURI, "?") {
			sep = "&"
		}
		out = append(out, c.FrontchannelLogoutURI+sep+url.Values{"iss": {issuer}, "sid": {sid}}.Encode())
	}
	return out, nil
}
