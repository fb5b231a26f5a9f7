-- Invitations: an operator invites an address to the tenant; the emailed link carries a random token whose
-- hash is token_hash. status is pending, accepted or revoked (an expired invitation stays pending with
-- expires_at in the past). roles: a JSON list given to the account on acceptance; client_id: the client
-- whose initiate_login_uri the new account is sent to ('' for the account page); invited_by: the actor;
-- user_id: the account that accepted it. An invitation that ended (accepted, revoked or expired) is kept
-- as long as its events (events.retention), then garbage collection deletes it; all go with the tenant.
CREATE TABLE invitations (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    email       TEXT NOT NULL,
    email_norm  TEXT NOT NULL,
    roles       TEXT NOT NULL DEFAULT '[]',
    client_id   TEXT NOT NULL DEFAULT '',
    token_hash  {{BLOB}} NOT NULL,
    status      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    invited_by  TEXT NOT NULL,
    user_id     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
CREATE INDEX invitations_email ON invitations (tenant_id, email_norm, status);
