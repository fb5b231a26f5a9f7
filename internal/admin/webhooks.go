package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// WebhookSecretOverlap is how long the previous secret keeps signing beside a new one after a rotation,
// so that receivers can switch to the new secret without refusing a delivery.
const WebhookSecretOverlap = 24 * time.Hour

// Webhook is a subscription as the management API shows it: never its secret.
type Webhook struct {
	ID string `json:"id"`
	// URL receives a POST per event.
	URL string `json:"url"`
	// EventTypes are the event types delivered, from the catalogue (events.Catalogue); empty: all of them.
	EventTypes     []string  `json:"event_types"`
	Description    string    `json:"description"`
	Enabled        bool      `json:"enabled"`
	DisabledReason string    `json:"disabled_reason"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// WebhookInput creates a subscription. Enabled nil means enabled.
type WebhookInput struct {
	URL         string   `json:"url"`
	EventTypes  []string `json:"event_types"`
	Description string   `json:"description"`
	Enabled     *bool    `json:"enabled"`
}

// WebhookPatch changes a subscription: nil fields stay as they are (JSON merge patch).
type WebhookPatch struct {
	URL         *string   `json:"url"`
	EventTypes  *[]string `json:"event_types"`
	Description *string   `json:"description"`
	Enabled     *bool     `json:"enabled"`
}

// WebhookDelivery is one entry of a subscription's delivery log.
type WebhookDelivery struct {
	ID int64 `json:"id"`
	// MessageID is the webhook-id header of each of its attempts.
	MessageID      string    `json:"message_id"`
	EventID        int64     `json:"event_id"`
	EventType      string    `json:"event_type"`
	Status         string    `json:"status"` // pending, failed (retried at next_attempt_at), succeeded, gave_up
	Attempts       int       `json:"attempts"`
	LastStatusCode int       `json:"last_status_code,omitempty"`
	LastError      string    `json:"last_error,omitempty"`
	LastDurationMS int64     `json:"last_duration_ms"`
	NextAttemptAt  time.Time `json:"next_attempt_at,omitzero"`
	FirstAttemptAt time.Time `json:"first_attempt_at,omitzero"`
	LastAttemptAt  time.Time `json:"last_attempt_at,omitzero"`
	CreatedAt      time.Time `json:"created_at"`
}

// maxWebhookEventTypes bounds a subscription's list (the catalogue is shorter).
const maxWebhookEventTypes = 200

// CreateWebhook adds a subscription to tenantID's events and returns it with its signing secret
// ("whsec_" and the base64 of 32 random bytes), which is shown only now: UMM keeps it sealed.
func (s *Service) CreateWebhook(ctx context.Context, tenantID string, in WebhookInput, actor string) (Webhook, string, error) {
	var p fieldProblems
	url := s.checkWebhookURL(ctx, &p, in.URL)
	types := checkEventTypes(&p, in.EventTypes)
	checkDescription(&p, in.Description)
	if err := p.err(); err != nil {
		return Webhook{}, "", err
	}
	id := "wh_" + keys.NewID()
	key, secret := newWebhookSecret()
	sealed, err := s.keyring.Seal(key, keys.WebhookSecretAAD(tenantID, id))
	if err != nil {
		return Webhook{}, "", fmt.Errorf("create webhook: %w", err)
	}
	now := s.now()
	w := store.Webhook{TenantID: tenantID, ID: id, URL: url, EventTypes: types, Description: in.Description,
		Enabled: in.Enabled == nil || *in.Enabled, Secret: sealed, CreatedAt: now, UpdatedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetTenant(ctx, tenantID); err != nil {
			return fmt.Errorf("tenant %q: %w", tenantID, err)
		}
		if err := tx.InsertWebhook(ctx, w); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.WebhookCreated(tenantID, id, actor, url, types))
	})
	if err != nil {
		return Webhook{}, "", err
	}
	return webhookView(w), secret, nil
}

// GetWebhook returns a subscription, or an error wrapping store.ErrNotFound.
func (s *Service) GetWebhook(ctx context.Context, tenantID, id string) (Webhook, error) {
	w, err := s.db.GetWebhook(ctx, tenantID, id)
	if err != nil {
		return Webhook{}, err
	}
	return webhookView(w), nil
}

// ListWebhooks returns a page of tenantID's subscriptions in id order, after the id after, at most limit
// (50 when not positive, 200 at most), and the cursor of the next page ("" on the last).
func (s *Service) ListWebhooks(ctx context.Context, tenantID, after string, limit int) ([]Webhook, string, error) {
	limit = webhookPageLimit(limit)
	ws, err := s.db.ListWebhooks(ctx, tenantID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ws) > limit {
		ws, next = ws[:limit], ws[limit-1].ID
	}
	out := make([]Webhook, len(ws))
	for i, w := range ws {
		out[i] = webhookView(w)
	}
	return out, next, nil
}

// UpdateWebhook applies patch to a subscription. Enabling it clears its disabled_reason and delivers the
// events from then on (not those of the time it was off).
func (s *Service) UpdateWebhook(ctx context.Context, tenantID, id string, patch WebhookPatch, actor string) (Webhook, error) {
	var p fieldProblems
	var url string
	var types []string
	if patch.URL != nil {
		url = s.checkWebhookURL(ctx, &p, *patch.URL)
	}
	if patch.EventTypes != nil {
		types = checkEventTypes(&p, *patch.EventTypes)
	}
	if patch.Description != nil {
		checkDescription(&p, *patch.Description)
	}
	if err := p.err(); err != nil {
		return Webhook{}, err
	}
	var out store.Webhook
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		w, err := tx.GetWebhook(ctx, tenantID, id)
		if err != nil {
			return err
		}
		var fields []string
		if patch.URL != nil && url != w.URL {
			w.URL, fields = url, append(fields, "url")
		}
		if patch.EventTypes != nil && !slices.Equal(types, w.EventTypes) {
			w.EventTypes, fields = types, append(fields, "event_types")
		}
		if patch.Description != nil && *patch.Description != w.Description {
			w.Description, fields = *patch.Description, append(fields, "description")
		}
		if patch.Enabled != nil && *patch.Enabled != w.Enabled {
			w.Enabled, fields = *patch.Enabled, append(fields, "enabled")
			w.DisabledReason = ""
		}
		out = w
		if len(fields) == 0 {
			return nil
		}
		w.UpdatedAt = s.now()
		out = w
		if err := tx.UpdateWebhook(ctx, w); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.WebhookUpdated(tenantID, id, actor, fields))
	})
	if err != nil {
		return Webhook{}, err
	}
	return webhookView(out), nil
}

// DeleteWebhook removes a subscription and its delivery log; an error wrapping store.ErrNotFound when
// there is none.
func (s *Service) DeleteWebhook(ctx context.Context, tenantID, id, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteWebhook(ctx, tenantID, id); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.WebhookDeleted(tenantID, id, actor))
	})
}

// RotateWebhookSecret gives a subscription a new signing secret and returns it (shown only now). For
// WebhookSecretOverlap, deliveries carry a signature under the previous secret too, so a receiver may
// switch at its pace; a secret rotated twice within that time drops the oldest at once.
func (s *Service) RotateWebhookSecret(ctx context.Context, tenantID, id, actor string) (string, error) {
	key, secret := newWebhookSecret()
	sealed, err := s.keyring.Seal(key, keys.WebhookSecretAAD(tenantID, id))
	if err != nil {
		return "", fmt.Errorf("rotate webhook secret: %w", err)
	}
	now := s.now()
	until := now.Add(WebhookSecretOverlap)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RotateWebhookSecret(ctx, tenantID, id, sealed, until, now); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.WebhookSecretRotated(tenantID, id, actor, until.UTC().Format(time.RFC3339)))
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// WebhookDeliveries returns a page of a subscription's delivery log, newest first, with ids below before
// (from the newest when 0), at most limit (50 when not positive, 200 at most), and the cursor of the next
// page (0 on the last). An error wraps store.ErrNotFound when the subscription does not exist.
func (s *Service) WebhookDeliveries(ctx context.Context, tenantID, id string, before int64, limit int) ([]WebhookDelivery, int64, error) {
	if _, err := s.db.GetWebhook(ctx, tenantID, id); err != nil {
		return nil, 0, err
	}
	limit = webhookPageLimit(limit)
	ds, err := s.db.ListWebhookDeliveries(ctx, tenantID, id, before, limit+1)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(ds) > limit {
		ds, next = ds[:limit], ds[limit-1].ID
	}
	out := make([]WebhookDelivery, len(ds))
	for i, d := range ds {
		out[i] = deliveryView(d)
	}
	return out, next, nil
}

// WebhookDelivery returns one entry of a subscription's delivery log, or an error wrapping
// store.ErrNotFound.
func (s *Service) WebhookDelivery(ctx context.Context, tenantID, id string, deliveryID int64) (WebhookDelivery, error) {
	d, err := s.db.GetWebhookDelivery(ctx, tenantID, id, deliveryID)
	if err != nil {
		return WebhookDelivery{}, err
	}
	return deliveryView(d), nil
}

func deliveryView(d store.WebhookDelivery) WebhookDelivery {
	out := WebhookDelivery{ID: d.ID, MessageID: events.WebhookMessageID(d.ID), EventID: d.EventID, EventType: d.EventType,
		Status: d.Status, Attempts: d.Attempts, LastStatusCode: d.LastStatusCode, LastError: d.LastError,
		LastDurationMS: d.LastDuration.Milliseconds(), FirstAttemptAt: d.FirstAttemptAt, LastAttemptAt: d.LastAttemptAt,
		CreatedAt: d.CreatedAt}
	if d.Status == store.DeliveryPending || d.Status == store.DeliveryFailed {
		out.NextAttemptAt = d.NextAttemptAt
	}
	return out
}

// RedeliverWebhook makes a delivery due now, whatever its status, with a fresh retry period; the attempt
// carries the same webhook-id. An error wraps store.ErrNotFound when there is no such delivery, and
// store.ErrConflict while a node is attempting it.
func (s *Service) RedeliverWebhook(ctx context.Context, tenantID, id string, deliveryID int64, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RedeliverWebhookDelivery(ctx, tenantID, id, deliveryID, s.now()); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, events.WebhookRedelivered(tenantID, id, actor, deliveryID))
	})
}

// checkWebhookURL adds a problem when raw cannot be a subscription's URL, and returns it trimmed.
func (s *Service) checkWebhookURL(ctx context.Context, p *fieldProblems, raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		p.add("url", "is required: the https URL that receives the events")
		return raw
	}
	if err := notify.CheckWebhookURL(ctx, raw, s.webhooks.AllowPrivateTargets); err != nil {
		p.add("url", err.Error())
	}
	return raw
}

// checkEventTypes adds a problem for each type not in the catalogue, and returns the list without
// duplicates. An empty list, or one holding "*", subscribes to every event.
func checkEventTypes(p *fieldProblems, types []string) []string {
	if len(types) > maxWebhookEventTypes {
		p.add("event_types", fmt.Sprintf("must list at most %d types", maxWebhookEventTypes))
		return nil
	}
	out := []string{}
	for i, t := range types {
		switch {
		case t == "*":
			return []string{}
		case !events.KnownType(t):
			p.add(fmt.Sprintf("event_types[%d]", i), fmt.Sprintf("%q is not an event type; docs/EVENTS.md lists them", t))
		case !slices.Contains(out, t):
			out = append(out, t)
		}
	}
	return out
}

func checkDescription(p *fieldProblems, d string) {
	if utf8.RuneCountInString(d) > 500 {
		p.add("description", "must be at most 500 characters")
	}
}

// newWebhookSecret returns a signing key of 32 random bytes and its secret as the Standard Webhooks
// specification writes it.
func newWebhookSecret() (key []byte, secret string) {
	key = make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	return key, "whsec_" + base64.StdEncoding.EncodeToString(key)
}

func webhookView(w store.Webhook) Webhook {
	types := w.EventTypes
	if types == nil {
		types = []string{}
	}
	return Webhook{ID: w.ID, URL: w.URL, EventTypes: types, Description: w.Description, Enabled: w.Enabled,
		DisabledReason: w.DisabledReason, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
}

// webhookPageLimit applies the management API's page size rules: 50 by default, 200 at most.
func webhookPageLimit(limit int) int {
	switch {
	case limit <= 0:
		return 50
	case limit > 200:
		return 200
	}
	return limit
}
