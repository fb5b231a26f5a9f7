package server

import (
	"context"
	"time"

	"github.com/umm-project/umm/internal/events"
)

// outboxEvery is how often each node looks for due outbox messages. Messages are written in the
// transaction of the change that causes them, so any node delivers them, even when the writer is gone.
const outboxEvery = 2 * time.Second

// deliverOutbox runs this node's outbox dispatcher until ctx ends: back-channel logout tokens to clients,
// email to people.
func (s *Server) deliverOutbox(ctx context.Context) {
	o := events.NewOutbox(s.DB, s.log, map[string]events.Deliverer{
		events.KindBackchannelLogout: s.provider.DeliverBackchannelLogout,
		events.KindEmail:             events.DeliverEmail(newMailer(s.cfg.SMTP, s.log)),
	})
	o.Run(ctx, outboxEvery)
}
