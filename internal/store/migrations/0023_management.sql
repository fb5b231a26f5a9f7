-- Idempotency keys of the management API: a POST sent again with the same Idempotency-Key by the same
-- client gets the first answer instead of doing the work twice. request_hash binds the key to the request
-- it was first used with; status is 0 while that request runs. response is the answer (status line
-- headers and body as JSON) sealed with the master key: it may hold a secret shown once (a new client's).
CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  {{BLOB}} NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    response      {{BLOB}},
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- User search of the management API: prefix searches on names (case-insensitive) and listings in order
-- of creation, each an index range scan on a tenant of millions of users.
CREATE INDEX users_given_name ON users (tenant_id, lower(given_name), id);
CREATE INDEX users_family_name ON users (tenant_id, lower(family_name), id);
CREATE INDEX users_created ON users (tenant_id, created_at, id);
CREATE INDEX user_roles_role ON user_roles (tenant_id, role, user_id);
