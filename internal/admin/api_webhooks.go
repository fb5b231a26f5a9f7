package admin

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/umm-project/umm/internal/store"
)

// apiWebhook is a subscription as the API shows it: never its secret.
type apiWebhook struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	EventTypes     []string `json:"event_types" doc:"Event types delivered (docs/EVENTS.md lists them); empty: every event."`
	Enabled        bool     `json:"enabled"`
	Description    string   `json:"description"`
	DisabledReason string   `json:"disabled_reason" doc:"Why UMM turned the subscription off after its deliveries kept failing; empty otherwise."`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
}

func webhookJSON(w Webhook) apiWebhook {
	return apiWebhook{ID: w.ID, URL: w.URL, EventTypes: strs(w.EventTypes), Enabled: w.Enabled, Description: w.Description,
		DisabledReason: w.DisabledReason, CreatedAt: timeJSON(w.CreatedAt), UpdatedAt: timeJSON(w.UpdatedAt)}
}

// createWebhookBody is the body of POST /webhooks.
type createWebhookBody struct {
	URL         string   `json:"url" doc:"The https URL that receives a POST per event."`
	EventTypes  []string `json:"event_types,omitempty" doc:"Event types to deliver; empty or [\"*\"]: every event."`
	Description string   `json:"description,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty" doc:"Default true."`
}

// webhookPatchBody is what PATCH may change.
type webhookPatchBody struct {
	URL         string   `json:"url"`
	EventTypes  []string `json:"event_types"`
	Description string   `json:"description"`
	Enabled     bool     `json:"enabled"`
}

// createdWebhook is the answer of POST /webhooks: the subscription, and its signing secret this once.
type createdWebhook struct {
	apiWebhook
	Secret string `json:"secret" doc:"The signing secret (whsec_ and base64), answered only here and by rotate-secret: store it now."`
}

// webhookSecretBody answers a new signing secret.
type webhookSecretBody struct {
	Secret string `json:"secret" doc:"The new signing secret (whsec_ and base64). For 24 hours deliveries carry a signature under the previous secret too."`
}

// apiDelivery is one entry of a subscription's delivery log. Ids are decimal strings, as event ids are.
type apiDelivery struct {
	ID             string `json:"id"`
	WebhookID      string `json:"webhook_id"`
	MessageID      string `json:"message_id" doc:"The webhook-id header of each of its attempts (retries and redeliveries keep it)."`
	EventID        string `json:"event_id"`
	EventType      string `json:"event_type"`
	Status         string `json:"status" doc:"pending, failed (attempted again at next_attempt_at), succeeded or gave_up."`
	Attempts       int    `json:"attempts"`
	ResponseStatus int    `json:"response_status,omitempty" doc:"The HTTP status the receiver answered to the last attempt; absent when it answered none."`
	Error          string `json:"error,omitempty" doc:"Why the last attempt failed."`
	DurationMS     int64  `json:"duration_ms" doc:"How long the last attempt took, in milliseconds."`
	CreatedAt      string `json:"created_at"`
	NextAttemptAt  string `json:"next_attempt_at,omitempty" doc:"When the next attempt is due (pending and failed deliveries)."`
	LastAttemptAt  string `json:"last_attempt_at,omitempty"`
	DeliveredAt    string `json:"delivered_at,omitempty" doc:"When the receiver acknowledged it (succeeded deliveries)."`
}

func deliveryJSON(webhookID string, d WebhookDelivery) apiDelivery {
	out := apiDelivery{ID: strconv.FormatInt(d.ID, 10), WebhookID: webhookID, MessageID: d.MessageID,
		EventID: strconv.FormatInt(d.EventID, 10), EventType: d.EventType, Status: d.Status, Attempts: d.Attempts,
		ResponseStatus: d.LastStatusCode, Error: d.LastError, DurationMS: d.LastDurationMS, CreatedAt: timeJSON(d.CreatedAt),
		NextAttemptAt: timeJSON(d.NextAttemptAt), LastAttemptAt: timeJSON(d.LastAttemptAt)}
	if d.Status == store.DeliverySucceeded {
		out.DeliveredAt = out.LastAttemptAt
	}
	return out
}

func (a *API) registerWebhooks() {
	const base = "/tenants/{tenant}/webhooks"
	r, w := scopeRead("webhooks"), scopeWrite("webhooks")
	a.handle("GET", base, r, a.listWebhooks)
	a.handle("POST", base, w, a.createWebhook)
	a.handle("GET", base+"/{id}", r, a.getWebhook)
	a.handle("PATCH", base+"/{id}", w, a.patchWebhook)
	a.handle("DELETE", base+"/{id}", w, a.deleteWebhook)
	a.handle("POST", base+"/{id}/rotate-secret", w, a.rotateWebhookSecret)
	a.handle("GET", base+"/{id}/deliveries", r, a.listWebhookDeliveries)
	a.handle("POST", base+"/{id}/deliveries/{delivery_id}/redeliver", w, a.redeliverWebhook)

	const tag = "webhooks"
	a.document("GET", base, opDoc{summary: "List webhook subscriptions", tag: tag, list: true, answer: apiWebhook{}, query: pageParams})
	a.document("POST", base, opDoc{summary: "Subscribe a URL to events (its signing secret is answered once)", tag: tag, body: createWebhookBody{},
		status: http.StatusCreated, answer: createdWebhook{}, etag: true})
	a.document("GET", base+"/{id}", opDoc{summary: "Get a webhook subscription", tag: tag, answer: apiWebhook{}, etag: true})
	a.document("PATCH", base+"/{id}", opDoc{summary: "Change a webhook subscription (enabled: true turns on again one UMM turned off)", tag: tag,
		body: apiWebhook{}, patch: true, answer: apiWebhook{}, etag: true})
	a.document("DELETE", base+"/{id}", opDoc{summary: "Delete a webhook subscription and its delivery log", tag: tag, status: http.StatusNoContent, etag: true})
	a.document("POST", base+"/{id}/rotate-secret", opDoc{summary: "Give the subscription a new signing secret (answered once); the previous one keeps signing beside it for 24 hours",
		tag: tag, answer: webhookSecretBody{}})
	a.document("GET", base+"/{id}/deliveries", opDoc{summary: "The subscription's delivery log, newest first", tag: tag, list: true,
		answer: apiDelivery{}, query: pageParams})
	a.document("POST", base+"/{id}/deliveries/{delivery_id}/redeliver", opDoc{summary: "Attempt a delivery again now, whatever its status, with a fresh retry period (409 while an attempt is in flight)",
		tag: tag, status: http.StatusAccepted, answer: apiDelivery{}})
}

