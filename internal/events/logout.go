package events

import (
	"encoding/json"

	"github.com/umm-project/umm/internal/store"
)

// Outcomes of outbox messages.
const (
	TypeOutboxDelivered = "outbox.delivered"
	TypeOutboxFailed    = "outbox.failed"
)

// outboxEvent names the message's client and session (subject) when its payload has them.
func outboxEvent(typ string, m store.OutboxMessage) store.Event {
	var p struct {
		ClientID  string `json:"client_id"`
		SessionID string `json:"sid"`
	}
	_ = json.Unmarshal(m.Payload, &p) // a payload without these fields names nothing
	e := ev(typ, m.TenantID, ActorSystem, p.SessionID)
	e.ClientID = p.ClientID
	return e
}

// OutboxDelivered records a message delivered (a back-channel logout acknowledged by the client, ...).
func OutboxDelivered(m store.OutboxMessage) store.Event {
	return withData(outboxEvent(TypeOutboxDelivered, m), "kind", m.Kind, "attempts", m.Attempts)
}

// OutboxFailed records a message abandoned after its last attempt, or at once when it can never be
// delivered (its client was deleted); reason is the last attempt's error, which holds no secret.
func OutboxFailed(m store.OutboxMessage, reason string) store.Event {
	return withData(outboxEvent(TypeOutboxFailed, m), "kind", m.Kind, "attempts", m.Attempts, "reason", truncate(reason))
}
