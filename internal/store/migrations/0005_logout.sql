-- Single logout (OpenID Connect Back-Channel Logout 1.0 and Front-Channel Logout 1.0) and the outbox that
-- delivers messages to other systems at least once, whichever node wrote them.

ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN frontchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;

-- A message waiting for delivery. It is written in the transaction of the change that causes it, claimed
-- by one node at a time (locked_until is that node's lease), and deleted with its outcome event once it
-- was delivered or gave up after its last attempt. payload is the kind's JSON.
CREATE TABLE outbox (
    id               {{SERIAL_PK}},
    tenant_id        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL DEFAULT '{}',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    locked_until     BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);
