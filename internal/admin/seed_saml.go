package admin

import (
	"context"
	"errors"

	"github.com/umm-project/umm/internal/config"
)

// seedSAMLApp applies one seed SAML app when its fingerprint changed.
func (s *Service) seedSAMLApp(ctx context.Context, tenantID string, a config.SAMLApp, res *SeedResult) error {
	return errors.New("saml_apps are not supported yet")
}
