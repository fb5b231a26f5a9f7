-- Strong authentication: second factors and passkeys, recovery codes, "remember this device", the MFA
-- policy of a client, and what a session proved.

-- A user's authentication factor. kind is totp, webauthn, email or sms. A TOTP seed is sealed with the
-- master key (secret); a passkey keeps its credential id (for discoverable sign-in, where the browser names
-- the credential before UMM knows the user) and its public key and counters as JSON (data); an SMS factor
-- keeps its E.164 number in data. confirmed_at is 0 while an enrolment waits for its first code.
CREATE TABLE mfa_factors (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    secret        {{BLOB}},
    credential_id {{BLOB}},
    data          TEXT NOT NULL DEFAULT '',
    last_step     BIGINT NOT NULL DEFAULT 0,
    confirmed_at  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX mfa_factors_user ON mfa_factors (tenant_id, user_id);
CREATE UNIQUE INDEX mfa_factors_credential ON mfa_factors (tenant_id, credential_id);

-- Recovery codes: only their hashes; a used code keeps its row (used_at) until the set is regenerated.
CREATE TABLE recovery_codes (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    code_hash  {{BLOB}} NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, user_id, code_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);

-- "Remember this device": the known device skips the second factor until mfa_until (0: never).
ALTER TABLE known_devices ADD COLUMN mfa_until BIGINT NOT NULL DEFAULT 0;

-- A client's own MFA policy (empty: the tenant's).
ALTER TABLE clients ADD COLUMN mfa_policy TEXT NOT NULL DEFAULT '';

-- What a session proved: each method (pwd, otp, hwk, swk, sms, email) with the unix time it was last used,
-- as a JSON object; amr and acr are derived from it at every step-up.
ALTER TABLE sessions ADD COLUMN factors TEXT NOT NULL DEFAULT '';

-- Flow rows carry a small JSON document of their kind's state (the MFA step's first factor, a WebAuthn
-- challenge).
ALTER TABLE flows ADD COLUMN data TEXT NOT NULL DEFAULT '';
