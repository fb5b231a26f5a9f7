package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// tenantCacheTTL bounds how long a node serves a tenant's cached row (settings, existence).
const tenantCacheTTL = 30 * time.Second

type tenantEntry struct {
	t       store.Tenant
	expires time.Time
}

// errUnknownTenant is returned by tenant for an id that is malformed or names no tenant.
var errUnknownTenant = errors.New("unknown tenant")

// tenant loads the tenant named by the {tenant} path value, from a per-node cache of tenantCacheTTL.
// Unknown or malformed ids return an error wrapping store.ErrNotFound (and errUnknownTenant).
func (p *Provider) tenant(r *http.Request) (store.Tenant, error) {
	return p.loadTenant(r.Context(), r.PathValue("tenant"))
}

func (p *Provider) loadTenant(ctx context.Context, id string) (store.Tenant, error) {
	now := time.Now()
	if v, ok := p.tenants.Load(id); ok {
		if e := v.(*tenantEntry); now.Before(e.expires) {
			return e.t, nil
		}
	}
	if p.tenantMisses.has(id, now) {
		return store.Tenant{}, fmt.Errorf("%w: %w", errUnknownTenant, store.ErrNotFound)
	}
	gen := p.invalidations.Load()
	defer p.dropIfInvalidated(gen, func() { p.tenants.Delete(id); p.tenantMisses.del(id) })
	t, err := p.db.GetTenant(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Remember misses briefly too, so a flood of requests for a missing tenant costs few queries.
		p.tenantMisses.add(id, now)
		return store.Tenant{}, fmt.Errorf("%w: %w", errUnknownTenant, err)
	case err != nil:
		return store.Tenant{}, fmt.Errorf("load tenant: %w", err)
	}
	p.tenants.Store(id, &tenantEntry{t: t, expires: now.Add(tenantCacheTTL)})
	return t, nil
}
