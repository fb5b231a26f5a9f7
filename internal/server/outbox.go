package server

import (
	"context"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/notify"
)

// outboxEvery is how often each node looks for due outbox messages when nothing wakes it. Messages are
// written in the transaction of the change that causes them, so any node delivers them, even when the
// writer is gone; a new message wakes every node's dispatcher at once (store.TopicOutbox, see invalidate).
const outboxEvery = 2 * time.Second

// newOutbox builds this node's outbox dispatcher: back-channel logout tokens to clients, email to people
// (opened with the keyring, rendered with templates.dir's overrides, sent by the relay or into files).
func (s *Server) newOutbox() (*events.Outbox, error) {
	sender, err := newEmailSender(s.cfg.Email, s.log)
	if err != nil {
		return nil, err
	}
	sms, err := notify.NewSMSSender(s.cfg.SMS, s.log)
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	return events.NewOutbox(s.DB, s.log, map[string]events.Deliverer{
		events.KindBackchannelLogout: s.provider.DeliverBackchannelLogout,
		events.KindEmail:             events.DeliverEmail(sender, notify.NewRenderer(s.cfg.Templates.Dir), s.Keyring.Open),
		events.KindSMS:               events.DeliverSMS(sms, s.Keyring.Open),
	}), nil
}

// deliverOutbox runs this node's outbox dispatcher until ctx ends.
func (s *Server) deliverOutbox(ctx context.Context) {
	s.outbox.Run(ctx, s.opts.outboxPoll)
}
