-- Client and token lifecycle. Forward-only.

-- tokens_not_before: access tokens of this client issued at or before this unix second belong to an
-- earlier client with the same client_id (deleted, then registered again) and are refused.
ALTER TABLE clients ADD COLUMN tokens_not_before BIGINT NOT NULL DEFAULT 0;
-- The secret replaced by the last rotation, still accepted until previous_secret_expires_at (unix seconds).
ALTER TABLE clients ADD COLUMN previous_secret_hash {{BLOB}};
ALTER TABLE clients ADD COLUMN previous_secret_expires_at BIGINT NOT NULL DEFAULT 0;

-- When a client was deleted, so that a client registered again under its id starts after it.
CREATE TABLE client_tombstones (
    tenant_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    deleted_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

-- SQLite only: cache invalidation messages, appended in the transaction of the change, so that a server
-- learns what another process (the umm CLI) committed. origin names the writing process; rows live a minute.
CREATE TABLE notifications (
    id          {{SERIAL_PK}},
    origin      TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_ms  BIGINT NOT NULL
);

-- Values sealed with the master key that belong to no tenant. "hash_root": the key from which the keys of
-- client secret hashes and MACs derive (the first master key), so that a new master key keeps them valid.
CREATE TABLE keyring_values (
    name        TEXT PRIMARY KEY,
    sealed      {{BLOB}} NOT NULL,
    updated_at  BIGINT NOT NULL
);
