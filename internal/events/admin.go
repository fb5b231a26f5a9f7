package events

import "github.com/umm-project/umm/internal/store"

// Event types written by package admin.
const (
	TypeTenantUpdated = "tenant.updated"
)

// TenantUpdated records a tenant's name or settings changed.
func TenantUpdated(tenantID, actor string) store.Event {
	return ev(TypeTenantUpdated, tenantID, actor, tenantID)
}
