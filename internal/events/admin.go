package events

import "github.com/umm-project/umm/internal/store"

// Event types written by package admin.
const (
	TypeTenantUpdated = "tenant.updated"
)

// ReasonPasswordReset is the reason of the session.ended and grant.revoked events written when an operator
// sets a user's password (admin.Service.SetPassword).
const ReasonPasswordReset = "password_reset"

// TenantUpdated records a tenant's name or settings changed.
func TenantUpdated(tenantID, actor string) store.Event {
	return ev(TypeTenantUpdated, tenantID, actor, tenantID)
}
