package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// OpenWebhookSecret opens a subscription's sealed signing key. The server passes one built on the
// keyring (this package cannot import keys), with the AAD naming tenant and subscription.
type OpenWebhookSecret func(tenantID, webhookID string, sealed []byte) ([]byte, error)

// DefaultWebhookRetries are the delays after the first, second, ... failed attempt; the last repeats until
// WebhookRetryFor after the first attempt.
var DefaultWebhookRetries = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	time.Hour, 4 * time.Hour}

// WebhookRetryFor is how long a delivery is retried after its first attempt before it is given up.
const WebhookRetryFor = 72 * time.Hour

// WebhookPayload is the JSON body of a webhook: the event's type, when it happened, and its data (see
// webhookData).
type WebhookPayload struct {
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// WebhookDispatcher delivers the tenants' events to their webhook subscriptions, at least once. Every node
// runs one on the same database:
//
//   - The scan reads each enabled subscription's new events and writes a pending delivery per matching
//     event (unique per subscription and event). It runs when the highest event id moves (checked every
//     Poll), reading past what it read before; and when woken (a subscription changed,
//     store.TopicWebhook) and every Rescan, reading from the subscription's cursor, which finds an event
//     committed late below ids already read (store.ScanWebhookEvents explains the cursor).
//   - Due deliveries are claimed with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL) and attempted at
//     once, each within the poster's timeout. A node that dies mid-attempt loses nothing: the lease runs
//     out and any node attempts it again, with the same webhook-id, so receivers can drop the duplicate.
//   - A failed attempt is retried after Retries (the last repeating) until RetryFor after the first
//     attempt; then the delivery is given up. When a delivery is given up and no delivery to the
//     subscription succeeded since that delivery's first attempt (every delivery failed for RetryFor),
//     the subscription is turned off with a webhook.disabled event.
type WebhookDispatcher struct {
	// Now is the clock (time.Now by default); tests replace it before Run.
	Now      func() time.Time
	Retries  []time.Duration
	RetryFor time.Duration
	// Window is how long after its id was taken an event may still commit; scans read it again until then.
	Window time.Duration
	// Lease hides a claimed delivery from other nodes; it must outlast an attempt.
	Lease  time.Duration
	Batch  int
	Poll   time.Duration
	Rescan time.Duration

	db     *store.DB
	log    *slog.Logger
	poster *notify.WebhookPoster
	open   OpenWebhookSecret
	wake   chan struct{}

	// The scan's state, used by Run's goroutine only.
	lastMax  int64
	lastScan time.Time
	force    bool
	seen     map[[2]string]int64 // per subscription (tenant, id): the highest event id read
}

// NewWebhookDispatcher returns a dispatcher with the default schedule.
func NewWebhookDispatcher(db *store.DB, log *slog.Logger, poster *notify.WebhookPoster, open OpenWebhookSecret) *WebhookDispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &WebhookDispatcher{Now: time.Now, Retries: DefaultWebhookRetries, RetryFor: WebhookRetryFor,
		Window: 5 * time.Minute, Lease: time.Minute, Batch: 20, Poll: 500 * time.Millisecond, Rescan: 5 * time.Second,
		db: db, log: log, poster: poster, open: open, wake: make(chan struct{}, 1)}
}

// Wake makes Run scan and claim now. Server calls it on store.TopicWebhook.
func (d *WebhookDispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run scans and delivers until ctx is cancelled.
func (d *WebhookDispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.Poll)
	defer t.Stop()
	for {
		for {
			n, err := d.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.ErrorContext(ctx, "webhooks", "err", err)
			}
			if err != nil || n < d.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
			d.force = true
		}
	}
}

// RunOnce scans for new events when needed, then claims one batch of due deliveries and attempts each. It
// returns how many it claimed.
func (d *WebhookDispatcher) RunOnce(ctx context.Context) (int, error) {
	if err := d.scan(ctx); err != nil {
		return 0, err
	}
	now := d.Now()
	claimed, err := d.db.ClaimWebhookDeliveries(ctx, now, now.Add(d.Lease), d.Batch)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(claimed))
	for i, dl := range claimed {
		wg.Go(func() { errs[i] = d.deliver(ctx, dl) })
	}
	wg.Wait()
	return len(claimed), errors.Join(errs...)
}

// scan writes the deliveries of new events: when the highest event id moved since the last scan, only
// from the highest event each subscription has seen (cheap); when woken and every Rescan, from each
// subscription's cursor, which finds the events committed late below ids already seen.
func (d *WebhookDispatcher) scan(ctx context.Context) error {
	now := d.Now()
	top, err := d.db.MaxEventID(ctx)
	if err != nil {
		return err
	}
	full := d.force || now.Sub(d.lastScan) >= d.Rescan
	if top == d.lastMax && !full {
		return nil
	}
	ws, err := d.db.ListEnabledWebhooks(ctx)
	if err != nil {
		return err
	}
	seen := make(map[[2]string]int64, len(ws))
	for _, w := range ws {
		key := [2]string{w.TenantID, w.ID}
		var after int64
		if !full {
			after = d.seen[key]
		}
		res, err := d.db.ScanWebhookEvents(ctx, w, after, now, d.Window, 10000)
		if err != nil {
			return err
		}
		seen[key] = res.Last
	}
	d.seen, d.lastMax, d.force = seen, top, false
	if full {
		d.lastScan = now
	}
	return nil
}

