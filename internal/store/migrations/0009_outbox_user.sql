-- The person an outbox message is addressed to (an email's recipient), so that deleting the user withdraws
-- the messages still waiting for them, and their address with them, in the same transaction. Empty for
-- messages to other systems (back-channel logout tokens), which must still go out.
ALTER TABLE outbox ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_user ON outbox (tenant_id, user_id);
