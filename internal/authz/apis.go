package authz

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// APIInput is what an API is created or replaced with.
type APIInput struct {
	Identifier    string
	Name          string
	TokenLifetime time.Duration // 0: the tenant's access token lifetime
	Claims        []string      // config.TokenClaims
	Permissions   []store.APIPermission
}

func (in APIInput) validate() error {
	var p problems
	if err := config.CheckAPIIdentifier(in.Identifier); err != nil {
		p.add("identifier", "%v", err)
	}
	if len(in.Name) > 200 {
		p.add("name", "is longer than 200 characters")
	}
	if in.TokenLifetime < 0 || in.TokenLifetime > config.MaxTokenLifetime {
		p.add("token_lifetime", "must be between 0 (the tenant's access token lifetime) and %d seconds",
			int64(config.MaxTokenLifetime/time.Second))
	} else if in.TokenLifetime%time.Second != 0 {
		p.add("token_lifetime", "must be a whole number of seconds")
	}
	for i, c := range in.Claims {
		if err := config.CheckTokenClaims([]string{c}); err != nil {
			p.add(fmt.Sprintf("claims[%d]", i), "%v", err)
		}
	}
	seen := map[string]bool{}
	for i, perm := range in.Permissions {
		field := fmt.Sprintf("permissions[%d].name", i)
		if err := config.CheckPermissionName(perm.Name); err != nil {
			p.add(field, "%v", err)
		} else if seen[perm.Name] {
			p.add(field, "%q appears twice", perm.Name)
		}
		seen[perm.Name] = true
		if len(perm.Description) > 500 {
			p.add(fmt.Sprintf("permissions[%d].description", i), "is longer than 500 characters")
		}
	}
	return p.err()
}

func (in APIInput) api(tenantID, id string) store.API {
	return store.API{TenantID: tenantID, ID: id, Identifier: in.Identifier, Name: strings.TrimSpace(in.Name),
		TokenLifetime: in.TokenLifetime, Claims: dedupe(in.Claims), Permissions: in.Permissions}
}

// GetAPI returns the API with id.
func (s *Service) GetAPI(ctx context.Context, tenantID, id string) (store.API, error) {
	a, err := s.db.GetAPI(ctx, tenantID, id)
	return a, notFound(err, "api", id)
}

// APIByIdentifier returns the API whose identifier is exactly identifier.
func (s *Service) APIByIdentifier(ctx context.Context, tenantID, identifier string) (store.API, error) {
	a, err := s.db.GetAPIByIdentifier(ctx, tenantID, identifier)
	return a, notFound(err, "api", identifier)
}

// ListAPIs returns up to limit APIs with id > after, ordered by id.
func (s *Service) ListAPIs(ctx context.Context, tenantID, after string, limit int) ([]store.API, error) {
	return s.db.ListAPIs(ctx, tenantID, after, limit)
}

// CreateAPI creates an API with its permissions.
func (s *Service) CreateAPI(ctx context.Context, tenantID string, in APIInput, actor string) (store.API, error) {
	if err := in.validate(); err != nil {
		return store.API{}, err
	}
	a := in.api(tenantID, keys.NewID())
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAPI(ctx, a); err != nil {
			return conflict(err, "identifier", "another API of this tenant has identifier "+in.Identifier)
		}
		return tx.AppendEvent(ctx, events.APIChanged(events.TypeAPICreated, tenantID, actor, a.ID, a.Identifier))
	})
	if err != nil {
		return store.API{}, fmt.Errorf("create api: %w", err)
	}
	return s.GetAPI(ctx, tenantID, a.ID)
}

// UpdateAPI replaces the API's settings and permissions. A permission it no longer lists is taken from
// every role that granted it.
func (s *Service) UpdateAPI(ctx context.Context, tenantID, id string, in APIInput, actor string) (store.API, error) {
	if err := in.validate(); err != nil {
		return store.API{}, err
	}
	a := in.api(tenantID, id)
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateAPI(ctx, a); err != nil {
			return conflict(notFound(err, "api", id), "identifier", "another API of this tenant has identifier "+in.Identifier)
		}
		return tx.AppendEvent(ctx, events.APIChanged(events.TypeAPIUpdated, tenantID, actor, a.ID, a.Identifier))
	})
	if err != nil {
		return store.API{}, fmt.Errorf("update api: %w", err)
	}
	return s.GetAPI(ctx, tenantID, id)
}

// DeleteAPI removes the API, its permissions and every role's grants of them.
func (s *Service) DeleteAPI(ctx context.Context, tenantID, id, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		a, err := tx.GetAPI(ctx, tenantID, id)
		if err != nil {
			return notFound(err, "api", id)
		}
		if err := tx.DeleteAPI(ctx, tenantID, id); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.APIChanged(events.TypeAPIDeleted, tenantID, actor, id, a.Identifier))
	})
}