// deliver makes one attempt of dl and records its outcome.
func (d *WebhookDispatcher) deliver(ctx context.Context, dl store.WebhookDelivery) error {
	w, err := d.db.GetWebhook(ctx, dl.TenantID, dl.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile, with its deliveries
	}
	if err != nil {
		return err
	}
	now := d.Now()
	start := time.Now()
	status, derr := d.attempt(ctx, w, dl, now)
	took := time.Since(start)
	if derr != nil && ctx.Err() != nil {
		return nil // shutting down: the lease runs out and the delivery is attempted again
	}
	now = d.Now()
	dl.LastStatusCode, dl.LastDuration, dl.LastAttemptAt, dl.LastError = status, took, now, ""
	first := dl.FirstAttemptAt
	if first.IsZero() {
		first = now
	}
	var disabled bool
	err = d.db.InTx(ctx, func(tx *store.Tx) error {
		disabled = false
		switch {
		case derr == nil:
			dl.Status, dl.NextAttemptAt = store.DeliverySucceeded, now
			if err := tx.FinishWebhookDelivery(ctx, dl); err != nil {
				return err
			}
			return tx.SetWebhookSucceeded(ctx, w.TenantID, w.ID, now)
		case !now.Before(first.Add(d.RetryFor)):
			dl.Status, dl.NextAttemptAt, dl.LastError = store.DeliveryGaveUp, now, truncate(derr.Error())
			if err := tx.FinishWebhookDelivery(ctx, dl); err != nil {
				return err
			}
			cur, err := tx.GetWebhook(ctx, w.TenantID, w.ID)
			if err != nil {
				return err
			}
			if !cur.Enabled || !cur.LastSuccessAt.Before(first.Truncate(time.Second)) {
				return nil
			}
			reason := fmt.Sprintf("every delivery failed for %s (the last: %s)", d.RetryFor, truncate(derr.Error()))
			ok, err := tx.DisableWebhook(ctx, w.TenantID, w.ID, reason, now)
			if err != nil || !ok {
				return err
			}
			disabled = true
			return tx.AppendEvent(ctx, at(WebhookDisabled(w.TenantID, w.ID, reason), now))
		default:
			next := now.Add(d.retryDelay(dl.Attempts))
			if end := first.Add(d.RetryFor); next.After(end) {
				next = end
			}
			dl.Status, dl.NextAttemptAt, dl.LastError = store.DeliveryFailed, next, truncate(derr.Error())
			return tx.FinishWebhookDelivery(ctx, dl)
		}
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // the lease ran out and another node claimed it since: its outcome counts
	}
	if err != nil {
		return fmt.Errorf("webhook delivery %d: %w", dl.ID, err)
	}
	switch {
	case disabled:
		d.log.WarnContext(ctx, "webhook subscription disabled: its deliveries kept failing", "tenant", w.TenantID,
			"webhook", w.ID, "err", derr)
	case derr != nil:
		d.log.InfoContext(ctx, "webhook delivery failed", "tenant", w.TenantID, "webhook", w.ID, "delivery", dl.ID,
			"attempts", dl.Attempts, "status", dl.Status, "err", derr)
	}
	return nil
}

// attempt posts the delivery's event to the subscription, signed with its secret and, during the overlap
// after a rotation, its previous secret too.
func (d *WebhookDispatcher) attempt(ctx context.Context, w store.Webhook, dl store.WebhookDelivery, now time.Time) (int, error) {
	e, err := d.db.GetEvent(ctx, dl.TenantID, dl.EventID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, errors.New("the event no longer exists (deleted by events.retention)")
	}
	if err != nil {
		return 0, err
	}
	body, err := json.Marshal(WebhookPayload{Type: e.Type, Timestamp: e.CreatedAt.UTC().Format(time.RFC3339), Data: webhookData(e)})
	if err != nil {
		return 0, err
	}
	key, err := d.open(w.TenantID, w.ID, w.Secret)
	if err != nil {
		return 0, fmt.Errorf("open the signing secret: %w", err)
	}
	keys := [][]byte{key}
	if len(w.PreviousSecret) > 0 && now.Before(w.PreviousExpiresAt) {
		prev, err := d.open(w.TenantID, w.ID, w.PreviousSecret)
		if err != nil {
			return 0, fmt.Errorf("open the previous signing secret: %w", err)
		}
		keys = append(keys, prev)
	}
	return d.poster.Post(ctx, w.URL, WebhookMessageID(dl.ID), now, body, keys)
}

// WebhookMessageID is the webhook-id of a delivery: the same for each of its attempts, so that a receiver
// can tell a retry from a new message.
func WebhookMessageID(deliveryID int64) string { return "msg_" + strconv.FormatInt(deliveryID, 10) }

// webhookData is the data of a webhook: the event's own data, and over it its id, tenant_id, subject,
// actor and client_id (always present, "" when none). The client's IP address is left out: receivers
// get what changed, not where people are.
func webhookData(e store.Event) map[string]any {
	data := make(map[string]any, len(e.Data)+5)
	maps.Copy(data, e.Data)
	data["id"] = e.ID
	data["tenant_id"] = e.TenantID
	data["subject"] = e.Subject
	data["actor"] = e.Actor
	data["client_id"] = e.ClientID
	return data
}

// retryDelay is the delay after the attempt-th failed attempt (1-based).
func (d *WebhookDispatcher) retryDelay(attempt int) time.Duration {
	if len(d.Retries) == 0 {
		return time.Minute
	}
	return d.Retries[min(max(attempt, 1), len(d.Retries))-1]
}
