-- Foundation schema. Forward-only. {{BLOB}} and {{SERIAL_PK}} are expanded per database.
-- Times are unix seconds (BIGINT) unless the column name ends in _ms. JSON columns are TEXT.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE clients (
    tenant_id                  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id                  TEXT NOT NULL,
    name                       TEXT NOT NULL DEFAULT '',
    secret_hash                {{BLOB}},
    redirect_uris              TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris  TEXT NOT NULL DEFAULT '[]',
    grant_types                TEXT NOT NULL DEFAULT '[]',
    scopes                     TEXT NOT NULL DEFAULT '[]',
    token_endpoint_auth_method TEXT NOT NULL,
    first_party                BOOLEAN NOT NULL DEFAULT FALSE,
    jwks                       TEXT NOT NULL DEFAULT '',
    jwks_uri                   TEXT NOT NULL DEFAULT '',
    id_token_alg               TEXT NOT NULL DEFAULT 'RS256',
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE users (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    email           TEXT NOT NULL,
    email_norm      TEXT NOT NULL,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    given_name      TEXT NOT NULL DEFAULT '',
    family_name     TEXT NOT NULL DEFAULT '',
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email_norm)
);

CREATE TABLE password_credentials (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    hash        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE roles (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE user_roles (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    role       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role) REFERENCES roles(tenant_id, name) ON DELETE CASCADE
);

-- Browser SSO sessions. id is the public session id (the sid claim); token_hash is the hash of the cookie.
CREATE TABLE sessions (
    tenant_id        TEXT NOT NULL,
    id               TEXT NOT NULL,
    token_hash       {{BLOB}} NOT NULL,
    user_id          TEXT NOT NULL,
    auth_time        BIGINT NOT NULL,
    amr              TEXT NOT NULL DEFAULT '[]',
    acr              TEXT NOT NULL DEFAULT '',
    user_agent       TEXT NOT NULL DEFAULT '',
    ip               TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    idle_expires_at  BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    ended_at         BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

-- Clients that received tokens within a session (for logout and the account page).
CREATE TABLE session_clients (
    tenant_id   TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, session_id, client_id)
);

-- The handoff between oidc (authorize, device) and login (hosted pages).
CREATE TABLE login_requests (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    params          TEXT NOT NULL DEFAULT '{}',
    browser_hash    {{BLOB}},
    status          TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    session_id      TEXT NOT NULL DEFAULT '',
    auth_time       BIGINT NOT NULL DEFAULT 0,
    amr             TEXT NOT NULL DEFAULT '[]',
    acr             TEXT NOT NULL DEFAULT '',
    granted_scopes  TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX login_requests_expiry ON login_requests (expires_at);

-- A grant is what one user consented one client to do; refresh tokens form its family.
CREATE TABLE grants (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    session_id  TEXT NOT NULL DEFAULT '',
    scopes      TEXT NOT NULL DEFAULT '[]',
    auth_time   BIGINT NOT NULL DEFAULT 0,
    amr         TEXT NOT NULL DEFAULT '[]',
    acr         TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX grants_user ON grants (tenant_id, user_id);

CREATE TABLE authorization_codes (
    tenant_id              TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    code_hash              {{BLOB}} NOT NULL,
    client_id              TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    session_id             TEXT NOT NULL DEFAULT '',
    grant_id               TEXT NOT NULL,
    redirect_uri           TEXT NOT NULL,
    scopes                 TEXT NOT NULL DEFAULT '[]',
    nonce                  TEXT NOT NULL DEFAULT '',
    code_challenge         TEXT NOT NULL DEFAULT '',
    code_challenge_method  TEXT NOT NULL DEFAULT '',
    auth_time              BIGINT NOT NULL,
    amr                    TEXT NOT NULL DEFAULT '[]',
    acr                    TEXT NOT NULL DEFAULT '',
    created_at             BIGINT NOT NULL,
    expires_at             BIGINT NOT NULL,
    redeemed_at            BIGINT,
    PRIMARY KEY (tenant_id, code_hash)
);

CREATE TABLE refresh_tokens (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    token_hash  {{BLOB}} NOT NULL,
    grant_id    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (tenant_id, grant_id);

CREATE TABLE device_codes (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_code_hash  {{BLOB}} NOT NULL,
    user_code_hash    {{BLOB}} NOT NULL,
    client_id         TEXT NOT NULL,
    scopes            TEXT NOT NULL DEFAULT '[]',
    status            TEXT NOT NULL,
    user_id           TEXT NOT NULL DEFAULT '',
    session_id        TEXT NOT NULL DEFAULT '',
    auth_time         BIGINT NOT NULL DEFAULT 0,
    amr               TEXT NOT NULL DEFAULT '[]',
    acr               TEXT NOT NULL DEFAULT '',
    interval_s        INTEGER NOT NULL,
    last_polled_at    BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, device_code_hash)
);
CREATE UNIQUE INDEX device_codes_user_code ON device_codes (tenant_id, user_code_hash);

-- Signing keys. status: next, current, retired. private_enc is sealed with the master key.
CREATE TABLE signing_keys (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kid          TEXT NOT NULL,
    alg          TEXT NOT NULL,
    status       TEXT NOT NULL,
    private_enc  {{BLOB}} NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    activated_at BIGINT,
    retired_at   BIGINT,
    PRIMARY KEY (tenant_id, kid)
);

CREATE TABLE consent_grants (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    scopes      TEXT NOT NULL DEFAULT '[]',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);

-- Access tokens revoked before expiry (by jti), and grants whose access tokens must stop introspecting.
CREATE TABLE revoked_tokens (
    tenant_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, jti)
);

-- private_key_jwt client assertions already used (RFC 7523 §3: jti replay).
CREATE TABLE client_assertion_jtis (
    tenant_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti)
);

-- Brute-force and rate counters shared by every node. key names what is counted: "acct:<user id>",
-- "ip:login:<ip>", "ip:token:<ip>", "ip:device:<ip>".
CREATE TABLE throttles (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- What the config seed last applied per item, so a restart changes only what the seed itself changed.
CREATE TABLE seed_state (
    tenant_id    TEXT NOT NULL,
    item         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, item)
);

-- Every state change writes one row here in the same transaction: audit record, outbox entry, analytics input.
CREATE TABLE events (
    id          {{SERIAL_PK}},
    tenant_id   TEXT NOT NULL,
    type        TEXT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    client_id   TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}',
    created_ms  BIGINT NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, id);
