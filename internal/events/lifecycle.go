package events

import "github.com/umm-project/umm/internal/store"

// Event types of the client, tenant and key lifecycle.
const (
	TypeTenantDeleted       = "tenant.deleted"
	TypeClientSecretRotated = "client.secret_rotated"
	TypeKeyRevoked          = "key.revoked"
	TypeMasterKeyRotated    = "master_key.rotated"
)

// ReasonClientDeleted is the reason of the grant.revoked events written when a client is deleted.
const ReasonClientDeleted = "client_deleted"

// TenantDeleted records a tenant deleted with everything in it. It is the only row the tenant keeps.
func TenantDeleted(tenantID, actor string) store.Event {
	return ev(TypeTenantDeleted, tenantID, actor, tenantID)
}

// ClientSecretRotated records a new client secret; graceSeconds is how long the previous one still works
// (0: not at all).
func ClientSecretRotated(tenantID, clientID, actor string, graceSeconds int64) store.Event {
	e := withData(ev(TypeClientSecretRotated, tenantID, actor, clientID), "grace_seconds", graceSeconds)
	e.ClientID = clientID
	return e
}
