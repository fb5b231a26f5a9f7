// Package notify sends messages to people: email through an SMTP relay, its texts taken from the i18n
// catalogue in the recipient's language. It knows nothing of the database: the events outbox decides what
// is sent and when, retries, and records the outcome; notify only renders and delivers one message and
// says whether a failure is worth retrying (ErrPermanent).
//
// It is part of the base: it imports config and i18n, and events and server import it.
package notify
