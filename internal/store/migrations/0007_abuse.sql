-- Abuse resistance: known devices (the long-lived device cookie of a browser that completed a sign-in),
-- the client IP key of anonymous flow rows (so pending rows can be capped per IP), and indexes for the caps
-- and for pruning events by age.

-- A browser that completed a sign-in for a user. device_hash is the hash of the random device id carried
-- by the signed umm_device cookie; a browser used by several people has one row per user.
CREATE TABLE known_devices (
    tenant_id     TEXT NOT NULL,
    device_hash   {{BLOB}} NOT NULL,
    user_id       TEXT NOT NULL,
    user_agent    TEXT NOT NULL DEFAULT '',
    ip            TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, device_hash, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX known_devices_user ON known_devices (tenant_id, user_id);
CREATE INDEX known_devices_expiry ON known_devices (expires_at);

-- ip_key is the client's address (IPv4) or /64 prefix (IPv6) that created the row.
ALTER TABLE login_requests ADD COLUMN ip_key TEXT NOT NULL DEFAULT '';
CREATE INDEX login_requests_ip ON login_requests (tenant_id, ip_key, expires_at);
CREATE INDEX login_requests_browser ON login_requests (tenant_id, browser_hash, expires_at);

ALTER TABLE device_codes ADD COLUMN ip_key TEXT NOT NULL DEFAULT '';
CREATE INDEX device_codes_ip ON device_codes (tenant_id, ip_key, expires_at);
CREATE INDEX device_codes_client ON device_codes (tenant_id, client_id, expires_at);

CREATE INDEX events_created ON events (created_ms);
