package management

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Webhook is an endpoint UMM posts events to.
type Webhook struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	EventTypes     []string  `json:"event_types"` // user.created, ...
	Enabled        bool      `json:"enabled"`
	Description    string    `json:"description,omitempty"`
	DisabledReason string    `json:"disabled_reason,omitempty"` // why UMM disabled it, if it did
	CreatedAt      time.Time `json:"created_at,omitzero"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
	// Secret is set only in the answer of CreateWebhook ("whsec_..."): store it then, it is not shown again.
	Secret string `json:"secret,omitempty"`
	ETag   string `json:"-"`
}

func (w *Webhook) setETag(s string) { w.ETag = s }

// NewWebhook is a webhook to create.
type NewWebhook struct {
	URL         string   `json:"url"`
	EventTypes  []string `json:"event_types"`
	Description string   `json:"description,omitempty"`
	// Enabled defaults to the server's default (enabled) when nil.
	Enabled *bool `json:"enabled,omitempty"`
}

// WebhookPatch is a JSON merge patch of a webhook; EventTypes, when not nil, replaces the list.
type WebhookPatch struct {
	URL         *string  `json:"url,omitempty"`
	EventTypes  []string `json:"event_types,omitzero"`
	Enabled     *bool    `json:"enabled,omitempty"`
	Description *string  `json:"description,omitempty"`
}

// Delivery is one event's delivery to a webhook, with its attempts so far.
type Delivery struct {
	ID             string    `json:"id"`
	WebhookID      string    `json:"webhook_id,omitempty"`
	EventID        flexID    `json:"event_id,omitzero"`
	EventType      string    `json:"event_type,omitempty"`
	Status         string    `json:"status,omitempty"` // pending, failed (retried at NextAttemptAt), succeeded, gave_up
	Attempts       int       `json:"attempts,omitempty"`
	ResponseStatus int       `json:"response_status,omitempty"`
	Error          string    `json:"error,omitempty"`
	CreatedAt      time.Time `json:"created_at,omitzero"`
	NextAttemptAt  time.Time `json:"next_attempt_at,omitzero"`
	DeliveredAt    time.Time `json:"delivered_at,omitzero"`
}

// ListWebhooks returns one page of webhooks.
func (c *Client) ListWebhooks(ctx context.Context, opts ListOptions) (*Page[Webhook], error) {
	return list[Webhook](ctx, c, "/webhooks", opts.values())
}

// AllWebhooks iterates over every webhook.
func (c *Client) AllWebhooks(ctx context.Context, opts ListOptions) iter.Seq2[Webhook, error] {
	return all[Webhook](ctx, c, "/webhooks", opts.values())
}

// GetWebhook returns the webhook id.
func (c *Client) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	return call[Webhook](ctx, c, request{method: http.MethodGet, path: "/webhooks" + seg(id)}, nil)
}

// CreateWebhook creates a webhook; the answer carries its Secret, once.
func (c *Client) CreateWebhook(ctx context.Context, w NewWebhook) (*Webhook, error) {
	w.EventTypes = nonNil(w.EventTypes)
	return call[Webhook](ctx, c, request{method: http.MethodPost, path: "/webhooks", body: w}, nil)
}

// UpdateWebhook applies patch to the webhook id.
func (c *Client) UpdateWebhook(ctx context.Context, id string, patch WebhookPatch, opts ...RequestOption) (*Webhook, error) {
	return call[Webhook](ctx, c, request{method: http.MethodPatch, path: "/webhooks" + seg(id), body: patch,
		contentType: mergePatch}, opts)
}

// DeleteWebhook deletes the webhook id.
func (c *Client) DeleteWebhook(ctx context.Context, id string, opts ...RequestOption) error {
	return c.exec(ctx, request{method: http.MethodDelete, path: "/webhooks" + seg(id)}, opts)
}

// RotateWebhookSecret gives the webhook id a new secret and returns it. Deliveries are signed with both
// the old and the new secret for a while, so a receiver can switch without losing any.
func (c *Client) RotateWebhookSecret(ctx context.Context, id string) (string, error) {
	r, err := call[struct {
		Secret string `json:"secret"`
	}](ctx, c, request{method: http.MethodPost, path: "/webhooks" + seg(id) + "/rotate-secret"}, nil)
	if err != nil {
		return "", err
	}
	return r.Secret, nil
}

// ListWebhookDeliveries returns one page of the deliveries to the webhook id, newest first.
func (c *Client) ListWebhookDeliveries(ctx context.Context, id string, opts ListOptions) (*Page[Delivery], error) {
	return list[Delivery](ctx, c, "/webhooks"+seg(id)+"/deliveries", opts.values())
}

// AllWebhookDeliveries iterates over every delivery to the webhook id.
func (c *Client) AllWebhookDeliveries(ctx context.Context, id string, opts ListOptions) iter.Seq2[Delivery, error] {
	return all[Delivery](ctx, c, "/webhooks"+seg(id)+"/deliveries", opts.values())
}

// RedeliverWebhook sends the delivery deliveryID of the webhook id again.
func (c *Client) RedeliverWebhook(ctx context.Context, id, deliveryID string) error {
	return c.exec(ctx, request{method: http.MethodPost,
		path: "/webhooks" + seg(id) + "/deliveries" + seg(deliveryID) + "/redeliver"}, nil)
}
