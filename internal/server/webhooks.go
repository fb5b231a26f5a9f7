package server

import (
	"context"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/notify"
)

// newWebhooks builds this node's webhook dispatcher: events to the tenants' subscriptions, signed with
// secrets the keyring opens. Every node runs one; a delivery is claimed by one node at a time.
func (s *Server) newWebhooks() *events.WebhookDispatcher {
	d := events.NewWebhookDispatcher(s.DB, s.log, notify.NewWebhookPoster(s.cfg.Webhooks),
		func(tenantID, webhookID string, sealed []byte) ([]byte, error) {
			return s.Keyring.Open(sealed, keys.WebhookSecretAAD(tenantID, webhookID))
		})
	d.Now = s.opts.now
	// The lease must outlast one attempt (the batch's attempts run side by side) and its bookkeeping; it
	// is also how long a delivery waits when the node attempting it dies.
	d.Lease = 2*s.cfg.Webhooks.Timeout.D() + 5*time.Second
	return d
}

// deliverWebhooks runs this node's webhook dispatcher until ctx ends.
func (s *Server) deliverWebhooks(ctx context.Context) {
	s.webhooks.Run(ctx)
}