// webhook loads the path's subscription of the path's tenant.
func (a *API) webhook(r *http.Request, c *call) (Webhook, error) {
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return Webhook{}, err
	}
	wh, err := a.svc.GetWebhook(r.Context(), c.tenant, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return wh, problem(http.StatusNotFound, "not-found", "no webhook "+r.PathValue("id")+" in tenant "+c.tenant)
	}
	return wh, err
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	ws, next, err := a.svc.ListWebhooks(r.Context(), c.tenant, p.after, p.limit)
	if err != nil {
		return err
	}
	body := listBody[apiWebhook]{Data: make([]apiWebhook, len(ws))}
	for i, wh := range ws {
		body.Data[i] = webhookJSON(wh)
	}
	if next != "" {
		body.NextCursor = cursorFor(next)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	var b createWebhookBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	wh, secret, err := a.svc.CreateWebhook(r.Context(), c.tenant, WebhookInput{URL: b.URL, EventTypes: b.EventTypes,
		Description: b.Description, Enabled: b.Enabled}, c.actor())
	if err != nil {
		return err
	}
	// The ETag is the subscription's (what GET answers), not that of this answer with its one-time secret.
	view := webhookJSON(wh)
	tag, err := etagOf(view)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", tag)
	w.Header().Set("Location", a.location(c, "webhooks", wh.ID))
	writeJSON(w, http.StatusCreated, createdWebhook{apiWebhook: view, Secret: secret})
	return nil
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := a.webhook(r, c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", webhookJSON(wh))
}

func (a *API) patchWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := a.webhook(r, c)
	if err != nil {
		return err
	}
	cur := webhookJSON(wh)
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	var b webhookPatchBody
	if err := patchInto(r, cur, &b, "id", "disabled_reason", "created_at", "updated_at"); err != nil {
		return err
	}
	// Only what changed is passed on, so that an unchanged URL is not checked (and resolved) again.
	var patch WebhookPatch
	if b.URL != cur.URL {
		patch.URL = &b.URL
	}
	if types := strs(b.EventTypes); !slices.Equal(types, cur.EventTypes) {
		patch.EventTypes = &types
	}
	if b.Description != cur.Description {
		patch.Description = &b.Description
	}
	if b.Enabled != cur.Enabled {
		patch.Enabled = &b.Enabled
	}
	wh, err = a.svc.UpdateWebhook(r.Context(), c.tenant, wh.ID, patch, c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", webhookJSON(wh))
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := a.webhook(r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, webhookJSON(wh)); err != nil {
		return err
	}
	if err := a.svc.DeleteWebhook(r.Context(), c.tenant, wh.ID, c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := a.webhook(r, c)
	if err != nil {
		return err
	}
	secret, err := a.svc.RotateWebhookSecret(r.Context(), c.tenant, wh.ID, c.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookSecretBody{Secret: secret})
	return nil
}

func (a *API) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	wh, err := a.webhook(r, c)
	if err != nil {
		return err
	}
	var before int64
	if p.after != "" {
		if before, err = strconv.ParseInt(p.after, 10, 64); err != nil || before <= 0 {
			return invalidInput("cursor is not one this API gave", FieldError{Field: "cursor", Message: "pass the next_cursor of the previous page unchanged"})
		}
	}
	ds, next, err := a.svc.WebhookDeliveries(r.Context(), c.tenant, wh.ID, before, p.limit)
	if err != nil {
		return err
	}
	body := listBody[apiDelivery]{Data: make([]apiDelivery, len(ds))}
	for i, d := range ds {
		body.Data[i] = deliveryJSON(wh.ID, d)
	}
	if next != 0 {
		body.NextCursor = cursorFor(strconv.FormatInt(next, 10))
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (a *API) redeliverWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := a.webhook(r, c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("delivery_id"), 10, 64)
	if err != nil || id <= 0 {
		return problem(http.StatusNotFound, "not-found", "no delivery "+r.PathValue("delivery_id")+" of webhook "+wh.ID+": delivery ids are the whole numbers GET .../deliveries answers")
	}
	err = a.svc.RedeliverWebhook(r.Context(), c.tenant, wh.ID, id, c.actor())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return problem(http.StatusNotFound, "not-found", "no delivery "+r.PathValue("delivery_id")+" of webhook "+wh.ID)
	case errors.Is(err, store.ErrConflict):
		return problem(http.StatusConflict, "conflict", "delivery "+r.PathValue("delivery_id")+" is being attempted right now: ask again once the attempt is over")
	case err != nil:
		return err
	}
	d, err := a.svc.WebhookDelivery(r.Context(), c.tenant, wh.ID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, deliveryJSON(wh.ID, d))
	return nil
}
