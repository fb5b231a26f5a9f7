// Package events is UMM's event catalogue. Every state change appends exactly one event row (or one per
// affected object) with tx.AppendEvent in the transaction that makes the change, so the row is at once the
// audit record and the input of analytics. Messages to other systems (back-channel logout tokens, email,
// SMS) are rows of the outbox table, written in the same transaction and delivered by Outbox (outbox.go),
// whose outcome is again an event. Webhooks read the events table itself as their outbox:
// WebhookDispatcher (webhook_dispatch.go) delivers each event to the tenant's subscriptions that want its
// type, the catalogue of types being Catalogue (catalogue.go).
//
// Each event has a constructor here returning a store.Event; the Type constants name the catalogue.
// Data never contains secrets (no passwords, tokens, codes, cookies or hashes of them) and, beyond ids,
// no personal data that the subject's id already identifies.
//
// Owners of other packages may add constructors in their own file events/<pkg>.go. Core packages
// (identity, session, ...) and surfaces import events; events imports only store, config (and later notify).
package events
