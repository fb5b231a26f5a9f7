-- Sign-in risk: the networks each user signed in from, so that a sign-in from a new network, a new
-- country or a place too far from the last one for the time since can be told apart (package risk).

-- One row per user and network: an IPv4 /24 ("203.0.113.0/24") or an IPv6 /64 ("2001:db8:1:2::/64"),
-- with the country (ISO 3166-1 alpha-2, '' when unknown) and place the geo database gave at the last
-- sign-in from it. Coordinates are integer micro-degrees, exact and alike on both databases; NULL when
-- unknown. The newest row by last_seen_at is the user's last sign-in place. Rows are capped per user
-- (store.maxUserNetworks) and go with the user.
CREATE TABLE user_networks (
    tenant_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    network       TEXT NOT NULL,
    country       TEXT NOT NULL DEFAULT '',
    latitude_e6   BIGINT,
    longitude_e6  BIGINT,
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, network),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_networks_recent ON user_networks (tenant_id, user_id, last_seen_at);
