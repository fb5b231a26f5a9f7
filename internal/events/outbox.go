package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// Outbox kinds.
const (
	// KindBackchannelLogout tells a client that a session in which it received tokens ended (OpenID Connect
	// Back-Channel Logout 1.0). Its payload is a BackchannelLogout.
	KindBackchannelLogout = "backchannel_logout"
)

// BackchannelLogout is the payload of a KindBackchannelLogout message. The client's endpoint is looked up
// when the message is delivered, so a corrected URI applies to messages still waiting.
type BackchannelLogout struct {
	ClientID  string `json:"client_id"`
	Subject   string `json:"sub"`
	SessionID string `json:"sid"`
}

// EnqueueSessionLogout writes, in tx, one back-channel logout message for every client that received
// tokens within session sid of userID and registered a backchannel_logout_uri. Call it in the transaction
// that ends the session, whoever ends it (the user, an operator, a new sign-in replacing it), so that the
// messages exist exactly when the session end is committed.
func EnqueueSessionLogout(ctx context.Context, tx *store.Tx, tenantID, userID, sid string, now time.Time) error {
	ids, err := tx.SessionClients(ctx, tenantID, sid)
	if err != nil {
		return fmt.Errorf("enqueue logout: %w", err)
	}
	for _, id := range ids {
		c, err := tx.GetClient(ctx, tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since: nothing to tell
		}
		if err != nil {
			return fmt.Errorf("enqueue logout: %w", err)
		}
		if c.BackchannelLogoutURI == "" {
			continue
		}
		payload, err := json.Marshal(BackchannelLogout{ClientID: id, Subject: userID, SessionID: sid})
		if err != nil {
			return fmt.Errorf("enqueue logout: %w", err)
		}
		if err := tx.EnqueueOutbox(ctx, store.OutboxMessage{TenantID: tenantID, Kind: KindBackchannelLogout,
			Payload: payload, CreatedAt: now, NextAttemptAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// Deliverer delivers one outbox message of its kind. A nil error means delivered. An error wrapping
// ErrUndeliverable gives up at once (the recipient no longer exists); any other error is retried later.
type Deliverer func(ctx context.Context, m store.OutboxMessage) error

// ErrUndeliverable marks a delivery that can never succeed.
var ErrUndeliverable = errors.New("undeliverable")

// Outbox delivers outbox messages: every node runs one on the same database, and each message is claimed
// by one node at a time. A failed delivery is retried with exponential backoff (BaseDelay, doubling up to
// MaxDelay) until MaxAttempts, or, for the kinds in RetryFor, for that long after the message was written
// (email: EmailRetryFor); the outcome is an outbox.delivered or outbox.failed event (with the kind),
// appended in the transaction that removes the message.
type Outbox struct {
	// Now is the clock (time.Now by default); tests replace it before use.
	Now         func() time.Time
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	// Lease is how long a claimed message stays hidden from other nodes; it must outlast a batch's deliveries.
	Lease time.Duration
	Batch int
	// RetryFor replaces MaxAttempts for some kinds: their messages are retried until this long after
	// they were written.
	RetryFor map[string]time.Duration

	db    *store.DB
	log   *slog.Logger
	kinds map[string]Deliverer
	wake  chan struct{}
}

// NewOutbox returns an Outbox delivering the given kinds, with the default retry policy: 12 attempts over
// about three and a half hours (10 s, 20 s, 40 s, ... at most 1 h apart), and for email the same backoff
// for EmailRetryFor.
func NewOutbox(db *store.DB, log *slog.Logger, kinds map[string]Deliverer) *Outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{Now: time.Now, MaxAttempts: 12, BaseDelay: 10 * time.Second, MaxDelay: time.Hour,
		Lease: 2 * time.Minute, Batch: 10, RetryFor: map[string]time.Duration{KindEmail: EmailRetryFor, KindSMS: SMSRetryFor},
		db: db, log: log, kinds: kinds, wake: make(chan struct{}, 1)}
}

// Wake makes Run look for due messages now instead of at its next tick. Server calls it when the store
// announces a new message (store.TopicOutbox), so that a message is delivered moments after its commit.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// giveUp reports whether m, whose attempt failed with derr at now, is abandoned instead of retried.
func (o *Outbox) giveUp(m store.OutboxMessage, derr error, now time.Time) bool {
	if errors.Is(derr, ErrUndeliverable) {
		return true
	}
	if d, ok := o.RetryFor[m.Kind]; ok {
		return !now.Before(m.CreatedAt.Add(d))
	}
	return m.Attempts >= o.MaxAttempts
}

// nextAttempt is when m, failed at now, is tried again: after the backoff, but not after the end of its
// kind's retry period, so that the last attempt falls on it.
func (o *Outbox) nextAttempt(m store.OutboxMessage, now time.Time) time.Time {
	next := now.Add(o.backoff(m.Attempts))
	if d, ok := o.RetryFor[m.Kind]; ok && next.After(m.CreatedAt.Add(d)) {
		next = m.CreatedAt.Add(d)
	}
	return next
}

// backoff is the delay after the attempt-th failed attempt (1-based).
func (o *Outbox) backoff(attempt int) time.Duration {
	d := o.BaseDelay
	for i := 1; i < attempt && d < o.MaxDelay; i++ {
		d *= 2
	}
	return min(d, o.MaxDelay)
}

// Run delivers due messages every interval until ctx is cancelled.
func (o *Outbox) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			n, err := o.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				o.log.ErrorContext(ctx, "outbox", "err", err)
			}
			if err != nil || n < o.Batch {
				break // a full batch suggests more are due: claim again at once
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wake:
		}
	}
}

