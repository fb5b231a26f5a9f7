-- Invitations to an organization: accepting one also makes the new account a member of org_id holding
-- org_roles (a JSON list of the tenant's roles) there. org_id '' is an invitation to the tenant alone.
-- Deleting an organization revokes its pending invitations (the store does it with the delete).
ALTER TABLE invitations ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
ALTER TABLE invitations ADD COLUMN org_roles TEXT NOT NULL DEFAULT '[]';
CREATE INDEX invitations_org ON invitations (tenant_id, org_id, created_at);
