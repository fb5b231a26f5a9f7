package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// SP metadata documents are small; a bigger answer is not metadata worth waiting for.
const (
	spMetadataTimeout  = 10 * time.Second
	spMetadataMaxBytes = 1 << 20
)

// UpsertSAMLApp creates SAML app a of tenantID or replaces the stored one with the same entity id. When
// a names a metadata_url, the SP's metadata is fetched and fills the entity id, ACS URLs, SLO URL and
// certificate that a does not give: what the operator wrote wins over what the SP publishes. The app is
// stored as it was completed, so sign-ins never wait on the SP's metadata.
func (s *Service) UpsertSAMLApp(ctx context.Context, tenantID string, a config.SAMLApp, actor string) (config.SAMLApp, error) {
	a, err := s.completeSAMLApp(ctx, a)
	if err != nil {
		return a, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error { return s.upsertSAMLApp(ctx, tx, tenantID, a, actor) })
	return a, err
}

// completeSAMLApp validates a and fills it from its metadata, outside any transaction (it may wait on
// the network).
func (s *Service) completeSAMLApp(ctx context.Context, a config.SAMLApp) (config.SAMLApp, error) {
	if p := a.Validate("saml_app " + a.EntityID); len(p) > 0 {
		return a, &InvalidError{Problems: p}
	}
	if a.MetadataURL == "" {
		return a, nil
	}
	md, err := s.fetchSPMetadata(ctx, a.MetadataURL)
	if err != nil {
		return a, &InvalidError{Problems: []string{fmt.Sprintf("saml_app %s.metadata_url: %v", a.EntityID, err)}, cause: err}
	}
	fillFromMetadata(&a, md)
	var p problems
	if a.EntityID == "" {
		p.add("saml_app "+a.MetadataURL+".entity_id", "neither given nor in the metadata")
	}
	if len(a.ACSURLs) == 0 {
		p.add("saml_app "+a.EntityID+".acs_urls", "neither given nor an HTTP-POST AssertionConsumerService in the metadata")
	}
	if len(p) == 0 {
		// What the metadata supplied must pass the same checks as what an operator writes.
		p = problems(a.Validate("saml_app " + a.EntityID))
	}
	return a, p.err()
}

func (s *Service) fetchSPMetadata(ctx context.Context, url string) (*saml.EntityDescriptor, error) {
	ctx, cancel := context.WithTimeout(ctx, spMetadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	client := s.http
	if client == nil {
		client = &http.Client{Timeout: spMetadataTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch SP metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch SP metadata: HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, spMetadataMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch SP metadata: %w", err)
	}
	if len(body) > spMetadataMaxBytes {
		return nil, fmt.Errorf("SP metadata is larger than %d bytes", spMetadataMaxBytes)
	}
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(body, &md); err != nil {
		return nil, fmt.Errorf("SP metadata is not a SAML EntityDescriptor: %w", err)
	}
	if len(md.SPSSODescriptors) == 0 {
		return nil, errors.New("SP metadata has no SPSSODescriptor")
	}
	return &md, nil
}

// fillFromMetadata completes a with what md says and a does not.
func fillFromMetadata(a *config.SAMLApp, md *saml.EntityDescriptor) {
	if a.EntityID == "" {
		a.EntityID = md.EntityID
	}
	sp := md.SPSSODescriptors[0]
	if len(a.ACSURLs) == 0 {
		// UMM answers with the HTTP-POST binding only.
		for _, e := range sp.AssertionConsumerServices {
			if e.Binding == saml.HTTPPostBinding {
				a.ACSURLs = append(a.ACSURLs, e.Location)
			}
		}
	}
	if a.SLOURL == "" {
		for _, e := range sp.SingleLogoutServices {
			if e.Binding == saml.HTTPRedirectBinding || e.Binding == saml.HTTPPostBinding {
				a.SLOURL = e.Location
				break
			}
		}
	}
	if a.SPCertificate == "" {
		// A signing key is preferred: it checks the SP's requests; a key without use serves both.
		for _, use := range []string{"signing", "", "encryption"} {
			for _, kd := range sp.KeyDescriptors {
				if kd.Use != use || len(kd.KeyInfo.X509Data.X509Certificates) == 0 {
					continue
				}
				data := strings.Join(strings.Fields(kd.KeyInfo.X509Data.X509Certificates[0].Data), "")
				if der, err := base64.StdEncoding.DecodeString(data); err == nil {
					a.SPCertificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
					return
				}
			}
		}
	}
}

func (s *Service) upsertSAMLApp(ctx context.Context, tx *store.Tx, tenantID string, a config.SAMLApp, actor string) error {
	if _, err := tx.GetTenant(ctx, tenantID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &InvalidError{Problems: []string{fmt.Sprintf("tenant %q does not exist", tenantID)}, cause: err}
		}
		return err
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode SAML app: %w", err)
	}
	row := store.SAMLApp{TenantID: tenantID, EntityID: a.EntityID, Name: a.Name, Config: string(b), UpdatedAt: s.now()}
	if err := tx.UpsertSAMLApp(ctx, row); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, events.SAMLAppUpserted(tenantID, actor, a.EntityID))
}

// ListSAMLApps returns the tenant's SAML apps ordered by entity id.
func (s *Service) ListSAMLApps(ctx context.Context, tenantID string) ([]config.SAMLApp, error) {
	rows, err := s.db.ListSAMLApps(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]config.SAMLApp, 0, len(rows))
	for _, r := range rows {
		var a config.SAMLApp
		if err := json.Unmarshal([]byte(r.Config), &a); err != nil {
			return nil, fmt.Errorf("SAML app %s: %w", r.EntityID, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// DeleteSAMLApp removes a SAML app; the SP's pending sign-ins fail when they come back.
func (s *Service) DeleteSAMLApp(ctx context.Context, tenantID, entityID, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSAMLApp(ctx, tenantID, entityID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no SAML app %q in tenant %s: %w", entityID, tenantID, store.ErrNotFound)
			}
			return err
		}
		return tx.AppendEvent(ctx, events.SAMLAppDeleted(tenantID, actor, entityID))
	})
}
