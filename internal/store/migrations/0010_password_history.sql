-- Password history: the hashes of a user's most recent passwords (the current one included), so that the
-- tenant's password policy can refuse a password used before. Kept to the policy's history length on
-- every change; deleted with the user.
CREATE TABLE password_history (
    id          {{SERIAL_PK}},
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    hash        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX password_history_user ON password_history (tenant_id, user_id, id);
