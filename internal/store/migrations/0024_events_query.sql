-- Event queries of the management API: filters by type, by client and by user, each an index range scan
-- in id order within a tenant. A user is found as the event's subject, its actor, or the user it concerns
-- (user_id, copied from the event data's user_id when the event is appended: a grant revoked by an
-- operator names the user only there). Events appended before this migration have no user_id; they are
-- still found by subject and actor.
ALTER TABLE events ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
CREATE INDEX events_type ON events (tenant_id, type, id);
CREATE INDEX events_subject ON events (tenant_id, subject, id);
CREATE INDEX events_actor ON events (tenant_id, actor, id);
CREATE INDEX events_user ON events (tenant_id, user_id, id);
CREATE INDEX events_client ON events (tenant_id, client_id, id);
