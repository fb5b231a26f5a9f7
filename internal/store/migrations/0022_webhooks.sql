-- Webhook subscriptions and their deliveries. The events table is the outbox: the dispatcher scans it per
-- subscription and writes one delivery per (subscription, event), unique, so that a rescan never delivers
-- an event twice (see store/webhooks.go for why it rescans).
--
-- secret and previous_secret are the HMAC keys, sealed with the master key; previous_secret keeps
-- signing beside secret until previous_expires_at after a rotation. event_cursor is the event id up to
-- which every event of the tenant has been scanned for the subscription and can no longer commit;
-- since_ms is when the subscription (re)started: events before it are not delivered.
CREATE TABLE webhooks (
    tenant_id            TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id                   TEXT NOT NULL,
    url                  TEXT NOT NULL,
    event_types          TEXT NOT NULL DEFAULT '[]',
    description          TEXT NOT NULL DEFAULT '',
    enabled              BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason      TEXT NOT NULL DEFAULT '',
    secret               {{BLOB}} NOT NULL,
    previous_secret      {{BLOB}},
    previous_expires_at  BIGINT NOT NULL DEFAULT 0,
    event_cursor         BIGINT NOT NULL DEFAULT 0,
    since_ms             BIGINT NOT NULL DEFAULT 0,
    last_success_at      BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One event to deliver to one subscription, and the log of its attempts (the last attempt's outcome).
-- status: pending (never tried), failed (tried, due again at next_attempt_ms), succeeded, gave_up.
-- locked_until_ms is the lease of the node delivering it, so a node that dies mid-delivery delays the
-- delivery until the lease runs out and loses nothing.
CREATE TABLE webhook_deliveries (
    id                {{SERIAL_PK}},
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    webhook_id        TEXT NOT NULL,
    event_id          BIGINT NOT NULL,
    event_type        TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending',
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms   BIGINT NOT NULL,
    locked_until_ms   BIGINT NOT NULL DEFAULT 0,
    last_status_code  INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT NOT NULL DEFAULT '',
    last_duration_ms  BIGINT NOT NULL DEFAULT 0,
    first_attempt_at  BIGINT NOT NULL DEFAULT 0,
    last_attempt_at   BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks(tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (tenant_id, webhook_id, event_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (tenant_id, webhook_id, id);
