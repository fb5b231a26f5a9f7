-- Self-service flows (registration now; recovery, email change and invitations later): one row per flow,
-- its kind and state, the browser it is bound to and the pending login request it resumes. A link or a code
-- sent by email carries a random secret whose hash is stored here, never the secret itself.
CREATE TABLE flows (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    link_hash       {{BLOB}},
    code_hash       {{BLOB}},
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    browser_hash    {{BLOB}},
    login_request   TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX flows_link ON flows (tenant_id, link_hash);
CREATE INDEX flows_user ON flows (tenant_id, user_id);
CREATE INDEX flows_expiry ON flows (expires_at);

-- Accounts created by self-registration: until their address is verified they cannot sign in (when the
-- tenant requires it), and the garbage collector deletes them after registration.unverified_retention.
ALTER TABLE users ADD COLUMN self_registered BOOLEAN NOT NULL DEFAULT FALSE;
