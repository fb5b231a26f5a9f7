package login

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

// requestClient returns the party a login request signs the user in to, as the client the pages know:
// the OAuth client of an authorization or device request, or, for a SAML request, the tenant's SAML app
// seen as a client. The pages read only its name, MFA policy, first-party flag and required profile
// fields from it. store.ErrNotFound when the client or app was deleted meanwhile.
func (p *Pages) requestClient(ctx context.Context, t store.Tenant, lr store.LoginRequest) (store.Client, error) {
	if lr.Kind != store.LoginKindSAML {
		return p.db.GetClient(ctx, t.ID, lr.ClientID)
	}
	row, err := p.db.GetSAMLApp(ctx, t.ID, lr.ClientID)
	if err != nil {
		return store.Client{}, err
	}
	var app config.SAMLApp
	if err := json.Unmarshal([]byte(row.Config), &app); err != nil {
		return store.Client{}, fmt.Errorf("SAML app %s: %w", row.EntityID, err)
	}
	// A SAML app is one the tenant's operator registered to sign its users in to, and SAML has no
	// scopes to consent to: it is first party, so the pages never ask for consent for it.
	return store.Client{TenantID: t.ID, ClientID: row.EntityID, Name: row.Name, FirstParty: true, MFAPolicy: app.MFAPolicy}, nil
}

// samlResumePath is where a signed-in SAML login request goes: the SAML IdP answers the SP from there.
func samlResumePath(t store.Tenant, lrID string) string {
	return tenantPath(t) + "/saml/resume?lr=" + url.QueryEscape(lrID)
}
