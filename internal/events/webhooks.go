package events

import (
	"github.com/umm-project/umm/internal/store"
)

// Webhook subscription events. Their data names what changed, never the secret.
const (
	TypeWebhookCreated       = "webhook.created"
	TypeWebhookUpdated       = "webhook.updated"
	TypeWebhookDeleted       = "webhook.deleted"
	TypeWebhookSecretRotated = "webhook.secret_rotated"
	TypeWebhookDisabled      = "webhook.disabled"
	TypeWebhookRedelivered   = "webhook.redelivered"
)

// WebhookCreated records a new subscription (subject: its id) to url for eventTypes (empty: all).
func WebhookCreated(tenantID, webhookID, actor, url string, eventTypes []string) store.Event {
	if eventTypes == nil {
		eventTypes = []string{}
	}
	return withData(ev(TypeWebhookCreated, tenantID, actor, webhookID), "url", url, "event_types", eventTypes)
}

// WebhookUpdated records a subscription's settings changed; fields names which ("url", "enabled", ...).
func WebhookUpdated(tenantID, webhookID, actor string, fields []string) store.Event {
	if fields == nil {
		fields = []string{}
	}
	return withData(ev(TypeWebhookUpdated, tenantID, actor, webhookID), "fields", fields)
}

// WebhookDeleted records a subscription removed with its delivery log.
func WebhookDeleted(tenantID, webhookID, actor string) store.Event {
	return ev(TypeWebhookDeleted, tenantID, actor, webhookID)
}

// WebhookSecretRotated records a new signing secret; the previous one signs beside it until previousUntil
// (RFC 3339).
func WebhookSecretRotated(tenantID, webhookID, actor, previousUntil string) store.Event {
	return withData(ev(TypeWebhookSecretRotated, tenantID, actor, webhookID), "previous_secret_expires_at", previousUntil)
}

// WebhookDisabled records the dispatcher turning a failing subscription off (actor: system).
func WebhookDisabled(tenantID, webhookID, reason string) store.Event {
	return withData(ev(TypeWebhookDisabled, tenantID, ActorSystem, webhookID), "reason", reason)
}

// WebhookRedelivered records an operator asking a delivery again (subject: the subscription).
func WebhookRedelivered(tenantID, webhookID, actor string, deliveryID int64) store.Event {
	return withData(ev(TypeWebhookRedelivered, tenantID, actor, webhookID), "delivery_id", deliveryID)
}
