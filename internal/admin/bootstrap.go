package admin

import (
	"context"
	"errors"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// BootstrapClientID is the client created with the operator tenant at first start.
const BootstrapClientID = "bootstrap"

// Bootstrap is the credential of the operator tenant's first client, shown once.
type Bootstrap struct {
	Tenant   string
	ClientID string
	Secret   keys.Secret
}

// EnsureOperatorTenant creates the operator tenant (admin.tenant) when it does not exist, with a client
// that may call every operation of the management API (client credentials, scope umm:admin). Its secret
// is returned once, to be printed; only its hash is kept. When the tenant exists (an earlier start, or
// the seed defines it with its own clients) nothing is created and ok is false.
func (s *Service) EnsureOperatorTenant(ctx context.Context, tenantID string) (b Bootstrap, ok bool, err error) {
	if _, err := s.db.GetTenant(ctx, tenantID); err == nil {
		return b, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return b, false, err
	}
	if _, err := s.CreateTenant(ctx, TenantInput{ID: tenantID, Name: "Operators"}, events.ActorSystem); err != nil {
		if errors.Is(err, store.ErrConflict) { // another node created it at the same time
			return b, false, nil
		}
		return b, false, err
	}
	_, secret, err := s.CreateClient(ctx, tenantID, ClientInput{
		ClientID: BootstrapClientID, Name: "Bootstrap operator client", GrantTypes: []string{"client_credentials"},
		Scopes: []string{ScopeAdmin}, TokenEndpointAuthMethod: AuthSecretBasic, FirstParty: true,
	}, events.ActorSystem)
	if err != nil {
		return b, false, err
	}
	return Bootstrap{Tenant: tenantID, ClientID: BootstrapClientID, Secret: secret}, true, nil
}
