// Package notify sends messages to people: email rendered per type and language (texts from the i18n
// catalogue, text/template and html/template, overridable from templates.dir) and sent through an SMTP
// relay, or written as .eml files in development mode; and text messages (sign-in codes) through Twilio's
// API or a signed webhook, or written as text files in development mode; and the tenants' event webhooks
// (WebhookPoster), signed as the Standard Webhooks specification says and sent only to public addresses
// unless configured otherwise (PublicAddr, also used for clients' jwks_uri). It knows nothing of the
// database: the events outbox decides what is sent and when, retries, and records the outcome; notify
// only renders and delivers one message and says whether a failure is worth retrying (ErrPermanent).
//
// It is part of the base: it imports config and i18n, and events and server import it.
package notify
