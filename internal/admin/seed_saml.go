package admin

import (
	"context"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// seedSAMLApp applies one seed SAML app when its fingerprint changed. An app given by its metadata URL
// alone is fetched again only when its seed entry changes.
func (s *Service) seedSAMLApp(ctx context.Context, tenantID string, a config.SAMLApp, res *SeedResult) error {
	key := a.EntityID
	if key == "" {
		key = a.MetadataURL
	}
	item := "saml_app:" + key
	fp, err := s.fingerprint("saml_app", tenantID, a)
	if err != nil {
		return err
	}
	old, err := s.db.GetSeedFingerprint(ctx, tenantID, item)
	if err != nil {
		return err
	}
	if old == fp {
		res.Unchanged++
		return nil
	}
	a, err = s.completeSAMLApp(ctx, a)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.upsertSAMLApp(ctx, tx, tenantID, a, events.ActorSeed); err != nil {
			return err
		}
		res.Applied = append(res.Applied, "saml_app "+tenantID+"/"+a.EntityID)
		return tx.SetSeedFingerprint(ctx, tenantID, item, fp)
	})
}
