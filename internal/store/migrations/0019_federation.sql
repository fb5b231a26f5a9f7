-- Federation: a tenant's upstream identity providers (connections), the upstream identities linked to
-- its users, and the ids of SAML assertions already consumed (one-time use).

-- An upstream identity provider. type is a preset (google, apple, ...), oidc, oauth2, saml or ldap;
-- config is its settings as JSON without the secrets, which are sealed with the master key (secrets:
-- client secret, Apple's private key, LDAP bind password). position orders the sign-in page's buttons.
-- synced_at is when a directory sync of the connection last started (the node that moves it runs it).
CREATE TABLE connections (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    position     INTEGER NOT NULL DEFAULT 0,
    config       TEXT NOT NULL DEFAULT '{}',
    secrets      {{BLOB}},
    synced_at    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- A user's identity at a connection: subject is the upstream's stable id (OIDC sub, SAML NameID, the LDAP
-- entry's DN). email is what the upstream said at the last sign-in, email_verified whether it said the
-- address was verified. tokens holds the upstream tokens, sealed, only when the connection stores them.
-- The row goes with the user; a connection's rows go with the connection.
CREATE TABLE user_identities (
    tenant_id      TEXT NOT NULL,
    connection_id  TEXT NOT NULL,
    subject        TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    email          TEXT NOT NULL DEFAULT '',
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    claims         TEXT NOT NULL DEFAULT '',
    tokens         {{BLOB}},
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, connection_id, subject),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_identities_user ON user_identities (tenant_id, user_id);

-- One-time use: the id of every SAML assertion accepted, kept until it would have expired anyway.
CREATE TABLE used_assertions (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX used_assertions_expiry ON used_assertions (expires_at);