// RunOnce claims one batch of due messages and tries each once. It returns how many it claimed.
func (o *Outbox) RunOnce(ctx context.Context) (int, error) {
	now := o.Now()
	msgs, err := o.db.ClaimOutbox(ctx, now, now.Add(o.Lease), o.Batch)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if err := o.deliver(ctx, m); err != nil {
			return len(msgs), err
		}
	}
	return len(msgs), nil
}

func (o *Outbox) deliver(ctx context.Context, m store.OutboxMessage) error {
	d := o.kinds[m.Kind]
	var derr error
	if d == nil {
		derr = fmt.Errorf("no deliverer for kind %q", m.Kind)
	} else {
		derr = d(ctx, m)
	}
	if derr != nil && ctx.Err() != nil {
		return ctx.Err() // shutting down: the lease runs out and the message is tried again
	}
	now := o.Now()
	err := o.db.InTx(ctx, func(tx *store.Tx) error {
		switch {
		case derr == nil:
			if err := tx.DeleteOutbox(ctx, m); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, at(OutboxDelivered(m), now))
		case o.giveUp(m, derr, now):
			if err := tx.DeleteOutbox(ctx, m); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, at(OutboxFailed(m, truncate(derr.Error())), now))
		default:
			return tx.RetryOutbox(ctx, m, o.nextAttempt(m, now), truncate(derr.Error()))
		}
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // the lease ran out and another node claimed it since: its outcome counts
	}
	if err != nil {
		return fmt.Errorf("outbox message %d: %w", m.ID, err)
	}
	switch {
	case derr == nil:
	case o.giveUp(m, derr, now):
		// Given up: the recipient will not hear of this change unless an operator acts.
		o.log.ErrorContext(ctx, "outbox message abandoned", "tenant", m.TenantID, "kind", m.Kind, "id", m.ID,
			"attempts", m.Attempts, "err", derr)
	default:
		o.log.InfoContext(ctx, "outbox delivery failed; will retry", "tenant", m.TenantID, "kind", m.Kind, "id", m.ID,
			"attempts", m.Attempts, "err", derr)
	}
	return nil
}

func at(e store.Event, t time.Time) store.Event {
	e.CreatedAt = t
	return e
}

// truncate bounds a stored failure reason.
func truncate(reason string) string {
	if len(reason) > 500 {
		return reason[:500]
	}
	return reason
}
